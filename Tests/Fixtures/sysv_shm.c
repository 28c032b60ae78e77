/* A System V shared memory segment attached before fork: the child reads what the parent
   wrote and writes back; both detach. Replay has no segment: it maps anonymous shared
   memory at the recorded address and fills it with what the attach saw. */
#include "fixture.h"
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/wait.h>

int main(void) {
  int id = shmget(IPC_PRIVATE, 8192, IPC_CREAT | 0600);
  check(id >= 0);
  char *segment = shmat(id, NULL, 0);
  check(segment != (void *)-1);
  strcpy(segment, "written by the parent");
  pid_t child = fork();
  check(child >= 0);
  if (child == 0) {
    printf("child read: %s\n", segment);
    fflush(stdout);
    strcpy(segment + 100, "written back by the child");
    check(shmdt(segment) == 0);
    _exit(0);
  }
  int status;
  check(waitpid(child, &status, 0) == child && WIFEXITED(status));
  printf("parent read: %s\n", segment + 100);
  struct shmid_ds info;
  check(shmctl(id, IPC_STAT, &info) == 0);
  printf("segment size %zu\n", (size_t)info.shm_segsz);
  check(shmdt(segment) == 0);
  check(shmctl(id, IPC_RMID, NULL) == 0);
  puts("EXIT-SUCCESS");
  return 0;
}
