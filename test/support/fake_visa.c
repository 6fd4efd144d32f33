/* A stand-in "vendor VISA library" for tests: just enough of the VISA C API (viOpen of
 * TCPIP::host::port::SOCKET resources over a plain socket) to prove that labdaemon loads a VISA
 * library at run time and drives it correctly. Not a VISA implementation. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

typedef int32_t ViStatus;
typedef uint32_t ViSession, ViUInt32;
typedef uint64_t ViAttrState;
#define TMO_ERR ((ViStatus)0xBFFF0015)
#define RSRC_NFOUND ((ViStatus)0xBFFF0011)
#define IO_ERR ((ViStatus)0xBFFF003E)

static int term_char[64];
static int term_en[64];

ViStatus viOpenDefaultRM(ViSession *rm) { *rm = 1; return 0; }

ViStatus viOpen(ViSession rm, const char *rsrc, ViUInt32 mode, ViUInt32 tmo, ViSession *vi) {
  (void)rm; (void)mode; (void)tmo;
  char host[64]; int port;
  if (sscanf(rsrc, "TCPIP0::%63[^:]::%d::SOCKET", host, &port) != 2) return RSRC_NFOUND;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET; a.sin_port = htons(port); inet_pton(AF_INET, host, &a.sin_addr);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) { close(fd); return RSRC_NFOUND; }
  *vi = (ViSession)fd;
  term_char[fd % 64] = '\n'; term_en[fd % 64] = 0;
  return 0;
}

ViStatus viClose(ViSession vi) { if (vi > 1) close((int)vi); return 0; }

ViStatus viSetAttribute(ViSession vi, ViUInt32 attr, ViAttrState v) {
  if (attr == 0x3FFF001A) {
    struct timeval tv = { (time_t)(v / 1000), (suseconds_t)((v % 1000) * 1000) };
    setsockopt((int)vi, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  } else if (attr == 0x3FFF0018) term_char[vi % 64] = (int)v;
  else if (attr == 0x3FFF0038) term_en[vi % 64] = (int)v;
  return 0;
}

ViStatus viWrite(ViSession vi, const uint8_t *buf, ViUInt32 n, ViUInt32 *done) {
  ssize_t w = send((int)vi, buf, n, MSG_NOSIGNAL);
  if (w < 0) return IO_ERR;
  *done = (ViUInt32)w;
  return 0;
}

ViStatus viRead(ViSession vi, uint8_t *buf, ViUInt32 n, ViUInt32 *got) {
  ViUInt32 k = 0;
  while (k < n) {
    ssize_t r = recv((int)vi, buf + k, 1, 0);
    if (r == 0) { *got = k; return IO_ERR; }
    if (r < 0) { *got = k; return (errno == EAGAIN || errno == EWOULDBLOCK) ? TMO_ERR : IO_ERR; }
    k++;
    if (term_en[vi % 64] && buf[k - 1] == term_char[vi % 64]) { *got = k; return 0x3FFF0005; }
  }
  *got = k;
  return 0x3FFF0006;
}

ViStatus viClear(ViSession vi) {
  uint8_t b[4096];
  while (recv((int)vi, b, sizeof b, MSG_DONTWAIT) > 0) {}
  return 0;
}

ViStatus viStatusDesc(ViSession vi, ViStatus s, char *desc) {
  (void)vi;
  snprintf(desc, 256, s == TMO_ERR ? "VI_ERROR_TMO: Timeout expired before operation completed." : "fake VISA status %d", s);
  return 0;
}

ViStatus viFindRsrc(ViSession rm, const char *expr, ViSession *list, ViUInt32 *count, char *desc) {
  (void)rm; (void)expr;
  *list = 0; *count = 2;
  strcpy(desc, "USB0::0x0957::0x1798::MY00000001::INSTR");
  return 0;
}

ViStatus viFindNext(ViSession list, char *desc) { (void)list; strcpy(desc, "GPIB0::22::INSTR"); return 0; }
ViStatus viLock(ViSession vi, ViUInt32 t, ViUInt32 tmo, const char *k, char *a) { (void)vi; (void)t; (void)tmo; (void)k; (void)a; return 0; }
ViStatus viUnlock(ViSession vi) { (void)vi; return 0; }
