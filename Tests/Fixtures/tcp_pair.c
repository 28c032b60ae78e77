/* A TCP server and client in two processes on 127.0.0.1: the parent listens
 * on port 0 (the kernel picks one, read back with getsockname), forks a
 * client that connects, sends a request and reads the reply; the server
 * waits with poll, accepts, reads the request, replies, and reaps the client.
 * Each side prints what it got, each before the other side can go on, so the
 * order of the output is fixed. */
#include "fixture.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>

/* Reads from fd until EOF into buf (NUL-terminated); returns the length. */
static size_t read_all(int fd, char *buf, size_t size) {
  size_t got = 0;
  ssize_t n;
  while (got < size - 1 && (n = read(fd, buf + got, size - 1 - got)) > 0) got += n;
  buf[got] = '\0';
  return got;
}

/* Waits up to 10 s for fd to become readable. */
static void wait_readable(int fd) {
  struct pollfd p = {.fd = fd, .events = POLLIN};
  check(poll(&p, 1, 10000) == 1 && (p.revents & POLLIN));
}

int main(void) {
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  check(listener >= 0);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  check(bind(listener, (struct sockaddr *)&addr, sizeof addr) == 0);
  check(listen(listener, 4) == 0);
  socklen_t len = sizeof addr;
  check(getsockname(listener, (struct sockaddr *)&addr, &len) == 0);
  check(ntohs(addr.sin_port) != 0);
  puts("server: listening on 127.0.0.1, on the port getsockname gave");
  check(fflush(stdout) == 0);

  pid_t client = fork();
  check(client >= 0);
  if (client == 0) {
    close(listener);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    check(s >= 0);
    check(connect(s, (struct sockaddr *)&addr, sizeof addr) == 0);
    const char *request = "PING from the client";
    check(write(s, request, strlen(request)) == (ssize_t)strlen(request));
    check(shutdown(s, SHUT_WR) == 0);
    char reply[128];
    read_all(s, reply, sizeof reply);
    printf("client got: %s\n", reply);
    check(fflush(stdout) == 0);
    close(s);
    _exit(0);
  }

  wait_readable(listener);
  int conn = accept(listener, NULL, NULL);
  check(conn >= 0);
  wait_readable(conn);
  char request[128];
  read_all(conn, request, sizeof request);
  printf("server got: %s\n", request);
  check(fflush(stdout) == 0); /* before replying: the client prints only after the reply */
  const char *reply = "PONG from the server";
  check(write(conn, reply, strlen(reply)) == (ssize_t)strlen(reply));
  close(conn);
  close(listener);
  int status;
  check(waitpid(client, &status, 0) == client);
  check(WIFEXITED(status));
  printf("client exited with %d\n", WEXITSTATUS(status));
  puts("EXIT-SUCCESS");
  return 0;
}
