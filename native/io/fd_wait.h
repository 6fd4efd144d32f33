// poll() on one descriptor until it is ready or a deadline passes, shared by the fd-based transports.
#pragma once
#include <poll.h>

#include <atomic>
#include <string>

#include "io/io_error.h"

namespace ld::io {

// Returns when `events` are ready; throws IoError(Timeout) at the deadline, naming `what`.
void waitFd(int fd, short events, Deadline d, const std::string& what);

// The waits of a character-device transport (serial port, usbtmc) that close() on another thread must be
// able to cut short: an eventfd wakes the poll(), and the flag says the wake-up means "closing".
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
  // Returns when `events` are ready on `fd`; throws at the deadline (Timeout), on an interrupt, or when
  // `fd` is not open (POLLNVAL). `what` names the operation, `path` the device.
  void wait(int fd, short events, Deadline d, const char* what, const std::string& path);

 private:
  int wake_ = -1;
  std::atomic<bool> interrupted_{false};
};

}  // namespace ld::io
