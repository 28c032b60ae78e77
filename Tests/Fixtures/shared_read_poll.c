/* A child blocks in read() into shared memory; the parent looks at that memory before it
   feeds the pipe, then after the child is done. The read's bytes must appear where the read
   returned: at its start, the parent would see them before it wrote them. */
#include "fixture.h"
#include <sys/wait.h>

int main(void) {
  volatile char *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  check(shared != MAP_FAILED);
  int fds[2];
  check(pipe(fds) == 0);
  pid_t child = fork();
  check(child >= 0);
  if (child == 0) {
    check(read(fds[0], (char *)shared, 1) == 1);
    _exit(0);
  }
  usleep(20000);  /* the child is blocked in read by now */
  int before = shared[0];
  check(write(fds[1], "x", 1) == 1);
  check(waitpid(child, NULL, 0) == child);
  printf("before the write: %d, after the child: '%c'\n", before, shared[0]);
  puts("EXIT-SUCCESS");
  return 0;
}
