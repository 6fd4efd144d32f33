// recvExact over a real socket pair: the bytes arrive in pieces, late, never, or the peer goes away.
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "check.h"
#include "io/fd_read.h"

using namespace ld::io;

namespace {
struct Pair {
  int a = -1, b = -1;
  Pair() {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0) a = fds[0], b = fds[1];
  }
  ~Pair() {
    if (a >= 0) ::close(a);
    if (b >= 0) ::close(b);
  }
};
std::vector<uint8_t> pattern(size_t n) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; i++) v[i] = static_cast<uint8_t>(i * 7 + (i >> 9));
  return v;
}
}  // namespace

TEST("fd read: a megabyte sent in uneven pieces lands whole, and what follows stays in the socket") {
  Pair s;
  CHECK(s.a >= 0);
  const auto want = pattern(1 << 20);
  std::thread peer([&] {
    size_t off = 0, piece = 1;
    while (off < want.size()) {
      size_t n = std::min(piece, want.size() - off);
      ssize_t r = ::send(s.b, want.data() + off, n, MSG_NOSIGNAL);
      if (r <= 0) return;
      off += static_cast<size_t>(r);
      piece = piece * 3 + 17;
    }
    (void)!::send(s.b, "\n", 1, MSG_NOSIGNAL);
  });
  std::vector<uint8_t> got(want.size());
  InterruptibleWait w;
  bool ok = true;
  try {
    recvExact(s.a, got.data(), got.size(), deadlineIn(10000), w, "peer");
  } catch (const IoError&) {
    ok = false;
  }
  peer.join();
  CHECK(ok);
  CHECK(std::memcmp(got.data(), want.data(), want.size()) == 0);
  char nl = 0;
  CHECK(::recv(s.a, &nl, 1, MSG_DONTWAIT) == 1 && nl == '\n');
}

TEST("fd read: nothing arriving is a Timeout at the deadline, not before") {
  Pair s;
  std::vector<uint8_t> got(100);
  InterruptibleWait w;
  auto t0 = Clock::now();
  ErrorKind kind = ErrorKind::Device;
  try {
    recvExact(s.a, got.data(), got.size(), deadlineIn(80), w, "peer");
  } catch (const IoError& e) {
    kind = e.kind;
  }
  CHECK(kind == ErrorKind::Timeout);
  CHECK(Clock::now() - t0 >= std::chrono::milliseconds(80));
}

TEST("fd read: the peer closing partway is a Connection error; an interrupt ends a wait long before its deadline") {
  {
    Pair s;
    (void)!::send(s.b, "abc", 3, MSG_NOSIGNAL);
    ::close(s.b);
    s.b = -1;
    std::vector<uint8_t> got(10);
    InterruptibleWait w;
    ErrorKind kind = ErrorKind::Device;
    try {
      recvExact(s.a, got.data(), got.size(), deadlineIn(10000), w, "peer");
    } catch (const IoError& e) {
      kind = e.kind;
    }
    CHECK(kind == ErrorKind::Connection);
    CHECK(std::memcmp(got.data(), "abc", 3) == 0);
  }
  Pair s;
  std::vector<uint8_t> got(10);
  InterruptibleWait w;
  std::thread closer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    w.interrupt();
  });
  auto t0 = Clock::now();
  long code = 0;
  try {
    recvExact(s.a, got.data(), got.size(), deadlineIn(60000), w, "peer");
  } catch (const IoError& e) {
    code = e.code;
  }
  closer.join();
  CHECK(code == ECANCELED);
  CHECK(Clock::now() - t0 < std::chrono::seconds(30));  // the 60 s deadline did not end it
}

TEST("fd read: a block header is read to its last digit and no further; anything else comes back as taken") {
  Pair s;
  InterruptibleWait w;
  (void)!::send(s.b, "#41234DATA", 10, MSG_NOSIGNAL);
  BlockHead h = readBlockHead(s.a, deadlineIn(5000), w, "peer");
  CHECK(h.kind == BlockHead::Kind::Length && h.length == 1234);
  char rest[4];
  CHECK(::recv(s.a, rest, 4, MSG_DONTWAIT) == 4 && std::memcmp(rest, "DATA", 4) == 0);
  for (const std::string answer : {"CURV #3", "#0abc", "#2x1"}) {
    Pair t;
    (void)!::send(t.b, answer.data(), answer.size(), MSG_NOSIGNAL);
    BlockHead o = readBlockHead(t.a, deadlineIn(5000), w, "peer");
    CHECK(o.kind == BlockHead::Kind::Other);
    CHECK(answer.compare(0, o.consumed.size(), o.consumed) == 0);
    CHECK(o.consumed.size() == (answer[0] == '#' && answer[1] != '0' ? 4u : 2u));
  }
}

TEST("fd read: a termination is taken only when all of it is already there and matches") {
  Pair s;
  CHECK(!takeTermination(s.a, "\r\n"));  // nothing there: nothing read, no wait
  (void)!::send(s.b, "\r", 1, MSG_NOSIGNAL);
  CHECK(!takeTermination(s.a, "\r\n"));  // half of it: left for the event loop
  (void)!::send(s.b, "\nX", 2, MSG_NOSIGNAL);
  CHECK(takeTermination(s.a, "\r\n"));
  CHECK(!takeTermination(s.a, "\n"));  // "X" is not it, and stays
  char x = 0;
  CHECK(::recv(s.a, &x, 1, MSG_DONTWAIT) == 1 && x == 'X');
  CHECK(!takeTermination(s.a, ""));
}
