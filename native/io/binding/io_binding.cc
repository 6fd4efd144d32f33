#include <napi.h>

Napi::Object InitIo(Napi::Env env, Napi::Object exports) { return exports; }
