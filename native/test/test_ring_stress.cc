// Two real threads against one ring: the properties that only show up under concurrency.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "check.h"
#include "bench/ring_bench.h"
#include "ring/sample_ring.h"

using ld::Overflow;
using ld::SampleRing;

namespace {

// Batch sizes vary (1..max) so pushes and pops straddle the wrap point at every offset.
struct Lcg {
  uint64_t s;
  size_t next(size_t max) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    return 1 + size_t((s >> 33) % max);
  }
};

}  // namespace

TEST("ring stress: with backpressure every sample arrives once and in order") {
  constexpr int64_t N = 20'000'000;
  SampleRing<int64_t> r(1024, Overflow::DropNewest);
  std::thread producer([&] {
    Lcg rng{1};
    std::vector<int64_t> batch(700);
    int64_t next = 0;
    while (next < N) {
      size_t n = std::min<int64_t>(rng.next(batch.size()), N - next);
      for (size_t i = 0; i < n; ++i) batch[i] = next + int64_t(i);
      size_t done = 0;
      while (done < n) {
        size_t k = r.tryPush(batch.data() + done, n - done);
        if (k == 0) std::this_thread::yield();
        done += k;
      }
      next += int64_t(n);
    }
  });
  Lcg rng{2};
  std::vector<int64_t> out(900);
  int64_t expect = 0;
  bool ordered = true;
  while (expect < N) {
    size_t k = r.pop(out.data(), rng.next(out.size()));
    if (k == 0) std::this_thread::yield();
    for (size_t i = 0; i < k; ++i) ordered &= out[i] == expect++;
  }
  producer.join();
  CHECK(ordered);
  CHECK(expect == N);
  auto c = r.counters();
  CHECK(c.written == uint64_t(N) && c.read == uint64_t(N) && c.dropped == 0 && c.available == 0);
  CHECK(c.highWater > 0 && c.highWater <= 1024);
}

TEST("ring stress: drop-newest loses only whole tails, in order, and the counters add up") {
  constexpr int64_t N = 10'000'000;
  SampleRing<int32_t> r(256, Overflow::DropNewest);
  std::atomic<bool> done{false};
  std::thread producer([&] {
    Lcg rng{3};
    std::vector<int32_t> batch(300);
    int32_t next = 0;
    while (next < N) {
      size_t n = std::min<int64_t>(rng.next(batch.size()), N - next);
      for (size_t i = 0; i < n; ++i) batch[i] = next + int32_t(i);
      r.push(batch.data(), n);
      next += int32_t(n);
    }
    done.store(true, std::memory_order_release);
  });
  Lcg rng{4};
  std::vector<int32_t> out(256);
  int64_t last = -1, received = 0;
  bool increasing = true;
  for (;;) {
    bool finished = done.load(std::memory_order_acquire);
    size_t k = r.pop(out.data(), rng.next(out.size()));
    for (size_t i = 0; i < k; ++i) {
      increasing &= out[i] > last;
      last = out[i];
    }
    received += int64_t(k);
    if (k == 0 && finished) break;
  }
  producer.join();
  CHECK(increasing);
  auto c = r.counters();
  CHECK(c.written == uint64_t(N));
  CHECK(c.read == uint64_t(received));
  CHECK(c.written == c.read + c.dropped + c.available);
  CHECK(c.available == 0);
  CHECK(c.dropped > 0);  // the consumer is deliberately slower than a 256-slot ring allows
}

TEST("ring stress: overwrite-oldest gives a strictly increasing subsequence, untorn, counters add up") {
  // A tiny ring and a producer that never waits: the consumer is lapped during most copies, which
  // is exactly the race the reserve/fence protocol must catch.
  constexpr int64_t N = 20'000'000;
  SampleRing<double> r(64, Overflow::OverwriteOldest);
  std::atomic<bool> done{false};
  std::thread producer([&] {
    Lcg rng{5};
    std::vector<double> batch(100);
    int64_t next = 0;
    while (next < N) {
      size_t n = std::min<int64_t>(rng.next(batch.size()), N - next);
      for (size_t i = 0; i < n; ++i) batch[i] = double(next + int64_t(i));
      r.push(batch.data(), n);
      next += int64_t(n);
    }
    done.store(true, std::memory_order_release);
  });
  Lcg rng{6};
  std::vector<double> out(64);
  double last = -1;
  int64_t received = 0;
  bool increasing = true, integral = true;
  for (;;) {
    bool finished = done.load(std::memory_order_acquire);
    size_t k = r.pop(out.data(), rng.next(out.size()));
    for (size_t i = 0; i < k; ++i) {
      increasing &= out[i] > last;
      integral &= out[i] == double(int64_t(out[i])) && out[i] < double(N);
      last = out[i];
    }
    received += int64_t(k);
    if (k == 0 && finished) break;
  }
  producer.join();
  CHECK(increasing);
  CHECK(integral);
  CHECK(last == double(N - 1));  // the newest sample always survives
  auto c = r.counters();
  CHECK(c.written == uint64_t(N));
  CHECK(c.read == uint64_t(received));
  CHECK(c.written == c.read + c.dropped + c.available);
  CHECK(c.dropped > 0);
}

TEST("ring stress: overwrite-oldest with a consumer that keeps up loses nothing") {
  constexpr int64_t N = 2'000'000;
  SampleRing<int32_t> r(1 << 16, Overflow::OverwriteOldest);
  std::atomic<int64_t> consumed{0};
  std::thread producer([&] {
    std::vector<int32_t> batch(64);
    for (int64_t next = 0; next < N; next += 64) {
      // Stay well within the ring so no overwrite can happen: the check is that the optimistic
      // read never discards valid data.
      while (next - consumed.load(std::memory_order_acquire) > (1 << 15)) std::this_thread::yield();
      for (int i = 0; i < 64; ++i) batch[i] = int32_t(next + i);
      r.push(batch.data(), 64);
    }
  });
  std::vector<int32_t> out(4096);
  int64_t expect = 0;
  bool ordered = true;
  while (expect < N) {
    size_t k = r.pop(out.data(), out.size());
    if (k == 0) std::this_thread::yield();
    for (size_t i = 0; i < k; ++i) ordered &= out[i] == expect++;
    consumed.store(expect, std::memory_order_release);
  }
  producer.join();
  CHECK(ordered);
  CHECK(r.counters().dropped == 0);
}

TEST("ring bench core: both transfers deliver every sample in order") {
  ld::TransferParams p;
  p.samples = 3'000'000;
  p.batch = 1000;  // does not divide 2^24: exercises on-the-fly generation
  p.capacity = 4096;
  auto a = ld::benchRingTransfer(p);
  CHECK(a.samples == p.samples && a.inOrder && a.seconds > 0);
  auto b = ld::benchMutexQueueTransfer(p);
  CHECK(b.samples == p.samples && b.inOrder && b.seconds > 0);
}
