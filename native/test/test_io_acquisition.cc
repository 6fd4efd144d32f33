// The acquisition loop against a loopback peer: what it keeps in memory between exchanges.
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "check.h"
#include "heap.h"
#include "loopback.h"
#include "io/acquisition.h"

using namespace ld::io;
using ld::AnyRing;
using ld::DType;
using ld::Overflow;

TEST("acquisition: the scratch buffer grown to decode a 16 MiB block is given back after the exchange") {
  // 8 Mi int16 samples, decoded for a float32 ring: 32 MiB of scratch for one exchange.
  const size_t samples = 8u << 20;
  const std::string length = std::to_string(samples * 2);
  std::vector<std::string> pieces{"#" + std::to_string(length.size()) + length};
  for (int i = 0; i < 16; ++i) pieces.emplace_back(1u << 20, '\0');
  pieces.emplace_back("\n");
  ldtest::Peer peer(pieces);
  auto session = std::make_shared<Session>(peer.resource(), OpenOptions{});
  auto ring = AnyRing::create(DType::Float32, 1 << 10, Overflow::DropNewest);
  AcquisitionParams p;
  p.command = "FETC?\n";
  p.readTermination = "\n";
  p.format = WireFormat::Int16;
  p.timeoutMs = 30'000;  // a hang guard: the block arrives in a few ms
  p.maxExchanges = 1;
  Acquisition acq(session, ring, p, nullptr);
  size_t before = ldtest::heapInUse();
  acq.start();
  acq.join();
  AcquisitionStats stats = acq.stats();
  CHECK(!stats.failed);
  CHECK(stats.samples == samples);
  CHECK(ldtest::heapInUse() < before + (4u << 20));
}

TEST("acquisition: a timeout or interval that is not finite, not positive or beyond a day is refused") {
  auto ring = AnyRing::create(DType::Float32, 1 << 10, Overflow::DropNewest);
  auto session = std::make_shared<Session>("TCPIP::127.0.0.1::1::SOCKET", OpenOptions{});
  auto refused = [&](double intervalMs, double timeoutMs) {
    AcquisitionParams p;
    p.command = "FETC?\n";
    p.intervalMs = intervalMs;
    p.timeoutMs = timeoutMs;
    try {
      Acquisition acq(session, ring, p, nullptr);
    } catch (const IoError& e) {
      return e.kind == ErrorKind::Argument;
    }
    return false;
  };
  for (double bad : {std::numeric_limits<double>::infinity(), std::numeric_limits<double>::quiet_NaN(), -5.0, 1e13}) {
    CHECK(refused(bad, 1000));
    CHECK(refused(0, bad));
  }
  CHECK(refused(0, 0));
  CHECK(!refused(0, 1000));
  CHECK(!refused(86400000, 86400000));
}
