// SyntheticSource: a native thread that plays a simulated ADC (sine + Gaussian-ish noise) into a ring
// at a set sample rate, in batches, paced by the steady clock. It is the producer for simulated DAQs
// and the load generator for benchmarks.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "ring/any_ring.h"

namespace ld {

// Batches larger than this are generated and pushed in slices of this many samples: the buffer stays
// bounded whatever batchSize asks for, and stop() never waits for more than one slice's work.
constexpr size_t kSourceSliceSamples = size_t{1} << 16;

// Where the source thread is; a test observes it to stop the source inside a chosen phase.
enum class SourcePhase {
  Allocate,      // about to allocate the slice buffer
  Generate,      // about to compute one slice
  Push,          // about to push one slice into the ring
  Backpressure,  // unpaced: the ring is full, waiting for the consumer
  Sleep,         // paced: about to wait for the next batch's due time
};

struct SourceParams {
  double sampleRate = 1e6;  // samples per second, for pacing and for the sine's phase step
  size_t batchSize = 1024;  // samples per wake-up (pushed in slices of at most kSourceSliceSamples)
  double frequency = 1e3;   // Hz
  double amplitude = 1.0;
  double offset = 0.0;
  double noise = 0.0;  // standard deviation of the added noise
  uint64_t seed = 1;
  // Unpaced: produce as fast as the consumer drains (waits while the ring is full instead of
  // dropping), for throughput benchmarks.
  bool paced = true;
};

// Throws std::invalid_argument with a message naming the offending field.
void validateSourceParams(const SourceParams& p);

class SyntheticSource {
 public:
  // onBatch runs on the source thread after every push that stored samples; it must not block.
  SyntheticSource(std::shared_ptr<AnyRing> ring, SourceParams params, std::function<void()> onBatch);
  ~SyntheticSource();
  SyntheticSource(const SyntheticSource&) = delete;
  SyntheticSource& operator=(const SyntheticSource&) = delete;

  // Called on the source thread on entering each phase; for tests. Set before start(); it must not
  // call stop() (that joins the calling thread) but may wait for stopRequested().
  void setPhaseObserver(std::function<void(SourcePhase)> observer) { observer_ = std::move(observer); }

  // Throws std::logic_error when the ring already has a producer (another source, or this one running).
  void start();
  // Joins the thread; returns once onBatch can no longer be called. Idempotent.
  void stop();
  bool running() const { return running_.load(std::memory_order_acquire); }
  // True from the moment stop() begins until the next start().
  bool stopRequested() const { return stopFlag_.load(std::memory_order_acquire); }

  // Samples pushed so far (a slice at a time); batches() counts only completed batches.
  uint64_t generated() const { return generated_.load(std::memory_order_relaxed); }
  uint64_t batches() const { return batches_.load(std::memory_order_relaxed); }
  // Times the clock ran more than kMaxLag ahead of production (a starved machine) and pacing resynced.
  uint64_t lagResyncs() const { return lagResyncs_.load(std::memory_order_relaxed); }

 private:
  void run();
  template <typename T> void loop();
  bool sleepUntil(std::chrono::steady_clock::time_point t);  // false when stop was requested
  bool stopping() const { return stopFlag_.load(std::memory_order_relaxed); }
  void enter(SourcePhase phase) const {
    if (observer_) observer_(phase);
  }

  std::shared_ptr<AnyRing> ring_;
  const SourceParams params_;
  const std::function<void()> onBatch_;
  std::function<void(SourcePhase)> observer_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopRequested_ = false;  // guarded by mu_
  std::atomic<bool> stopFlag_{false};
  std::atomic<bool> running_{false};
  std::atomic<uint64_t> generated_{0};
  std::atomic<uint64_t> batches_{0};
  std::atomic<uint64_t> lagResyncs_{0};
};

}  // namespace ld
