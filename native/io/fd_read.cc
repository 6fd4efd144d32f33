#include "io/fd_read.h"

#include <sys/socket.h>

#include <cerrno>

namespace ld::io {

void recvExact(int fd, uint8_t* p, size_t n, Deadline d, InterruptibleWait& wait, const std::string& where) {
  size_t have = 0;
  while (have < n) {
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

}  // namespace ld::io
