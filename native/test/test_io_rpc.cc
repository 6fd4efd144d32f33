// ONC RPC client against hostile loopback peers: replies that never match, records that never end.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <string>
#include <thread>

#include "check.h"
#include "heap.h"
#include "loopback.h"
#include "io/io_error.h"
#include "io/onc_rpc.h"

using namespace ld::io;

namespace {

std::string be32(uint32_t v) {
  char b[4] = {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
  return std::string(b, 4);
}

uint32_t be32At(const void* p) {
  const auto* b = static_cast<const uint8_t*>(p);
  return (uint32_t(b[0]) << 24) | (uint32_t(b[1]) << 16) | (uint32_t(b[2]) << 8) | b[3];
}

// A record's mark and body, read whole; returns the body ("" once the client has gone).
std::string readCall(int fd) {
  uint8_t mark[4];
  if (::recv(fd, mark, 4, MSG_WAITALL) != 4) return "";
  uint32_t n = be32At(mark) & 0x7fffffffu;
  std::string body(n, '\0');
  if (n > 0 && ::recv(fd, &body[0], n, MSG_WAITALL) != static_cast<ssize_t>(n)) return "";
  return body;
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
      std::string call = readCall(fd);
      const std::string chunk = reply(call.size() >= 4 ? be32At(call.data()) : 0);
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
    c.connect(deadlineIn(10'000));
    c.call(12, be32(0), deadlineIn(200));
  } catch (const IoError& e) {
    kind = e.kind;
  }
  *took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
  c.close();
  return kind;
}

// Answers its first call with the first bytes of a 1000-byte reply record and keeps the rest back
// until the client's deadline has passed. A client that closes then is answered properly on its next
// connection; one that stays gets the rest, whose first bytes read as a record mark beyond 64 MiB.
// Later calls get a proper reply holding 42.
struct CutReplyPeer {
  int listener = -1;
  int port = 0;
  std::thread thread;
  CutReplyPeer() {
    listener = ldtest::loopbackListener(&port);
    thread = std::thread([this] {
      bool first = true, reconnects = false;
      for (int conn = 0; conn == 0 || (conn == 1 && reconnects); ++conn) {
        int fd = ::accept(listener, nullptr, nullptr);
        for (std::string call = readCall(fd); !call.empty(); call = readCall(fd)) {
          if (first) {
            first = false;
            std::string head = be32(0x80000000u | 1000) + std::string(8, 'x');
            ::send(fd, head.data(), head.size(), MSG_NOSIGNAL);
            pollfd p{fd, POLLIN, 0};
            char probe;
            // Long past the client's 200 ms deadline, so a loaded machine's late close is still seen;
            // a client that keeps the stream never closes it and gets the rest after the wait.
            if (::poll(&p, 1, 10'000) == 1 && ::recv(fd, &probe, 1, MSG_PEEK) == 0) {  // closed: it gave up on this stream
              reconnects = true;
              break;
            }
            std::string rest(992, '\xff');
            ::send(fd, rest.data(), rest.size(), MSG_NOSIGNAL);
            continue;
          }
          std::string body = call.substr(0, 4) + be32(1) + be32(0) + be32(0) + be32(0) + be32(0) + be32(42);
          std::string reply = be32(0x80000000u | uint32_t(body.size())) + body;
          ::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL);
        }
        ::close(fd);
      }
    });
  }
  ~CutReplyPeer() {
    thread.join();
    ::close(listener);
  }
};

}  // namespace

TEST("rpc: a reply cut off by the deadline mid-record closes the stream; the next call reconnects and is answered") {
  CutReplyPeer peer;
  rpc::RpcClient c("127.0.0.1", peer.port, 0x0607AF, 1);
  c.connect(deadlineIn(10'000));
  ErrorKind kind = ErrorKind::Device;
  try {
    c.call(12, be32(0), deadlineIn(200));
  } catch (const IoError& e) {
    kind = e.kind;
  }
  CHECK(kind == ErrorKind::Timeout);
  // What the Vxi11 transport does before its next call: reconnect when the stream was given up.
  if (!c.isOpen()) c.connect(deadlineIn(10'000));
  uint32_t answer = 0;
  std::string error;
  try {
    answer = c.call(12, be32(0), deadlineIn(10'000)).u32();
  } catch (const IoError& e) {
    error = e.what();
  }
  CHECK(error.empty());
  CHECK(answer == 42);
  c.close();
}

TEST("rpc: an endless stream of replies to other calls (stale xids) ends at the call's deadline") {
  // A complete, well-formed accepted reply whose xid is never ours.
  std::string body = be32(0xdeadbeef) + be32(1) + be32(0) + be32(0) + be32(0) + be32(0) + be32(0);
  FloodPeer peer(be32(0x80000000u | uint32_t(body.size())) + body);
  std::chrono::milliseconds took{};
  ErrorKind kind = callAgainst(peer, &took);
  CHECK(kind == ErrorKind::Timeout);
  // The flood lasts 10 s: a call that ignored its 200 ms deadline would have run until it stopped.
  CHECK(took < std::chrono::milliseconds(5000));
}

TEST("rpc: an endless record of empty non-final fragments ends at the call's deadline") {
  FloodPeer peer(std::string(4096, '\0'));  // record marks of length 0, never the last fragment
  std::chrono::milliseconds took{};
  ErrorKind kind = callAgainst(peer, &took);
  CHECK(kind == ErrorKind::Timeout);
  // The flood lasts 10 s: a call that ignored its 200 ms deadline would have run until it stopped.
  CHECK(took < std::chrono::milliseconds(5000));
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
    rpc::portmapGetPort("127.0.0.1", 0x0607AF, 1, deadlineIn(10'000), pm.port);
  } catch (const IoError& e) {
    kind = e.kind;
    message = e.what();
  }
  CHECK(kind == ErrorKind::Connection);
  CHECK(message.find("70561") != std::string::npos);
}

TEST("rpc: a large reply is not kept by the client after its reader is gone") {
  // One accepted reply holding an 8 MiB opaque (a device_read of a big block).
  const uint32_t payload = 8u << 20;
  FloodPeer peer(
      [payload](uint32_t xid) {
        std::string body = be32(xid) + be32(1) + be32(0) + be32(0) + be32(0) + be32(0) + be32(payload) + std::string(payload, 'b');
        return be32(0x80000000u | uint32_t(body.size())) + body;
      },
      false);
  rpc::RpcClient c("127.0.0.1", peer.port, 0x0607AF, 1);
  c.connect(deadlineIn(5000));
  size_t before = ldtest::heapInUse();
  {
    rpc::XdrReader r = c.call(12, be32(0), deadlineIn(5000));
    std::string data;
    r.opaqueInto(&data);
    CHECK(data.size() == payload);
  }
  // The peer still holds the 8 MiB it sent (it waits for the client to close); the client's reply (and
  // the copy above) are gone: nothing near another 8 MiB is held between calls.
  CHECK(ldtest::heapInUse() < before + payload + (1u << 20));
  c.close();
}
