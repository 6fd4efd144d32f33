// The io room's exports; each binding file registers its own.
#include <napi.h>

namespace ld::io::binding {
void InitSession(Napi::Env env, Napi::Object exports);
}

Napi::Object InitIo(Napi::Env env, Napi::Object exports) {
  ld::io::binding::InitSession(env, exports);
  return exports;
}
