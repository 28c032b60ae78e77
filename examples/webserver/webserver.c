/* webserver: a small forking HTTP/1.0 server, the demo of rewind's process trees.
 *
 *   webserver [PORT [CONNECTIONS]]
 *
 * Listens on 127.0.0.1:PORT (0, the default, lets the kernel choose) and
 * prints "listening on PORT". Each connection is served by a child of its own,
 * which logs the request line. After CONNECTIONS connections (default 2) the
 * server waits for its children, prints how each one ended, and exits 0; it
 * gives up (exit 1) when no client comes for 30 s.
 *
 * GET / answers a small HTML page. GET /crash runs into a deliberate bug in
 * the handler, a write through a NULL pointer: that child dies of SIGSEGV, the
 * server carries on. Find the crash with `rewind ps` and replay that child
 * alone with `rewind replay -a --process PID`.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_CONNECTIONS 64

static void die(const char *what) {
  perror(what);
  exit(1);
}

/* A page of the site, and how often it was asked for. */
struct page {
  const char *path;
  const char *html;
  unsigned long hits;
};

static struct page pages[] = {
    {"/", "<!doctype html>\n<html><body><h1>Hello from rewind's webserver</h1></body></html>\n", 0},
};

/* The page at `path`, or NULL when there is none. */
static struct page *find_page(const char *path) {
  for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++)
    if (strcmp(pages[i].path, path) == 0) return &pages[i];
  return NULL;
}

static void send_all(int fd, const char *data, size_t length) {
  while (length > 0) {
    ssize_t n = write(fd, data, length);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return; /* the client went away: nothing left to do */
    data += n;
    length -= (size_t)n;
  }
}

static void respond(int fd, const char *status, const char *body) {
  char head[256];
  int n = snprintf(head, sizeof head,
                   "HTTP/1.0 %s\r\nContent-Type: text/html\r\nContent-Length: %zu\r\n"
                   "Connection: close\r\n\r\n",
                   status, strlen(body));
  send_all(fd, head, (size_t)n);
  send_all(fd, body, strlen(body));
}

/* Reads the request up to the blank line after its headers (or EOF). */
static void read_request(int fd, char *buf, size_t size) {
  size_t got = 0;
  buf[0] = '\0';
  while (got < size - 1 && strstr(buf, "\r\n\r\n") == NULL && strstr(buf, "\n\n") == NULL) {
    ssize_t n = read(fd, buf + got, size - 1 - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += (size_t)n;
    buf[got] = '\0';
  }
}

/* Serves one connection; runs in the child forked for it. */
static void handle(int fd) {
  char request[2048], method[16], path[256];
  read_request(fd, request, sizeof request);
  if (sscanf(request, "%15s %255s", method, path) != 2) {
    respond(fd, "400 Bad Request", "<p>bad request</p>\n");
    return;
  }
  printf("child %d: %s %s\n", (int)getpid(), method, path);
  if (strcmp(method, "GET") != 0) {
    respond(fd, "405 Method Not Allowed", "<p>only GET</p>\n");
    return;
  }
  struct page *page = find_page(path);
  if (strcmp(path, "/crash") == 0) {
    /* DELIBERATE BUG, the one this demo is about: the hit counter is bumped
     * before checking that the page exists. There is no /crash page, so
     * find_page returned NULL and this writes through a NULL pointer:
     * SIGSEGV kills this child before it answers. */
    page->hits++;
  }
  if (page == NULL) {
    respond(fd, "404 Not Found", "<p>no such page</p>\n");
    return;
  }
  page->hits++;
  respond(fd, "200 OK", page->html);
}

int main(int argc, char **argv) {
  int port = argc > 1 ? atoi(argv[1]) : 0;
  int connections = argc > 2 ? atoi(argv[2]) : 2;
  if (port < 0 || port > 65535 || connections < 1 || connections > MAX_CONNECTIONS) {
    fprintf(stderr, "usage: webserver [PORT [CONNECTIONS (1-%d)]]\n", MAX_CONNECTIONS);
    return 2;
  }
  setvbuf(stdout, NULL, _IOLBF, 0); /* one line at a time, and nothing buffered at fork */
  signal(SIGPIPE, SIG_IGN);         /* a client that hangs up early is not fatal */

  int listener = socket(AF_INET, SOCK_STREAM, 0);
  if (listener < 0) die("socket");
  int yes = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(listener, (struct sockaddr *)&addr, sizeof addr) != 0) die("bind");
  if (listen(listener, 16) != 0) die("listen");
  socklen_t length = sizeof addr;
  if (getsockname(listener, (struct sockaddr *)&addr, &length) != 0) die("getsockname");
  printf("listening on %d\n", ntohs(addr.sin_port));

  pid_t children[MAX_CONNECTIONS];
  for (int served = 0; served < connections; served++) {
    struct pollfd waiting = {.fd = listener, .events = POLLIN};
    int ready = poll(&waiting, 1, 30 * 1000);
    if (ready < 0 && errno == EINTR) { served--; continue; }
    if (ready < 0) die("poll");
    if (ready == 0) {
      fprintf(stderr, "webserver: no connection for 30 s, giving up\n");
      return 1;
    }
    int fd = accept(listener, NULL, NULL);
    if (fd < 0) die("accept");
    pid_t child = fork();
    if (child < 0) die("fork");
    if (child == 0) {
      close(listener);
      handle(fd);
      close(fd);
      _exit(0);
    }
    close(fd);
    children[served] = child;
  }
  close(listener);

  /* Reap them all before printing anything, so these lines come after every
   * line the children printed. */
  int statuses[MAX_CONNECTIONS];
  for (int i = 0; i < connections; i++)
    while (waitpid(children[i], &statuses[i], 0) < 0)
      if (errno != EINTR) die("waitpid");
  for (int i = 0; i < connections; i++) {
    if (WIFSIGNALED(statuses[i]))
      printf("child %d: killed by signal %d (%s)\n", (int)children[i], WTERMSIG(statuses[i]),
             strsignal(WTERMSIG(statuses[i])));
    else
      printf("child %d: exited with %d\n", (int)children[i], WEXITSTATUS(statuses[i]));
  }
  printf("served %d connections\n", connections);
  return 0;
}
