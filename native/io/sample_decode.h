// Instrument answers as samples of a ring's element type: ASCII comma-separated numbers, or the data
// of an IEEE 488.2 block holding int16/float32/float64 in either byte order.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ring/any_ring.h"

namespace ld::io {

enum class WireFormat { Ascii, Int16, Float32, Float64 };

// Throws IoError(Argument) for an unknown name ("ascii", "int16", "float32", "float64").
WireFormat parseWireFormat(const std::string& name);

// Replaces `out` with the samples as elements of `target`; returns how many. Throws IoError(Device)
// for a block whose size is not a whole number of values or ASCII that is not numbers.
size_t decodeSamples(const std::string& payload, WireFormat format, bool bigEndian, DType target, std::vector<uint8_t>* out);

}  // namespace ld::io
