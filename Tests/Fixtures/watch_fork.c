/* For `rewind watch --follow-forks`: the parent and a forked child both write `counter`. */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
long counter;
int main(void) {
  counter = 1;
  pid_t child = fork();
  if (child == 0) { counter = 100; counter = 101; _exit(0); }
  waitpid(child, NULL, 0);
  counter = 2;
  printf("done %ld\n", counter);
  return 0;
}
