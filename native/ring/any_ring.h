// AnyRing: a SampleRing whose element type is chosen at run time (by JS, by a device's config).
// The hot loops stay in the typed SampleRing<T>; this layer costs one virtual call per batch.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>

#include "ring/sample_ring.h"

namespace ld {

enum class DType { Float32, Float64, Int16, Int32 };

size_t dtypeSize(DType t);
const char* dtypeName(DType t);
bool parseDType(const std::string& name, DType* out);
const char* overflowName(Overflow o);
bool parseOverflow(const std::string& name, Overflow* out);

template <typename T> struct DTypeOf;
template <> struct DTypeOf<float> { static constexpr DType value = DType::Float32; };
template <> struct DTypeOf<double> { static constexpr DType value = DType::Float64; };
template <> struct DTypeOf<int16_t> { static constexpr DType value = DType::Int16; };
template <> struct DTypeOf<int32_t> { static constexpr DType value = DType::Int32; };

template <typename T> class TypedRing;

class AnyRing {
 public:
  // Throws std::invalid_argument for a capacity that is not a power of two.
  static std::shared_ptr<AnyRing> create(DType dtype, size_t capacity, Overflow policy);
  virtual ~AnyRing() = default;

  DType dtype() const { return dtype_; }
  size_t elementSize() const { return dtypeSize(dtype_); }

  // Element counts, not bytes; buffers hold elements of dtype().
  virtual size_t pushRaw(const void* src, size_t n) = 0;
  virtual size_t popRaw(void* dst, size_t max) = 0;
  virtual size_t available() const = 0;
  virtual size_t capacity() const = 0;
  virtual Overflow overflow() const = 0;
  virtual RingCounters counters() const = 0;

  template <typename T> SampleRing<T>& typed();

  // A ring has one producer. A native thread claims the role for as long as it runs, so nothing else
  // (JS push, a second source) can break the single-producer contract meanwhile.
  bool claimProducer() { return !producerClaimed_.exchange(true, std::memory_order_acq_rel); }
  void releaseProducer() { producerClaimed_.store(false, std::memory_order_release); }
  bool producerClaimed() const { return producerClaimed_.load(std::memory_order_acquire); }

 protected:
  explicit AnyRing(DType t) : dtype_(t) {}

 private:
  const DType dtype_;
  std::atomic<bool> producerClaimed_{false};
};

template <typename T>
class TypedRing final : public AnyRing {
 public:
  TypedRing(size_t capacity, Overflow policy) : AnyRing(DTypeOf<T>::value), ring_(capacity, policy) {}
  size_t pushRaw(const void* src, size_t n) override { return ring_.push(static_cast<const T*>(src), n); }
  size_t popRaw(void* dst, size_t max) override { return ring_.pop(static_cast<T*>(dst), max); }
  size_t available() const override { return ring_.available(); }
  size_t capacity() const override { return ring_.capacity(); }
  Overflow overflow() const override { return ring_.overflow(); }
  RingCounters counters() const override { return ring_.counters(); }
  SampleRing<T>& ring() { return ring_; }

 private:
  SampleRing<T> ring_;
};

template <typename T>
SampleRing<T>& AnyRing::typed() {
  if (dtype_ != DTypeOf<T>::value) throw std::logic_error("AnyRing::typed: element type mismatch");
  return static_cast<TypedRing<T>*>(this)->ring();
}

}  // namespace ld
