#include "io/resource_name.h"

#include <cctype>
#include <cstdio>
#include <vector>

#include "io/io_error.h"

namespace ld::io {
namespace {

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

bool startsWithNoCase(const std::string& s, const char* prefix) {
  size_t n = std::char_traits<char>::length(prefix);
  return s.size() >= n && upper(s.substr(0, n)) == prefix;
}

std::vector<std::string> splitParts(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t pos = s.find("::", start);
    if (pos == std::string::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, pos - start));
    start = pos + 2;
  }
}

bool isControl(char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }

[[noreturn]] void bad(const std::string& text, const std::string& why) {
  throw IoError(ErrorKind::Argument, "invalid resource name '" + printableResource(text) + "': " + printableResource(why));
}

// A resource is printable text. A NUL would end the host or path where the OS reads it
// ("TCPIP::127.0.0.1\0.evil.example::…" connected to 127.0.0.1); CR, LF and the rest have no place either.
void refuseControl(const std::string& text, const std::string& part, const std::string& what) {
  for (char c : part)
    if (isControl(c)) bad(text, what + " '" + part + "' holds a control character");
}

bool isDigits(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s) if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

int parseInt(const std::string& text, const std::string& part, const char* what, int lo, int hi) {
  if (!isDigits(part) || part.size() > 9) bad(text, std::string(what) + " '" + part + "' is not a number");
  int v = std::stoi(part);
  if (v < lo || v > hi)
    bad(text, std::string(what) + " " + part + " is out of range " + std::to_string(lo) + "–" + std::to_string(hi));
  return v;
}

// "TCPIP0" → board 0; "TCPIP" → 0; "TCPIPx" → error naming the board part.
int parseBoard(const std::string& text, const std::string& first, size_t prefixLen) {
  std::string b = first.substr(prefixLen);
  if (b.empty()) return 0;
  return parseInt(text, b, "board number", 0, 1 << 20);
}

// A trailing resource class is optional where the grammar has a default; returns the parts before it.
std::vector<std::string> takeClass(std::vector<std::string> parts, std::string* cls) {
  std::string last = upper(parts.back());
  if (parts.size() > 1 && (last == "INSTR" || last == "SOCKET" || last == "INTFC" || last == "RAW")) {
    *cls = last;
    parts.pop_back();
  }
  return parts;
}

}  // namespace

std::string printableResource(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (!isControl(c)) { out += c; continue; }
    char hex[5];
    std::snprintf(hex, sizeof hex, "\\x%02x", static_cast<unsigned char>(c));
    out += hex;
  }
  return out;
}

const char* ResourceName::interfaceName() const {
  switch (type) {
    case InterfaceType::Tcpip: return "TCPIP";
    case InterfaceType::Asrl: return "ASRL";
    case InterfaceType::Gpib: return "GPIB";
    case InterfaceType::Usb: return "USB";
  }
  return "";
}

std::string ResourceName::canonical() const {
  std::string b = std::to_string(board);
  switch (type) {
    case InterfaceType::Tcpip:
      if (isSocket()) return "TCPIP" + b + "::" + host + "::" + std::to_string(port) + "::SOCKET";
      return "TCPIP" + b + "::" + host + "::" + lanDeviceName + "::INSTR";
    case InterfaceType::Asrl:
#ifdef _WIN32
      // COM3 is ASRL3::INSTR, the name Windows VISA libraries give it.
      if (serialPath.size() > 3 && serialPath.compare(0, 3, "COM") == 0) return "ASRL" + serialPath.substr(3) + "::INSTR";
#endif
      return "ASRL" + serialPath + "::INSTR";
    case InterfaceType::Gpib:
      return "GPIB" + b + "::" + std::to_string(primaryAddress) +
             (secondaryAddress >= 0 ? "::" + std::to_string(secondaryAddress) : "") + "::INSTR";
    case InterfaceType::Usb:
      return "USB" + b + "::" + usbManufacturer + "::" + usbModel + "::" + usbSerial +
             (usbInterface >= 0 ? "::" + std::to_string(usbInterface) : "") + "::" + resourceClass;
  }
  return "";
}

namespace {

// COM1…COM256: Windows' serial port names. Only on Windows: elsewhere "COM3" is no device.
bool isComPort(const std::string& text) {
#ifdef _WIN32
  return text.size() > 3 && startsWithNoCase(text, "COM") && isDigits(text.substr(3)) && text.size() <= 6;
#else
  (void)text;
  return false;
#endif
}

ResourceName parseParts(const std::string& text) {
  if (text.empty()) bad(text, "it is empty");
  ResourceName r;
  // A bare device path is a serial port, as serialport users write it (COM3 on Windows).
  if (text[0] == '/' || isComPort(text)) {
    r.type = InterfaceType::Asrl;
    r.serialPath = text;
    r.resourceClass = "INSTR";
    return r;
  }
  std::vector<std::string> parts = splitParts(text);
  const std::string first = parts[0];  // a copy: takeClass replaces `parts`
  std::string cls;

  if (startsWithNoCase(first, "TCPIP")) {
    r.type = InterfaceType::Tcpip;
    r.board = parseBoard(text, first, 5);
    parts = takeClass(parts, &cls);
    if (cls.empty()) cls = "INSTR";
    if (cls != "INSTR" && cls != "SOCKET") bad(text, "resource class '" + cls + "' is not INSTR or SOCKET for TCPIP");
    r.resourceClass = cls;
    if (parts.size() < 2 || parts[1].empty()) bad(text, "the host address is missing");
    r.host = parts[1];
    if (cls == "SOCKET") {
      if (parts.size() != 3) bad(text, "a SOCKET resource is TCPIP[board]::host::port::SOCKET");
      r.port = parseInt(text, parts[2], "port", 1, 65535);
    } else {
      if (parts.size() > 3) bad(text, "too many parts for TCPIP[board]::host[::lan device name]::INSTR");
      r.lanDeviceName = parts.size() == 3 ? parts[2] : "inst0";
      if (r.lanDeviceName.empty()) bad(text, "the LAN device name is empty");
    }
    return r;
  }
  if (startsWithNoCase(first, "ASRL")) {
    r.type = InterfaceType::Asrl;
    parts = takeClass(parts, &cls);
    if (!cls.empty() && cls != "INSTR") bad(text, "resource class '" + cls + "' is not INSTR for ASRL");
    r.resourceClass = "INSTR";
    if (parts.size() != 1) bad(text, "a serial resource is ASRL<n>::INSTR or ASRL/dev/<port>::INSTR");
    std::string port = first.substr(4);
    if (port.empty()) bad(text, "the serial port number or path is missing");
    if (isDigits(port)) {
      int n = parseInt(text, port, "serial port number", 1, 256);
      r.board = n;
#ifdef _WIN32
      r.serialPath = "COM" + std::to_string(n);  // ASRLn is COMn, as VISA on Windows has it
#else
      r.serialPath = "/dev/ttyS" + std::to_string(n - 1);
#endif
    } else if (port[0] == '/') {
      r.serialPath = port;
    } else {
      bad(text, "the serial port '" + port + "' is neither a number nor a /dev path");
    }
    return r;
  }
  if (startsWithNoCase(first, "GPIB")) {
    r.type = InterfaceType::Gpib;
    r.board = parseBoard(text, first, 4);
    parts = takeClass(parts, &cls);
    if (!cls.empty() && cls != "INSTR") bad(text, "only GPIB INSTR resources are supported, not " + cls);
    r.resourceClass = "INSTR";
    if (parts.size() < 2) bad(text, "the GPIB primary address is missing");
    if (parts.size() > 3) bad(text, "too many parts for GPIB[board]::primary[::secondary]::INSTR");
    r.primaryAddress = parseInt(text, parts[1], "GPIB primary address", 0, 30);
    if (parts.size() == 3) r.secondaryAddress = parseInt(text, parts[2], "GPIB secondary address", 0, 31);
    return r;
  }
  if (startsWithNoCase(first, "USB")) {
    r.type = InterfaceType::Usb;
    r.board = parseBoard(text, first, 3);
    parts = takeClass(parts, &cls);
    r.resourceClass = cls.empty() ? "INSTR" : cls;
    if (parts.size() < 4 || parts.size() > 5) bad(text, "a USB resource is USB[board]::vendor::product::serial[::interface]::INSTR");
    r.usbManufacturer = parts[1];
    r.usbModel = parts[2];
    r.usbSerial = parts[3];
    if (parts.size() == 5) r.usbInterface = parseInt(text, parts[4], "USB interface number", 0, 255);
    return r;
  }
  bad(text, "unknown interface type '" + first + "' (expected TCPIP, ASRL, GPIB or USB)");
}

}  // namespace

ResourceName parseResourceName(const std::string& text) {
  ResourceName r;
  try {
    r = parseParts(text);
  } catch (const IoError&) {
    // What refused it may be a control byte in a number or the class: say so first.
    std::vector<std::string> parts = splitParts(text);
    for (size_t i = 0; i < parts.size(); ++i) refuseControl(text, parts[i], "part " + std::to_string(i + 1));
    throw;
  }
  // Parsed, a control byte can only sit in the free-text parts, which are named here.
  refuseControl(text, r.host, "the host address");
  refuseControl(text, r.lanDeviceName, "the LAN device name");
  refuseControl(text, r.serialPath, "the serial port path");
  refuseControl(text, r.usbManufacturer, "the USB manufacturer id");
  refuseControl(text, r.usbModel, "the USB model code");
  refuseControl(text, r.usbSerial, "the USB serial number");
  return r;
}

}  // namespace ld::io
