// The Windows SerialPort (declared in serial_port.h): a COM port opened for overlapped I/O, so a read
// that waits for data that may never come can be cut short by close() on another thread (an event set
// by interrupt(), waited on beside the I/O), and every wait honours its deadline.
#ifdef _WIN32
#include <windows.h>

#include <cerrno>

#include "io/serial_port.h"

namespace ld::io {
namespace {

// \\.\COM10 and above need the device namespace; COM1–COM9 accept it too.
std::string devicePath(const std::string& path) {
  return path.rfind("\\\\.\\", 0) == 0 ? path : "\\\\.\\" + path;
}

// A Win32 error as an IoError, with the errno-style kind the rest of the room expects.
[[noreturn]] void throwWin32(const std::string& what, DWORD err) {
  char text[256] = "";
  FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, nullptr, err, 0, text, sizeof text, nullptr);
  std::string msg = text;
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == '\r' || msg.back() == '.')) msg.pop_back();
  ErrorKind kind = ErrorKind::Device;
  switch (err) {
    case ERROR_FILE_NOT_FOUND: case ERROR_PATH_NOT_FOUND: case ERROR_ACCESS_DENIED: case ERROR_SHARING_VIOLATION:
    case ERROR_DEVICE_NOT_CONNECTED: case ERROR_BAD_COMMAND: case ERROR_GEN_FAILURE: case ERROR_OPERATION_ABORTED:
      kind = ErrorKind::Connection;
      break;
    default:
      break;
  }
  throw IoError(kind, what + ": " + (msg.empty() ? "Win32 error " + std::to_string(err) : msg), static_cast<long>(err),
                "WIN32_" + std::to_string(err));
}

void checkBaud(int baud) {
  if (baud <= 0 || baud > 16000000)
    throw IoError(ErrorKind::Argument, "baud rate " + std::to_string(baud) + " is out of range", EINVAL, "EINVAL");
}

struct Overlapped {
  OVERLAPPED ov{};
  Overlapped() { ov.hEvent = CreateEventA(nullptr, TRUE, FALSE, nullptr); }
  ~Overlapped() { CloseHandle(ov.hEvent); }
};

}  // namespace

SerialPort::SerialPort(std::string path, SerialSettings settings) : path_(std::move(path)), settings_(settings) {
  checkBaud(settings_.baudRate);  // refuse a bad rate before any open
  wake_ = CreateEventA(nullptr, TRUE, FALSE, nullptr);
}

SerialPort::~SerialPort() {
  close();
  if (wake_) CloseHandle(static_cast<HANDLE>(wake_));
}

void SerialPort::open(Deadline) {
  close();
  interrupted_ = false;
  ResetEvent(static_cast<HANDLE>(wake_));
  // Share mode 0: Windows opens COM ports exclusively, so a second opener gets ERROR_ACCESS_DENIED.
  HANDLE h = CreateFileA(devicePath(path_).c_str(), GENERIC_READ | GENERIC_WRITE, 0, nullptr, OPEN_EXISTING,
                         FILE_FLAG_OVERLAPPED, nullptr);
  if (h == INVALID_HANDLE_VALUE) throwWin32("open " + path_, GetLastError());
  handle_ = h;
  try {
    configure();
  } catch (...) {
    close();
    throw;
  }
}

void SerialPort::configure() {
  HANDLE h = static_cast<HANDLE>(handle_);
  DCB dcb{};
  dcb.DCBlength = sizeof dcb;
  if (!GetCommState(h, &dcb)) throwWin32("GetCommState " + path_, GetLastError());
  dcb.BaudRate = static_cast<DWORD>(settings_.baudRate);
  dcb.fBinary = TRUE;
  dcb.ByteSize = static_cast<BYTE>(settings_.dataBits >= 5 && settings_.dataBits <= 8 ? settings_.dataBits : 8);
  dcb.StopBits = settings_.stopBits == 2 ? TWOSTOPBITS : ONESTOPBIT;
  dcb.fParity = settings_.parity != 'N';
  dcb.Parity = settings_.parity == 'E' ? EVENPARITY : settings_.parity == 'O' ? ODDPARITY : NOPARITY;
  dcb.fOutxCtsFlow = settings_.rtscts;
  dcb.fRtsControl = settings_.rtscts ? RTS_CONTROL_HANDSHAKE : RTS_CONTROL_ENABLE;
  dcb.fOutxDsrFlow = FALSE;
  dcb.fDtrControl = DTR_CONTROL_ENABLE;
  dcb.fOutX = dcb.fInX = settings_.xonxoff;
  dcb.fAbortOnError = FALSE;
  if (!SetCommState(h, &dcb)) throwWin32("SetCommState " + path_, GetLastError());
  // ReadFile returns as soon as any byte is there (or at once with none): the wait is ours, below.
  COMMTIMEOUTS t{};
  t.ReadIntervalTimeout = MAXDWORD;
  t.ReadTotalTimeoutMultiplier = MAXDWORD;
  t.ReadTotalTimeoutConstant = MAXDWORD - 1;
  if (!SetCommTimeouts(h, &t)) throwWin32("SetCommTimeouts " + path_, GetLastError());
}

void SerialPort::close() {
  if (handle_) CloseHandle(static_cast<HANDLE>(handle_));
  handle_ = nullptr;
}

void SerialPort::interrupt() {
  interrupted_ = true;
  SetEvent(static_cast<HANDLE>(wake_));
}

// Waits for one overlapped operation, the interrupt event or the deadline; cancels the I/O on the latter two.
void SerialPort::awaitIo(void* overlapped, Deadline d, const char* what) {
  auto* ov = static_cast<OVERLAPPED*>(overlapped);
  HANDLE h = static_cast<HANDLE>(handle_);
  HANDLE both[2] = {ov->hEvent, static_cast<HANDLE>(wake_)};
  DWORD r = WaitForMultipleObjects(2, both, FALSE, static_cast<DWORD>(msLeft(d)));
  if (r == WAIT_OBJECT_0) return;
  CancelIoEx(h, ov);
  DWORD ignored;
  GetOverlappedResult(h, ov, &ignored, TRUE);  // the OVERLAPPED must outlive the cancelled I/O
  if (r == WAIT_OBJECT_0 + 1 || interrupted_)
    throw IoError(ErrorKind::Connection, path_ + " was closed", ECANCELED, "ECANCELED");
  if (r == WAIT_TIMEOUT) throw IoError(ErrorKind::Timeout, std::string("timed out waiting to ") + what + " " + path_, ETIMEDOUT, "ETIMEDOUT");
  throwWin32(std::string(what) + " " + path_, GetLastError());
}

void SerialPort::write(const uint8_t* data, size_t n, Deadline d) {
  if (!handle_) throw IoError(ErrorKind::Connection, path_ + " is not open", EBADF, "EBADF");
  HANDLE h = static_cast<HANDLE>(handle_);
  size_t off = 0;
  while (off < n) {
    Overlapped o;
    DWORD chunk = static_cast<DWORD>(std::min<size_t>(n - off, 1u << 20)), done = 0;
    if (!WriteFile(h, data + off, chunk, &done, &o.ov)) {
      if (GetLastError() != ERROR_IO_PENDING) throwWin32("write to " + path_, GetLastError());
      awaitIo(&o.ov, d, "write to");
      if (!GetOverlappedResult(h, &o.ov, &done, FALSE)) throwWin32("write to " + path_, GetLastError());
    }
    off += done;
  }
}

size_t SerialPort::read(uint8_t* buf, size_t max, Deadline d, bool* end) {
  *end = false;
  if (!handle_) throw IoError(ErrorKind::Connection, path_ + " is not open", EBADF, "EBADF");
  HANDLE h = static_cast<HANDLE>(handle_);
  for (;;) {
    if (interrupted_) throw IoError(ErrorKind::Connection, path_ + " was closed", ECANCELED, "ECANCELED");
    Overlapped o;
    DWORD got = 0, want = static_cast<DWORD>(std::min<size_t>(max, 1u << 20));
    if (!ReadFile(h, buf, want, &got, &o.ov)) {
      if (GetLastError() != ERROR_IO_PENDING) throwWin32("read from " + path_, GetLastError());
      awaitIo(&o.ov, d, "read from");
      if (!GetOverlappedResult(h, &o.ov, &got, FALSE)) throwWin32("read from " + path_, GetLastError());
    }
    if (got > 0) return got;
    // The driver's total timeout ran out with nothing read: go round, unless our own deadline passed.
    if (Clock::now() >= d) throw IoError(ErrorKind::Timeout, "timed out waiting to read from " + path_, ETIMEDOUT, "ETIMEDOUT");
  }
}

void SerialPort::clear(Deadline) {
  if (handle_) PurgeComm(static_cast<HANDLE>(handle_), PURGE_RXCLEAR | PURGE_TXCLEAR | PURGE_RXABORT | PURGE_TXABORT);
}

void SerialPort::discardInput() {
  if (handle_) PurgeComm(static_cast<HANDLE>(handle_), PURGE_RXCLEAR);
}

void SerialPort::setBaudRate(int baud) {
  checkBaud(baud);
  settings_.baudRate = baud;
  if (handle_) configure();
}

void SerialPort::setLines(bool dtr, bool rts, bool brk) {
  HANDLE h = static_cast<HANDLE>(handle_);
  // Virtual ports (USB adapters without modem lines, com0com) may refuse: accept as the Linux side does ptys.
  EscapeCommFunction(h, dtr ? SETDTR : CLRDTR);
  if (!settings_.rtscts) EscapeCommFunction(h, rts ? SETRTS : CLRRTS);
  EscapeCommFunction(h, brk ? SETBREAK : CLRBREAK);
}

ModemStatus SerialPort::modemStatus() {
  DWORD bits = 0;
  if (!GetCommModemStatus(static_cast<HANDLE>(handle_), &bits)) bits = 0;
  return {(bits & MS_CTS_ON) != 0, (bits & MS_DSR_ON) != 0, (bits & MS_RLSD_ON) != 0};
}

void SerialPort::drain() {
  if (handle_ && !FlushFileBuffers(static_cast<HANDLE>(handle_))) throwWin32("drain " + path_, GetLastError());
}

}  // namespace ld::io
#endif  // _WIN32
