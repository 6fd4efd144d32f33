// The streaming hot path for real instruments: a native loop that repeats a query on an open session
// at a set interval, decodes the answer and pushes the samples into a SampleRing, with no JS per sample.
// The exchange runs as a job on the session's own I/O thread, so it stays ordered with the
// instrument's other requests; this object's thread only paces the jobs.
#pragma once
#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "io/sample_decode.h"
#include "io/session.h"
#include "ring/any_ring.h"

namespace ld::io {

struct AcquisitionParams {
  std::string command;          // sent as is (the caller appends the write termination)
  std::string readTermination;  // for ASCII answers and after a block
  WireFormat format = WireFormat::Ascii;
  bool bigEndian = false;
  double intervalMs = 0;        // 0: back to back; at most kMaxWaitMs
  double timeoutMs = 2000;      // per exchange, in (0, kMaxWaitMs]; a slower instrument stops the loop
  uint64_t maxExchanges = 0;    // 0: until stopped
  size_t maxReadBytes = 64u << 20;  // the instrument's limit: a longer answer or block stops the loop
};

struct AcquisitionStats {
  bool running = false;
  uint64_t exchanges = 0, samples = 0, pushed = 0;
  bool failed = false;
  ErrorKind errorKind = ErrorKind::Device;
  long errorCode = 0;
  std::string errorCodeName, errorMessage;
};

class Acquisition {
 public:
  // onBatch runs on the session thread after each push; onStopped once, on this object's thread.
  // Throws IoError(Argument) for a timeout or interval waitMsError refuses, or maxReadBytes 0.
  Acquisition(std::shared_ptr<Session> session, std::shared_ptr<AnyRing> ring, AcquisitionParams params,
              std::function<void()> onBatch);
  ~Acquisition();
  // Throws IoError(Argument) when the ring already has a producer.
  void start();
  // Asks the loop to end after the exchange in flight; does not wait.
  void requestStop();
  // Waits for the loop to end (at most one exchange's timeout).
  void join();
  AcquisitionStats stats() const;

 private:
  void run();
  void exchange();
  void trimScratch();
  std::shared_ptr<Session> session_;
  std::shared_ptr<AnyRing> ring_;
  const AcquisitionParams params_;
  std::function<void()> onBatch_;
  std::thread thread_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopRequested_ = false;
  AcquisitionStats stats_;
  std::vector<uint8_t> scratch_;
  bool claimed_ = false;
};

}  // namespace ld::io
