#include "io/fd_read.h"

#include <sys/socket.h>

#include <cerrno>

namespace ld::io {

void recvExact(int fd, uint8_t* p, size_t n, Deadline d, InterruptibleWait& wait, const std::string& where) {
  size_t have = 0;
  while (have < n) {
    // An interrupt ends the read even while data keeps coming (wait() would only see it between waits).
    if (wait.interrupted()) throw IoError(ErrorKind::Connection, where + " is closing", ECANCELED, "ECANCELED");
    ssize_t r = ::recv(fd, p + have, n - have, MSG_DONTWAIT);
    if (r > 0) {
      have += static_cast<size_t>(r);
      continue;
    }
    if (r == 0) throw IoError(ErrorKind::Connection, "read from " + where + ": closed by the peer", ECONNRESET, "ECONNRESET");
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) throwErrno("read from " + where, errno);
    wait.wait(fd, POLLIN, d, "read from", where);
  }
}

BlockHead readBlockHead(int fd, Deadline d, InterruptibleWait& wait, const std::string& where) {
  uint8_t h[11];
  BlockHead out;
  recvExact(fd, h, 2, d, wait, where);
  size_t got = 2;
  if (h[0] == '#' && h[1] >= '1' && h[1] <= '9') {
    size_t digits = static_cast<size_t>(h[1] - '0');
    recvExact(fd, h + 2, digits, d, wait, where);
    got += digits;
    size_t len = 0;
    bool decimal = true;
    for (size_t i = 2; i < got && decimal; i++) {
      decimal = h[i] >= '0' && h[i] <= '9';
      len = len * 10 + static_cast<size_t>(h[i] - '0');
    }
    if (decimal) {
      out.kind = BlockHead::Kind::Length;
      out.length = len;
      return out;
    }
  }
  out.consumed.assign(reinterpret_cast<const char*>(h), got);
  return out;
}

bool takeTermination(int fd, const std::string& term) {
  char t[16];
  if (term.empty() || term.size() > sizeof t) return false;
  ssize_t r = ::recv(fd, t, term.size(), MSG_PEEK | MSG_DONTWAIT);
  if (r != static_cast<ssize_t>(term.size()) || term.compare(0, term.size(), t, term.size()) != 0) return false;
  return ::recv(fd, t, term.size(), MSG_DONTWAIT) == r;
}

}  // namespace ld::io
