// sdNotify(socketPath, message): the systemd notification datagram, sent without blocking; throws with
// the errno's name when it cannot be sent.
#include <napi.h>

#include <cstring>

#include "io/sd_notify.h"

namespace ld::io::binding {
namespace {

Napi::Value SdNotify(const Napi::CallbackInfo& info) {
  if (!info[0].IsString() || !info[1].IsString()) throw Napi::TypeError::New(info.Env(), "sdNotify(socketPath: string, message: string)");
  std::string path = info[0].As<Napi::String>().Utf8Value();
  int err = ld::io::sdNotify(path, info[1].As<Napi::String>().Utf8Value());
  if (err != 0) {
    Napi::Error e = Napi::Error::New(info.Env(), "sd_notify to " + path + ": " + std::strerror(err));
    e.Set("errno", Napi::Number::New(info.Env(), err));
    throw e;
  }
  return info.Env().Undefined();
}

}  // namespace

void InitNotify(Napi::Env env, Napi::Object exports) {
  exports.Set("sdNotify", Napi::Function::New(env, SdNotify));
}

}  // namespace ld::io::binding
