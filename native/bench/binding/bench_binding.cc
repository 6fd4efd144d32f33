// The benchmark addon (labdaemon_bench.node, built by `bun build.ts --native --bench`, never shipped):
// benchRingTransfer(kind, params) runs a two-thread transfer benchmark off the JS thread and resolves
// with its figures, so bench/ring.ts can drive the native comparison from bun.
#include <napi.h>

#include <stdexcept>
#include <string>
#include <utility>

#include "bench/ring_bench.h"

namespace ld::bench::binding {
namespace {

class RingTransferBenchWorker : public Napi::AsyncWorker {
 public:
  RingTransferBenchWorker(Napi::Env env, std::string kind, ld::TransferParams p)
      : Napi::AsyncWorker(env, "labdaemon.benchRingTransfer"), deferred_(env), kind_(std::move(kind)), params_(p) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    try {
      result_ = kind_ == "mutex"          ? ld::benchMutexQueueTransfer(params_)
                : kind_ == "mutexPerSample" ? ld::benchMutexQueuePerSampleTransfer(params_)
                                            : ld::benchRingTransfer(params_);
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    Napi::Object o = Napi::Object::New(env);
    o.Set("samples", double(result_.samples));
    o.Set("seconds", result_.seconds);
    o.Set("inOrder", result_.inOrder);
    deferred_.Resolve(o);
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  const std::string kind_;
  const ld::TransferParams params_;
  ld::TransferResult result_;
};

double positiveInteger(Napi::Object o, const char* key, double fallback) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsNumber()) throw Napi::TypeError::New(o.Env(), std::string("params.") + key + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 1) || d != double(uint64_t(d))) throw Napi::RangeError::New(o.Env(), std::string("params.") + key + " must be a positive integer");
  return d;
}

// benchRingTransfer(kind: "ring" | "mutex" | "mutexPerSample", params?: { samples, batch, capacity, pin }): Promise<result>
Napi::Value BenchRingTransfer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString())
    throw Napi::TypeError::New(env, "benchRingTransfer(kind: \"ring\" | \"mutex\" | \"mutexPerSample\", params?: object)");
  const std::string kind = info[0].As<Napi::String>().Utf8Value();
  if (kind != "ring" && kind != "mutex" && kind != "mutexPerSample")
    throw Napi::TypeError::New(env, "kind must be \"ring\", \"mutex\" or \"mutexPerSample\"");
  ld::TransferParams p;
  if (info.Length() > 1 && !info[1].IsUndefined()) {
    if (!info[1].IsObject()) throw Napi::TypeError::New(env, "params must be an object");
    Napi::Object o = info[1].As<Napi::Object>();
    p.samples = uint64_t(positiveInteger(o, "samples", double(p.samples)));
    p.batch = size_t(positiveInteger(o, "batch", double(p.batch)));
    p.capacity = size_t(positiveInteger(o, "capacity", double(p.capacity)));
    Napi::Value pin = o.Get("pin");
    if (!pin.IsUndefined() && !pin.IsBoolean()) throw Napi::TypeError::New(env, "params.pin must be a boolean");
    if (pin.IsBoolean()) p.pinThreads = pin.As<Napi::Boolean>().Value();
  }
  if (p.batch > p.capacity) throw Napi::RangeError::New(env, "params.batch must not exceed params.capacity");
  if (p.capacity > (size_t{1} << 31) || (p.capacity & (p.capacity - 1)) != 0)
    throw Napi::RangeError::New(env, "params.capacity must be a power of two up to 2^31");
  auto* worker = new RingTransferBenchWorker(env, kind, p);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace
}  // namespace ld::bench::binding

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("benchRingTransfer", Napi::Function::New<ld::bench::binding::BenchRingTransfer>(env, "benchRingTransfer"));
  return exports;
}

NODE_API_MODULE(labdaemon_bench, Init)
