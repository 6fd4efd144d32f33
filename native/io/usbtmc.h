// USB0::vendor::product::serial::INSTR through the Linux usbtmc kernel driver: the character device
// (/dev/usbtmcN) that TypeScript matched through sysfs, read and written on the session's thread.
// An eventfd beside the device lets close() wake a read that waits for an answer that may never come.
#pragma once
#include "io/fd_wait.h"
#include <atomic>
#include <string>

#include "io/transport.h"

namespace ld::io {

class Usbtmc : public Transport {
 public:
  explicit Usbtmc(std::string path);
  ~Usbtmc() override;
  void open(Deadline d) override;
  void close() override;
  bool isOpen() const override { return fd_ >= 0; }
  void write(const uint8_t* data, size_t n, Deadline d) override;
  size_t read(uint8_t* buf, size_t max, Deadline d, bool* end) override;
  // USBTMC_IOCTL_CLEAR (INITIATE_CLEAR and its follow-ups, done by the driver); a stand-in device
  // without the ioctl just has its pending input dropped.
  void clear(Deadline d) override;
  // Drops pending input on the stand-in device only (see usbtmc.cc): a no-op on the kernel driver.
  void discardInput() override;
  void interrupt() override;
  std::string noServiceRequests() const override {
    return "USBTMC service requests (the interrupt endpoint) are not supported";
  }

 private:
  void wait(short events, Deadline d, const char* what);
  void setDriverTimeout(Deadline d);
  std::string path_;
  int fd_ = -1;
  bool standIn_ = false;  // a terminal (the pty the tests use), not the kernel driver
  InterruptibleWait waits_;
};

}  // namespace ld::io
