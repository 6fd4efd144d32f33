#include "io/binding/serial_options.h"

namespace ld::io::binding {

int intField(const Napi::Object& o, const char* key, int fallback) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().Int32Value() : fallback;
}

SerialSettings serialSettingsArg(const Napi::Value& v) {
  SerialSettings s;
  if (!v.IsObject()) return s;
  auto o = v.As<Napi::Object>();
  s.baudRate = intField(o, "baudRate", s.baudRate);
  s.dataBits = intField(o, "dataBits", s.dataBits);
  s.stopBits = intField(o, "stopBits", s.stopBits);
  Napi::Value parity = o.Get("parity");
  std::string p = parity.IsString() ? parity.As<Napi::String>().Utf8Value() : "none";
  s.parity = p == "even" ? 'E' : p == "odd" ? 'O' : 'N';
  Napi::Value flow = o.Get("flowControl");
  std::string f = flow.IsString() ? flow.As<Napi::String>().Utf8Value() : "";
  s.rtscts = f == "rtscts" || o.Get("rtscts").ToBoolean();
  s.xonxoff = f == "xonxoff" || o.Get("xon").ToBoolean() || o.Get("xoff").ToBoolean();
  return s;
}

}  // namespace ld::io::binding
