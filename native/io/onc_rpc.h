// ONC RPC (RFC 5531) calls over TCP with record marking, XDR (RFC 4506) encoding, and the portmapper
// lookup (program 100000, version 2, GETPORT) that VXI-11 starts with.
#pragma once
#include <cstdint>
#include <string>

#include "io/tcp_socket.h"

namespace ld::io::rpc {

class XdrWriter {
 public:
  void u32(uint32_t v);
  void i32(int32_t v) { u32(static_cast<uint32_t>(v)); }
  void opaque(const uint8_t* data, size_t n);  // variable-length: length, bytes, padding to 4
  void str(const std::string& s) { opaque(reinterpret_cast<const uint8_t*>(s.data()), s.size()); }
  const std::string& bytes() const { return buf_; }

 private:
  std::string buf_;
};

class XdrReader {
 public:
  XdrReader(const std::string& buf, size_t off) : buf_(&buf), off_(off) {}
  // Owns the bytes: a reply handed out by RpcClient::call is freed with its reader, so a client does
  // not keep the largest reply it ever had (up to 64 MiB) between calls.
  XdrReader(std::string&& owned, size_t off) : owned_(std::move(owned)), buf_(&owned_), off_(off) {}
  XdrReader(XdrReader&& o) noexcept
      : owned_(std::move(o.owned_)), buf_(o.buf_ == &o.owned_ ? &owned_ : o.buf_), off_(o.off_) {}
  XdrReader(const XdrReader&) = delete;
  XdrReader& operator=(const XdrReader&) = delete;
  XdrReader& operator=(XdrReader&&) = delete;
  uint32_t u32();
  int32_t i32() { return static_cast<int32_t>(u32()); }
  // Appends the opaque's bytes to `out` (avoids a copy of large reads).
  void opaqueInto(std::string* out);
  size_t offset() const { return off_; }

 private:
  std::string owned_;
  const std::string* buf_;
  size_t off_;
};

class RpcClient {
 public:
  // `waits`: see TcpSocket; an interrupt of them ends this client's waits and refuses its connects and sends.
  RpcClient(std::string host, int port, uint32_t prog, uint32_t vers, InterruptibleWait* waits = nullptr)
      : sock_(host, port, waits), prog_(prog), vers_(vers) {}
  void connect(Deadline d) { sock_.open(d); }
  void close() { sock_.close(); }
  bool isOpen() const { return sock_.isOpen(); }
  // Sends the call and returns a reader positioned at the results; the reader owns the reply.
  XdrReader call(uint32_t proc, const std::string& args, Deadline d);

 private:
  void readRecord(Deadline d);
  TcpSocket sock_;
  uint32_t prog_, vers_;
  uint32_t xid_ = 0x4c440000;  // "LD" in the high half: readable in packet captures
  std::string reply_;
};

constexpr int kPortmapperPort = 111;

// The TCP port the portmapper on `host` has for (prog, vers, TCP); throws if it has none.
// `portmapperPort` is kPortmapperPort but for tests, which cannot own that port; `waits` as for RpcClient.
int portmapGetPort(const std::string& host, uint32_t prog, uint32_t vers, Deadline d,
                   int portmapperPort = kPortmapperPort, InterruptibleWait* waits = nullptr);

}  // namespace ld::io::rpc
