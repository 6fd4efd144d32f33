// One thread that runs posted jobs in order: what makes requests on one resource ordered and keeps
// blocking I/O off the JS thread.
#pragma once
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace ld::io {

class IoThread {
 public:
  IoThread();
  ~IoThread();
  IoThread(const IoThread&) = delete;
  IoThread& operator=(const IoThread&) = delete;
  // False once the thread is finishing: the job will not run.
  bool post(std::function<void()> job);
  // Runs the jobs already queued, then ends the thread; returns at once.
  void finish();
  // finish(), then waits for the thread. Safe to call twice; not from the thread itself.
  void stop();

 private:
  void run();
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  std::atomic<size_t> posted_{0};
  bool stopping_ = false;
  bool sleeping_ = false;  // guarded by mu_: only then does post() pay for a futex wake
  std::thread thread_;
};

}  // namespace ld::io
