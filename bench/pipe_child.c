/* Benchmark (issue 14's (a)): 200,000 writes of 16 bytes to a pipe read by a child, which
 * prints how much it read. The reads block whenever the pipe is empty: with the system call
 * buffer, those become traced calls through the desched counter. */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
  int p[2];
  if (pipe(p) != 0) return 1;
  pid_t child = fork();
  if (child < 0) return 1;
  if (child == 0) {
    close(p[1]);
    char block[64];
    long total = 0, n;
    while ((n = read(p[0], block, sizeof block)) > 0) total += n;
    printf("pipe_child: read %ld\n", total);
    return 0;
  }
  close(p[0]);
  const char message[16] = "0123456789abcde";
  for (int i = 0; i < 200000; i++)
    if (write(p[1], message, sizeof message) != sizeof message) return 1;
  close(p[1]);
  int status;
  return waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
