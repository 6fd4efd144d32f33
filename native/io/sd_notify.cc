#include "io/sd_notify.h"

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace ld::io {

int sdNotify(const std::string& socketPath, const std::string& message) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socketPath.empty() || socketPath.size() >= sizeof addr.sun_path) return EINVAL;
  std::memcpy(addr.sun_path, socketPath.data(), socketPath.size());
  // "@name" is a socket in the abstract namespace: its address starts with a NUL byte and is not terminated.
  if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';
  socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socketPath.size() + (socketPath[0] == '@' ? 0 : 1));
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  // MSG_DONTWAIT: a receiver that stopped reading must not stall the server's event loop.
  ssize_t n = ::sendto(fd, message.data(), message.size(), MSG_DONTWAIT | MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&addr), len);
  int err = n < 0 ? errno : 0;
  ::close(fd);
  return err;
}

}  // namespace ld::io
