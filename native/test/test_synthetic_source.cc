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
#include "sim/synthetic_source.h"

using namespace std::chrono;
using ld::AnyRing;
using ld::DType;
using ld::Overflow;
using ld::SourcePhase;
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
  CHECK(w.waitFor(3, seconds(30)));
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
  CHECK(w.waitFor(10, seconds(30)));
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
  CHECK(w.waitFor(1, seconds(30)));
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
  // Stamped on the source thread as each batch lands, so the test thread's own scheduling is not measured.
  steady_clock::time_point first, last;
  SyntheticSource src(ring, p, [&] {
    const auto now = steady_clock::now();
    if (w.count == 0) first = now;
    if (w.count == 200) last = now;
    w.bump();
  });
  const auto t0 = steady_clock::now();
  src.start();
  CHECK(w.waitFor(201, seconds(30)));  // the first batch is immediate, then one every 1 ms
  src.stop();
  // 200 ms of signal: a paced source cannot be faster, however fast the machine.
  CHECK(last - t0 >= milliseconds(200));
  // Nor slower: batch k is due 1 ms after batch k-1, and a source falling more than 250 ms behind its
  // schedule resyncs (counted). So unless a starved machine made it resync, 200 batches after the
  // first span at most 200 ms + 250 ms, whatever the machine's speed.
  CHECK(src.lagResyncs() > 0 || last - first <= milliseconds(450));
}

TEST("source: stop is prompt even when the next batch is far away, and idempotent") {
  auto ring = AnyRing::create(DType::Float64, 1 << 10, Overflow::DropNewest);
  SourceParams p;
  p.sampleRate = 1;
  p.batchSize = 100;  // one batch per 100 s
  BatchWaiter w;
  SyntheticSource src(ring, p, [&] { w.bump(); });
  src.start();
  CHECK(w.waitFor(1, seconds(30)));
  const auto t0 = steady_clock::now();
  src.stop();
  // Half the 100 s period: however slow the machine, a stop that waited for the next batch is caught.
  CHECK(steady_clock::now() - t0 < seconds(50));
  CHECK(src.batches() == 1);
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
  const auto deadline = steady_clock::now() + seconds(30);  // a hang guard, not a speed bound
  while (got < 2'000'000 && steady_clock::now() < deadline) {
    size_t k = ring->popRaw(out.data(), out.size());
    if (k == 0) std::this_thread::yield();
    got += k;
  }
  src.stop();
  CHECK(got >= 2'000'000);
  CHECK(ring->counters().dropped == 0);
}

namespace {

// The largest batch: generating it takes far longer than a stop may. The observer holds the source at
// the `skip`+1-th entry into `phase` until stop() has begun, so the stop lands inside that phase on any
// machine; then the work counters prove the thread left without finishing the batch.
struct StopInside {
  SourcePhase phase;
  int skip;
  std::mutex mu;
  std::condition_variable cv;
  bool reached = false;
};

void holdUntilStopped(SyntheticSource& src, StopInside& at) {
  int seen = 0;
  src.setPhaseObserver([&src, &at, seen](SourcePhase ph) mutable {
    if (ph != at.phase || seen++ != at.skip) return;
    {
      std::lock_guard<std::mutex> lk(at.mu);
      at.reached = true;
    }
    at.cv.notify_all();
    const auto giveUp = steady_clock::now() + seconds(30);  // a broken test fails instead of hanging
    while (!src.stopRequested() && steady_clock::now() < giveUp) std::this_thread::yield();
  });
}

bool stoppedInside(SyntheticSource& src, StopInside& at) {
  {
    std::unique_lock<std::mutex> lk(at.mu);
    if (!at.cv.wait_for(lk, seconds(30), [&] { return at.reached; })) return false;
  }
  src.stop();
  return !src.running();
}

}  // namespace

TEST("source: stop is prompt while a huge batch is allocated, generated or pushed (JS's stop() joins on its thread)") {
  const SourcePhase phases[] = {SourcePhase::Allocate, SourcePhase::Generate, SourcePhase::Push};
  for (SourcePhase phase : phases) {
    auto ring = AnyRing::create(DType::Float64, 1 << 10, Overflow::OverwriteOldest);
    SourceParams p;
    p.batchSize = 16777216;  // 256 slices
    p.sampleRate = 1e9;
    p.noise = 1;
    std::atomic<int> wakes{0};
    SyntheticSource src(ring, p, [&] { ++wakes; });
    StopInside at{phase, phase == SourcePhase::Allocate ? 0 : 1};  // mid-batch: the second slice
    holdUntilStopped(src, at);
    src.start();
    CHECK(stoppedInside(src, at));
    CHECK(src.batches() == 0);
    CHECK(wakes.load() == 0);
    // At most the slice in hand is finished after the stop: nowhere near the 16 M of the batch.
    CHECK(src.generated() <= 2 * ld::kSourceSliceSamples);
    if (phase == SourcePhase::Allocate) CHECK(src.generated() == 0);
    CHECK(ring->counters().written == src.generated());
  }
}

TEST("source: stop is prompt while an unpaced source waits for a stalled consumer") {
  auto ring = AnyRing::create(DType::Float32, 1 << 10, Overflow::DropNewest);
  SourceParams p;
  p.paced = false;
  p.batchSize = 4096;  // more than the ring holds: the first push leaves the source waiting
  SyntheticSource src(ring, p, nullptr);
  StopInside at{SourcePhase::Backpressure, 0};
  holdUntilStopped(src, at);
  src.start();
  CHECK(stoppedInside(src, at));
  CHECK(src.batches() == 0);
  CHECK(src.generated() == 1024);  // what the ring took; the rest was never offered
  CHECK(ring->counters().written == 1024);
  CHECK(ring->counters().dropped == 0);
}

TEST("source: stop is prompt at the pacing wait, before the next batch") {
  auto ring = AnyRing::create(DType::Float64, 1 << 10, Overflow::DropNewest);
  SourceParams p;
  p.sampleRate = 1;
  p.batchSize = 100;
  std::atomic<int> wakes{0};
  SyntheticSource src(ring, p, [&] { ++wakes; });
  StopInside at{SourcePhase::Sleep, 0};
  holdUntilStopped(src, at);
  src.start();
  CHECK(stoppedInside(src, at));
  CHECK(src.batches() == 1);
  CHECK(wakes.load() == 1);
  CHECK(src.generated() == 100);
}

TEST("source: a batch larger than a slice is the same signal as one generated whole") {
  auto ring = AnyRing::create(DType::Float64, 1 << 18, Overflow::DropNewest);
  SourceParams p;
  p.sampleRate = 1e6;
  p.batchSize = ld::kSourceSliceSamples * 2 + 100;  // two full slices and a short one
  p.frequency = 1000;
  BatchWaiter w;
  SyntheticSource src(ring, p, [&] { w.bump(); });
  src.start();
  CHECK(w.waitFor(1, seconds(30)));
  src.stop();
  CHECK(src.batches() >= 1);
  std::vector<double> out(p.batchSize);
  CHECK(ring->popRaw(out.data(), out.size()) == out.size());
  double maxErr = 0;
  for (size_t i = 0; i < out.size(); ++i)
    maxErr = std::max(maxErr, std::fabs(out[i] - std::sin(2 * M_PI * double(i) / 1000.0)));
  CHECK(maxErr < 1e-9);
}
