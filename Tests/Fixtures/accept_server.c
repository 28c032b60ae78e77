/* A server on a loopback port: a child connects and says "ping"; the server accepts,
 * answers "pong" and waits for the child. When accept fails (EMFILE: out of descriptors)
 * it says so and exits 3 rather than serving. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in address = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t length = sizeof address;
  if (listener < 0 || bind(listener, (struct sockaddr *)&address, sizeof address) != 0 || listen(listener, 1) != 0 ||
      getsockname(listener, (struct sockaddr *)&address, &length) != 0) {
    perror("accept_server: listen");
    return 1;
  }
  pid_t child = fork();
  if (child == 0) {
    int client = socket(AF_INET, SOCK_STREAM, 0);
    char reply[8] = {0};
    if (connect(client, (struct sockaddr *)&address, sizeof address) != 0 || write(client, "ping", 4) != 4 ||
        read(client, reply, 4) != 4)
      _exit(1);
    _exit(strcmp(reply, "pong") == 0 ? 0 : 1);
  }
  int connection = accept(listener, NULL, NULL);
  if (connection < 0) {
    fprintf(stderr, "accept_server: accept: %s; not serving\n", strerror(errno));
    return 3;
  }
  char request[8] = {0};
  if (read(connection, request, 4) != 4 || strcmp(request, "ping") != 0 || write(connection, "pong", 4) != 4) return 1;
  int status = 0;
  waitpid(child, &status, 0);
  printf("served: child %s\n", WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "satisfied" : "not satisfied");
  return 0;
}
