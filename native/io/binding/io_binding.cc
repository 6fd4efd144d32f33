// The io room's exports; each binding file registers its own.
#include <napi.h>

namespace ld::io::binding {
void InitSession(Napi::Env env, Napi::Object exports);
void InitSerial(Napi::Env env, Napi::Object exports);
void InitAcquisition(Napi::Env env, Napi::Object exports);
void InitList(Napi::Env env, Napi::Object exports);
void InitNotify(Napi::Env env, Napi::Object exports);
void InitFdRead(Napi::Env env, Napi::Object exports);

Napi::Value SetErrorFactory(const Napi::CallbackInfo& info);
}  // namespace ld::io::binding

Napi::Object InitIo(Napi::Env env, Napi::Object exports) {
  exports.Set("setIoErrorFactory", Napi::Function::New(env, ld::io::binding::SetErrorFactory));
  ld::io::binding::InitSession(env, exports);
  ld::io::binding::InitSerial(env, exports);
  ld::io::binding::InitAcquisition(env, exports);
  ld::io::binding::InitList(env, exports);
  ld::io::binding::InitNotify(env, exports);
  ld::io::binding::InitFdRead(env, exports);
  return exports;
}
