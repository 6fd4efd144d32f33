// Carries results of jobs run on an IoThread back to the JS thread as settled promises: one
// ThreadSafeFunction per native object, referenced only while promises are pending so an idle
// instrument never keeps the process alive.
#pragma once
#include <napi.h>

#include <functional>
#include <string>

#include "io/io_error.h"
#include "io/io_thread.h"

namespace ld::io::binding {

struct Outcome {
  enum class Type { Undefined, Bytes, Utf8, Latin1, Number } type = Type::Undefined;
  std::string data;
  double number = 0;
  bool failed = false;
  ErrorKind kind = ErrorKind::Device;
  long code = 0;
  std::string codeName, message;

  static Outcome text(std::string s, int encoding);  // encoding: 0 bytes, 1 utf-8, 2 latin-1
  static Outcome num(double v) { Outcome o; o.type = Type::Number; o.number = v; return o; }
};

class JsBridge;
struct PendingCall {
  Napi::Promise::Deferred deferred;
  Outcome outcome;
  JsBridge* bridge;
  std::function<void(Napi::Env)> onJsThread;  // runs just before the promise settles
};

void settleOnJsThread(Napi::Env env, Napi::Function, JsBridge* bridge, PendingCall* call);
using Tsfn = Napi::TypedThreadSafeFunction<JsBridge, PendingCall, settleOnJsThread>;

class JsBridge {
 public:
  // `resource` is the caller's JS string, kept as given: errors carry it in context.resource (a UTF-8
  // copy would differ from it for a lone surrogate). `hold`/`release` pin the owning JS object while
  // calls are in flight.
  JsBridge(Napi::Env env, Napi::Value resource, std::function<void()> hold, std::function<void()> release);
  ~JsBridge();
  // Runs `job` on `thread`; its Outcome (or the IoError it throws) settles the returned promise.
  Napi::Value submit(Napi::Env env, IoThread& thread, std::function<Outcome()> job,
                     std::function<void(Napi::Env)> onJsThread = nullptr);
  void settle(Napi::Env env, PendingCall* call);
  Napi::Value errorValue(Napi::Env env, const Outcome& o) const { return errorFor(env, resource(), o); }
  Napi::Value resource() const { return resource_.Get("resource"); }
  // The JS error for a failed outcome (a DeviceError subclass once ioErrors.ts has registered its factory).
  static Napi::Value errorFor(Napi::Env env, Napi::Value resource, const Outcome& o);
  static Outcome failure(const IoError& e);

 private:
  Tsfn tsfn_;
  Napi::ObjectReference resource_;  // {resource}: N-API references hold objects, not strings
  std::function<void()> hold_, release_;
  size_t pending_ = 0;
};

// native.setErrorFactory(fn): fn({message, kind, code, codeName, resource}) builds every I/O error.
Napi::Value SetErrorFactory(const Napi::CallbackInfo& info);

// A string or a Uint8Array/Buffer argument as bytes; throws a TypeError naming `what` otherwise.
std::string bytesArg(const Napi::Value& v, const char* what);
std::string stringArg(const Napi::Value& v, const char* what);
double numberArg(const Napi::Value& v, const char* what);
// A whole number from 0 to 2^53 - 1; a RangeError naming `what` otherwise.
size_t countArg(const Napi::Value& v, const char* what);
// A byte limit: a number above 0 (clamped to 2^53 - 1); anything else is `def`.
size_t byteLimitArg(const Napi::Value& v, size_t def);
// A timeout or interval in milliseconds, `def` when undefined; a RangeError naming `what` and the value
// for anything waitMsError refuses (Infinity, NaN, -5, 1e13 …), a TypeError for a non-number.
double waitMsArg(const Napi::Value& v, const char* what, double def, bool zeroAllowed = false);

}  // namespace ld::io::binding
