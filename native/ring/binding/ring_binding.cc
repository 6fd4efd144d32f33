// The ring room's exports: SampleRing.
#include <napi.h>

#include <cmath>
#include <stdexcept>
#include <string>

#include "ring/binding/ring_wrap.h"

namespace ld::ring::binding {

namespace {

// Marks objects made by this constructor, so From() can trust Unwrap on values JS passes back.
constexpr napi_type_tag kRingTag = {0x6c6162646165ULL, 0x53616d706c6552ULL};

napi_typedarray_type typedArrayTypeOf(ld::DType t) {
  switch (t) {
    case ld::DType::Float32: return napi_float32_array;
    case ld::DType::Float64: return napi_float64_array;
    case ld::DType::Int16: return napi_int16_array;
    case ld::DType::Int32: return napi_int32_array;
  }
  return napi_float64_array;
}

Napi::Value makeTypedArray(Napi::Env env, ld::DType t, Napi::ArrayBuffer buf, size_t length) {
  switch (t) {
    case ld::DType::Float32: return Napi::Float32Array::New(env, length, buf, 0);
    case ld::DType::Float64: return Napi::Float64Array::New(env, length, buf, 0);
    case ld::DType::Int16: return Napi::TypedArrayOf<int16_t>::New(env, length, buf, 0, napi_int16_array);
    case ld::DType::Int32: return Napi::TypedArrayOf<int32_t>::New(env, length, buf, 0, napi_int32_array);
  }
  return env.Undefined();
}

// Counts and indices cross the boundary as JS numbers: exact up to 2^53, which no counter reaches.
Napi::Number num(Napi::Env env, uint64_t v) { return Napi::Number::New(env, double(v)); }

Napi::TypedArray typedArrayArg(const Napi::CallbackInfo& info, size_t i, ld::DType want, const char* what) {
  if (info.Length() <= i || !info[i].IsTypedArray() ||
      info[i].As<Napi::TypedArray>().TypedArrayType() != typedArrayTypeOf(want)) {
    throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a typed array of the ring's dtype (" +
                                               ld::dtypeName(want) + ")");
  }
  return info[i].As<Napi::TypedArray>();
}

}  // namespace

void RingWrap::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = DefineClass(env, "SampleRing",
                                    {
                                        InstanceMethod<&RingWrap::Drain>("drain"),
                                        InstanceMethod<&RingWrap::DrainInto>("drainInto"),
                                        InstanceMethod<&RingWrap::Push>("push"),
                                        InstanceMethod<&RingWrap::Counters>("counters"),
                                        InstanceAccessor<&RingWrap::Available>("available"),
                                        InstanceAccessor<&RingWrap::Capacity>("capacity"),
                                        InstanceAccessor<&RingWrap::DType>("dtype"),
                                        InstanceAccessor<&RingWrap::Overflow>("overflow"),
                                    });
  exports.Set("SampleRing", ctor);
}

std::shared_ptr<AnyRing> RingWrap::From(const Napi::Value& v) {
  if (!v.IsObject() || !v.As<Napi::Object>().CheckTypeTag(&kRingTag)) return nullptr;
  return Unwrap(v.As<Napi::Object>())->ring_;
}

// new SampleRing(capacity: number, dtype: string, overflow: string)
RingWrap::RingWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<RingWrap>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsNumber() || !info[1].IsString() || !info[2].IsString())
    throw Napi::TypeError::New(env, "SampleRing(capacity: number, dtype: string, overflow: string)");
  const double cap = info[0].As<Napi::Number>().DoubleValue();
  ld::DType dtype;
  ld::Overflow overflow;
  if (!ld::parseDType(info[1].As<Napi::String>().Utf8Value(), &dtype))
    throw Napi::TypeError::New(env, "dtype must be one of float32, float64, int16, int32");
  if (!ld::parseOverflow(info[2].As<Napi::String>().Utf8Value(), &overflow))
    throw Napi::TypeError::New(env, "overflow must be drop-newest or overwrite-oldest");
  if (!(cap >= 2) || cap != std::floor(cap) || cap > double(ld::SampleRing<float>::kMaxCapacity) ||
      !ld::isPowerOfTwo(size_t(cap)))
    throw Napi::RangeError::New(env, "capacity must be a power of two between 2 and 2^31");
  try {
    ring_ = ld::AnyRing::create(dtype, size_t(cap), overflow);
  } catch (const std::bad_alloc&) {
    throw Napi::RangeError::New(env, "not enough memory for a ring of this capacity");
  }
  info.This().As<Napi::Object>().TypeTag(&kRingTag);
}

// drain(max?: number): a new typed array with up to max samples (all available when omitted).
Napi::Value RingWrap::Drain(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  size_t max = ring_->capacity();
  if (info.Length() > 0 && !info[0].IsUndefined()) {
    if (!info[0].IsNumber()) throw Napi::TypeError::New(env, "drain(max?: number)");
    const double m = info[0].As<Napi::Number>().DoubleValue();
    if (!(m >= 0)) throw Napi::RangeError::New(env, "max must be >= 0");
    max = m < double(max) ? size_t(m) : max;
  }
  // available() only grows on the consumer thread, so the buffer is never too small; overwrite mode
  // may hand back fewer (samples overwritten during the copy), and the view is cut to what arrived.
  const size_t want = std::min(max, ring_->available());
  Napi::ArrayBuffer buf = Napi::ArrayBuffer::New(env, want * ring_->elementSize());
  const size_t got = want ? ring_->popRaw(buf.Data(), want) : 0;
  return makeTypedArray(env, ring_->dtype(), buf, got);
}

// drainInto(target: TypedArray): fills target from its start, returns the count; no allocation.
Napi::Value RingWrap::DrainInto(const Napi::CallbackInfo& info) {
  Napi::TypedArray target = typedArrayArg(info, 0, ring_->dtype(), "target");
  auto* dst = static_cast<uint8_t*>(target.ArrayBuffer().Data()) + target.ByteOffset();
  return num(info.Env(), ring_->popRaw(dst, target.ElementLength()));
}

// push(samples: TypedArray): the JS thread as producer (tests, replay). Refused while a native
// producer owns the ring, since a second producer would break the SPSC contract.
Napi::Value RingWrap::Push(const Napi::CallbackInfo& info) {
  Napi::TypedArray src = typedArrayArg(info, 0, ring_->dtype(), "samples");
  if (!ring_->claimProducer())
    throw Napi::Error::New(info.Env(), "the ring has a native producer attached; JS cannot push");
  const auto* p = static_cast<const uint8_t*>(src.ArrayBuffer().Data()) + src.ByteOffset();
  const size_t n = ring_->pushRaw(p, src.ElementLength());
  ring_->releaseProducer();
  return num(info.Env(), n);
}

Napi::Value RingWrap::Counters(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const ld::RingCounters c = ring_->counters();
  Napi::Object o = Napi::Object::New(env);
  o.Set("written", num(env, c.written));
  o.Set("read", num(env, c.read));
  o.Set("dropped", num(env, c.dropped));
  o.Set("highWater", num(env, c.highWater));
  o.Set("available", num(env, c.available));
  o.Set("capacity", num(env, c.capacity));
  return o;
}

Napi::Value RingWrap::Available(const Napi::CallbackInfo& info) { return num(info.Env(), ring_->available()); }
Napi::Value RingWrap::Capacity(const Napi::CallbackInfo& info) { return num(info.Env(), ring_->capacity()); }
Napi::Value RingWrap::DType(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), ld::dtypeName(ring_->dtype()));
}
Napi::Value RingWrap::Overflow(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), ld::overflowName(ring_->overflow()));
}

}  // namespace ld::ring::binding

Napi::Object InitRing(Napi::Env env, Napi::Object exports) {
  ld::ring::binding::RingWrap::Init(env, exports);
  return exports;
}
