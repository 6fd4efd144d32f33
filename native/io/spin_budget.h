// Busy-waiting is only worth it while a core is free for it: with more waiting threads than cores
// (8 instruments on 2 cores) spinners would starve the threads doing work. A SpinSlot is granted to
// at most (cores - 1) threads at a time; the others sleep at once.
#pragma once
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <thread>

namespace ld::io {

// How long a granted thread polls before it sleeps: LABDAEMON_IO_SPIN_US (default 100; 0 never spins,
// the choice for a machine where every core is busy anyway).
inline std::chrono::microseconds spinBudget() {
  static const std::chrono::microseconds budget = [] {
    const char* v = std::getenv("LABDAEMON_IO_SPIN_US");
    long us = v && *v ? std::strtol(v, nullptr, 10) : 100;
    return std::chrono::microseconds(std::max(0L, std::min(us, 100000L)));
  }();
  return budget;
}

class SpinSlot {
 public:
  SpinSlot() {
    if (spinBudget().count() == 0) {
      granted_ = false;
      return;
    }
    static const int limit = std::max(1, static_cast<int>(std::thread::hardware_concurrency()) - 1);
    granted_ = active().fetch_add(1, std::memory_order_acq_rel) < limit;
    if (!granted_) active().fetch_sub(1, std::memory_order_acq_rel);
  }
  ~SpinSlot() { release(); }
  SpinSlot(const SpinSlot&) = delete;
  SpinSlot& operator=(const SpinSlot&) = delete;
  bool granted() const { return granted_; }
  void release() {
    if (granted_) active().fetch_sub(1, std::memory_order_acq_rel);
    granted_ = false;
  }

 private:
  static std::atomic<int>& active() {
    static std::atomic<int> n{0};
    return n;
  }
  bool granted_;
};

}  // namespace ld::io
