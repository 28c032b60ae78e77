/* A MAP_SHARED|MAP_ANONYMOUS page inherited over fork: the parent writes a
 * message, the child reads it and writes a reply in the same page, and the
 * parent reads the reply after waitpid. The order comes from waitpid alone,
 * so nothing depends on how the two processes were interleaved. */
#include "fixture.h"
#include <sys/wait.h>

int main(void) {
  size_t page = sysconf(_SC_PAGESIZE);
  char *shared = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  check(shared != MAP_FAILED);
  strcpy(shared, "written by the parent before fork");
  check(fflush(stdout) == 0);
  pid_t child = fork();
  check(child >= 0);
  if (child == 0) {
    printf("child read: %s\n", shared);
    check(fflush(stdout) == 0);
    strcpy(shared + 512, "written back by the child");
    shared[0] = 'W';
    _exit(0);
  }
  int status;
  check(waitpid(child, &status, 0) == child);
  check(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  printf("parent read: %s | %s\n", shared, shared + 512);
  check(munmap(shared, page) == 0);
  puts("EXIT-SUCCESS");
  return 0;
}
