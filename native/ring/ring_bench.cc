#include "ring/ring_bench.h"

#include <algorithm>
#include <chrono>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "ring/sample_ring.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define LD_PAUSE() _mm_pause()
#else
#define LD_PAUSE() std::this_thread::yield()
#endif

namespace ld {
namespace {

using Clock = std::chrono::steady_clock;

// Samples carry their index (mod 2^24, exact in float32) so the consumer can check order without
// slowing the transfer much: one compare per sample.
constexpr uint32_t kIndexMask = (1u << 24) - 1;

void fillBatch(std::vector<float>& b, uint64_t first) {
  for (size_t i = 0; i < b.size(); ++i) b[i] = float((first + i) & kIndexMask);
}

bool checkBatch(const float* b, size_t n, uint64_t first) {
  bool ok = true;
  for (size_t i = 0; i < n; ++i) ok &= b[i] == float((first + i) & kIndexMask);
  return ok;
}

// A hot loop on a 2-core machine must give way now and then or a descheduled peer stalls it for a
// whole time slice.
inline void backoff(unsigned& spins) {
  if (++spins < 64) {
    LD_PAUSE();
  } else {
    spins = 0;
    std::this_thread::yield();
  }
}

void validate(const TransferParams& p) {
  if (p.batch == 0) throw std::invalid_argument("batch must be > 0");
  if (p.batch > p.capacity) throw std::invalid_argument("batch must not exceed capacity");
}

// Producers reuse a precomputed cycle of batches so generation cost is not part of the measurement.
std::vector<std::vector<float>> makeBatches(const TransferParams& p, size_t& period) {
  // A batch pattern repeats every 2^24 samples; choose enough batches to cover one repetition when
  // the batch divides it, otherwise produce on the fly (period 0).
  period = (size_t{1} << 24) % p.batch == 0 ? (size_t{1} << 24) / p.batch : 0;
  std::vector<std::vector<float>> out;
  if (period == 0 || period > 4096) {
    period = 0;
    return out;
  }
  out.resize(period, std::vector<float>(p.batch));
  for (size_t i = 0; i < period; ++i) fillBatch(out[i], uint64_t(i) * p.batch);
  return out;
}

}  // namespace

TransferResult benchRingTransfer(const TransferParams& p) {
  validate(p);
  SampleRing<float> ring(p.capacity, Overflow::DropNewest);
  size_t period = 0;
  auto batches = makeBatches(p, period);
  TransferResult r;

  const auto t0 = Clock::now();
  std::thread producer([&] {
    std::vector<float> scratch(p.batch);
    uint64_t sent = 0;
    unsigned spins = 0;
    while (sent < p.samples) {
      const size_t want = size_t(std::min<uint64_t>(p.batch, p.samples - sent));
      const float* src;
      if (period) {
        src = batches[(sent / p.batch) % period].data();
      } else {
        fillBatch(scratch, sent);
        src = scratch.data();
      }
      size_t done = 0;
      while (done < want) {
        const size_t k = ring.tryPush(src + done, want - done);
        if (k == 0) backoff(spins);
        done += k;
      }
      sent += want;
    }
  });
  std::vector<float> out(p.batch);
  uint64_t got = 0;
  bool ok = true;
  unsigned spins = 0;
  while (got < p.samples) {
    const size_t k = ring.pop(out.data(), p.batch);
    if (k == 0) {
      backoff(spins);
      continue;
    }
    ok &= checkBatch(out.data(), k, got);
    got += k;
  }
  producer.join();
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  r.samples = got;
  r.inOrder = ok && ring.counters().dropped == 0;
  return r;
}

TransferResult benchMutexQueueTransfer(const TransferParams& p) {
  validate(p);
  std::mutex mu;
  std::deque<float> q;
  size_t period = 0;
  auto batches = makeBatches(p, period);
  TransferResult r;

  const auto t0 = Clock::now();
  std::thread producer([&] {
    std::vector<float> scratch(p.batch);
    uint64_t sent = 0;
    unsigned spins = 0;
    while (sent < p.samples) {
      const size_t want = size_t(std::min<uint64_t>(p.batch, p.samples - sent));
      const float* src;
      if (period) {
        src = batches[(sent / p.batch) % period].data();
      } else {
        fillBatch(scratch, sent);
        src = scratch.data();
      }
      size_t done = 0;
      while (done < want) {
        size_t k;
        {
          std::lock_guard<std::mutex> lk(mu);
          k = std::min(want - done, p.capacity - q.size());
          q.insert(q.end(), src + done, src + done + k);
        }
        if (k == 0) backoff(spins);
        done += k;
      }
      sent += want;
    }
  });
  std::vector<float> out(p.batch);
  uint64_t got = 0;
  bool ok = true;
  unsigned spins = 0;
  while (got < p.samples) {
    size_t k;
    {
      std::lock_guard<std::mutex> lk(mu);
      k = std::min(p.batch, q.size());
      std::copy(q.begin(), q.begin() + k, out.begin());
      q.erase(q.begin(), q.begin() + k);
    }
    if (k == 0) {
      backoff(spins);
      continue;
    }
    ok &= checkBatch(out.data(), k, got);
    got += k;
  }
  producer.join();
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  r.samples = got;
  r.inOrder = ok;
  return r;
}

}  // namespace ld
