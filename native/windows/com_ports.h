// The COM ports Windows knows of (HKLM\HARDWARE\DEVICEMAP\SERIALCOMM), for `labdaemon resources`.
#pragma once
#include <string>
#include <vector>

namespace ld::io {

// "COM3", … sorted by number; empty when the key is absent (no serial ports at all).
std::vector<std::string> listComPorts();

}  // namespace ld::io
