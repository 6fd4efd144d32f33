#include "io/acquisition.h"

#include <cerrno>
#include <cmath>
#include <future>

namespace ld::io {
namespace {
// Decoding a large block grows the scratch buffer to the samples' size; beyond this it is given back
// after the exchange, so an acquisition that once saw a huge answer does not hold it for its lifetime.
constexpr size_t kScratchKeepAtMost = 4u << 20;
}  // namespace

Acquisition::Acquisition(std::shared_ptr<Session> session, std::shared_ptr<AnyRing> ring, AcquisitionParams params,
                         std::function<void()> onBatch)
    : session_(std::move(session)), ring_(std::move(ring)), params_(std::move(params)), onBatch_(std::move(onBatch)) {
  for (const std::string& why : {waitMsError("intervalMs", params_.intervalMs, true), waitMsError("timeoutMs", params_.timeoutMs)})
    if (!why.empty()) throw IoError(ErrorKind::Argument, why);
  if (params_.maxReadBytes == 0) throw IoError(ErrorKind::Argument, "maxReadBytes must be above 0");
}

Acquisition::~Acquisition() {
  requestStop();
  join();
}

void Acquisition::start() {
  if (!ring_->claimProducer()) throw IoError(ErrorKind::Argument, "the ring already has a producer");
  claimed_ = true;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.running = true;
  }
  thread_ = std::thread([this] { run(); });
}

void Acquisition::requestStop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopRequested_ = true;
  }
  cv_.notify_all();
}

void Acquisition::join() {
  if (thread_.joinable()) thread_.join();
}

AcquisitionStats Acquisition::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void Acquisition::exchange() {
  Deadline d = Clock::now() + std::chrono::microseconds(std::llround(params_.timeoutMs * 1000));
  session_->writeQuery(params_.command, d);
  // A block header announcing more than maxReadBytes is refused before any of its data is read.
  std::string payload = params_.format == WireFormat::Ascii
                            ? session_->readUntil(params_.readTermination, params_.maxReadBytes, d)
                            : session_->readBlock(params_.readTermination, params_.maxReadBytes, d);
  size_t n = decodeSamples(payload, params_.format, params_.bigEndian, ring_->dtype(), &scratch_);
  size_t stored = ring_->pushRaw(scratch_.data(), n);
  {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.exchanges++;
    stats_.samples += n;
    stats_.pushed += stored;
  }
  if (onBatch_) onBatch_();
}

void Acquisition::trimScratch() {
  if (scratch_.capacity() > kScratchKeepAtMost) std::vector<uint8_t>().swap(scratch_);
}

void Acquisition::run() {
  // Safe: the constructor bounds intervalMs to a day.
  auto interval = std::chrono::microseconds(std::llround(params_.intervalMs * 1000));
  auto next = Clock::now();
  for (uint64_t i = 0; params_.maxExchanges == 0 || i < params_.maxExchanges; ++i) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (cv_.wait_until(lock, next, [this] { return stopRequested_; })) break;
    }
    // Runs on the session thread, between the instrument's other requests; waited for here so the
    // loop never queues a second exchange behind a slow one.
    std::promise<void> done;
    bool failed = false;
    bool accepted = session_->thread().post([this, &done, &failed] {
      try {
        exchange();
      } catch (const IoError& e) {
        std::lock_guard<std::mutex> lock(mu_);
        stats_.failed = true;
        stats_.errorKind = e.kind;
        stats_.errorCode = e.code;
        stats_.errorCodeName = e.codeName;
        stats_.errorMessage = e.what();
        failed = true;
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(mu_);
        stats_.failed = true;
        stats_.errorMessage = e.what();
        failed = true;
      } catch (...) {
        // Escaping, it would end the process; swallowed without done set, this loop would wait forever.
        std::lock_guard<std::mutex> lock(mu_);
        stats_.failed = true;
        stats_.errorMessage = "unexpected non-standard exception in the exchange";
        failed = true;
      }
      trimScratch();
      done.set_value();
    });
    if (!accepted) {
      std::lock_guard<std::mutex> lock(mu_);
      stats_.failed = true;
      stats_.errorKind = ErrorKind::Connection;
      stats_.errorCode = ECANCELED;
      stats_.errorCodeName = "ECANCELED";
      stats_.errorMessage = "the instrument was closed";
      break;
    }
    done.get_future().wait();
    if (failed) break;
    next += interval;
    // A slow instrument must not be hammered to catch up: resume the pace from now.
    auto now = Clock::now();
    if (next < now) next = now;
  }
  if (claimed_) ring_->releaseProducer();
  {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.running = false;
  }
  if (onBatch_) onBatch_();  // one last wake-up so JS sees the loop has ended
}

}  // namespace ld::io
