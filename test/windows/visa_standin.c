/* A stand-in "vendor VISA library" for the Windows executable under wine, built as a DLL by
 * test/windows/wine.ts: enough of the VISA C API (viOpen of TCPIP0::host::port::SOCKET over Winsock) to
 * prove that labdaemon.exe loads a VISA library with LoadLibrary and drives it. Not a VISA implementation. */
#include <winsock2.h>
#include <ws2tcpip.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef int32_t ViStatus;
typedef uint32_t ViSession, ViUInt32;
typedef uint64_t ViAttrState;
#define TMO_ERR ((ViStatus)0xBFFF0015)
#define RSRC_NFOUND ((ViStatus)0xBFFF0011)
#define IO_ERR ((ViStatus)0xBFFF003E)
#define EXPORT __declspec(dllexport)

static SOCKET socks[64];
static int term_char[64], term_en[64], next_vi = 2;

EXPORT ViStatus viOpenDefaultRM(ViSession *rm) {
  WSADATA w;
  WSAStartup(MAKEWORD(2, 2), &w);
  *rm = 1;
  return 0;
}

EXPORT ViStatus viOpen(ViSession rm, const char *rsrc, ViUInt32 mode, ViUInt32 tmo, ViSession *vi) {
  (void)rm; (void)mode; (void)tmo;
  char host[64]; int port;
  if (sscanf(rsrc, "TCPIP0::%63[^:]::%d::SOCKET", host, &port) != 2 || next_vi >= 64) return RSRC_NFOUND;
  SOCKET s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET; a.sin_port = htons((u_short)port); inet_pton(AF_INET, host, &a.sin_addr);
  if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) { closesocket(s); return RSRC_NFOUND; }
  *vi = (ViSession)next_vi;
  socks[next_vi] = s; term_char[next_vi] = '\n'; term_en[next_vi] = 0;
  next_vi++;
  return 0;
}

EXPORT ViStatus viClose(ViSession vi) { if (vi > 1 && vi < 64) closesocket(socks[vi]); return 0; }

EXPORT ViStatus viSetAttribute(ViSession vi, ViUInt32 attr, ViAttrState v) {
  if (vi >= 64) return 0;
  if (attr == 0x3FFF001A) { DWORD ms = (DWORD)v; setsockopt(socks[vi], SOL_SOCKET, SO_RCVTIMEO, (const char *)&ms, sizeof ms); }
  else if (attr == 0x3FFF0018) term_char[vi] = (int)v;
  else if (attr == 0x3FFF0038) term_en[vi] = (int)v;
  return 0;
}

EXPORT ViStatus viWrite(ViSession vi, const uint8_t *buf, ViUInt32 n, ViUInt32 *done) {
  int w = send(socks[vi], (const char *)buf, (int)n, 0);
  if (w < 0) return IO_ERR;
  *done = (ViUInt32)w;
  return 0;
}

EXPORT ViStatus viRead(ViSession vi, uint8_t *buf, ViUInt32 n, ViUInt32 *got) {
  ViUInt32 k = 0;
  while (k < n) {
    int r = recv(socks[vi], (char *)buf + k, 1, 0);
    if (r == 0) { *got = k; return IO_ERR; }
    if (r < 0) { *got = k; return WSAGetLastError() == WSAETIMEDOUT ? TMO_ERR : IO_ERR; }
    k++;
    if (term_en[vi] && buf[k - 1] == term_char[vi]) { *got = k; return 0x3FFF0005; }
  }
  *got = k;
  return 0x3FFF0006;
}

EXPORT ViStatus viClear(ViSession vi) {
  u_long avail = 0;
  char b[4096];
  while (ioctlsocket(socks[vi], FIONREAD, &avail) == 0 && avail > 0) recv(socks[vi], b, sizeof b, 0);
  return 0;
}

EXPORT ViStatus viStatusDesc(ViSession vi, ViStatus s, char *desc) {
  (void)vi;
  snprintf(desc, 256, s == TMO_ERR ? "VI_ERROR_TMO: Timeout expired before operation completed." : "stand-in VISA status %d", (int)s);
  return 0;
}

EXPORT ViStatus viFindRsrc(ViSession rm, const char *expr, ViSession *list, ViUInt32 *count, char *desc) {
  (void)rm; (void)expr;
  *list = 0; *count = 2;
  strcpy(desc, "USB0::0x0957::0x1798::MY00000001::INSTR");
  return 0;
}

EXPORT ViStatus viFindNext(ViSession list, char *desc) { (void)list; strcpy(desc, "GPIB0::22::INSTR"); return 0; }
EXPORT ViStatus viLock(ViSession vi, ViUInt32 t, ViUInt32 tmo, const char *k, char *a) { (void)vi; (void)t; (void)tmo; (void)k; (void)a; return 0; }
EXPORT ViStatus viUnlock(ViSession vi) { (void)vi; return 0; }
