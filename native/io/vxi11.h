// TCPIP::host::name::INSTR — VXI-11 (VXIbus Consortium, rev 1.0): core channel calls create_link,
// device_write, device_read, device_clear, device_lock/unlock, destroy_link.
#pragma once
#include <memory>
#include <string>

#include "io/fd_wait.h"
#include "io/onc_rpc.h"
#include "io/transport.h"

namespace ld::io {

class Vxi11 : public Transport {
 public:
  Vxi11(std::string host, std::string deviceName) : host_(std::move(host)), device_(std::move(deviceName)) {}
  ~Vxi11() override { close(); }
  void open(Deadline d) override;
  void close() override;
  bool isOpen() const override { return core_ && core_->isOpen(); }
  void write(const uint8_t* data, size_t n, Deadline d) override;
  size_t read(uint8_t* buf, size_t max, Deadline d, bool* end) override;
  void clear(Deadline d) override;
  // Only signals waits_: core_ belongs to the I/O thread, which may be replacing it (open, close).
  void interrupt() override { waits_.interrupt(); }
  void setTermChar(int c) override { termChar_ = c; }
  void lock(Deadline d) override;
  void unlock(Deadline d) override;

 private:
  void check(uint32_t err, const char* op);
  std::string host_, device_;
  InterruptibleWait waits_;  // every connection's waits (portmapper, core channel); outlives them all
  std::unique_ptr<rpc::RpcClient> core_;
  int32_t link_ = -1;
  uint32_t maxRecv_ = 1024;
  int termChar_ = -1;
};

}  // namespace ld::io
