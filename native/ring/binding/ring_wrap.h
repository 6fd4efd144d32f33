// The JS class SampleRing: the consumer side of an ld::AnyRing, owned jointly with any native
// producer attached to it (so dropping the JS object never frees a ring a thread still writes to).
#pragma once

#include <napi.h>

#include <memory>

#include "ring/any_ring.h"

namespace ld::ring::binding {

class RingWrap : public Napi::ObjectWrap<RingWrap> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  // The ring behind a JS value, or nullptr when the value is not a SampleRing.
  static std::shared_ptr<AnyRing> From(const Napi::Value& v);

  explicit RingWrap(const Napi::CallbackInfo& info);

 private:
  Napi::Value Drain(const Napi::CallbackInfo& info);
  Napi::Value DrainInto(const Napi::CallbackInfo& info);
  Napi::Value Push(const Napi::CallbackInfo& info);
  Napi::Value Counters(const Napi::CallbackInfo& info);
  Napi::Value Available(const Napi::CallbackInfo& info);
  Napi::Value Capacity(const Napi::CallbackInfo& info);
  Napi::Value DType(const Napi::CallbackInfo& info);
  Napi::Value Overflow(const Napi::CallbackInfo& info);

  std::shared_ptr<AnyRing> ring_;
};

}  // namespace ld::ring::binding
