// Module init only: each room registers its own exports.
#include <napi.h>

Napi::Object InitRing(Napi::Env env, Napi::Object exports);
Napi::Object InitIo(Napi::Env env, Napi::Object exports);
Napi::Object InitSim(Napi::Env env, Napi::Object exports);

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  InitRing(env, exports);
  InitIo(env, exports);
  InitSim(env, exports);
  return exports;
}

NODE_API_MODULE(labdaemon_native, Init)
