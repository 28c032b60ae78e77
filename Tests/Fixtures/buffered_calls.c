/* Calls the in-tracee system call buffer (librewind_preload.so) takes: writes, reads,
   lseek, fstat, pread and clock reads on a regular file, many times over, so that each
   thread's ring wraps and fills; prints what they returned. With the argument `filter`, a
   seccomp filter then fails lseek with EPERM unless its `syscall` instruction is the buffer
   page's: libc's lseek goes through the page when the library is loaded, a raw one never
   does (rewind does not record seccomp, so only when run natively). */
#include "fixture.h"
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>

static int page_is_mapped(void) {
  FILE *maps = fopen("/proc/self/maps", "r");
  char line[256];
  int found = 0;
  while (maps && fgets(line, sizeof line, maps))
    if (strncmp(line, "70000000000-70000001000 r-xp", 28) == 0) found = 1;
  if (maps) fclose(maps);
  return found;
}

int main(int argc, char **argv) {
  char path[] = "/tmp/rewind-buffered-XXXXXX";
  int fd = mkstemp(path);
  check(fd >= 0);
  unlink(path);
  unsigned long sum = 0;
  char block[100], back[100];
  for (int i = 0; i < 3000; i++) {
    memset(block, 'a' + i % 26, sizeof block);
    check(write(fd, block, sizeof block) == sizeof block);
    check(pread(fd, back, sizeof back, (off_t)i * 100) == sizeof back);
    sum = sum * 31 + (unsigned char)back[i % 100];
  }
  struct stat info;
  check(fstat(fd, &info) == 0);
  check(lseek(fd, 50, SEEK_SET) == 50 && read(fd, back, 10) == 10);
  struct timespec now;
  int clocked = clock_gettime(CLOCK_MONOTONIC, &now);
  printf("size %lld sum %lx read %.3s clock %d pid %d tid %d\n", (long long)info.st_size, sum, back,
         clocked, getpid() == (pid_t)syscall(SYS_getpid), gettid() == (pid_t)syscall(SYS_gettid));
  if (argc < 2 || strcmp(argv[1], "filter") != 0) {
    printf("EXIT-SUCCESS\n");
    return 0;
  }

  struct sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_lseek, 0, 5),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, instruction_pointer)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x00000002, 0, 2),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, instruction_pointer) + 4),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x700, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog program = {sizeof filter / sizeof filter[0], filter};
  check(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0);
  check(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program) == 0);
  off_t through_libc = lseek(fd, 0, SEEK_SET);
  int libc_errno = through_libc < 0 ? errno : 0;
  long raw = syscall(SYS_lseek, fd, 0, SEEK_SET);
  printf("page %s, libc lseek %s, raw lseek %s\n", page_is_mapped() ? "mapped" : "absent",
         libc_errno ? strerror(libc_errno) : "ok", raw < 0 ? strerror(errno) : "ok");
  printf("EXIT-SUCCESS\n");
  return 0;
}
