/* Benchmark: two forked children, each about half a second of pure
 * computation (at -O2 here), that share no memory; the parent waits for both.
 * Recorded as independent memory groups on 2 cores, record time should stay
 * well under 2x native: each child is traced in parallel with the other. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static uint64_t spin(uint64_t rounds, uint64_t seed) {
  /* xorshift64: a dependency chain the compiler cannot fold away. */
  uint64_t x = seed, acc = 0;
  for (uint64_t i = 0; i < rounds; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    acc += x & 0xff;
  }
  return acc ^ x;
}

int main(int argc, char **argv) {
  uint64_t rounds = argc > 1 ? strtoull(argv[1], NULL, 10) : 260000000ULL;
  pid_t children[2];
  fflush(stdout);
  for (int i = 0; i < 2; i++) {
    children[i] = fork();
    if (children[i] < 0) {
      perror("fork");
      return 1;
    }
    if (children[i] == 0) {
      printf("fork_cpu: child %d result %llx\n", i,
             (unsigned long long)spin(rounds, 88172645463325252ULL + (uint64_t)i));
      fflush(stdout);
      _exit(0);
    }
  }
  int failed = 0;
  for (int i = 0; i < 2; i++) {
    int status;
    if (waitpid(children[i], &status, 0) != children[i] || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
      failed = 1;
  }
  printf("fork_cpu: both children done\n");
  return failed;
}
