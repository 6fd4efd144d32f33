#include "bench/ring_bench.h"

#include <algorithm>
#include <utility>
#include <chrono>
#include <deque>
#include <mutex>
#include <queue>
#include <stdexcept>
#include <thread>
#include <vector>

#include "ring/sample_ring.h"

#if defined(__linux__)
#include <pthread.h>
#include <sched.h>
#endif

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define LD_PAUSE() _mm_pause()
#else
#define LD_PAUSE() std::this_thread::yield()
#endif

namespace ld {
namespace {

using Clock = std::chrono::steady_clock;

// Samples carry their index (mod 2^24, exact in float32). The consumer checks the first and last
// sample of every pop: both queues hand out contiguous runs, so a lost, repeated or reordered run
// shows there. A per-sample check would cost more than the ring itself and measure the check; the
// per-sample proof is the C++ stress test (test_ring_stress.cc).
constexpr uint32_t kIndexMask = (1u << 24) - 1;

// 32-bit index arithmetic so the loop vectorises: generating the data must cost far less than
// moving it, or the benchmark measures the producer.
void fillBatch(float* b, size_t n, uint64_t first) {
  const uint32_t base = uint32_t(first);
  for (size_t i = 0; i < n; ++i) b[i] = float(int32_t((base + uint32_t(i)) & kIndexMask));
}

bool checkRun(const float* b, size_t n, uint64_t first) {
  return b[0] == float(first & kIndexMask) && b[n - 1] == float((first + n - 1) & kIndexMask);
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

// Pins the calling thread to one CPU for the scope of a measurement and restores its mask after
// (the consumer runs on a borrowed worker-pool thread). Unpinned, the scheduler sometimes parks both
// threads on one CPU, and runs then differ by 3x for reasons that have nothing to do with the queue.
class PinnedToCpu {
 public:
  explicit PinnedToCpu(int cpu) {
#if defined(__linux__)
    if (pthread_getaffinity_np(pthread_self(), sizeof(saved_), &saved_) != 0) return;
    if (cpu < 0 || !CPU_ISSET(cpu, &saved_) || CPU_COUNT(&saved_) < 2) return;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    pinned_ = pthread_setaffinity_np(pthread_self(), sizeof(one), &one) == 0;
#else
    (void)cpu;
#endif
  }
  ~PinnedToCpu() {
#if defined(__linux__)
    if (pinned_) pthread_setaffinity_np(pthread_self(), sizeof(saved_), &saved_);
#endif
  }

 private:
#if defined(__linux__)
  cpu_set_t saved_;
#endif
  bool pinned_ = false;
};

// The first two CPUs this process may use: -1 when there is only one.
std::pair<int, int> twoCpus() {
#if defined(__linux__)
  cpu_set_t set;
  if (pthread_getaffinity_np(pthread_self(), sizeof(set), &set) == 0) {
    int found[2] = {-1, -1}, n = 0;
    for (int c = 0; c < CPU_SETSIZE && n < 2; ++c)
      if (CPU_ISSET(c, &set)) found[n++] = c;
    if (n == 2) return {found[0], found[1]};
  }
#endif
  return {-1, -1};
}

void validate(const TransferParams& p) {
  if (p.batch == 0) throw std::invalid_argument("batch must be > 0");
  if (p.batch > p.capacity) throw std::invalid_argument("batch must not exceed capacity");
}

// The same producer and consumer loops drive both queues; only how a batch goes in and out differs.
// tryPush(src, n) stores what fits and returns the count; pop(dst, max) returns the count taken.
template <typename TryPush, typename Pop>
TransferResult runTransfer(const TransferParams& p, TryPush tryPush, Pop pop) {
  validate(p);
  const auto [producerCpu, consumerCpu] = p.pinThreads ? twoCpus() : std::pair<int, int>{-1, -1};
  PinnedToCpu pinConsumer(consumerCpu);
  const auto t0 = Clock::now();
  std::thread producer([&, producerCpu = producerCpu] {
    PinnedToCpu pinProducer(producerCpu);
    std::vector<float> scratch(p.batch);
    uint64_t sent = 0;
    unsigned spins = 0;
    while (sent < p.samples) {
      const size_t want = size_t(std::min<uint64_t>(p.batch, p.samples - sent));
      fillBatch(scratch.data(), want, sent);
      size_t done = 0;
      while (done < want) {
        const size_t k = tryPush(scratch.data() + done, want - done);
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
    const size_t k = pop(out.data(), p.batch);
    if (k == 0) {
      backoff(spins);
      continue;
    }
    ok &= checkRun(out.data(), k, got);
    got += k;
  }
  producer.join();
  TransferResult r;
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  r.samples = got;
  r.inOrder = ok;
  return r;
}

}  // namespace

TransferResult benchRingTransfer(const TransferParams& p) {
  validate(p);
  SampleRing<float> ring(p.capacity, Overflow::DropNewest);
  TransferResult r = runTransfer(
      p, [&](const float* src, size_t n) { return ring.tryPush(src, n); },
      [&](float* dst, size_t max) { return ring.pop(dst, max); });
  r.inOrder = r.inOrder && ring.counters().dropped == 0;
  return r;
}

TransferResult benchMutexQueueTransfer(const TransferParams& p) {
  std::mutex mu;
  std::deque<float> q;
  return runTransfer(
      p,
      [&](const float* src, size_t n) {
        std::lock_guard<std::mutex> lk(mu);
        const size_t k = std::min(n, p.capacity - q.size());
        q.insert(q.end(), src, src + k);
        return k;
      },
      [&](float* dst, size_t max) {
        std::lock_guard<std::mutex> lk(mu);
        const size_t k = std::min(max, q.size());
        std::copy(q.begin(), q.begin() + std::ptrdiff_t(k), dst);
        q.erase(q.begin(), q.begin() + std::ptrdiff_t(k));
        return k;
      });
}

// The textbook queue: one sample per lock on each side, so the consumer's check covers every sample.
TransferResult benchMutexQueuePerSampleTransfer(const TransferParams& p) {
  std::mutex mu;
  std::queue<float> q;
  return runTransfer(
      p,
      [&](const float* src, size_t) -> size_t {
        std::lock_guard<std::mutex> lk(mu);
        if (q.size() >= p.capacity) return 0;
        q.push(*src);
        return 1;
      },
      [&](float* dst, size_t) -> size_t {
        std::lock_guard<std::mutex> lk(mu);
        if (q.empty()) return 0;
        *dst = q.front();
        q.pop();
        return 1;
      });
}

}  // namespace ld
