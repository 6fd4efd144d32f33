// makeTransport on Windows: COM ports natively, everything else through the installed VISA library.
// Raw sockets, VXI-11 and HiSLIP need no native code: src/io/net runs them on bun's event loop.
#include "io/serial_port.h"
#include "io/transport.h"
#include "io/visa.h"

namespace ld::io {

std::unique_ptr<Transport> makeTransport(const ResourceName& rn, const OpenOptions& opts) {
  if (!opts.visaLibrary.empty()) return std::make_unique<Visa>(opts.visaLibrary, rn.canonical());
  switch (rn.type) {
    case InterfaceType::Asrl:
      return std::make_unique<SerialPort>(rn.serialPath, opts.serial);
    case InterfaceType::Tcpip:
      // The event loop's transports serve TCPIP unless LABDAEMON_NET_IO=native asked for a thread.
      if (Visa::available("")) return std::make_unique<Visa>("", rn.canonical());
      throw IoError(ErrorKind::Unsupported,
                    "native TCPIP I/O is not built for Windows: leave LABDAEMON_NET_IO unset (the event loop serves "
                    "LAN instruments) or install a VISA library");
    case InterfaceType::Gpib:
    case InterfaceType::Usb:
      try {
        return std::make_unique<Visa>("", rn.canonical());
      } catch (const IoError& e) {
        throw IoError(e.kind, std::string(rn.interfaceName()) +
                                  " instruments on Windows are reached through a vendor VISA library (visa64.dll): " +
                                  e.what());
      }
  }
  throw IoError(ErrorKind::Unsupported, std::string("no transport for ") + rn.interfaceName() + " resources");
}

}  // namespace ld::io
