#include "io/usbtmc.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace ld::io {
namespace {
// linux/usb/tmc.h, spelled out so the build does not need the kernel headers package.
constexpr unsigned long kIocNr = 91;
constexpr unsigned long kIoctlClear = _IO(kIocNr, 2);
constexpr unsigned long kIoctlSetTimeout = _IOW(kIocNr, 10, uint32_t);
}  // namespace

Usbtmc::Usbtmc(std::string path) : path_(std::move(path)) {
}

Usbtmc::~Usbtmc() {
  close();
}

void Usbtmc::open(Deadline) {
  close();
  waits_.reset();
  int fd = ::open(path_.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) throwErrno("open " + path_, errno);
  fd_ = fd;
  standIn_ = ::isatty(fd) == 1;
}

void Usbtmc::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void Usbtmc::interrupt() {
  waits_.interrupt();
}

// The driver's own transfer timeout follows the request's deadline, so a blocking transfer inside the
// kernel cannot outlast it. A stand-in device (a pty in tests) has no such ioctl: poll() keeps time.
void Usbtmc::setDriverTimeout(Deadline d) {
  uint32_t ms = static_cast<uint32_t>(std::max(100, msLeft(d)));
  (void)::ioctl(fd_, kIoctlSetTimeout, &ms);
}

void Usbtmc::wait(short events, Deadline d, const char* what) {
  waits_.wait(fd_, events, d, what, path_);
}

void Usbtmc::write(const uint8_t* data, size_t n, Deadline d) {
  if (fd_ < 0) throw IoError(ErrorKind::Connection, path_ + " is not open", ENOTCONN, "ENOTCONN");
  setDriverTimeout(d);
  size_t off = 0;
  while (off < n) {
    ssize_t w = ::write(fd_, data + off, n - off);
    if (w > 0) { off += static_cast<size_t>(w); continue; }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) { wait(POLLOUT, d, "write to"); continue; }
    int err = errno;
    close();
    throwErrno("write to " + path_, err);
  }
}

size_t Usbtmc::read(uint8_t* buf, size_t max, Deadline d, bool* end) {
  *end = false;
  if (fd_ < 0) throw IoError(ErrorKind::Connection, path_ + " is not open", ENOTCONN, "ENOTCONN");
  setDriverTimeout(d);
  for (;;) {
    ssize_t r = ::read(fd_, buf, max);
    if (r > 0) return static_cast<size_t>(r);
    if (r < 0 && errno == EINTR) continue;
    if ((r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) || r == 0) {
      wait(POLLIN, d, "read from");
      continue;
    }
    int err = errno;
    if (err == ETIMEDOUT) throw IoError(ErrorKind::Timeout, "read from " + path_ + ": timed out", ETIMEDOUT, "ETIMEDOUT");
    close();
    throwErrno("read from " + path_, err);
  }
}

void Usbtmc::clear(Deadline d) {
  if (fd_ < 0) return;
  setDriverTimeout(d);
  if (::ioctl(fd_, kIoctlClear) == 0) return;
  if (errno != ENOTTY && errno != EINVAL) throwErrno("USBTMC clear on " + path_, errno);
  discardInput();
}

// The kernel driver holds no input: an answer is fetched by the read that asks for it. Its read() ignores
// O_NONBLOCK, so reading here would send a Bulk-IN request, wait the driver's timeout for an answer nobody
// asked for, and leave that request unaborted. Only the stand-in (a pty, a byte stream) has bytes to drop.
void Usbtmc::discardInput() {
  if (fd_ < 0 || !standIn_) return;
  uint8_t scratch[4096];
  size_t dropped = 0;
  ssize_t r;
  while (dropped < (16u << 20) && (r = ::read(fd_, scratch, sizeof scratch)) > 0) dropped += static_cast<size_t>(r);
}

}  // namespace ld::io
