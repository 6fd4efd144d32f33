#define _GNU_SOURCE
/* The bench's fast SCPI simulator: one epoll thread serving N raw sockets, fixed answers, so the
 * clients are what is measured. Prints its ports, one per line, then "ready".
 * Answers: *IDN? (text), CURV:4K? (1024 float32 block), CURV:1M? (262144 float32 block),
 *          FETC? (4096 float32 block). Usage: _visa_sim N */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <fcntl.h>
#include <errno.h>

typedef struct { const char *q; char *r; size_t len; } Answer;
typedef struct { int fd; char in[4096]; size_t inLen; const char *out; size_t outLen, outOff; int listener; } Conn;

static Answer answers[4];

static char *block(size_t n, size_t *len) {
  char head[32];
  int h = snprintf(head, sizeof head, "#%d%zu", (int)snprintf(NULL, 0, "%zu", n * 4), n * 4);
  char *b = malloc(h + n * 4 + 1);
  memcpy(b, head, h);
  for (size_t i = 0; i < n; i++) { float f = (float)i; memcpy(b + h + i * 4, &f, 4); }
  b[h + n * 4] = '\n';
  *len = h + n * 4 + 1;
  return b;
}

static void flush(Conn *c, int ep) {
  while (c->outOff < c->outLen) {
    ssize_t w = send(c->fd, c->out + c->outOff, c->outLen - c->outOff, MSG_NOSIGNAL);
    if (w <= 0) {
      if (w < 0 && errno == EAGAIN) {
        struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.ptr = c };
        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
      }
      return;
    }
    c->outOff += (size_t)w;
  }
  c->outLen = c->outOff = 0;
  struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
  epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void handle(Conn *c, int ep) {
  char *nl;
  while (c->outLen == 0 && (nl = memchr(c->in, '\n', c->inLen)) != NULL) {
    size_t n = (size_t)(nl - c->in);
    for (int i = 0; i < 4; i++) {
      if (strlen(answers[i].q) == n && memcmp(answers[i].q, c->in, n) == 0) {
        c->out = answers[i].r; c->outLen = answers[i].len; c->outOff = 0;
      }
    }
    memmove(c->in, nl + 1, c->inLen - n - 1);
    c->inLen -= n + 1;
    if (c->outLen) flush(c, ep);
  }
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 1;
  answers[0].q = "*IDN?"; answers[0].r = "LabDaemon,SimDMM,0001,1.0\n"; answers[0].len = strlen(answers[0].r);
  answers[1].q = "CURV:4K?"; answers[1].r = block(1024, &answers[1].len);
  answers[2].q = "CURV:1M?"; answers[2].r = block(262144, &answers[2].len);
  answers[3].q = "FETC?"; answers[3].r = block(4096, &answers[3].len);
  int ep = epoll_create1(0);
  for (int i = 0; i < n; i++) {
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    bind(l, (struct sockaddr *)&a, sizeof a);
    listen(l, 64);
    socklen_t al = sizeof a;
    getsockname(l, (struct sockaddr *)&a, &al);
    printf("%d\n", ntohs(a.sin_port));
    Conn *c = calloc(1, sizeof *c); c->fd = l; c->listener = 1;
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
    epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
  }
  printf("ready\n");
  fflush(stdout);
  struct epoll_event evs[64];
  for (;;) {
    int k = epoll_wait(ep, evs, 64, -1);
    for (int i = 0; i < k; i++) {
      Conn *c = evs[i].data.ptr;
      if (c->listener) {
        int fd = accept4(c->fd, NULL, NULL, SOCK_NONBLOCK);
        if (fd < 0) continue;
        int one = 1; setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        Conn *nc = calloc(1, sizeof *nc); nc->fd = fd;
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = nc };
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
        continue;
      }
      if (evs[i].events & EPOLLOUT) flush(c, ep);
      if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        ssize_t r = recv(c->fd, c->in + c->inLen, sizeof c->in - c->inLen, 0);
        if (r <= 0) {
          if (r < 0 && errno == EAGAIN) continue;
          epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL); close(c->fd); free(c);
          continue;
        }
        c->inLen += (size_t)r;
        handle(c, ep);
      }
    }
  }
}
