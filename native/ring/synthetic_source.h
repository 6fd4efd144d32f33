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

struct SourceParams {
  double sampleRate = 1e6;  // samples per second, for pacing and for the sine's phase step
  size_t batchSize = 1024;  // samples per push and per wake-up
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

  // Throws std::logic_error when the ring already has a producer (another source, or this one running).
  void start();
  // Joins the thread; returns once onBatch can no longer be called. Idempotent.
  void stop();
  bool running() const { return running_.load(std::memory_order_acquire); }

  uint64_t generated() const { return generated_.load(std::memory_order_relaxed); }
  uint64_t batches() const { return batches_.load(std::memory_order_relaxed); }
  // Times the clock ran more than kMaxLag ahead of production (a starved machine) and pacing resynced.
  uint64_t lagResyncs() const { return lagResyncs_.load(std::memory_order_relaxed); }

 private:
  void run();
  template <typename T> void loop();
  bool sleepUntil(std::chrono::steady_clock::time_point t);  // false when stop was requested

  std::shared_ptr<AnyRing> ring_;
  const SourceParams params_;
  const std::function<void()> onBatch_;
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
