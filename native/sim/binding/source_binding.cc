// The JS class SyntheticSource: runs an ld::SyntheticSource into a SampleRing and wakes JS through
// one coalesced ThreadSafeFunction call per batch.
//
// Lifetime: while running, the object holds a strong reference to itself and its TSFN keeps the event
// loop alive (as a running timer does), so dropping it from JS cannot free state the thread uses.
// stop() joins the thread before releasing the TSFN, and a cleanup hook does the same if the
// environment is torn down while it runs. After stop(), GC may collect it like any object.
#include <napi.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "ring/binding/coalesced_wake.h"
#include "ring/binding/ring_wrap.h"
#include "sim/synthetic_source.h"

namespace ld::sim::binding {
namespace {

double numberField(Napi::Object o, const char* key, double fallback) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsNumber()) throw Napi::TypeError::New(o.Env(), std::string("params.") + key + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

bool boolField(Napi::Object o, const char* key, bool fallback) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsBoolean()) throw Napi::TypeError::New(o.Env(), std::string("params.") + key + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

ld::SourceParams readParams(Napi::Env env, Napi::Value v) {
  ld::SourceParams p;
  if (v.IsUndefined()) return p;
  if (!v.IsObject()) throw Napi::TypeError::New(env, "params must be an object");
  Napi::Object o = v.As<Napi::Object>();
  p.sampleRate = numberField(o, "sampleRate", p.sampleRate);
  const double batch = numberField(o, "batchSize", double(p.batchSize));
  if (!(batch >= 1) || batch > 16777216.0 || batch != double(size_t(batch)))
    throw Napi::RangeError::New(env, "params.batchSize must be an integer between 1 and 16777216");
  p.batchSize = size_t(batch);
  p.frequency = numberField(o, "frequency", p.frequency);
  p.amplitude = numberField(o, "amplitude", p.amplitude);
  p.offset = numberField(o, "offset", p.offset);
  p.noise = numberField(o, "noise", p.noise);
  const double seed = numberField(o, "seed", double(p.seed));
  if (!(seed >= 0) || seed > 9007199254740991.0) throw Napi::RangeError::New(env, "params.seed must be >= 0");
  p.seed = uint64_t(seed);
  p.paced = boolField(o, "paced", p.paced);
  try {
    ld::validateSourceParams(p);
  } catch (const std::invalid_argument& e) {
    throw Napi::RangeError::New(env, std::string("params.") + e.what());
  }
  return p;
}

class SourceWrap : public Napi::ObjectWrap<SourceWrap> {
 public:
  static void Init(Napi::Env env, Napi::Object exports) {
    exports.Set("SyntheticSource", DefineClass(env, "SyntheticSource",
                                               {
                                                   InstanceMethod<&SourceWrap::Start>("start"),
                                                   InstanceMethod<&SourceWrap::Stop>("stop"),
                                                   InstanceMethod<&SourceWrap::Stats>("stats"),
                                                   InstanceAccessor<&SourceWrap::Running>("running"),
                                               }));
  }

  // new SyntheticSource(ring: SampleRing, params?: object)
  explicit SourceWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SourceWrap>(info), env_(info.Env()) {
    std::shared_ptr<AnyRing> ring = info.Length() > 0 ? ring::binding::RingWrap::From(info[0]) : nullptr;
    if (!ring) throw Napi::TypeError::New(env_, "SyntheticSource(ring: SampleRing, params?: object)");
    ld::SourceParams p = readParams(env_, info.Length() > 1 ? info[1] : env_.Undefined());
    source_ = std::make_unique<ld::SyntheticSource>(std::move(ring), p, [this] { wake_.Wake(); });
  }

  ~SourceWrap() override { Halt(); }

 private:
  // start(onWake: () => void): onWake runs on the JS thread at most once per batch.
  Napi::Value Start(const Napi::CallbackInfo& info) {
    if (info.Length() < 1 || !info[0].IsFunction()) throw Napi::TypeError::New(env_, "start(onWake: () => void)");
    if (source_->running()) throw Napi::Error::New(env_, "the source is already running");
    wake_.Open(env_, info[0].As<Napi::Function>(), "labdaemon.SyntheticSource");
    try {
      source_->start();
    } catch (const std::exception& e) {
      wake_.Close();
      throw Napi::Error::New(env_, e.what());
    }
    Ref();
    // Registered after the TSFN so it runs before the TSFN's own teardown (hooks run in reverse).
    if (napi_add_env_cleanup_hook(env_, &SourceWrap::OnEnvTeardown, this) == napi_ok) hookAdded_ = true;
    return env_.Undefined();
  }

  // stop(): idempotent; no onWake call happens after it returns.
  Napi::Value Stop(const Napi::CallbackInfo&) {
    Halt();
    return env_.Undefined();
  }

  Napi::Value Running(const Napi::CallbackInfo&) { return Napi::Boolean::New(env_, source_ && source_->running()); }

  Napi::Value Stats(const Napi::CallbackInfo&) {
    Napi::Object o = Napi::Object::New(env_);
    o.Set("generated", double(source_->generated()));
    o.Set("batches", double(source_->batches()));
    o.Set("lagResyncs", double(source_->lagResyncs()));
    return o;
  }

  void Halt() {
    const bool wasRunning = wake_.IsOpen();
    if (source_) source_->stop();  // joins: Wake() cannot be called after this
    wake_.Close();
    if (hookAdded_) {
      napi_remove_env_cleanup_hook(env_, &SourceWrap::OnEnvTeardown, this);
      hookAdded_ = false;
    }
    if (wasRunning && !tornDown_) Unref();
  }

  static void OnEnvTeardown(void* arg) {
    auto* self = static_cast<SourceWrap*>(arg);
    self->hookAdded_ = false;
    self->tornDown_ = true;  // references are being torn down by the runtime itself
    self->source_->stop();
    self->wake_.Close();
  }

  Napi::Env env_;
  ring::binding::CoalescedWake wake_;
  std::unique_ptr<ld::SyntheticSource> source_;
  bool hookAdded_ = false;
  bool tornDown_ = false;
};

}  // namespace

}  // namespace ld::sim::binding

// The sim room's exports: SyntheticSource.
Napi::Object InitSim(Napi::Env env, Napi::Object exports) {
  ld::sim::binding::SourceWrap::Init(env, exports);
  return exports;
}
