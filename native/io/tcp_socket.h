// TCPIP::host::port::SOCKET — a raw SCPI socket; also the byte stream under ONC RPC.
#pragma once
#include <memory>
#include <string>

#include "io/fd_wait.h"
#include "io/transport.h"

namespace ld::io {

class TcpSocket : public Transport {
 public:
  // `sharedWaits`: the waits of the transport this socket is one connection of (VXI-11's portmapper and
  // core channel), so the transport's interrupt() reaches whichever socket it has at the time without
  // touching it; a socket of its own (nullptr) has its own.
  explicit TcpSocket(std::string host, int port, InterruptibleWait* sharedWaits = nullptr)
      : host_(std::move(host)),
        port_(port),
        ownWaits_(sharedWaits ? nullptr : std::make_unique<InterruptibleWait>()),
        waits_(sharedWaits ? sharedWaits : ownWaits_.get()) {}
  ~TcpSocket() override { close(); }
  void open(Deadline d) override;
  void close() override;
  bool isOpen() const override { return fd_ >= 0; }
  void write(const uint8_t* data, size_t n, Deadline d) override;
  size_t read(uint8_t* buf, size_t max, Deadline d, bool* end) override;
  void clear(Deadline d) override;
  void discardInput() override;
  void interrupt() override;

 private:
  void drainInput(Deadline until);
  std::string where() const { return host_ + ":" + std::to_string(port_); }
  std::string host_;
  int port_;
  int fd_ = -1;
  // interrupt() only signals this (an eventfd every wait polls beside the socket): it never touches fd_,
  // which the I/O thread may be closing and reopening, and it also reaches a connect still in progress.
  std::unique_ptr<InterruptibleWait> ownWaits_;
  InterruptibleWait* waits_;
};

}  // namespace ld::io
