// CoalescedWake: lets a native producer thread wake the JS thread once per batch, with at most one
// wake-up pending at any time however fast batches arrive. JS then drains everything available, so a
// busy JS thread sees fewer, larger drains instead of an unbounded queue of calls.
#pragma once

#include <napi.h>

#include <atomic>

namespace ld::ring::binding {

class CoalescedWake {
 public:
  CoalescedWake() = default;
  CoalescedWake(const CoalescedWake&) = delete;
  CoalescedWake& operator=(const CoalescedWake&) = delete;
  ~CoalescedWake() { Close(); }

  // JS thread. The TSFN keeps the event loop alive until Close(), like a running timer.
  void Open(Napi::Env env, Napi::Function callback, const char* resourceName) {
    Close();
    state_ = new State();
    tsfn_ = Tsfn::New(env, callback, resourceName, 0, 1, state_, [](Napi::Env, void*, State* s) { delete s; });
  }

  // Any thread, between Open() and Close(). The flag is cleared on the JS thread just before the
  // callback runs, so a batch that lands while JS drains still gets its own wake-up: none is lost.
  void Wake() {
    if (state_ != nullptr && !state_->pending.exchange(true, std::memory_order_acq_rel)) tsfn_.NonBlockingCall();
  }

  // JS thread, after every producer has stopped calling Wake(). A wake-up already queued is
  // swallowed, so no callback runs after Close() returns.
  void Close() {
    if (state_ == nullptr) return;
    state_->closed = true;
    state_ = nullptr;  // the TSFN's finalizer owns it now
    tsfn_.Release();
  }

  bool IsOpen() const { return state_ != nullptr; }

 private:
  struct State {
    std::atomic<bool> pending{false};
    bool closed = false;  // JS thread only
  };

  static void CallJs(Napi::Env env, Napi::Function callback, State* state, void*) {
    // An exchange, not a store: a store followed by the drain's loads may be reordered (x86's store
    // buffer does it), so JS could drain before a batch whose producer still saw `pending` set and
    // skipped its wake-up; that batch (or the last one, telling JS a loop ended) would then wait for
    // a wake-up that never comes. Reading the producer's `true` here acquires what it pushed before.
    state->pending.exchange(false, std::memory_order_acq_rel);
    if (env == nullptr || callback.IsEmpty() || state->closed) return;
    try {
      callback.Call({});
    } catch (const Napi::Error& e) {
      // Nothing on this stack can handle it: surface it as an uncaught exception, as a timer would.
      napi_fatal_exception(env, e.Value());
    }
  }

  using Tsfn = Napi::TypedThreadSafeFunction<State, void, CallJs>;
  Tsfn tsfn_;
  State* state_ = nullptr;
};

}  // namespace ld::ring::binding
