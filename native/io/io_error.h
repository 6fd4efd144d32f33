// The one error type of the I/O room. `kind` decides which JS error class the binding surfaces
// (timeout → DeviceTimeoutError, connection → DeviceConnectionError …); `code` is the OS errno, the
// VXI-11 error code or the VISA status, and `codeName` its symbolic name, so a user can look it up.
#pragma once
#include <chrono>
#include <stdexcept>
#include <string>

namespace ld::io {

enum class ErrorKind { Timeout, Connection, Device, Argument, Unsupported };

const char* errorKindName(ErrorKind k);

struct IoError : std::runtime_error {
  ErrorKind kind;
  long code;
  std::string codeName;
  IoError(ErrorKind k, const std::string& message, long c = 0, std::string name = {})
      : std::runtime_error(message), kind(k), code(c), codeName(std::move(name)) {}
};

// An errno as an IoError: connection-class errnos become Connection, ETIMEDOUT becomes Timeout.
[[noreturn]] void throwErrno(const std::string& what, int err);

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

// The longest timeout or interval a caller may ask for: a day. A wait that is not finite, not > 0 (an
// interval may be 0: back to back) or longer is refused where it is given: cast to an integer it is
// undefined or overflows the clock, so Infinity fired timeouts at once and 1e13 ms ended pacing.
constexpr double kMaxWaitMs = 24.0 * 3600 * 1000;
// Empty for a wait within those bounds; otherwise why not, naming `what` and the value.
std::string waitMsError(const char* what, double ms, bool zeroAllowed = false);

inline Deadline deadlineIn(long ms) { return Clock::now() + std::chrono::milliseconds(ms); }
// Milliseconds left for poll(): at least 0, rounded up so a 0.4 ms remainder still waits.
int msLeft(Deadline d);

}  // namespace ld::io
