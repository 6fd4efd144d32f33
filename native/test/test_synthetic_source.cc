// The synthetic source on its own thread: what it produces, its pacing, and clean start/stop.
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "check.h"
#include "ring/synthetic_source.h"

using namespace std::chrono;
using ld::AnyRing;
using ld::DType;
using ld::Overflow;
using ld::SourceParams;
using ld::SyntheticSource;

namespace {

// Waits for a count of onBatch calls; bounded so a broken source fails the test instead of hanging.
struct BatchWaiter {
  std::mutex mu;
  std::condition_variable cv;
  uint64_t count = 0;
  void bump() {
    std::lock_guard<std::mutex> lk(mu);
    ++count;
    cv.notify_all();
  }
  bool waitFor(uint64_t n, milliseconds timeout) {
    std::unique_lock<std::mutex> lk(mu);
    return cv.wait_for(lk, timeout, [&] { return count >= n; });
  }
};

bool invalid(SourceParams p) {
  try {
    ld::validateSourceParams(p);
  } catch (const std::invalid_argument&) {
    return true;
  }
  return false;
}

}  // namespace

TEST("source: rejects nonsense parameters") {
  SourceParams p;
  CHECK(!invalid(p));
  p.sampleRate = 0;
  CHECK(invalid(p));
  p = SourceParams{};
  p.batchSize = 0;
  CHECK(invalid(p));
  p = SourceParams{};
  p.noise = -1;
  CHECK(invalid(p));
  p = SourceParams{};
  p.frequency = NAN;
  CHECK(invalid(p));
}

TEST("source: produces the configured sine, batch by batch") {
  auto ring = AnyRing::create(DType::Float64, 1 << 14, Overflow::DropNewest);
  SourceParams p;
  p.sampleRate = 1'000'000;
  p.batchSize = 1000;
  p.frequency = 1000;  // 1000 samples per period
  p.amplitude = 2.0;
  p.offset = 0.5;
  BatchWaiter w;
  SyntheticSource src(ring, p, [&] { w.bump(); });
  src.start();
  CHECK(w.waitFor(3, seconds(5)));
  src.stop();
  std::vector<double> out(3000);
  CHECK(ring->popRaw(out.data(), 3000) == 3000);
  double maxErr = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    double expect = 0.5 + 2.0 * std::sin(2 * M_PI * double(i) / 1000.0);
    maxErr = std::max(maxErr, std::fabs(out[i] - expect));
  }
  CHECK(maxErr < 1e-9);
}

TEST("source: noise has the configured standard deviation") {
  auto ring = AnyRing::create(DType::Float32, 1 << 17, Overflow::DropNewest);
  SourceParams p;
  p.sampleRate = 10'000'000;
  p.batchSize = 10'000;
  p.frequency = 0;  // sin(0) = 0: only noise around the offset
  p.noise = 0.25;
  p.offset = 3;
  BatchWaiter w;
  SyntheticSource src(ring, p, [&] { w.bump(); });
  src.start();
  CHECK(w.waitFor(10, seconds(5)));
  src.stop();
  std::vector<float> out(100'000);
  CHECK(ring->popRaw(out.data(), out.size()) == out.size());
  double sum = 0, sq = 0;
  for (float v : out) sum += v;
  double mean = sum / out.size();
  for (float v : out) sq += (v - mean) * (v - mean);
  double sd = std::sqrt(sq / out.size());
  CHECK(std::fabs(mean - 3) < 0.01);
  CHECK(std::fabs(sd - 0.25) < 0.01);
}

TEST("source: integer dtypes round and saturate") {
  auto ring = AnyRing::create(DType::Int16, 1 << 12, Overflow::DropNewest);
  SourceParams p;
  p.sampleRate = 1'000'000;
  p.batchSize = 1000;
  p.frequency = 1000;
  p.amplitude = 100'000;  // beyond int16
  BatchWaiter w;
  SyntheticSource src(ring, p, [&] { w.bump(); });
  src.start();
  CHECK(w.waitFor(1, seconds(5)));
  src.stop();
  std::vector<int16_t> out(1000);
  CHECK(ring->popRaw(out.data(), 1000) == 1000);
  CHECK(out[0] == 0);
  CHECK(out[250] == 32767);  // quarter period: the peak, clamped
  CHECK(out[750] == -32768);
  CHECK(out[1] == int16_t(std::lround(100'000 * std::sin(2 * M_PI / 1000))));
}

TEST("source: paced at the set sample rate") {
  auto ring = AnyRing::create(DType::Float32, 1 << 20, Overflow::DropNewest);
  SourceParams p;
  p.sampleRate = 2'000'000;
  p.batchSize = 2000;  // 1 ms per batch
  BatchWaiter w;
  SyntheticSource src(ring, p, [&] { w.bump(); });
  const auto t0 = steady_clock::now();
  src.start();
  CHECK(w.waitFor(201, seconds(5)));  // the first batch is immediate, then one every 1 ms
  const double elapsed = duration<double>(steady_clock::now() - t0).count();
  src.stop();
  // 200 ms of signal: a paced source cannot be much faster; a loaded CI box can be somewhat slower.
  CHECK(elapsed > 0.19);
  CHECK(elapsed < 1.5);
}

TEST("source: stop is prompt even when the next batch is far away, and idempotent") {
  auto ring = AnyRing::create(DType::Float64, 1 << 10, Overflow::DropNewest);
  SourceParams p;
  p.sampleRate = 1;
  p.batchSize = 100;  // one batch per 100 s
  BatchWaiter w;
  SyntheticSource src(ring, p, [&] { w.bump(); });
  src.start();
  CHECK(w.waitFor(1, seconds(5)));
  const auto t0 = steady_clock::now();
  src.stop();
  CHECK(steady_clock::now() - t0 < milliseconds(500));
  CHECK(!src.running());
  src.stop();
  CHECK(!src.running());
  CHECK(!ring->producerClaimed());
}

TEST("source: a ring accepts one running source at a time, and can be restarted") {
  auto ring = AnyRing::create(DType::Float32, 1 << 12, Overflow::OverwriteOldest);
  SourceParams p;
  p.sampleRate = 100'000;
  SyntheticSource a(ring, p, nullptr), b(ring, p, nullptr);
  a.start();
  bool refused = false;
  try {
    b.start();
  } catch (const std::logic_error&) {
    refused = true;
  }
  CHECK(refused);
  a.stop();
  b.start();
  b.stop();
  a.start();
  CHECK(a.running());
}  // destructor stops a running source

TEST("source: unpaced mode waits for the consumer instead of dropping") {
  auto ring = AnyRing::create(DType::Float32, 1 << 12, Overflow::DropNewest);
  SourceParams p;
  p.paced = false;
  p.batchSize = 1000;
  SyntheticSource src(ring, p, nullptr);
  src.start();
  std::vector<float> out(4096);
  uint64_t got = 0;
  const auto deadline = steady_clock::now() + seconds(5);
  while (got < 2'000'000 && steady_clock::now() < deadline) {
    size_t k = ring->popRaw(out.data(), out.size());
    if (k == 0) std::this_thread::yield();
    got += k;
  }
  src.stop();
  CHECK(got >= 2'000'000);
  CHECK(ring->counters().dropped == 0);
}

TEST("source: stop is prompt while a huge batch is being generated (JS's stop() joins on its thread)") {
  auto ring = AnyRing::create(DType::Float64, 1 << 10, Overflow::OverwriteOldest);
  SourceParams p;
  p.batchSize = 16777216;  // the largest allowed: generating it takes far longer than a stop may
  p.sampleRate = 1e9;
  p.noise = 1;
  SyntheticSource src(ring, p, [] {});
  src.start();
  std::this_thread::sleep_for(milliseconds(300));  // past the batch buffer's allocation, inside generation
  const auto t0 = steady_clock::now();
  src.stop();
  const auto took = steady_clock::now() - t0;
  CHECK(took < milliseconds(20));
  CHECK(!src.running());
}
