// Session framing over a real loopback socket, with the peer sending answers in awkward fragments.
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include "check.h"
#include "heap.h"
#include "loopback.h"
#include "io/io_error.h"
#include "io/session.h"

using namespace ld::io;
using ldtest::Peer;

namespace {

// Accepts one connection, waits for one request line, then sends 'x' as fast as it can, never a
// terminator, until the client goes away (or 10 s pass, so a broken client cannot hang the run).
struct FloodPeer {
  int listener = -1;
  int port = 0;
  std::thread thread;
  FloodPeer() {
    listener = ldtest::loopbackListener(&port);
    thread = std::thread([this] {
      int fd = ::accept(listener, nullptr, nullptr);
      char c;
      while (::recv(fd, &c, 1, 0) == 1 && c != '\n') {}
      const std::string chunk(65536, 'x');
      auto stopAt = Clock::now() + std::chrono::seconds(10);
      while (Clock::now() < stopAt && ::send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL) > 0) {}
      ::close(fd);
    });
  }
  ~FloodPeer() {
    thread.join();
    ::close(listener);
  }
  std::string resource() const { return "TCPIP::127.0.0.1::" + std::to_string(port) + "::SOCKET"; }
};

}  // namespace

TEST("session: a CRLF termination split across segments is found") {
  Peer peer({"12.5\r", "\n"});
  {
    Session s(peer.resource(), OpenOptions{});
    auto d = deadlineIn(10'000);
    s.write("READ?\n", d);
    CHECK(s.readUntil("\r\n", 1 << 20, d) == "12.5");
    s.close();
  }
}

TEST("session: a definite-length block arrives in pieces, header included, and its terminator is consumed") {
  std::string data("\x00\x0a\x0d\x23", 4);  // holds LF, CR and '#'
  Peer peer({"#", "14", std::string(data, 0, 3), std::string(data, 3) + "\n", "NEXT\n"});
  {
    Session s(peer.resource(), OpenOptions{});
    auto d = deadlineIn(10'000);
    s.write("CURV?\n", d);
    CHECK(s.readBlock("\n", 1 << 20, d) == data);
    CHECK(s.readUntil("\n", 1 << 20, d) == "NEXT");
    s.close();
  }
}

TEST("session: an indefinite-length #0 block ends with the message") {
  Peer peer({"#0abc", "def\n"});
  {
    Session s(peer.resource(), OpenOptions{});
    auto d = deadlineIn(10'000);
    s.write("CURV?\n", d);
    CHECK(s.readBlock("\n", 1 << 20, d) == "abcdef");
    s.close();
  }
}

TEST("session: a peer closing mid-answer is a Connection error, and a timeout is a Timeout error") {
  Peer peer({"PART"}, true);
  Session s(peer.resource(), OpenOptions{});
  auto d = deadlineIn(10'000);
  s.write("X?\n", d);
  ErrorKind kind = ErrorKind::Device;
  try {
    s.readUntil("\n", 1 << 20, d);
  } catch (const IoError& e) {
    kind = e.kind;
  }
  CHECK(kind == ErrorKind::Connection);

  Peer silent({});
  Session t(silent.resource(), OpenOptions{});
  t.write("X?\n", deadlineIn(10'000));
  auto t0 = Clock::now();
  kind = ErrorKind::Device;
  try {
    t.readUntil("\n", 1 << 20, deadlineIn(50));
  } catch (const IoError& e) {
    kind = e.kind;
  }
  CHECK(kind == ErrorKind::Timeout);
  CHECK(Clock::now() - t0 >= std::chrono::milliseconds(45));
  t.close();
}

TEST("session: an endless answer holding no '#' hits the read bound, not the deadline") {
  // 4 MiB of anything but '#', never a block header: bounded by maxBytes like an unterminated answer.
  std::vector<std::string> pieces(64, std::string(65536, 'x'));
  Peer peer(pieces);
  Session s(peer.resource(), OpenOptions{});
  auto d = deadlineIn(30'000);
  s.write("CURV?\n", d);
  ErrorKind kind = ErrorKind::Timeout;
  try {
    s.readBlock("\n", 1 << 16, d);
  } catch (const IoError& e) {
    kind = e.kind;
  }
  // A Device error, not a Timeout: the read bound ended it, however slowly the bytes came.
  CHECK(kind == ErrorKind::Device);
  s.close();
}

TEST("session: a block over the limit is refused and its bytes do not become the next answer") {
  std::string block = "#3100" + std::string(100, 'z') + "\n";
  Peer peer({block});
  Session s(peer.resource(), OpenOptions{});
  auto d = deadlineIn(10'000);
  s.write("CURV?\n", d);
  ErrorKind kind = ErrorKind::Timeout;
  try {
    s.readBlock("\n", 50, d);
  } catch (const IoError& e) {
    kind = e.kind;
  }
  CHECK(kind == ErrorKind::Device);
  kind = ErrorKind::Device;
  std::string leftover;
  try {
    leftover = s.readUntil("\n", 1 << 20, deadlineIn(100));
  } catch (const IoError& e) {
    kind = e.kind;
  }
  CHECK(leftover.empty());
  CHECK(kind == ErrorKind::Timeout);
  s.close();
}

TEST("session: an answer that never ends, sent as fast as the peer can, fails within the deadline") {
  // Hitting the read bound drops what is buffered; dropping must not become an endless drain.
  FloodPeer peer;
  Session s(peer.resource(), OpenOptions{});
  auto d = deadlineIn(5000);
  s.write("READ?\n", d);
  auto t0 = Clock::now();
  ErrorKind kind = ErrorKind::Timeout;
  try {
    s.readUntil("\n", 1 << 16, d);
  } catch (const IoError& e) {
    kind = e.kind;
  }
  CHECK(kind == ErrorKind::Device);
  // Within the deadline; an endless drain would only end when the 10 s flood does.
  CHECK(Clock::now() - t0 < std::chrono::milliseconds(5000));
  s.close();
}

TEST("session: the buffer grown for a 16 MiB answer is given back once the answer is taken") {
  std::vector<std::string> pieces(16, std::string(1u << 20, 'x'));
  pieces.push_back("\n");
  Peer peer(pieces);
  Session s(peer.resource(), OpenOptions{});
  auto d = deadlineIn(5000);
  s.write("BIG?\n", d);
  size_t before = ldtest::heapInUse();
  CHECK(s.readUntil("\n", 64u << 20, d).size() == 16u << 20);
  // The answer itself is gone; what is left in use is the session's buffer.
  CHECK(ldtest::heapInUse() < before + (1u << 20));
  s.close();
}
