#include "io/io_error.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace ld::io {

#ifdef _WIN32
namespace {
// MinGW's C library has no strerrorname_np: the names of the errnos Windows transports report.
const char* strerrorname_np(int err) {
  switch (err) {
    case ENOENT: return "ENOENT"; case EACCES: return "EACCES"; case EBUSY: return "EBUSY";
    case EIO: return "EIO"; case EINVAL: return "EINVAL"; case ETIMEDOUT: return "ETIMEDOUT";
    case ECANCELED: return "ECANCELED"; case EBADF: return "EBADF"; case ENODEV: return "ENODEV";
    case ENOSYS: return "ENOSYS"; case ENOMEM: return "ENOMEM";
    default: return nullptr;
  }
}
}  // namespace
#endif

const char* errorKindName(ErrorKind k) {
  switch (k) {
    case ErrorKind::Timeout: return "timeout";
    case ErrorKind::Connection: return "connection";
    case ErrorKind::Device: return "device";
    case ErrorKind::Argument: return "argument";
    case ErrorKind::Unsupported: return "unsupported";
  }
  return "device";
}

void throwErrno(const std::string& what, int err) {
  ErrorKind kind = ErrorKind::Device;
  switch (err) {
    case ECONNREFUSED: case ECONNRESET: case ECONNABORTED: case EPIPE: case EHOSTUNREACH:
    case ENETUNREACH: case ENOTCONN: case ENOENT: case ENODEV: case ENXIO: case EACCES: case EBUSY:
    case EIO:
      kind = ErrorKind::Connection;
      break;
    case ETIMEDOUT:
      kind = ErrorKind::Timeout;
      break;
    default:
      break;
  }
  const char* name = strerrorname_np(err);
  throw IoError(kind, what + ": " + std::strerror(err), err, name ? name : "");
}

std::string waitMsError(const char* what, double ms, bool zeroAllowed) {
  if (std::isfinite(ms) && (zeroAllowed ? ms >= 0 : ms > 0) && ms <= kMaxWaitMs) return {};
  char value[32];
  if (std::isnan(ms)) std::snprintf(value, sizeof value, "NaN");
  else if (std::isinf(ms)) std::snprintf(value, sizeof value, ms > 0 ? "Infinity" : "-Infinity");
  else std::snprintf(value, sizeof value, "%.17g", ms);
  return std::string(what) + " must be a finite number of milliseconds " + (zeroAllowed ? "from 0" : "above 0") +
         " up to 86400000 (24 h), got " + value;
}

int msLeft(Deadline d) {
  auto left = std::chrono::duration_cast<std::chrono::microseconds>(d - Clock::now()).count();
  if (left <= 0) return 0;
  return static_cast<int>((left + 999) / 1000);
}

}  // namespace ld::io
