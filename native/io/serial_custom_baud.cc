// Baud rates termios has no constant for (250000 for many 3D-printer and DMX boards, 1.8432 MHz
// multiples …) through Linux's termios2 + BOTHER. Its own translation unit: <asm/termbits.h> and
// <termios.h> define the same names differently.
#include <asm/ioctls.h>
#include <asm/termbits.h>
#include <cerrno>

extern "C" int ioctl(int fd, unsigned long request, ...);

namespace ld::io {

int setCustomBaud(int fd, int baud) {
  struct termios2 t;
  if (ioctl(fd, TCGETS2, &t) != 0) return errno;
  t.c_cflag &= ~CBAUD;
  t.c_cflag |= BOTHER;
  t.c_ispeed = static_cast<speed_t>(baud);
  t.c_ospeed = static_cast<speed_t>(baud);
  if (ioctl(fd, TCSETS2, &t) != 0) return errno;
  return 0;
}

}  // namespace ld::io
