/* Reads a file in 16-byte chunks and prints their sum. A SIGALRM handler is installed
 * with SA_RESTART ("restart": the program counts on the kernel restarting reads and treats
 * any failure as fatal) or without it ("careful": it reads again after EINTR, as it must). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void on_alarm(int sig) { (void)sig; }

int main(int argc, char **argv) {
  if (argc != 3) return 2;
  int careful = strcmp(argv[1], "careful") == 0;
  struct sigaction action = {.sa_handler = on_alarm, .sa_flags = careful ? 0 : SA_RESTART};
  sigemptyset(&action.sa_mask);
  sigaction(SIGALRM, &action, NULL);
  int fd = open(argv[2], O_RDONLY);
  if (fd < 0) return 1;
  unsigned long sum = 0;
  unsigned char chunk[16];
  for (;;) {
    ssize_t count = read(fd, chunk, sizeof chunk);
    if (count < 0 && errno == EINTR && careful) continue;
    if (count < 0) {
      fprintf(stderr, "read_interrupted: read: %s\n", strerror(errno));
      return 1;
    }
    if (count == 0) break;
    for (ssize_t i = 0; i < count; i++) sum += chunk[i];
  }
  printf("sum %lu\n", sum);
  return 0;
}
