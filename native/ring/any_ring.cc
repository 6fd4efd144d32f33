#include "ring/any_ring.h"

namespace ld {

size_t dtypeSize(DType t) {
  switch (t) {
    case DType::Float32: return sizeof(float);
    case DType::Float64: return sizeof(double);
    case DType::Int16: return sizeof(int16_t);
    case DType::Int32: return sizeof(int32_t);
  }
  return 0;
}

const char* dtypeName(DType t) {
  switch (t) {
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
    case DType::Int16: return "int16";
    case DType::Int32: return "int32";
  }
  return "?";
}

bool parseDType(const std::string& name, DType* out) {
  for (DType t : {DType::Float32, DType::Float64, DType::Int16, DType::Int32}) {
    if (name == dtypeName(t)) {
      *out = t;
      return true;
    }
  }
  return false;
}

const char* overflowName(Overflow o) { return o == Overflow::DropNewest ? "drop-newest" : "overwrite-oldest"; }

bool parseOverflow(const std::string& name, Overflow* out) {
  for (Overflow o : {Overflow::DropNewest, Overflow::OverwriteOldest}) {
    if (name == overflowName(o)) {
      *out = o;
      return true;
    }
  }
  return false;
}

std::shared_ptr<AnyRing> AnyRing::create(DType dtype, size_t capacity, Overflow policy) {
  switch (dtype) {
    case DType::Float32: return std::make_shared<TypedRing<float>>(capacity, policy);
    case DType::Float64: return std::make_shared<TypedRing<double>>(capacity, policy);
    case DType::Int16: return std::make_shared<TypedRing<int16_t>>(capacity, policy);
    case DType::Int32: return std::make_shared<TypedRing<int32_t>>(capacity, policy);
  }
  throw std::invalid_argument("unknown dtype");
}

}  // namespace ld
