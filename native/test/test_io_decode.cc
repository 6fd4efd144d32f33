#include <cstring>
#include <string>
#include <vector>

#include "check.h"
#include "io/io_error.h"
#include "io/sample_decode.h"

using namespace ld::io;

template <typename T>
static std::vector<T> as(const std::vector<uint8_t>& bytes, size_t n) {
  std::vector<T> v(n);
  std::memcpy(v.data(), bytes.data(), n * sizeof(T));
  return v;
}

TEST("decode: big-endian int16 block into float64 samples") {
  std::string payload("\xff\xfd\x00\x01\x7f\xff", 6);  // -3, 1, 32767
  std::vector<uint8_t> out;
  CHECK(decodeSamples(payload, WireFormat::Int16, true, ld::DType::Float64, &out) == 3);
  CHECK((as<double>(out, 3) == std::vector<double>{-3, 1, 32767}));
}

TEST("decode: little-endian float32 block into a float32 ring is a plain copy") {
  float v[3] = {0.5f, -2.0f, 1e6f};
  std::string payload(reinterpret_cast<const char*>(v), sizeof v);
  std::vector<uint8_t> out;
  CHECK(decodeSamples(payload, WireFormat::Float32, false, ld::DType::Float32, &out) == 3);
  CHECK((as<float>(out, 3) == std::vector<float>{0.5f, -2.0f, 1e6f}));
}

TEST("decode: big-endian float64 block") {
  std::string payload("\x3f\xf8\x00\x00\x00\x00\x00\x00", 8);  // 1.5
  std::vector<uint8_t> out;
  CHECK(decodeSamples(payload, WireFormat::Float64, true, ld::DType::Float64, &out) == 1);
  CHECK(as<double>(out, 1)[0] == 1.5);
}

TEST("decode: ASCII comma-separated with spaces and exponents") {
  std::vector<uint8_t> out;
  CHECK(decodeSamples(" 1.25, -2.5e-3 ,4E2", WireFormat::Ascii, false, ld::DType::Float64, &out) == 3);
  CHECK((as<double>(out, 3) == std::vector<double>{1.25, -2.5e-3, 400}));
  CHECK(decodeSamples("", WireFormat::Ascii, false, ld::DType::Float64, &out) == 0);
}

TEST("decode: a ragged block and non-numbers are errors") {
  std::vector<uint8_t> out;
  bool threw = false;
  try { decodeSamples(std::string("\x00\x01\x02", 3), WireFormat::Int16, false, ld::DType::Float32, &out); } catch (const IoError&) { threw = true; }
  CHECK(threw);
  threw = false;
  try { decodeSamples("1.0,abc", WireFormat::Ascii, false, ld::DType::Float32, &out); } catch (const IoError& e) { threw = std::string(e.what()).find("abc") != std::string::npos; }
  CHECK(threw);
}

TEST("decode: values outside an integer ring's range saturate (NaN becomes 0) instead of wrapping") {
  std::vector<uint8_t> out;
  CHECK(decodeSamples("1e300,-1e300,nan,70000,-40000,12.9,inf", WireFormat::Ascii, false, ld::DType::Int16, &out) == 7);
  CHECK((as<int16_t>(out, 7) == std::vector<int16_t>{32767, -32768, 0, 32767, -32768, 12, 32767}));
  CHECK(decodeSamples("3e9,-3e9", WireFormat::Ascii, false, ld::DType::Int32, &out) == 2);
  CHECK((as<int32_t>(out, 2) == std::vector<int32_t>{2147483647, -2147483647 - 1}));
  float big[2] = {1e20f, -1e20f};
  CHECK(decodeSamples(std::string(reinterpret_cast<const char*>(big), sizeof big), WireFormat::Float32, false, ld::DType::Int32, &out) == 2);
  CHECK((as<int32_t>(out, 2) == std::vector<int32_t>{2147483647, -2147483647 - 1}));
}
