#include "io/onc_rpc.h"

#include <cerrno>
#include <cstring>

namespace ld::io::rpc {
namespace {
constexpr uint32_t kCall = 0, kReply = 1, kMsgAccepted = 0, kSuccess = 0;
constexpr size_t kMaxRecord = 64u << 20;

// A peer that keeps sending (fragments of an endless record, replies to other calls) never lets a
// socket read time out, so the loops that consume it check the deadline themselves.
void checkDeadline(Deadline d, const char* what) {
  if (Clock::now() >= d) throw IoError(ErrorKind::Timeout, std::string("ONC RPC: ") + what + " before the deadline", ETIMEDOUT, "ETIMEDOUT");
}

const char* acceptStatName(uint32_t s) {
  switch (s) {
    case 1: return "PROG_UNAVAIL";
    case 2: return "PROG_MISMATCH";
    case 3: return "PROC_UNAVAIL";
    case 4: return "GARBAGE_ARGS";
    case 5: return "SYSTEM_ERR";
    default: return "RPC_ERROR";
  }
}
}  // namespace

void XdrWriter::u32(uint32_t v) {
  char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
  buf_.append(b, 4);
}

void XdrWriter::opaque(const uint8_t* data, size_t n) {
  u32(static_cast<uint32_t>(n));
  buf_.append(reinterpret_cast<const char*>(data), n);
  buf_.append((4 - n % 4) % 4, '\0');
}

uint32_t XdrReader::u32() {
  if (off_ + 4 > buf_->size()) throw IoError(ErrorKind::Device, "truncated ONC RPC reply");
  auto p = reinterpret_cast<const uint8_t*>(buf_->data()) + off_;
  off_ += 4;
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}

void XdrReader::opaqueInto(std::string* out) {
  uint32_t n = u32();
  if (off_ + n > buf_->size()) throw IoError(ErrorKind::Device, "truncated ONC RPC reply");
  out->append(*buf_, off_, n);
  off_ += n + (4 - n % 4) % 4;
}

void RpcClient::readRecord(Deadline d) {
  reply_ = std::string();  // never a large buffer left from an earlier reply
  size_t consumed = 0;  // bytes of this record taken off the stream, marks included
  auto readAll = [&](uint8_t* buf, size_t n) {
    bool end;
    for (size_t off = 0; off < n;) {
      size_t got = sock_.read(buf + off, n - off, d, &end);
      off += got;
      consumed += got;
    }
  };
  try {
    for (;;) {
      uint8_t h[4];
      readAll(h, 4);
      uint32_t mark = (uint32_t(h[0]) << 24) | (uint32_t(h[1]) << 16) | (uint32_t(h[2]) << 8) | h[3];
      size_t len = mark & 0x7fffffffu;
      if (reply_.size() + len > kMaxRecord) throw IoError(ErrorKind::Device, "ONC RPC record larger than 64 MiB");
      size_t old = reply_.size();
      reply_.resize(old + len);
      readAll(reinterpret_cast<uint8_t*>(&reply_[old]), len);
      if (mark & 0x80000000u) return;
      checkDeadline(d, "the reply record did not end");
    }
  } catch (const IoError&) {
    // The rest of a record cut short (a timeout, an oversized record) would be read by the next call
    // as a record mark: the stream is out of step for good, so close it and let the next call reconnect.
    if (consumed > 0) sock_.close();
    throw;
  }
}

XdrReader RpcClient::call(uint32_t proc, const std::string& args, Deadline d) {
  uint32_t xid = ++xid_;
  XdrWriter w;
  w.u32(0);  // record mark, patched below
  w.u32(xid);
  w.u32(kCall);
  w.u32(2);  // RPC version
  w.u32(prog_);
  w.u32(vers_);
  w.u32(proc);
  w.u32(0); w.u32(0);  // credentials: AUTH_NONE
  w.u32(0); w.u32(0);  // verifier: AUTH_NONE
  std::string msg = w.bytes() + args;
  uint32_t mark = 0x80000000u | static_cast<uint32_t>(msg.size() - 4);
  msg[0] = static_cast<char>(mark >> 24); msg[1] = static_cast<char>(mark >> 16);
  msg[2] = static_cast<char>(mark >> 8); msg[3] = static_cast<char>(mark);
  sock_.write(reinterpret_cast<const uint8_t*>(msg.data()), msg.size(), d);
  for (;;) {
    readRecord(d);
    XdrReader r(reply_, 0);
    if (r.u32() != xid) {  // the late answer to a call we gave up on
      checkDeadline(d, "no reply to this call");
      continue;
    }
    if (r.u32() != kReply) throw IoError(ErrorKind::Device, "ONC RPC: not a reply");
    if (r.u32() != kMsgAccepted) throw IoError(ErrorKind::Device, "ONC RPC call denied by the server", 1, "MSG_DENIED");
    r.u32();  // verifier flavour
    std::string verifier;
    r.opaqueInto(&verifier);
    uint32_t stat = r.u32();
    if (stat != kSuccess) throw IoError(ErrorKind::Device, std::string("ONC RPC call failed: ") + acceptStatName(stat), stat, acceptStatName(stat));
    size_t results = r.offset();
    return XdrReader(std::move(reply_), results);
  }
}

int portmapGetPort(const std::string& host, uint32_t prog, uint32_t vers, Deadline d, int portmapperPort,
                   InterruptibleWait* waits) {
  RpcClient pm(host, portmapperPort, 100000, 2, waits);
  try {
    pm.connect(d);
  } catch (const IoError& e) {
    throw IoError(e.kind, std::string("portmapper (rpcbind) on ") + host + ":" + std::to_string(portmapperPort) + " unreachable: " + e.what(), e.code, e.codeName);
  }
  XdrWriter a;
  a.u32(prog);
  a.u32(vers);
  a.u32(6);  // IPPROTO_TCP
  a.u32(0);
  XdrReader r = pm.call(3, a.bytes(), d);  // PMAPPROC_GETPORT
  uint32_t port = r.u32();
  pm.close();
  if (port == 0)
    throw IoError(ErrorKind::Connection, "no VXI-11 server registered with the portmapper on " + host, ECONNREFUSED, "ECONNREFUSED");
  // The reply is a u32: cut to 16 bits it would silently reach some other port.
  if (port > 65535)
    throw IoError(ErrorKind::Connection, "the portmapper on " + host + " answered port " + std::to_string(port) + ", outside 1–65535", EPROTO, "EPROTO");
  return static_cast<int>(port);
}

}  // namespace ld::io::rpc
