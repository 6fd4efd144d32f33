#include "io/vxi11.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace ld::io {
namespace {
constexpr uint32_t kCoreProg = 0x0607AF, kVers = 1;
enum Proc : uint32_t {
  kCreateLink = 10, kDeviceWrite = 11, kDeviceRead = 12, kDeviceClear = 15,
  kDeviceLock = 18, kDeviceUnlock = 19, kDestroyLink = 23,
};
constexpr uint32_t kFlagWaitLock = 1, kFlagEnd = 8, kFlagTermChr = 128;
constexpr uint32_t kReasonEnd = 4;
constexpr uint32_t kErrIoTimeout = 15, kErrLocked = 11;

const char* errorName(uint32_t e) {
  switch (e) {
    case 1: return "syntax error";
    case 3: return "device not accessible";
    case 4: return "invalid link identifier";
    case 5: return "parameter error";
    case 6: return "channel not established";
    case 8: return "operation not supported";
    case 9: return "out of resources";
    case 11: return "device locked by another link";
    case 12: return "no lock held by this link";
    case 15: return "I/O timeout";
    case 17: return "I/O error";
    case 21: return "invalid address";
    case 23: return "abort";
    case 29: return "channel already established";
    default: return "unknown error";
  }
}

// A little beyond the device's own io_timeout, so its error 15 reaches us before our deadline does.
Deadline rpcDeadline(Deadline d) { return d + std::chrono::milliseconds(1000); }
uint32_t ioTimeout(Deadline d) { return static_cast<uint32_t>(msLeft(d)); }
}  // namespace

void Vxi11::check(uint32_t err, const char* op) {
  if (err == 0) return;
  std::string msg = std::string("VXI-11 ") + op + " on " + host_ + "/" + device_ + ": " + errorName(err);
  if (err == kErrIoTimeout) throw IoError(ErrorKind::Timeout, msg, err, "VXI11_IO_TIMEOUT");
  if (err == 3 || err == 4 || err == 6) throw IoError(ErrorKind::Connection, msg, err, "VXI11_ERROR");
  throw IoError(ErrorKind::Device, msg, err, "VXI11_ERROR");
}

void Vxi11::open(Deadline d) {
  close();
  int port = rpc::portmapGetPort(host_, kCoreProg, kVers, d, rpc::kPortmapperPort, &waits_);
  auto core = std::make_unique<rpc::RpcClient>(host_, port, kCoreProg, kVers, &waits_);
  core->connect(d);
  rpc::XdrWriter a;
  a.i32(static_cast<int32_t>(::getpid()));  // clientId: only for the server's logs
  a.u32(0);                                   // lockDevice
  a.u32(0);                                   // lock_timeout
  a.str(device_);
  rpc::XdrReader r = core->call(kCreateLink, a.bytes(), rpcDeadline(d));
  uint32_t err = r.u32();
  int32_t lid = r.i32();
  r.u32();  // abortPort: device_abort is not offered (a pending read ends by its io_timeout)
  uint32_t maxRecv = r.u32();
  core_ = std::move(core);
  try {
    check(err, "create_link");
  } catch (...) {
    core_.reset();
    throw;
  }
  link_ = lid;
  maxRecv_ = maxRecv >= 64 ? maxRecv : 1024;
}

void Vxi11::close() {
  if (!core_) return;
  // After interrupt() nobody waits for destroy_link's reply: that close is an abort, or a session's teardown,
  // which runs on the JS thread when a session is garbage-collected. The link dies with the connection.
  if (core_->isOpen() && link_ >= 0 && !waits_.interrupted()) {
    try {
      rpc::XdrWriter a;
      a.i32(link_);
      core_->call(kDestroyLink, a.bytes(), deadlineIn(500));
    } catch (const IoError&) {
      // The link dies with the connection anyway.
    }
  }
  core_->close();
  core_.reset();
  link_ = -1;
}

void Vxi11::write(const uint8_t* data, size_t n, Deadline d) {
  if (!isOpen()) throw IoError(ErrorKind::Connection, "VXI-11 link to " + host_ + " is not open", ENOTCONN, "ENOTCONN");
  size_t off = 0;
  do {
    size_t chunk = std::min<size_t>(n - off, maxRecv_);
    bool last = off + chunk == n;
    rpc::XdrWriter a;
    a.i32(link_);
    a.u32(ioTimeout(d));
    a.u32(ioTimeout(d));
    a.u32(last ? kFlagEnd : 0);
    a.opaque(data + off, chunk);
    rpc::XdrReader r = core_->call(kDeviceWrite, a.bytes(), rpcDeadline(d));
    check(r.u32(), "device_write");
    uint32_t size = r.u32();
    if (size == 0 && chunk > 0) throw IoError(ErrorKind::Device, "VXI-11 device_write accepted no bytes", 17, "VXI11_ERROR");
    off += std::min<size_t>(size, chunk);
  } while (off < n);
}

size_t Vxi11::read(uint8_t* buf, size_t max, Deadline d, bool* end) {
  if (!isOpen()) throw IoError(ErrorKind::Connection, "VXI-11 link to " + host_ + " is not open", ENOTCONN, "ENOTCONN");
  *end = false;
  std::string data;
  // A device may answer REQCNT with nothing (no data ready yet): ask again, but only until our own
  // deadline; the RPC layer's extra second is for the device's timeout reply, not for more rounds.
  for (;;) {
    rpc::XdrWriter a;
    a.i32(link_);
    a.u32(static_cast<uint32_t>(std::min<size_t>(max, 0x7fffffff)));
    a.u32(ioTimeout(d));
    a.u32(ioTimeout(d));
    a.u32(termChar_ >= 0 ? kFlagTermChr : 0);
    a.u32(termChar_ >= 0 ? static_cast<uint32_t>(termChar_) : 0);
    rpc::XdrReader r = core_->call(kDeviceRead, a.bytes(), rpcDeadline(d));
    check(r.u32(), "device_read");
    uint32_t reason = r.u32();
    data.clear();
    r.opaqueInto(&data);
    if (data.size() > max)
      throw IoError(ErrorKind::Device, "VXI-11 device_read on " + host_ + "/" + device_ + ": the reply holds more bytes than requested", 17, "VXI11_ERROR");
    std::memcpy(buf, data.data(), data.size());
    // Only END ends a message: a CHR stop can fall inside a binary block, and the session finds the
    // term char in its buffer anyway.
    *end = (reason & kReasonEnd) != 0;
    if (!data.empty() || *end) return data.size();
    if (Clock::now() >= d)
      throw IoError(ErrorKind::Timeout, "VXI-11 device_read on " + host_ + "/" + device_ + ": no data before the deadline", ETIMEDOUT, "ETIMEDOUT");
  }
}

void Vxi11::clear(Deadline d) {
  if (!isOpen()) return;
  rpc::XdrWriter a;
  a.i32(link_);
  a.u32(0);
  a.u32(ioTimeout(d));
  a.u32(ioTimeout(d));
  check(core_->call(kDeviceClear, a.bytes(), rpcDeadline(d)).u32(), "device_clear");
}

void Vxi11::lock(Deadline d) {
  rpc::XdrWriter a;
  a.i32(link_);
  a.u32(kFlagWaitLock);
  a.u32(ioTimeout(d));
  uint32_t err = core_->call(kDeviceLock, a.bytes(), rpcDeadline(d)).u32();
  if (err == kErrLocked) throw IoError(ErrorKind::Timeout, "VXI-11 device_lock on " + host_ + "/" + device_ + ": still locked by another link", err, "VXI11_LOCKED");
  check(err, "device_lock");
}

void Vxi11::unlock(Deadline d) {
  rpc::XdrWriter a;
  a.i32(link_);
  check(core_->call(kDeviceUnlock, a.bytes(), rpcDeadline(d)).u32(), "device_unlock");
}

}  // namespace ld::io
