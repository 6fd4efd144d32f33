// VISA resource strings (pyvisa's grammar) parsed in one place for every transport.
//   TCPIP[board]::host[::lan device name][::INSTR]     VXI-11, device name defaults to inst0
//   TCPIP[board]::host::port::SOCKET                   raw socket
//   ASRL[n]::INSTR, ASRL/dev/ttyX::INSTR, /dev/ttyX    serial (ASRLn is /dev/ttyS(n-1), as NI-VISA on Linux)
//   GPIB[board]::primary[::secondary][::INSTR]         linux-gpib
//   USB[board]::vid::pid::serial[::interface][::INSTR] vendor VISA only
// Interface types and classes are case-insensitive; host names keep their case.
#pragma once
#include <string>

namespace ld::io {

enum class InterfaceType { Tcpip, Asrl, Gpib, Usb };

struct ResourceName {
  InterfaceType type = InterfaceType::Tcpip;
  int board = 0;
  std::string resourceClass;  // INSTR, SOCKET
  // TCPIP
  std::string host;
  int port = 0;
  std::string lanDeviceName;
  // ASRL
  std::string serialPath;
  // GPIB
  int primaryAddress = -1;
  int secondaryAddress = -1;
  // USB
  std::string usbManufacturer, usbModel, usbSerial;
  int usbInterface = -1;

  bool isSocket() const { return type == InterfaceType::Tcpip && resourceClass == "SOCKET"; }
  std::string canonical() const;
  const char* interfaceName() const;
};

// Throws IoError(Argument) naming the part that is wrong; a control byte anywhere is refused.
ResourceName parseResourceName(const std::string& text);

// `text` with control bytes written as \xNN: a resource quoted in a message stays one readable line.
std::string printableResource(const std::string& text);

}  // namespace ld::io
