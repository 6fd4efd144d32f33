#include "sim/synthetic_source.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>

namespace ld {
namespace {

using Clock = std::chrono::steady_clock;
// Further behind than this, the source stops trying to catch up (it would only burst).
constexpr std::chrono::milliseconds kMaxLag{250};
constexpr size_t kMaxBatch = size_t{1} << 24;
// Longest pause between two batches. A slower rate (1e-9 S/s) would overflow the clock's int64
// nanoseconds when converted, wrap negative and leave the source unpaced.
constexpr std::chrono::hours kMaxPeriod{24};

// The time one batch spans, computed in double seconds and clamped before it becomes integer ticks.
Clock::duration batchPeriod(size_t batchSize, double sampleRate) {
  const double seconds = double(batchSize) / sampleRate;
  const std::chrono::duration<double> limit = kMaxPeriod;
  if (!(seconds < limit.count())) return std::chrono::duration_cast<Clock::duration>(kMaxPeriod);
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

// xorshift64*: a few cycles per sample, good enough for display noise.
struct Rng {
  uint64_t s;
  uint64_t next() {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 0x2545F4914F6CDD1DULL;
  }
};

// Sum of four 16-bit uniforms (Irwin-Hall n=4): near-Gaussian, unit variance after scaling, one
// random draw per sample. Variance of one U(0,1) is 1/12, so four sum to 1/3.
inline double unitNoise(Rng& rng) {
  const uint64_t r = rng.next();
  const double sum = double(r & 0xFFFF) + double((r >> 16) & 0xFFFF) + double((r >> 32) & 0xFFFF) + double(r >> 48);
  return (sum / 65535.0 - 2.0) * 1.7320508075688772;  // sqrt(3)
}

template <typename T>
inline T toSample(double v) {
  if constexpr (std::is_floating_point_v<T>) {
    return static_cast<T>(v);
  } else {
    const double lo = double(std::numeric_limits<T>::min()), hi = double(std::numeric_limits<T>::max());
    return static_cast<T>(std::lround(std::clamp(v, lo, hi)));
  }
}

}  // namespace

void validateSourceParams(const SourceParams& p) {
  auto bad = [](const std::string& m) { throw std::invalid_argument(m); };
  if (!(p.sampleRate > 0) || !std::isfinite(p.sampleRate)) bad("sampleRate must be a positive finite number");
  if (p.batchSize < 1 || p.batchSize > kMaxBatch) bad("batchSize must be between 1 and 16777216");
  if (!std::isfinite(p.frequency)) bad("frequency must be finite");
  if (!std::isfinite(p.amplitude)) bad("amplitude must be finite");
  if (!std::isfinite(p.offset)) bad("offset must be finite");
  if (!(p.noise >= 0) || !std::isfinite(p.noise)) bad("noise must be a finite number >= 0");
}

SyntheticSource::SyntheticSource(std::shared_ptr<AnyRing> ring, SourceParams params, std::function<void()> onBatch)
    : ring_(std::move(ring)), params_(params), onBatch_(std::move(onBatch)) {
  if (!ring_) throw std::invalid_argument("SyntheticSource needs a ring");
  validateSourceParams(params_);
}

SyntheticSource::~SyntheticSource() { stop(); }

void SyntheticSource::start() {
  if (running()) throw std::logic_error("the source is already running");
  if (!ring_->claimProducer()) throw std::logic_error("the ring already has a producer");
  {
    std::lock_guard<std::mutex> lk(mu_);
    stopRequested_ = false;
  }
  stopFlag_.store(false, std::memory_order_relaxed);
  running_.store(true, std::memory_order_release);
  try {
    thread_ = std::thread([this] { run(); });
  } catch (...) {
    running_.store(false, std::memory_order_release);
    ring_->releaseProducer();
    throw;
  }
}

void SyntheticSource::stop() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stopRequested_ = true;
  }
  stopFlag_.store(true, std::memory_order_release);
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
    ring_->releaseProducer();
  }
  running_.store(false, std::memory_order_release);
}

bool SyntheticSource::sleepUntil(Clock::time_point t) {
  std::unique_lock<std::mutex> lk(mu_);
  return !cv_.wait_until(lk, t, [this] { return stopRequested_; });
}

void SyntheticSource::run() {
  switch (ring_->dtype()) {
    case DType::Float32: loop<float>(); break;
    case DType::Float64: loop<double>(); break;
    case DType::Int16: loop<int16_t>(); break;
    case DType::Int32: loop<int32_t>(); break;
  }
}

template <typename T>
void SyntheticSource::loop() {
  SampleRing<T>& ring = ring_->typed<T>();
  const size_t n = params_.batchSize;
  const size_t sliceCap = std::min(n, kSourceSliceSamples);
  enter(SourcePhase::Allocate);
  // Default-initialised, not zero-filled: every sample is written before it is pushed.
  const std::unique_ptr<T[]> slice(new T[sliceCap]);
  Rng rng{params_.seed ? params_.seed : 0x9E3779B97F4A7C15ULL};
  // The sine comes from rotating a unit phasor: four multiplies per sample instead of a sin() call,
  // renormalised once per slice so rounding cannot make its amplitude drift.
  const double step = 2.0 * M_PI * params_.frequency / params_.sampleRate;
  const double cs = std::cos(step), sn = std::sin(step);
  double re = 1.0, im = 0.0;
  const Clock::duration period = batchPeriod(n, params_.sampleRate);
  Clock::time_point due = Clock::now();

  // stop() joins this thread from JS, so the flag is checked between slices: a batch of millions of
  // samples holds a stop up for one slice at most, in every phase.
  while (!stopping()) {
    for (size_t done = 0; done < n;) {
      if (stopping()) return;
      const size_t k = std::min(sliceCap, n - done);
      enter(SourcePhase::Generate);
      for (size_t i = 0; i < k; ++i) {
        double v = params_.offset + params_.amplitude * im;
        if (params_.noise > 0) v += params_.noise * unitNoise(rng);
        slice[i] = toSample<T>(v);
        const double r2 = re * cs - im * sn;
        im = re * sn + im * cs;
        re = r2;
      }
      const double norm = 1.0 / std::sqrt(re * re + im * im);
      re *= norm;
      im *= norm;

      if (stopping()) return;
      enter(SourcePhase::Push);
      size_t stored = params_.paced ? ring.push(slice.get(), k) : ring.tryPush(slice.get(), k);
      if (!params_.paced && stored < k) {
        // Backpressure instead of loss: the benchmark measures what the consumer can take.
        enter(SourcePhase::Backpressure);
        while (stored < k && !stopping()) {
          if (onBatch_) onBatch_();
          std::this_thread::yield();
          stored += ring.tryPush(slice.get() + stored, k - stored);
        }
      }
      // As the ring counts `written`: push() offers the whole slice, tryPush() only what it stored.
      const size_t counted = params_.paced ? k : stored;
      generated_.store(generated_.load(std::memory_order_relaxed) + counted, std::memory_order_relaxed);
      if (counted < k) return;  // stopped while waiting for the consumer
      done += k;
    }
    batches_.store(batches_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    if (onBatch_) onBatch_();

    if (params_.paced) {
      due += period;
      const auto now = Clock::now();
      if (now - due > kMaxLag) {
        due = now;
        lagResyncs_.store(lagResyncs_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
      }
      enter(SourcePhase::Sleep);
      if (due > now && !sleepUntil(due)) break;
    }
  }
}

}  // namespace ld
