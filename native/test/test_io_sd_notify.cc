#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "check.h"
#include "io/sd_notify.h"

using namespace ld::io;

namespace {
// A datagram socket bound at `name` (a path, or "@abstract"), the way systemd listens.
int bindDatagram(const std::string& name) {
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path, name.data(), name.size());
  if (name[0] == '@') a.sun_path[0] = '\0';
  socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size() + (name[0] == '@' ? 0 : 1));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), len) != 0) { ::close(fd); return -1; }
  return fd;
}
std::string receive(int fd) {
  char buf[256];
  ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
  return n < 0 ? std::string("<nothing>") : std::string(buf, static_cast<size_t>(n));
}
}  // namespace

TEST("sd_notify: a datagram reaches a socket bound at a path, and one in the abstract namespace") {
  std::string path = "/tmp/ld-notify-" + std::to_string(::getpid());
  ::unlink(path.c_str());
  int fd = bindDatagram(path);
  CHECK(fd >= 0);
  CHECK(sdNotify(path, "READY=1\nSTATUS=serving") == 0);
  CHECK(receive(fd) == "READY=1\nSTATUS=serving");
  ::close(fd);
  ::unlink(path.c_str());

  std::string abstract = "@ld-notify-" + std::to_string(::getpid());
  int afd = bindDatagram(abstract);
  CHECK(afd >= 0);
  CHECK(sdNotify(abstract, "STOPPING=1") == 0);
  CHECK(receive(afd) == "STOPPING=1");
  ::close(afd);
}

TEST("sd_notify: nobody listening, an empty or an overlong path is an errno, never a crash or a wait") {
  CHECK(sdNotify("/tmp/ld-notify-nobody-" + std::to_string(::getpid()), "READY=1") == ENOENT);
  CHECK(sdNotify("", "READY=1") == EINVAL);
  CHECK(sdNotify(std::string(200, 'x'), "READY=1") == EINVAL);
}
