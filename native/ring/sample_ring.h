// SampleRing<T>: a single-producer/single-consumer lock-free ring of samples, moved in batches.
//
// Plain C++ (no N-API) so the stress tests can drive it from two threads without a JS engine.
//
// Layout: the producer's state (tail, its cached copy of head, its counters) and the consumer's state
// (head, its cached copy of tail, its counters) sit on separate 128-byte blocks, so the two threads
// only share a line when one of them has to refresh its cached copy of the other's index. 128 rather
// than 64 because x86's adjacent-line prefetcher pulls cache lines in pairs.
//
// Indices are 64-bit and only grow (slot = index & mask): they cannot wrap in practice (2^64 samples
// at 10 GS/s is 58 years), which keeps full/empty unambiguous without a spare slot.
//
// Overflow policy, fixed at construction:
//  - DropNewest: push() stores what fits and counts the rest as dropped. Classic SPSC: the producer
//    reads head (acquire) only when its cached head says the ring is full.
//  - OverwriteOldest: push() always succeeds and never reads head, so the producer cannot be slowed or
//    raced by the consumer. Before touching any slot it publishes `reserve` (the end of the range it is
//    about to write), then a release fence, then the slots (relaxed atomic stores), then tail. The
//    consumer copies optimistically (relaxed atomic loads), issues an acquire fence and reads
//    `reserve`: every index below reserve - capacity may have been overwritten while it copied, so that
//    prefix is discarded and counted as dropped (a seqlock on the index range, after Boehm's
//    "Can seqlocks get along with programming language memory models?"). If the consumer's copy saw
//    even one value written after the fence, the fence pair makes the newer reserve visible to it, so
//    a torn or overwritten sample is never handed out. The consumer therefore sees a strictly
//    increasing subsequence of what was pushed, and the losses are counted by the consumer.
//
// Counters (readable from any thread, relaxed, exact once both sides are quiet):
//   written  = samples offered to push() (tryPush() counts only what it stored)
//   read     = samples returned by pop()
//   dropped  = samples lost to the overflow policy (rejected, overwritten, or overwritten-but-not-yet-seen)
//   written == read + dropped + available
//   highWater = the largest fill the consumer observed when it refreshed its view of tail.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <stdexcept>
#include <type_traits>

namespace ld {

enum class Overflow { DropNewest, OverwriteOldest };

struct RingCounters {
  uint64_t written = 0;
  uint64_t read = 0;
  uint64_t dropped = 0;
  uint64_t highWater = 0;
  uint64_t available = 0;
  uint64_t capacity = 0;
};

inline bool isPowerOfTwo(size_t n) { return n >= 2 && (n & (n - 1)) == 0; }

template <typename T>
class SampleRing {
  static_assert(std::is_trivially_copyable_v<T>, "samples are moved with memcpy");
  static_assert(std::is_arithmetic_v<T> && sizeof(T) <= 8, "overwrite mode needs lock-free element access");

 public:
  static constexpr size_t kMaxCapacity = size_t{1} << 31;

  SampleRing(size_t capacity, Overflow policy) : cap_(capacity), mask_(capacity - 1), policy_(policy) {
    if (!isPowerOfTwo(capacity) || capacity > kMaxCapacity)
      throw std::invalid_argument("ring capacity must be a power of two between 2 and 2^31");
    buf_ = static_cast<T*>(::operator new(capacity * sizeof(T), std::align_val_t{kBlock}));
    std::memset(static_cast<void*>(buf_), 0, capacity * sizeof(T));
  }
  ~SampleRing() { ::operator delete(buf_, std::align_val_t{kBlock}); }
  SampleRing(const SampleRing&) = delete;
  SampleRing& operator=(const SampleRing&) = delete;

  size_t capacity() const { return cap_; }
  Overflow overflow() const { return policy_; }

  // Producer thread only. Returns how many samples were stored (always n when overwriting).
  size_t push(const T* src, size_t n) {
    if (n == 0) return 0;
    return policy_ == Overflow::DropNewest ? pushOrDrop(src, n, true) : pushOverwriting(src, n);
  }

  // Producer thread only. Like push(), but in drop-newest mode what does not fit is neither stored nor
  // counted: for producers that apply backpressure and offer the rest again later.
  size_t tryPush(const T* src, size_t n) {
    if (n == 0) return 0;
    return policy_ == Overflow::DropNewest ? pushOrDrop(src, n, false) : pushOverwriting(src, n);
  }

  // Consumer thread only. Copies up to max samples, oldest first; returns how many.
  size_t pop(T* dst, size_t max) {
    if (max == 0) return 0;
    return policy_ == Overflow::DropNewest ? popUnlapped(dst, max) : popLapped(dst, max);
  }

  // Samples the consumer could take now (exact on the consumer thread, a snapshot elsewhere).
  size_t available() const {
    const uint64_t h = cons_.head.load(std::memory_order_acquire);
    const uint64_t t = prod_.tail.load(std::memory_order_acquire);
    return static_cast<size_t>(std::min<uint64_t>(t - h, cap_));
  }

  RingCounters counters() const {
    RingCounters c;
    // head before tail: head never passes a tail read later, so t - h cannot underflow.
    const uint64_t h = cons_.head.load(std::memory_order_acquire);
    const uint64_t t = prod_.tail.load(std::memory_order_acquire);
    const uint64_t backlog = t - h;
    c.capacity = cap_;
    c.available = std::min<uint64_t>(backlog, cap_);
    c.written = prod_.written.load(std::memory_order_relaxed);
    c.read = cons_.read.load(std::memory_order_relaxed);
    c.dropped = prod_.rejected.load(std::memory_order_relaxed) + cons_.lost.load(std::memory_order_relaxed) +
                (backlog - c.available);
    c.highWater = cons_.highWater.load(std::memory_order_relaxed);
    return c;
  }

 private:
  static constexpr size_t kBlock = 128;

  size_t pushOrDrop(const T* src, size_t n, bool dropRest) {
    const uint64_t t = prod_.tail.load(std::memory_order_relaxed);
    uint64_t room = cap_ - (t - prod_.cachedHead);
    if (room < n) {
      prod_.cachedHead = cons_.head.load(std::memory_order_acquire);
      room = cap_ - (t - prod_.cachedHead);
    }
    const size_t k = static_cast<size_t>(std::min<uint64_t>(n, room));
    copyIn(t, src, k);
    // written is bumped before tail is published so a reader never sees more available than written.
    const size_t offered = dropRest ? n : k;
    prod_.written.store(prod_.written.load(std::memory_order_relaxed) + offered, std::memory_order_relaxed);
    prod_.tail.store(t + k, std::memory_order_release);
    if (k < offered)
      prod_.rejected.store(prod_.rejected.load(std::memory_order_relaxed) + (n - k), std::memory_order_relaxed);
    return k;
  }

  size_t popUnlapped(T* dst, size_t max) {
    const uint64_t h = cons_.head.load(std::memory_order_relaxed);
    uint64_t avail = cons_.cachedTail - h;
    if (avail < max) {
      cons_.cachedTail = prod_.tail.load(std::memory_order_acquire);
      avail = cons_.cachedTail - h;
      noteFill(avail);
    }
    const size_t k = static_cast<size_t>(std::min<uint64_t>(max, avail));
    if (k == 0) return 0;
    copyOut(h, dst, k);
    cons_.head.store(h + k, std::memory_order_release);
    cons_.read.store(cons_.read.load(std::memory_order_relaxed) + k, std::memory_order_relaxed);
    return k;
  }

  size_t pushOverwriting(const T* src, size_t n) {
    const uint64_t t = prod_.tail.load(std::memory_order_relaxed);
    const uint64_t end = t + n;
    prod_.written.store(prod_.written.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    prod_.reserve.store(end, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    // Of a batch larger than the ring only its last `cap_` samples can survive; the skipped ones are
    // accounted by the consumer as overwritten.
    const size_t skip = n > cap_ ? n - cap_ : 0;
    storeRelaxed(t + skip, src + skip, n - skip);
    prod_.tail.store(end, std::memory_order_release);
    return n;
  }

  size_t popLapped(T* dst, size_t max) {
    uint64_t h = cons_.head.load(std::memory_order_relaxed);
    uint64_t lost = 0;
    size_t k = 0;
    // A copy that the producer overwrote entirely is retried from the new oldest sample; a few rounds
    // suffice unless the producer laps the whole ring during each copy, and then returning 0 is honest.
    for (int attempt = 0; attempt < 4 && k == 0; ++attempt) {
      const uint64_t t = prod_.tail.load(std::memory_order_acquire);
      if (t - h > cap_) {
        lost += t - cap_ - h;
        h = t - cap_;
      }
      noteFill(t - h);
      k = static_cast<size_t>(std::min<uint64_t>(max, t - h));
      if (k == 0) break;
      loadRelaxed(h, dst, k);
      std::atomic_thread_fence(std::memory_order_acquire);
      const uint64_t reserved = prod_.reserve.load(std::memory_order_relaxed);
      const uint64_t firstIntact = reserved > cap_ ? reserved - cap_ : 0;
      if (firstIntact > h) {
        const size_t bad = static_cast<size_t>(std::min<uint64_t>(firstIntact - h, k));
        std::memmove(static_cast<void*>(dst), dst + bad, (k - bad) * sizeof(T));
        lost += bad;
        h += bad;
        k -= bad;
      }
    }
    h += k;
    if (lost) cons_.lost.store(cons_.lost.load(std::memory_order_relaxed) + lost, std::memory_order_relaxed);
    if (k) cons_.read.store(cons_.read.load(std::memory_order_relaxed) + k, std::memory_order_relaxed);
    cons_.head.store(h, std::memory_order_release);
    return k;
  }

  void noteFill(uint64_t fill) {
    fill = std::min<uint64_t>(fill, cap_);
    if (fill > cons_.highWater.load(std::memory_order_relaxed))
      cons_.highWater.store(fill, std::memory_order_relaxed);
  }

  // The ring is split at most once per batch: a tail run up to the end of the buffer and a head run.
  void copyIn(uint64_t index, const T* src, size_t k) {
    const size_t pos = static_cast<size_t>(index & mask_);
    const size_t first = std::min(k, cap_ - pos);
    std::memcpy(static_cast<void*>(buf_ + pos), src, first * sizeof(T));
    std::memcpy(static_cast<void*>(buf_), src + first, (k - first) * sizeof(T));
  }
  void copyOut(uint64_t index, T* dst, size_t k) const {
    const size_t pos = static_cast<size_t>(index & mask_);
    const size_t first = std::min(k, cap_ - pos);
    std::memcpy(static_cast<void*>(dst), buf_ + pos, first * sizeof(T));
    std::memcpy(static_cast<void*>(dst + first), buf_, (k - first) * sizeof(T));
  }
  // Overwrite mode reads slots the producer may be writing, so both sides use atomic element access
  // (GCC/Clang builtins on plain storage, what C++20's atomic_ref does); on x86 these are plain moves.
  void storeRelaxed(uint64_t index, const T* src, size_t k) {
    for (size_t i = 0; i < k; ++i) {
      T v = src[i];
      __atomic_store(buf_ + ((index + i) & mask_), &v, __ATOMIC_RELAXED);
    }
  }
  void loadRelaxed(uint64_t index, T* dst, size_t k) const {
    for (size_t i = 0; i < k; ++i) __atomic_load(buf_ + ((index + i) & mask_), dst + i, __ATOMIC_RELAXED);
  }

  struct alignas(kBlock) Producer {
    std::atomic<uint64_t> tail{0};
    std::atomic<uint64_t> reserve{0};
    uint64_t cachedHead = 0;
    std::atomic<uint64_t> written{0};
    std::atomic<uint64_t> rejected{0};
  };
  struct alignas(kBlock) Consumer {
    std::atomic<uint64_t> head{0};
    uint64_t cachedTail = 0;
    std::atomic<uint64_t> read{0};
    std::atomic<uint64_t> lost{0};
    std::atomic<uint64_t> highWater{0};
  };

  // Read-only after construction; shares no line with the two hot blocks below.
  alignas(kBlock) const size_t cap_;
  const size_t mask_;
  const Overflow policy_;
  T* buf_ = nullptr;
  Producer prod_;
  Consumer cons_;
};

}  // namespace ld
