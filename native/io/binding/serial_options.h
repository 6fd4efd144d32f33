// Serial settings from a JS options object, for both NativeSession (ASRL resources) and
// NativeSerialPort: baudRate, dataBits, stopBits, parity ("none" | "even" | "odd"), and flow control
// either as flowControl ("rtscts" | "xonxoff") or as serialport's rtscts / xon / xoff booleans.
#pragma once
#include <napi.h>

#include "io/transport.h"

namespace ld::io::binding {

SerialSettings serialSettingsArg(const Napi::Value& v);
int intField(const Napi::Object& o, const char* key, int fallback);

}  // namespace ld::io::binding
