// NativeAcquisition: runs an ld::io::Acquisition from a NativeSession into a SampleRing and wakes JS
// once per batch (coalesced), never per sample.
#include <napi.h>

#include <memory>

#include "io/acquisition.h"
#include "io/binding/js_bridge.h"
#include "ring/binding/coalesced_wake.h"
#include "ring/binding/ring_wrap.h"

namespace ld::io::binding {

std::shared_ptr<Session> sessionFrom(const Napi::Value& v);
// The resource string the session was opened with, as the caller gave it (only after sessionFrom succeeded).
Napi::Value sessionResourceGiven(const Napi::Value& v);

namespace {

class NativeAcquisition : public Napi::ObjectWrap<NativeAcquisition> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeAcquisition", {
      InstanceMethod<&NativeAcquisition::Start>("start"),
      InstanceMethod<&NativeAcquisition::Stop>("stop"),
      InstanceMethod<&NativeAcquisition::Stats>("stats"),
    });
  }

  // new NativeAcquisition(session: NativeSession, ring: native SampleRing, params)
  explicit NativeAcquisition(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeAcquisition>(info) {
    Napi::Env env = info.Env();
    auto session = sessionFrom(info[0]);
    auto ring = ring::binding::RingWrap::From(info[1]);
    if (!session || !ring || !info[2].IsObject())
      throw Napi::TypeError::New(env, "NativeAcquisition(session: NativeSession, ring: SampleRing, params: object)");
    auto o = info[2].As<Napi::Object>();
    AcquisitionParams p;
    p.command = bytesArg(o.Get("command"), "params.command");
    Napi::Value term = o.Get("readTermination");
    p.readTermination = term.IsString() ? term.As<Napi::String>().Utf8Value() : "\n";
    Napi::Value format = o.Get("format");
    try {
      p.format = parseWireFormat(format.IsString() ? format.As<Napi::String>().Utf8Value() : "ascii");
    } catch (const IoError& e) {
      throw Napi::RangeError::New(env, e.what());
    }
    p.bigEndian = o.Get("bigEndian").ToBoolean();
    p.intervalMs = waitMsArg(o.Get("intervalMs"), "intervalMs", 0, true);
    p.timeoutMs = waitMsArg(o.Get("timeoutMs"), "timeoutMs", 2000);
    Napi::Value maxExchanges = o.Get("maxExchanges");
    p.maxExchanges = maxExchanges.IsUndefined() ? 0 : countArg(maxExchanges, "maxExchanges");
    p.maxReadBytes = byteLimitArg(o.Get("maxReadBytes"), p.maxReadBytes);
    try {
      acq_ = std::make_shared<Acquisition>(session, ring, p, [this] { wake_.Wake(); });
    } catch (const IoError& e) {
      throw Napi::RangeError::New(env, e.what());
    }
    bridge_ = std::make_unique<JsBridge>(env, sessionResourceGiven(info[0]), [this] { Ref(); }, [this] { Unref(); });
  }

  ~NativeAcquisition() override {
    if (acq_) {
      acq_->requestStop();
      acq_->join();
    }
    wake_.Close();
  }

 private:
  // start(onWake): onWake runs on the JS thread after batches and once when the loop ends.
  Napi::Value Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsFunction()) throw Napi::TypeError::New(env, "start(onWake: () => void)");
    if (started_ || !stopped_.IsEmpty()) throw Napi::Error::New(env, "an acquisition starts once; make a new one");
    wake_.Open(env, info[0].As<Napi::Function>(), "labdaemon.Acquisition");
    try {
      acq_->start();
    } catch (const IoError& e) {
      wake_.Close();
      throw Napi::Error::New(env, e.what());
    }
    started_ = true;
    Ref();  // the loop's thread uses this object until stop() settles
    return env.Undefined();
  }

  // stop(): resolves once the loop has ended and no wake-up can follow. Idempotent.
  Napi::Value Stop(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!stopped_.IsEmpty()) return stopped_.Value();
    auto acq = acq_;
    bool wasStarted = started_;
    // Joining may wait for an exchange in flight, so it happens off the JS thread, on a thread made
    // for it that ends right after (an idle one would otherwise live until GC collects this object).
    joiner_ = std::make_unique<IoThread>();
    Napi::Value done = bridge_->submit(env, *joiner_, [acq] {
      acq->requestStop();
      acq->join();
      return Outcome{};
    }, [this, wasStarted](Napi::Env) {
      wake_.Close();
      if (wasStarted) Unref();
    });
    joiner_->finish();
    stopped_ = Napi::Persistent(done.As<Napi::Object>());
    return done;
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    AcquisitionStats s = acq_->stats();
    Napi::Object o = Napi::Object::New(env);
    o.Set("running", s.running);
    o.Set("exchanges", static_cast<double>(s.exchanges));
    o.Set("samples", static_cast<double>(s.samples));
    o.Set("pushed", static_cast<double>(s.pushed));
    if (s.failed) {
      Outcome e;
      e.failed = true;
      e.kind = s.errorKind;
      e.code = s.errorCode;
      e.codeName = s.errorCodeName;
      e.message = s.errorMessage;
      o.Set("error", bridge_->errorValue(env, e));
    } else {
      o.Set("error", env.Null());
    }
    return o;
  }

  ring::binding::CoalescedWake wake_;
  std::unique_ptr<IoThread> joiner_;
  std::unique_ptr<JsBridge> bridge_;
  std::shared_ptr<Acquisition> acq_;
  bool started_ = false;
  Napi::ObjectReference stopped_;  // the first stop()'s promise, which every later call returns
};

}  // namespace

void InitAcquisition(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeAcquisition", NativeAcquisition::Define(env));
}

}  // namespace ld::io::binding
