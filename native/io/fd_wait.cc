#include "io/fd_wait.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

namespace ld::io {

InterruptibleWait::InterruptibleWait() : wake_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}

InterruptibleWait::~InterruptibleWait() {
  if (wake_ >= 0) ::close(wake_);
}

void InterruptibleWait::reset() {
  interrupted_ = false;
  uint64_t drop;
  while (::read(wake_, &drop, sizeof drop) > 0) {}
}

void InterruptibleWait::interrupt() {
  interrupted_ = true;
  uint64_t one = 1;
  if (wake_ >= 0) (void)!::write(wake_, &one, sizeof one);
}

void InterruptibleWait::refuseIfInterrupted(const std::string& path) const {
  if (interrupted_) throw IoError(ErrorKind::Connection, path + " is closing", ECANCELED, "ECANCELED");
}

void InterruptibleWait::wait(int fd, short events, Deadline d, const char* what, const std::string& path) {
  for (;;) {
    refuseIfInterrupted(path);
    pollfd p[2] = {{fd, events, 0}, {wake_, POLLIN, 0}};
    int r = ::poll(p, 2, msLeft(d));
    if (r == 0) throw IoError(ErrorKind::Timeout, std::string(what) + " " + path + ": timed out", ETIMEDOUT, "ETIMEDOUT");
    if (r < 0) {
      if (errno == EINTR) continue;
      throwErrno(std::string(what) + " " + path, errno);
    }
    if (p[1].revents) continue;  // re-checked at the top
    if (p[0].revents & POLLNVAL) throw IoError(ErrorKind::Connection, path + " is closed", EBADF, "EBADF");
    return;
  }
}

}  // namespace ld::io
