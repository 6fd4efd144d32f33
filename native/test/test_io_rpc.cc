// ONC RPC client against hostile loopback peers: replies that never match, records that never end.
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <string>
#include <thread>

#include "check.h"
#include "loopback.h"
#include "io/io_error.h"
#include "io/onc_rpc.h"

using namespace ld::io;

namespace {

std::string be32(uint32_t v) {
  char b[4] = {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
  return std::string(b, 4);
}

// Accepts one connection, reads one call record, then sends `chunk` (built from the call's xid) over
// and over until the client goes away (or 10 s pass, so a broken client cannot hang the test run);
// once only when `repeat` is false.
struct FloodPeer {
  int listener = -1;
  int port = 0;
  std::thread thread;
  explicit FloodPeer(std::string chunk, bool repeat = true)
      : FloodPeer([chunk](uint32_t) { return chunk; }, repeat) {}
  FloodPeer(std::function<std::string(uint32_t xid)> reply, bool repeat) {
    listener = ldtest::loopbackListener(&port);
    thread = std::thread([this, reply, repeat] {
      int fd = ::accept(listener, nullptr, nullptr);
      uint8_t mark[4];
      uint32_t xid = 0;
      if (::recv(fd, mark, 4, MSG_WAITALL) == 4) {
        uint32_t n = ((uint32_t(mark[0]) << 24) | (uint32_t(mark[1]) << 16) | (uint32_t(mark[2]) << 8) | mark[3]) & 0x7fffffffu;
        std::string body(n, '\0');
        ::recv(fd, &body[0], n, MSG_WAITALL);
        const auto* b = reinterpret_cast<const uint8_t*>(body.data());
        if (n >= 4) xid = (uint32_t(b[0]) << 24) | (uint32_t(b[1]) << 16) | (uint32_t(b[2]) << 8) | b[3];
      }
      const std::string chunk = reply(xid);
      auto stopAt = Clock::now() + std::chrono::seconds(10);
      while (Clock::now() < stopAt && ::send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL) > 0 && repeat) {}
      if (!repeat) {
        char c;
        while (::recv(fd, &c, 1, 0) > 0) {}  // until the client closes
      }
      ::close(fd);
    });
  }
  ~FloodPeer() {
    thread.join();
    ::close(listener);
  }
};

// Runs one call with a 200 ms deadline; returns the error kind and how long it took.
ErrorKind callAgainst(FloodPeer& peer, std::chrono::milliseconds* took) {
  rpc::RpcClient c("127.0.0.1", peer.port, 0x0607AF, 1);
  auto t0 = Clock::now();
  ErrorKind kind = ErrorKind::Device;
  try {
    c.connect(deadlineIn(1000));
    c.call(12, be32(0), deadlineIn(200));
  } catch (const IoError& e) {
    kind = e.kind;
  }
  *took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
  c.close();
  return kind;
}

}  // namespace

TEST("rpc: an endless stream of replies to other calls (stale xids) ends at the call's deadline") {
  // A complete, well-formed accepted reply whose xid is never ours.
  std::string body = be32(0xdeadbeef) + be32(1) + be32(0) + be32(0) + be32(0) + be32(0) + be32(0);
  FloodPeer peer(be32(0x80000000u | uint32_t(body.size())) + body);
  std::chrono::milliseconds took{};
  ErrorKind kind = callAgainst(peer, &took);
  CHECK(kind == ErrorKind::Timeout);
  CHECK(took < std::chrono::milliseconds(2000));
}

TEST("rpc: an endless record of empty non-final fragments ends at the call's deadline") {
  FloodPeer peer(std::string(4096, '\0'));  // record marks of length 0, never the last fragment
  std::chrono::milliseconds took{};
  ErrorKind kind = callAgainst(peer, &took);
  CHECK(kind == ErrorKind::Timeout);
  CHECK(took < std::chrono::milliseconds(2000));
}

TEST("rpc: a portmapper answering a port beyond 65535 is refused, not cut to 16 bits") {
  // GETPORT's result is a u32; 65536 + 5025 would land on port 5025.
  FloodPeer pm([](uint32_t xid) {
    std::string body = be32(xid) + be32(1) + be32(0) + be32(0) + be32(0) + be32(0) + be32(65536 + 5025);
    return be32(0x80000000u | uint32_t(body.size())) + body;
  }, false);
  ErrorKind kind = ErrorKind::Device;
  std::string message;
  try {
    rpc::portmapGetPort("127.0.0.1", 0x0607AF, 1, deadlineIn(1000), pm.port);
  } catch (const IoError& e) {
    kind = e.kind;
    message = e.what();
  }
  CHECK(kind == ErrorKind::Connection);
  CHECK(message.find("70561") != std::string::npos);
}
