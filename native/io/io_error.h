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

inline Deadline deadlineIn(long ms) { return Clock::now() + std::chrono::milliseconds(ms); }
// Milliseconds left for poll(): at least 0, rounded up so a 0.4 ms remainder still waits.
int msLeft(Deadline d);

}  // namespace ld::io
