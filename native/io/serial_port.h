// A serial port through termios: ASRL resources and the @serialport/stream binding. An eventfd
// beside the port lets close() wake a read that waits for data that may never come.
// On Windows the same class is a COM port (serial_port_win.cc): overlapped I/O, an event wakes the waits.
#pragma once
#ifndef _WIN32
#include "io/fd_wait.h"
#endif
#include <atomic>
#include <string>

#include "io/transport.h"

namespace ld::io {

struct ModemStatus { bool cts, dsr, dcd; };

class SerialPort : public Transport {
 public:
  SerialPort(std::string path, SerialSettings settings);
  ~SerialPort() override;
  void open(Deadline d) override;
  void close() override;
#ifdef _WIN32
  bool isOpen() const override { return handle_ != nullptr; }
#else
  bool isOpen() const override { return fd_ >= 0; }
#endif
  void write(const uint8_t* data, size_t n, Deadline d) override;
  size_t read(uint8_t* buf, size_t max, Deadline d, bool* end) override;
  void clear(Deadline d) override;
  void discardInput() override;
  std::string noServiceRequests() const override { return "serial ports have no service requests"; }
  void interrupt() override;

  void setBaudRate(int baud);
  int baudRate() const { return settings_.baudRate; }
  // Each call sets every line: what the serialport API's set() means.
  void setLines(bool dtr, bool rts, bool brk);
  ModemStatus modemStatus();
  void drain();
  const std::string& path() const { return path_; }

 private:
  void configure();
  std::string path_;
  SerialSettings settings_;
#ifdef _WIN32
  // HANDLEs as void*, so this header needs no <windows.h>.
  void awaitIo(void* overlapped, Deadline d, const char* what);
  void* handle_ = nullptr;
  void* wake_ = nullptr;  // manual-reset event: set by interrupt(), waited on beside each I/O
  std::atomic<bool> interrupted_{false};
#else
  void applyCustomBaud(int baud);
  void waitReady(short events, Deadline d, const char* what);
  int fd_ = -1;
  InterruptibleWait waits_;
#endif
};

}  // namespace ld::io
