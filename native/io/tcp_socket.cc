#include "io/tcp_socket.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "io/fd_wait.h"
#include "io/spin_budget.h"

namespace ld::io {

void TcpSocket::open(Deadline d) {
  close();
  waits_->refuseIfInterrupted(where());
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  // getaddrinfo has no timeout of its own; numeric hosts and /etc/hosts answer at once, which is
  // what lab networks use. A slow DNS can only delay this session's own thread.
  int gai = ::getaddrinfo(host_.c_str(), std::to_string(port_).c_str(), &hints, &res);
  if (gai != 0)
    throw IoError(ErrorKind::Connection, "cannot resolve " + host_ + ": " + gai_strerror(gai), gai, "EAI");
  int lastErr = ECONNREFUSED;
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) { lastErr = errno; continue; }
    int one = 1;
    // SCPI exchanges are small request/response pairs: Nagle would add up to 40 ms to each.
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) { fd_ = fd; break; }
    if (errno != EINPROGRESS) { lastErr = errno; ::close(fd); continue; }
    try {
      waits_->wait(fd, POLLOUT, d, "connect to", where());
    } catch (...) {
      ::close(fd);
      ::freeaddrinfo(res);
      throw;
    }
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err == 0) { fd_ = fd; break; }
    lastErr = err;
    ::close(fd);
  }
  ::freeaddrinfo(res);
  if (fd_ < 0) throwErrno("connect to " + where(), lastErr);
}

void TcpSocket::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void TcpSocket::interrupt() { waits_->interrupt(); }

void TcpSocket::write(const uint8_t* data, size_t n, Deadline d) {
  if (fd_ < 0) throw IoError(ErrorKind::Connection, "socket " + where() + " is not connected", ENOTCONN, "ENOTCONN");
  waits_->refuseIfInterrupted(where());
  size_t off = 0;
  while (off < n) {
    ssize_t w = ::send(fd_, data + off, n - off, MSG_NOSIGNAL);
    if (w > 0) { off += static_cast<size_t>(w); continue; }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      waits_->wait(fd_, POLLOUT, d, "write to", where());
      continue;
    }
    int err = errno;
    close();
    throwErrno("write to " + where(), err);
  }
}

// A read polls the socket a little before it sleeps in poll() (spin_budget.h). An instrument on the LAN
// answers a short query in tens of µs; waking a sleeping thread costs about as much again on virtual
// machines. sched_yield in the loop hands the core to anything else runnable, so the polling only
// uses time nobody wants.

size_t TcpSocket::read(uint8_t* buf, size_t max, Deadline d, bool* end) {
  *end = false;
  if (fd_ < 0) throw IoError(ErrorKind::Connection, "socket " + where() + " is not connected", ENOTCONN, "ENOTCONN");
  SpinSlot spin;
  Deadline spinUntil = spin.granted() ? Clock::now() + spinBudget() : Clock::now();
  for (;;) {
    ssize_t r = ::recv(fd_, buf, max, 0);
    if (r > 0) return static_cast<size_t>(r);
    if (r == 0) {
      close();
      throw IoError(ErrorKind::Connection, "connection to " + where() + " closed by the peer", ECONNRESET, "ECONNRESET");
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (Clock::now() < spinUntil && Clock::now() < d) {
        ::sched_yield();
        continue;
      }
      spin.release();
      waits_->wait(fd_, POLLIN, d, "read from", where());
      continue;
    }
    int err = errno;
    close();
    throwErrno("read from " + where(), err);
  }
}

// A raw socket has no device clear, and no way to tell a late answer from the next one: the answer to a
// request that timed out can come any time after, and would be taken for the next query's. Only a new
// connection is sure to be rid of it (and of a command fragment, which belongs to the connection).
void TcpSocket::clear(Deadline d) {
  close();
  open(d);
}

void TcpSocket::discardInput() { drainInput(Deadline::max()); }

void TcpSocket::drainInput(Deadline until) {
  if (fd_ < 0) return;
  uint8_t scratch[65536];
  // Drop whatever the instrument already sent; do not wait for more. A peer that keeps sending could
  // refill the socket as fast as this drains it, so the drain stops after 16 MiB (or at `until`).
  size_t dropped = 0;
  ssize_t r;
  while (dropped < (16u << 20) && (r = ::recv(fd_, scratch, sizeof scratch, MSG_DONTWAIT)) > 0 && Clock::now() < until)
    dropped += static_cast<size_t>(r);
}

}  // namespace ld::io
