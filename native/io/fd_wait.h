// poll() on one descriptor until it is ready, a deadline passes or another thread interrupts the wait:
// shared by the fd-based transports.
#pragma once
#include <poll.h>

#include <atomic>
#include <string>

#include "io/io_error.h"

namespace ld::io {

// The waits of a transport (serial port, usbtmc, TCP socket) that close() on another thread must be able
// to cut short: an eventfd wakes the poll(), and the flag says the wake-up means "closing".
class InterruptibleWait {
 public:
  InterruptibleWait();
  ~InterruptibleWait();
  InterruptibleWait(const InterruptibleWait&) = delete;
  InterruptibleWait& operator=(const InterruptibleWait&) = delete;
  // A new connection: forget an earlier interrupt.
  void reset();
  // From any thread: the current and every later wait throws IoError(Connection, ECANCELED) until reset().
  void interrupt();
  // Whether interrupt() was called since the last reset().
  bool interrupted() const { return interrupted_; }
  // Throws what an interrupted wait throws, for a step that does not wait (a send that fits the buffer).
  void refuseIfInterrupted(const std::string& path) const;
  // Returns when `events` are ready on `fd`; throws at the deadline (Timeout), on an interrupt, or when
  // `fd` is not open (POLLNVAL). `what` names the operation, `path` the device.
  void wait(int fd, short events, Deadline d, const char* what, const std::string& path);

 private:
  int wake_ = -1;
  std::atomic<bool> interrupted_{false};
};

}  // namespace ld::io
