// Busy-waiting is only worth it while a core is free for it: with more waiting threads than cores
// (8 instruments on 2 cores) spinners would starve the threads doing work. A SpinSlot is granted to
// at most (cores - 1) threads at a time; the others sleep at once.
#pragma once
#include <algorithm>
#include <atomic>
#include <thread>

namespace ld::io {

class SpinSlot {
 public:
  SpinSlot() {
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
