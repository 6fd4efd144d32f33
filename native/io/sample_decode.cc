#include "io/sample_decode.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <type_traits>

#include "io/io_error.h"

namespace ld::io {
namespace {

constexpr bool kHostBigEndian = __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__;

template <typename T>
T loadSwapped(const char* p, bool swap) {
  T v;
  if (!swap) {
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  char b[sizeof(T)];
  for (size_t i = 0; i < sizeof(T); ++i) b[i] = p[sizeof(T) - 1 - i];
  std::memcpy(&v, b, sizeof v);
  return v;
}

// A double converted to an integer type it does not fit is undefined behaviour (x86 yields the
// "integer indefinite" value, which truncates to 0): an instrument's 1e300, inf or nan must not
// decide what lands in an integer ring. Out-of-range values saturate; NaN becomes 0.
template <typename Out>
Out toSample(double v) {
  if constexpr (std::is_integral_v<Out>) {
    if (std::isnan(v)) return 0;
    if (v <= static_cast<double>(std::numeric_limits<Out>::min())) return std::numeric_limits<Out>::min();
    if (v >= static_cast<double>(std::numeric_limits<Out>::max())) return std::numeric_limits<Out>::max();
  }
  return static_cast<Out>(v);
}

template <typename In, typename Out>
size_t convertBlock(const std::string& payload, bool bigEndian, std::vector<uint8_t>* out) {
  if (payload.size() % sizeof(In) != 0)
    throw IoError(ErrorKind::Device, "block of " + std::to_string(payload.size()) + " bytes is not a whole number of " +
                                         std::to_string(sizeof(In)) + "-byte values");
  size_t n = payload.size() / sizeof(In);
  out->resize(n * sizeof(Out));
  bool swap = bigEndian != kHostBigEndian;
  if (std::is_same_v<In, Out> && !swap) {
    std::memcpy(out->data(), payload.data(), payload.size());
    return n;
  }
  Out* dst = reinterpret_cast<Out*>(out->data());
  const char* src = payload.data();
  for (size_t i = 0; i < n; ++i) dst[i] = toSample<Out>(static_cast<double>(loadSwapped<In>(src + i * sizeof(In), swap)));
  return n;
}

template <typename Out>
size_t convertAscii(const std::string& text, std::vector<uint8_t>* out) {
  out->clear();
  const char* p = text.c_str();
  const char* end = p + text.size();
  size_t n = 0;
  while (p < end) {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) ++p;
    if (p >= end) break;
    char* next = nullptr;
    errno = 0;
    double v = std::strtod(p, &next);
    if (next == p) throw IoError(ErrorKind::Device, "ASCII answer holds a non-number near '" + std::string(p, std::min<size_t>(12, end - p)) + "'");
    out->resize((n + 1) * sizeof(Out));
    Out o = toSample<Out>(v);
    std::memcpy(out->data() + n * sizeof(Out), &o, sizeof o);
    ++n;
    p = next;
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) ++p;
    if (p < end && *p == ',') ++p;
  }
  return n;
}

template <typename Out>
size_t decodeAs(const std::string& payload, WireFormat f, bool bigEndian, std::vector<uint8_t>* out) {
  switch (f) {
    case WireFormat::Ascii: return convertAscii<Out>(payload, out);
    case WireFormat::Int16: return convertBlock<int16_t, Out>(payload, bigEndian, out);
    case WireFormat::Float32: return convertBlock<float, Out>(payload, bigEndian, out);
    case WireFormat::Float64: return convertBlock<double, Out>(payload, bigEndian, out);
  }
  return 0;
}

}  // namespace

WireFormat parseWireFormat(const std::string& name) {
  if (name == "ascii") return WireFormat::Ascii;
  if (name == "int16") return WireFormat::Int16;
  if (name == "float32") return WireFormat::Float32;
  if (name == "float64") return WireFormat::Float64;
  throw IoError(ErrorKind::Argument, "unknown sample format '" + name + "' (ascii, int16, float32, float64)");
}

size_t decodeSamples(const std::string& payload, WireFormat format, bool bigEndian, DType target, std::vector<uint8_t>* out) {
  switch (target) {
    case DType::Float32: return decodeAs<float>(payload, format, bigEndian, out);
    case DType::Float64: return decodeAs<double>(payload, format, bigEndian, out);
    case DType::Int16: return decodeAs<int16_t>(payload, format, bigEndian, out);
    case DType::Int32: return decodeAs<int32_t>(payload, format, bigEndian, out);
  }
  return 0;
}

}  // namespace ld::io
