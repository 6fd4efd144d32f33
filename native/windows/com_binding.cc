// listComPorts(): the COM ports Windows knows of, for `labdaemon resources` (a registry read: sync).
#include <napi.h>

#include "windows/com_ports.h"

namespace ld::io::binding {
namespace {

Napi::Value ListComPorts(const Napi::CallbackInfo& info) {
  auto ports = listComPorts();
  Napi::Array a = Napi::Array::New(info.Env(), ports.size());
  for (size_t i = 0; i < ports.size(); ++i) a.Set(static_cast<uint32_t>(i), ports[i]);
  return a;
}

}  // namespace

void InitComPorts(Napi::Env env, Napi::Object exports) {
  exports.Set("listComPorts", Napi::Function::New(env, ListComPorts));
}

}  // namespace ld::io::binding
