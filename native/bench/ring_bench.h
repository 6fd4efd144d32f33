// Two-thread transfer benchmarks: SampleRing against mutex-protected queues, so bench/ring.ts can
// print ratios measured in one run: a std::deque moving the same batches under one lock per batch,
// and the textbook std::queue moving one sample per lock.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ld {

struct TransferParams {
  uint64_t samples = 200'000'000;  // float32 samples to move
  size_t batch = 4096;             // samples per push and per pop
  size_t capacity = 1 << 16;       // ring capacity, and the bound of the mutex queue
  // One thread per CPU (the hardware's cost of moving data between cores), or wherever the
  // scheduler puts them (what an unpinned process gets, contention and all).
  bool pinThreads = true;
};

struct TransferResult {
  uint64_t samples = 0;  // samples the consumer received (== params.samples unless a check failed)
  double seconds = 0;
  bool inOrder = false;  // the consumer saw 0, 1, 2, ... with nothing missing or repeated
};

// Throws std::invalid_argument for a zero batch, or a capacity the ring refuses.
TransferResult benchRingTransfer(const TransferParams& p);
TransferResult benchMutexQueueTransfer(const TransferParams& p);
TransferResult benchMutexQueuePerSampleTransfer(const TransferParams& p);

}  // namespace ld
