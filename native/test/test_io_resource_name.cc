#include <string>

#include "check.h"
#include "io/io_error.h"
#include "io/resource_name.h"

using namespace ld::io;

static std::string errorOf(const char* text) {
  try {
    parseResourceName(text);
  } catch (const IoError& e) {
    return e.what();
  }
  return "";
}

TEST("resource names: TCPIP SOCKET with board default and case-insensitive class") {
  auto r = parseResourceName("tcpip::10.0.0.5::5025::socket");
  CHECK(r.isSocket());
  CHECK(r.board == 0);
  CHECK(r.host == "10.0.0.5");
  CHECK(r.port == 5025);
  CHECK(r.canonical() == "TCPIP0::10.0.0.5::5025::SOCKET");
}

TEST("resource names: TCPIP INSTR defaults the LAN device name to inst0 and the class to INSTR") {
  auto r = parseResourceName("TCPIP3::scope.lab");
  CHECK(!r.isSocket());
  CHECK(r.board == 3);
  CHECK(r.lanDeviceName == "inst0");
  CHECK(r.canonical() == "TCPIP3::scope.lab::inst0::INSTR");
  CHECK(parseResourceName("TCPIP::h::gpib0,5::INSTR").lanDeviceName == "gpib0,5");
}

TEST("resource names: GPIB with and without secondary address") {
  auto r = parseResourceName("GPIB0::12::INSTR");
  CHECK(r.primaryAddress == 12 && r.secondaryAddress == -1);
  CHECK(errorOf("gpib1::3::96").find("GPIB secondary address 96") != std::string::npos);
  auto t = parseResourceName("gpib1::3::7");
  CHECK(t.board == 1 && t.primaryAddress == 3 && t.secondaryAddress == 7);
  CHECK(t.canonical() == "GPIB1::3::7::INSTR");
}

TEST("resource names: serial forms") {
  CHECK(parseResourceName("ASRL1::INSTR").serialPath == "/dev/ttyS0");
  CHECK(parseResourceName("ASRL/dev/ttyUSB0::INSTR").serialPath == "/dev/ttyUSB0");
  CHECK(parseResourceName("/dev/ttyACM1").serialPath == "/dev/ttyACM1");
}

TEST("resource names: errors name the wrong part") {
  CHECK(errorOf("TCPIP::host::port::SOCKET").find("port 'port' is not a number") != std::string::npos);
  CHECK(errorOf("TCPIP::host::70000::SOCKET").find("port 70000 is out of range") != std::string::npos);
  CHECK(errorOf("GPIB0::31::INSTR").find("GPIB primary address 31") != std::string::npos);
  CHECK(errorOf("FOO0::1::INSTR").find("unknown interface type 'FOO0'") != std::string::npos);
  CHECK(errorOf("TCPIPx::h::INSTR").find("board number 'x'") != std::string::npos);
  CHECK(errorOf("TCPIP0::h::1::2::INSTR").find("too many parts") != std::string::npos);
  CHECK(errorOf("").find("empty") != std::string::npos);
}

TEST("resource names: a control byte anywhere is refused, naming the part, the message printable") {
  // A NUL ends the host where getaddrinfo reads it: this one would connect to 127.0.0.1.
  std::string nulHost("TCPIP::127.0.0.1\0.evil.example::5025::SOCKET", 44);
  std::string e;
  try {
    parseResourceName(nulHost);
  } catch (const IoError& err) {
    e = err.what();
  }
  CHECK(e.find("the host address '127.0.0.1\\x00.evil.example' holds a control character") != std::string::npos);
  CHECK(e.find('\0') == std::string::npos);
  auto refused = [](const std::string& text, const char* part) {
    try {
      parseResourceName(text);
    } catch (const IoError& err) {
      return std::string(err.what()).find(part) != std::string::npos && err.kind == ErrorKind::Argument;
    }
    return false;
  };
  CHECK(refused("ASRL/dev/ttyS0\n::INSTR", "the serial port path '/dev/ttyS0\\x0a'"));
  CHECK(refused("/dev/ttyUSB0\r", "the serial port path '/dev/ttyUSB0\\x0d'"));
  CHECK(refused("TCPIP::h::inst\x7f::INSTR", "the LAN device name 'inst\\x7f'"));
  CHECK(refused("USB::0x1::0x2::SN\x01::INSTR", "the USB serial number 'SN\\x01'"));
  CHECK(refused("TCPIP::h::50\t25::SOCKET", "part 3 '50\\x0925' holds a control character"));
  CHECK(refused("TCPIP::h::5025::SOCKET\n", "part 4 'SOCKET\\x0a'"));
  CHECK(refused("GPIB0\x1b::5::INSTR", "part 1 'GPIB0\\x1b'"));
  // Bytes at and above 0x80 are not control characters: UTF-8 host names stay allowed.
  CHECK(parseResourceName("TCPIP::m\xc3\xa4ssger\xc3\xa4t::5025::SOCKET").host == "m\xc3\xa4ssger\xc3\xa4t");
}
