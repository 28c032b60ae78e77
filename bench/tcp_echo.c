/* Benchmark (issue 14's (f)): a TCP echo exchange of 20,000 messages of 32 bytes between two
 * processes on 127.0.0.1. The parent listens on a port the kernel picks, forks a client
 * that sends each message and waits for its echo; prints a checksum of what came back. */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

enum { MESSAGES = 20000, SIZE = 32 };

/* Reads exactly `count` bytes; 0 at end of stream or on an error. */
static int read_all(int fd, char *buffer, size_t count) {
  size_t done = 0;
  while (done < count) {
    ssize_t n = read(fd, buffer + done, count - done);
    if (n <= 0) return 0;
    done += (size_t)n;
  }
  return 1;
}

int main(void) {
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in address = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t length = sizeof address;
  if (listener < 0 || bind(listener, (struct sockaddr *)&address, sizeof address) != 0 || listen(listener, 1) != 0 ||
      getsockname(listener, (struct sockaddr *)&address, &length) != 0) {
    perror("listen");
    return 1;
  }
  pid_t client = fork();
  if (client < 0) return 1;
  if (client == 0) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(s, (struct sockaddr *)&address, sizeof address) != 0) {
      perror("connect");
      return 1;
    }
    char message[SIZE], echo[SIZE];
    unsigned long sum = 0;
    for (int i = 0; i < MESSAGES; i++) {
      memset(message, 'a' + i % 26, sizeof message);
      if (write(s, message, sizeof message) != sizeof message || !read_all(s, echo, sizeof echo)) return 1;
      sum = sum * 31 + (unsigned char)echo[i % SIZE];
    }
    printf("tcp_echo: %lx\n", sum);
    return 0;
  }
  int peer = accept(listener, NULL, NULL);
  if (peer < 0) return 1;
  int one = 1;
  setsockopt(peer, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  char buffer[SIZE];
  while (read_all(peer, buffer, sizeof buffer))
    if (write(peer, buffer, sizeof buffer) != sizeof buffer) return 1;
  int status;
  waitpid(client, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
