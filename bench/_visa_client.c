/* The bench's limit: the least a client can do for the same exchange (send the query, read the
 * answer to its terminator or the whole block), one socket per instrument, one thread each.
 * KIND is text or block; "+spin" busy-polls the socket instead of sleeping in recv (what our session
 * threads do for their first 100 µs).
 * Usage: _visa_client QUERY KIND[+spin] N PORT... -> prints "<total ops> <seconds>" */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *query;
static int isBlock, spin;
static long iterations;

static ssize_t rcv(int fd, char *buf, size_t n) {
  for (;;) {
    ssize_t r = recv(fd, buf, n, spin ? MSG_DONTWAIT : 0);
    if (r < 0 && spin && errno == EAGAIN) continue;
    return r;
  }
}

static void readn(int fd, char *buf, size_t n) {
  size_t off = 0;
  while (off < n) { ssize_t r = rcv(fd, buf + off, n - off); if (r <= 0) { perror("recv"); exit(1); } off += (size_t)r; }
}

static void *run(void *arg) {
  int port = (int)(long)arg;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1; setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) { perror("connect"); exit(1); }
  char msg[64]; int ml = snprintf(msg, sizeof msg, "%s\n", query);
  static __thread char buf[1 << 21];
  for (long i = 0; i < iterations; i++) {
    send(fd, msg, ml, 0);
    if (!isBlock) {
      size_t len = 0;
      for (;;) { ssize_t r = rcv(fd, buf + len, sizeof buf - len); if (r <= 0) exit(1); len += r; if (buf[len - 1] == '\n') break; }
    } else {
      readn(fd, buf, 2);
      int nd = buf[1] - '0';
      readn(fd, buf, nd);
      buf[nd] = 0;
      size_t len = strtoul(buf, NULL, 10);
      readn(fd, buf, len + 1);
    }
  }
  close(fd);
  return NULL;
}

int main(int argc, char **argv) {
  query = argv[1]; isBlock = strncmp(argv[2], "block", 5) == 0; spin = strstr(argv[2], "+spin") != NULL;
  iterations = atol(argv[3]);
  int n = argc - 4;
  pthread_t t[64];
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int i = 0; i < n; i++) pthread_create(&t[i], NULL, run, (void *)(long)atoi(argv[4 + i]));
  for (int i = 0; i < n; i++) pthread_join(t[i], NULL);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  printf("%ld %.6f\n", iterations * n, (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
  return 0;
}
