#include "io/binding/js_bridge.h"

#include <algorithm>
#include <cerrno>
#include <cmath>

#include "io/resource_name.h"

namespace ld::io::binding {

Outcome Outcome::text(std::string s, int encoding) {
  Outcome o;
  o.type = encoding == 1 ? Type::Utf8 : encoding == 2 ? Type::Latin1 : Type::Bytes;
  o.data = std::move(s);
  return o;
}

void settleOnJsThread(Napi::Env env, Napi::Function, JsBridge* bridge, PendingCall* call) {
  if (env == nullptr) {  // the environment is going away: nothing left to settle
    delete call;
    return;
  }
  bridge->settle(env, call);
}

JsBridge::JsBridge(Napi::Env env, Napi::Value resource, std::function<void()> hold, std::function<void()> release)
    : hold_(std::move(hold)), release_(std::move(release)) {
  Napi::Object holder = Napi::Object::New(env);
  holder.Set("resource", resource);
  resource_ = Napi::Persistent(holder);
  tsfn_ = Tsfn::New(env, "labdaemon-io", 0, 1, this);
  tsfn_.Unref(env);
}

JsBridge::~JsBridge() { tsfn_.Release(); }

Napi::Value JsBridge::submit(Napi::Env env, IoThread& thread, std::function<Outcome()> job,
                             std::function<void(Napi::Env)> onJsThread) {
  auto* call = new PendingCall{Napi::Promise::Deferred::New(env), Outcome{}, this, std::move(onJsThread)};
  Napi::Promise promise = call->deferred.Promise();
  if (pending_++ == 0) {
    tsfn_.Ref(env);
    hold_();
  }
  Tsfn tsfn = tsfn_;
  bool accepted = thread.post([call, job = std::move(job), tsfn]() mutable {
    try {
      call->outcome = job();
    } catch (const IoError& e) {
      call->outcome = failure(e);
    } catch (const std::exception& e) {
      call->outcome.failed = true;
      call->outcome.message = e.what();
    } catch (...) {
      // Anything escaping this job would end the process (std::terminate on the I/O thread).
      call->outcome.failed = true;
      call->outcome.message = "unexpected non-standard exception in the I/O thread";
    }
    // Drop what the job holds (a Session, an Acquisition) before JS can settle and let go of its own
    // references: the last reference must never die on the thread it would have to join.
    job = nullptr;
    tsfn.NonBlockingCall(call);
  });
  if (!accepted) {
    call->outcome.failed = true;
    call->outcome.kind = ErrorKind::Connection;
    call->outcome.code = ECANCELED;
    call->outcome.codeName = "ECANCELED";
    call->outcome.message = "closed";
    call->onJsThread = nullptr;
    settle(env, call);
  }
  return promise;
}

// Set once by src/io/ioErrors.ts, so promises reject with the contract's classes directly and the
// TypeScript layer adds no promise of its own per request.
static Napi::FunctionReference* errorFactory = nullptr;

Napi::Value SetErrorFactory(const Napi::CallbackInfo& info) {
  if (!info[0].IsFunction()) throw Napi::TypeError::New(info.Env(), "setErrorFactory(fn)");
  if (!errorFactory) errorFactory = new Napi::FunctionReference();
  *errorFactory = Napi::Persistent(info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

Outcome JsBridge::failure(const IoError& e) {
  Outcome o;
  o.failed = true;
  o.kind = e.kind;
  o.code = e.code;
  o.codeName = e.codeName;
  o.message = e.what();
  return o;
}

Napi::Value JsBridge::errorFor(Napi::Env env, Napi::Value resource, const Outcome& o) {
  const std::string message = printableResource(resource.ToString().Utf8Value()) + ": " + o.message;
  if (errorFactory && !errorFactory->IsEmpty()) {
    Napi::Object fields = Napi::Object::New(env);
    fields.Set("message", message);
    fields.Set("kind", errorKindName(o.kind));
    fields.Set("code", Napi::Number::New(env, static_cast<double>(o.code)));
    fields.Set("codeName", o.codeName);
    fields.Set("resource", resource);
    return errorFactory->Call({fields});
  }
  Napi::Error err = Napi::Error::New(env, message);
  Napi::Object obj = err.Value();
  obj.Set("kind", errorKindName(o.kind));
  obj.Set("code", Napi::Number::New(env, static_cast<double>(o.code)));
  obj.Set("codeName", o.codeName);
  obj.Set("resource", resource);
  obj.Set("detail", o.message);
  return obj;
}

void JsBridge::settle(Napi::Env env, PendingCall* call) {
  Napi::HandleScope scope(env);
  if (call->onJsThread) call->onJsThread(env);
  const Outcome& o = call->outcome;
  if (o.failed) {
    call->deferred.Reject(errorValue(env, o));
  } else {
    Napi::Value v;
    switch (o.type) {
      case Outcome::Type::Undefined: v = env.Undefined(); break;
      case Outcome::Type::Number: v = Napi::Number::New(env, o.number); break;
      case Outcome::Type::Utf8: v = Napi::String::New(env, o.data); break;
      case Outcome::Type::Latin1: {
        napi_value s;
        napi_create_string_latin1(env, o.data.data(), o.data.size(), &s);
        v = Napi::Value(env, s);
        break;
      }
      case Outcome::Type::Bytes:
        if (o.data.size() >= 4096) {
          // Large answers are handed over, not copied: the Buffer owns the string's memory.
          auto* owned = new std::string(std::move(call->outcome.data));
          v = Napi::Buffer<uint8_t>::New(env, reinterpret_cast<uint8_t*>(&(*owned)[0]), owned->size(),
                                         [](Napi::Env, uint8_t*, std::string* s) { delete s; }, owned);
        } else {
          v = Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<const uint8_t*>(o.data.data()), o.data.size());
        }
        break;
    }
    call->deferred.Resolve(v);
  }
  delete call;
  if (--pending_ == 0) {
    tsfn_.Unref(env);
    release_();
  }
}

std::string bytesArg(const Napi::Value& v, const char* what) {
  if (v.IsString()) return v.As<Napi::String>().Utf8Value();
  if (v.IsTypedArray()) {
    auto ta = v.As<Napi::TypedArray>();
    auto ab = ta.ArrayBuffer();
    const char* p = static_cast<const char*>(ab.Data()) + ta.ByteOffset();
    return std::string(p, ta.ByteLength());
  }
  throw Napi::TypeError::New(v.Env(), std::string(what) + " must be a string or a Uint8Array");
}

std::string stringArg(const Napi::Value& v, const char* what) {
  if (!v.IsString()) throw Napi::TypeError::New(v.Env(), std::string(what) + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

double numberArg(const Napi::Value& v, const char* what) {
  if (!v.IsNumber()) throw Napi::TypeError::New(v.Env(), std::string(what) + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

namespace {
constexpr double kLargestCount = 9007199254740991.0;  // 2^53 - 1: every such double is exact
}  // namespace

size_t countArg(const Napi::Value& v, const char* what) {
  const double n = numberArg(v, what);
  if (!(n >= 0 && n <= kLargestCount) || n != std::floor(n))
    throw Napi::RangeError::New(v.Env(), std::string(what) + " must be a whole number >= 0");
  return static_cast<size_t>(n);
}

// Converting a double beyond size_t's range is undefined behaviour: clamp before the cast.
size_t byteLimitArg(const Napi::Value& v, size_t def) {
  const double m = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : 0;
  return m > 0 ? static_cast<size_t>(std::min(m, kLargestCount)) : def;
}

double waitMsArg(const Napi::Value& v, const char* what, double def, bool zeroAllowed) {
  if (v.IsUndefined()) return def;
  const double ms = numberArg(v, what);
  std::string why = waitMsError(what, ms, zeroAllowed);
  if (!why.empty()) throw Napi::RangeError::New(v.Env(), why);
  return ms;
}

}  // namespace ld::io::binding
