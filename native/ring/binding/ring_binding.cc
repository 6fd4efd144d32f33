#include <napi.h>

Napi::Object InitRing(Napi::Env env, Napi::Object exports) { return exports; }
