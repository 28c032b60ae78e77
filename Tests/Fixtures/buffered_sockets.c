/* Waits and socket transfers through the system call buffer: a forked child answers its
   parent over a socket pair, 2,000 rounds. The child waits with poll and answers with
   recv and send; the parent waits with epoll_wait (traced: not buffered) and uses sendto and recvfrom without an
   address. Each wait may block (then it is made a traced call) or find the data there.
   Prints the answers' checksum and the revents seen. */
#include "fixture.h"
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>

enum { rounds = 2000 };

static void answer(int s) {
  for (int i = 0; i < rounds; i++) {
    struct pollfd wait = {.fd = s, .events = POLLIN};
    check(poll(&wait, 1, -1) == 1 && (wait.revents & POLLIN));
    char message[16];
    ssize_t n = recv(s, message, sizeof message, 0);
    check(n > 0);
    message[0]++;
    check(send(s, message, (size_t)n, 0) == n);
  }
}

int main(void) {
  int pair[2];
  check(socketpair(AF_UNIX, SOCK_STREAM, 0, pair) == 0);
  pid_t child = fork();
  check(child >= 0);
  if (child == 0) {
    close(pair[0]);
    answer(pair[1]);
    _exit(0);
  }
  close(pair[1]);
  int epoll = epoll_create1(0);
  struct epoll_event interest = {.events = EPOLLIN, .data.u64 = 42};
  check(epoll >= 0 && epoll_ctl(epoll, EPOLL_CTL_ADD, pair[0], &interest) == 0);
  unsigned long sum = 0, tags = 0;
  for (int i = 0; i < rounds; i++) {
    char message[8];
    memset(message, 'a' + i % 26, sizeof message);
    check(sendto(pair[0], message, sizeof message, 0, NULL, 0) == sizeof message);
    struct epoll_event ready[4];
    check(epoll_wait(epoll, ready, 4, -1) == 1);
    tags += ready[0].data.u64;
    char reply[8];
    check(recvfrom(pair[0], reply, sizeof reply, 0, NULL, NULL) == sizeof reply);
    sum = sum * 31 + (unsigned char)reply[0];
  }
  int status;
  check(waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0);
  printf("sum %lx tags %lu\n", sum, tags);
  printf("EXIT-SUCCESS\n");
  return 0;
}
