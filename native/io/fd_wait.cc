#include "io/fd_wait.h"

#include <cerrno>

namespace ld::io {

void waitFd(int fd, short events, Deadline d, const std::string& what) {
  for (;;) {
    int left = msLeft(d);
    pollfd p{fd, events, 0};
    int r = ::poll(&p, 1, left);
    if (r > 0) return;  // readiness or an error/hangup: the following read/write reports which
    if (r == 0) throw IoError(ErrorKind::Timeout, what + ": timed out", ETIMEDOUT, "ETIMEDOUT");
    if (errno != EINTR) throwErrno(what, errno);
  }
}

}  // namespace ld::io
