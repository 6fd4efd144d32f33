// The usbtmc transport on stand-ins for the kernel driver's character device: a FIFO is a descriptor that
// is not a terminal, as /dev/usbtmcN is not.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "check.h"
#include "io/io_error.h"
#include "io/usbtmc.h"

using namespace ld::io;

namespace {
// A FIFO in a fresh directory, and a descriptor on it the test writes the "device's" bytes through.
struct Fifo {
  std::string dir, path;
  int fd = -1;
  Fifo() {
    char tmpl[] = "/tmp/ld-usbtmc-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) return;
    dir = tmpl;
    path = dir + "/usbtmc0";
    if (::mkfifo(path.c_str(), 0600) == 0) fd = ::open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
  }
  ~Fifo() {
    if (fd >= 0) ::close(fd);
    ::unlink(path.c_str());
    ::rmdir(dir.c_str());
  }
  bool put(const std::string& s) const { return ::write(fd, s.data(), s.size()) == static_cast<ssize_t>(s.size()); }
};
}  // namespace

TEST("usbtmc: dropping input before a query makes no read on the kernel driver (not a terminal)") {
  Fifo f;
  CHECK(f.fd >= 0);
  Usbtmc u(f.path);
  u.open(deadlineIn(1000));
  CHECK(f.put("ANSWER"));
  // The driver's read() ignores O_NONBLOCK: a read here would stall for the driver's timeout and leave a
  // Bulk-IN request behind. So nothing is read, and the bytes are still there for the read that asks.
  u.discardInput();
  uint8_t buf[16];
  bool end = false;
  size_t n = 0;
  try {
    n = u.read(buf, sizeof buf, deadlineIn(200), &end);
  } catch (const IoError&) {
  }
  CHECK(std::string(reinterpret_cast<char*>(buf), n) == "ANSWER");
}
