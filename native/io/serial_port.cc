#include "io/serial_port.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>

namespace ld::io {

int setCustomBaud(int fd, int baud);  // serial_custom_baud.cc

namespace {

constexpr speed_t kCustom = 0;  // no termios constant: set through termios2 after tcsetattr

speed_t speedFor(int baud) {
  switch (baud) {
    case 50: return B50; case 75: return B75; case 110: return B110; case 134: return B134;
    case 150: return B150; case 200: return B200; case 300: return B300; case 600: return B600;
    case 1200: return B1200; case 1800: return B1800; case 2400: return B2400; case 4800: return B4800;
    case 9600: return B9600; case 19200: return B19200; case 38400: return B38400; case 57600: return B57600;
    case 115200: return B115200; case 230400: return B230400; case 460800: return B460800;
    case 500000: return B500000; case 576000: return B576000; case 921600: return B921600;
    case 1000000: return B1000000; case 1152000: return B1152000; case 1500000: return B1500000;
    case 2000000: return B2000000; case 2500000: return B2500000; case 3000000: return B3000000;
    case 3500000: return B3500000; case 4000000: return B4000000;
    default:
      if (baud <= 0 || baud > 16000000)
        throw IoError(ErrorKind::Argument, "baud rate " + std::to_string(baud) + " is out of range", EINVAL, "EINVAL");
      return kCustom;
  }
}

}  // namespace

SerialPort::SerialPort(std::string path, SerialSettings settings) : path_(std::move(path)), settings_(settings) {
  speedFor(settings_.baudRate);  // refuse a bad rate before any open
}

SerialPort::~SerialPort() {
  close();
}

void SerialPort::open(Deadline) {
  close();
  waits_.reset();
  int fd = ::open(path_.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) throwErrno("open " + path_, errno);
  // Exclusive like serialport's default lock: a second opener gets EBUSY instead of stealing bytes.
  if (::ioctl(fd, TIOCEXCL) != 0 && errno != ENOTTY) {
    int err = errno;
    ::close(fd);
    throwErrno("lock " + path_, err);
  }
  fd_ = fd;
  try {
    configure();
  } catch (...) {
    close();
    throw;
  }
}

void SerialPort::configure() {
  termios t{};
  if (::tcgetattr(fd_, &t) != 0) throwErrno("tcgetattr " + path_, errno);
  ::cfmakeraw(&t);
  t.c_cflag |= CLOCAL | CREAD;
  t.c_cflag &= ~CSIZE;
  switch (settings_.dataBits) {
    case 5: t.c_cflag |= CS5; break;
    case 6: t.c_cflag |= CS6; break;
    case 7: t.c_cflag |= CS7; break;
    default: t.c_cflag |= CS8; break;
  }
  if (settings_.stopBits == 2) t.c_cflag |= CSTOPB; else t.c_cflag &= ~CSTOPB;
  t.c_cflag &= ~(PARENB | PARODD);
  if (settings_.parity == 'E') t.c_cflag |= PARENB;
  if (settings_.parity == 'O') t.c_cflag |= PARENB | PARODD;
  if (settings_.rtscts) t.c_cflag |= CRTSCTS; else t.c_cflag &= ~CRTSCTS;
  if (settings_.xonxoff) t.c_iflag |= IXON | IXOFF; else t.c_iflag &= ~(IXON | IXOFF | IXANY);
  // Non-blocking fd + poll: VMIN/VTIME only matter to blocking reads.
  t.c_cc[VMIN] = 1;
  t.c_cc[VTIME] = 0;
  speed_t sp = speedFor(settings_.baudRate);
  ::cfsetispeed(&t, sp == kCustom ? B38400 : sp);
  ::cfsetospeed(&t, sp == kCustom ? B38400 : sp);
  if (::tcsetattr(fd_, TCSANOW, &t) != 0) throwErrno("tcsetattr " + path_, errno);
  applyCustomBaud(settings_.baudRate);
}

void SerialPort::applyCustomBaud(int baud) {
  if (speedFor(baud) != kCustom) return;
  // ptys accept any rate and ignore it; a real UART's driver may refuse a rate it cannot divide to.
  if (int err = setCustomBaud(fd_, baud)) throwErrno("set baud rate " + std::to_string(baud) + " on " + path_, err);
}

void SerialPort::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void SerialPort::interrupt() {
  waits_.interrupt();
}

void SerialPort::waitReady(short events, Deadline d, const char* what) {
  waits_.wait(fd_, events, d, what, path_);
}

void SerialPort::write(const uint8_t* data, size_t n, Deadline d) {
  if (fd_ < 0) throw IoError(ErrorKind::Connection, path_ + " is not open", EBADF, "EBADF");
  size_t off = 0;
  while (off < n) {
    ssize_t w = ::write(fd_, data + off, n - off);
    if (w > 0) { off += static_cast<size_t>(w); continue; }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EAGAIN) { waitReady(POLLOUT, d, "write to"); continue; }
    throwErrno("write to " + path_, errno);
  }
}

size_t SerialPort::read(uint8_t* buf, size_t max, Deadline d, bool* end) {
  *end = false;
  if (fd_ < 0) throw IoError(ErrorKind::Connection, path_ + " is not open", EBADF, "EBADF");
  for (;;) {
    ssize_t r = ::read(fd_, buf, max);
    if (r > 0) return static_cast<size_t>(r);
    // A USB adapter that was unplugged reads 0 (or EIO) forever: report it instead of spinning.
    if (r == 0) throw IoError(ErrorKind::Connection, path_ + " was disconnected", EIO, "EIO");
    if (errno == EINTR) continue;
    if (errno == EAGAIN) { waitReady(POLLIN, d, "read from"); continue; }
    throwErrno("read from " + path_, errno);
  }
}

void SerialPort::clear(Deadline) {
  if (fd_ >= 0) ::tcflush(fd_, TCIOFLUSH);
}

void SerialPort::discardInput() {
  if (fd_ >= 0) ::tcflush(fd_, TCIFLUSH);
}

void SerialPort::setBaudRate(int baud) {
  speed_t sp = speedFor(baud);
  termios t{};
  if (::tcgetattr(fd_, &t) != 0) throwErrno("tcgetattr " + path_, errno);
  ::cfsetispeed(&t, sp == kCustom ? B38400 : sp);
  ::cfsetospeed(&t, sp == kCustom ? B38400 : sp);
  if (::tcsetattr(fd_, TCSANOW, &t) != 0) throwErrno("tcsetattr " + path_, errno);
  applyCustomBaud(baud);
  settings_.baudRate = baud;
}

void SerialPort::setLines(bool dtr, bool rts, bool brk) {
  int bits = 0;
  if (::ioctl(fd_, TIOCMGET, &bits) != 0 && errno != ENOTTY && errno != EINVAL) throwErrno("TIOCMGET " + path_, errno);
  bits = dtr ? bits | TIOCM_DTR : bits & ~TIOCM_DTR;
  bits = rts ? bits | TIOCM_RTS : bits & ~TIOCM_RTS;
  // ptys have no modem lines: accept the request as real ports would, since nothing can observe it.
  if (::ioctl(fd_, TIOCMSET, &bits) != 0 && errno != ENOTTY && errno != EINVAL) throwErrno("TIOCMSET " + path_, errno);
  if (::ioctl(fd_, brk ? TIOCSBRK : TIOCCBRK) != 0 && errno != ENOTTY && errno != EINVAL) throwErrno("break " + path_, errno);
}

ModemStatus SerialPort::modemStatus() {
  int bits = 0;
  if (::ioctl(fd_, TIOCMGET, &bits) != 0 && errno != ENOTTY && errno != EINVAL) throwErrno("TIOCMGET " + path_, errno);
  return {(bits & TIOCM_CTS) != 0, (bits & TIOCM_DSR) != 0, (bits & TIOCM_CD) != 0};
}

void SerialPort::drain() {
  if (fd_ >= 0 && ::tcdrain(fd_) != 0 && errno != ENOTTY) throwErrno("tcdrain " + path_, errno);
}

}  // namespace ld::io
