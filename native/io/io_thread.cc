#include "io/io_thread.h"

#include <chrono>

#include "io/spin_budget.h"

namespace ld::io {

IoThread::IoThread() : thread_([this] { run(); }) {}

IoThread::~IoThread() { stop(); }

bool IoThread::post(std::function<void()> job) {
  bool wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return false;
    jobs_.push_back(std::move(job));
    wake = sleeping_;
  }
  posted_.fetch_add(1, std::memory_order_release);
  if (wake) cv_.notify_one();
  return true;
}

void IoThread::finish() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  posted_.fetch_add(1, std::memory_order_release);
  cv_.notify_one();
}

void IoThread::stop() {
  finish();
  if (!thread_.joinable()) return;
  if (thread_.get_id() != std::this_thread::get_id()) thread_.join();
  else thread_.detach();  // not reached by design (see JsBridge::submit); better than std::terminate
}

// An idle thread keeps polling for the next job a little before it sleeps (spin_budget.h). Waking a
// sleeping thread costs tens of µs on virtual machines (an IPI to an idle vCPU), more than a whole
// loopback round trip; a caller that awaits one request and sends the next usually does so in time.

void IoThread::run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (jobs_.empty() && !stopping_) {
      size_t seen = posted_.load(std::memory_order_acquire);
      lock.unlock();
      SpinSlot spin;
      auto until = std::chrono::steady_clock::now() + (spin.granted() ? spinBudget() : std::chrono::microseconds(0));
      while (posted_.load(std::memory_order_acquire) == seen && std::chrono::steady_clock::now() < until) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
      }
      spin.release();
      lock.lock();
    }
    sleeping_ = true;
    cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
    sleeping_ = false;
    if (jobs_.empty()) return;
    auto job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    job();
    lock.lock();
  }
}

}  // namespace ld::io
