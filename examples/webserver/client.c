/* client: sends `GET PATH HTTP/1.0` to 127.0.0.1:PORT, one connection per
 * path (default: / then /crash), and prints the status line and body of each
 * answer, or that the server closed the connection without one.
 *
 *   client PORT [PATH...]
 *
 * Exits 0 when every connection was made, 1 otherwise. Each read gives up
 * after 10 s, so it never hangs on a stuck server. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* Returns 0 when it could connect and send, 1 otherwise. */
static int get(int port, const char *path) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) {
    perror("socket");
    return 1;
  }
  struct timeval timeout = {.tv_sec = 10};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(s, (struct sockaddr *)&addr, sizeof addr) != 0) {
    printf("GET %s: cannot connect to port %d: %s\n", path, port, strerror(errno));
    close(s);
    return 1;
  }
  char request[512];
  int n = snprintf(request, sizeof request, "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
  if (write(s, request, (size_t)n) != n) {
    printf("GET %s: cannot send: %s\n", path, strerror(errno));
    close(s);
    return 1;
  }
  char reply[8192];
  size_t got = 0;
  ssize_t r;
  while (got < sizeof reply - 1 && (r = read(s, reply + got, sizeof reply - 1 - got)) > 0) got += (size_t)r;
  reply[got] = '\0';
  close(s);
  if (got == 0) {
    printf("GET %s: no response, the connection was closed (did the server crash?)\n", path);
    return 0;
  }
  char *body = strstr(reply, "\r\n\r\n");
  char *end_of_status = strstr(reply, "\r\n");
  if (end_of_status != NULL) *end_of_status = '\0';
  printf("GET %s: %s\n", path, reply);
  if (body != NULL) fputs(body + 4, stdout);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2 || atoi(argv[1]) <= 0 || atoi(argv[1]) > 65535) {
    fprintf(stderr, "usage: client PORT [PATH...]\n");
    return 2;
  }
  int port = atoi(argv[1]);
  static char *defaults[] = {"/", "/crash"};
  char **paths = argc > 2 ? argv + 2 : defaults;
  int count = argc > 2 ? argc - 2 : 2;
  int failed = 0;
  for (int i = 0; i < count; i++) {
    failed |= get(port, paths[i]);
    fflush(stdout);
  }
  return failed;
}
