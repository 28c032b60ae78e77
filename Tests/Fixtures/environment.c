/* The initial state replays as recorded: argv, the environment, the working
 * directory, uname, and the pids. */
#include "fixture.h"
#include <sys/utsname.h>

int main(int argc, char **argv) {
  printf("argc: %d\n", argc);
  for (int i = 0; i < argc; i++) printf("argv[%d]: %s\n", i, argv[i]);
  const char *names[] = {"HOME", "PATH", "REWIND_FIXTURE_VAR"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    const char *value = getenv(names[i]);
    printf("%s: %s\n", names[i], value != NULL ? value : "(unset)");
  }
  char cwd[4096];
  check(getcwd(cwd, sizeof cwd) != NULL);
  printf("cwd: %s\n", cwd);
  struct utsname u;
  check(uname(&u) == 0);
  printf("uname: %s %s %s\n", u.sysname, u.release, u.machine);
  printf("pid: %d ppid: %d\n", (int)getpid(), (int)getppid());
  puts("EXIT-SUCCESS");
  return 0;
}
