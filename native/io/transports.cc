#include "io/gpib.h"
#include "io/serial_port.h"
#include "io/tcp_socket.h"
#include "io/transport.h"
#include "io/usbtmc.h"
#include "io/visa.h"
#include "io/vxi11.h"

namespace ld::io {

std::unique_ptr<Transport> makeTransport(const ResourceName& rn, const OpenOptions& opts) {
  // A VISA library named by the caller (or LABDAEMON_VISA_LIBRARY, resolved in TypeScript) serves everything.
  if (!opts.visaLibrary.empty()) return std::make_unique<Visa>(opts.visaLibrary, rn.canonical());
  switch (rn.type) {
    case InterfaceType::Tcpip:
      if (rn.isSocket()) return std::make_unique<TcpSocket>(rn.host, rn.port);
      return std::make_unique<Vxi11>(rn.host, rn.lanDeviceName);
    case InterfaceType::Asrl:
      return std::make_unique<SerialPort>(rn.serialPath, opts.serial);
    case InterfaceType::Gpib:
      try {
        return std::make_unique<Gpib>(rn.board, rn.primaryAddress, rn.secondaryAddress, rn.canonical());
      } catch (const IoError& gpibMissing) {
        // Without linux-gpib, a vendor VISA installed under its usual name can still reach the bus.
        if (Visa::available("")) return std::make_unique<Visa>("", rn.canonical());
        throw;
      }
    case InterfaceType::Usb:
      if (!opts.usbtmcPath.empty()) return std::make_unique<Usbtmc>(opts.usbtmcPath);
      try {
        return std::make_unique<Visa>("", rn.canonical());
      } catch (const IoError& e) {
        // The JS side looked for a usbtmc character device first (sysfs: vendor, product, serial).
        throw IoError(e.kind,
                      std::string("no usbtmc device (/dev/usbtmc*, the Linux kernel driver) matches it: is it plugged in, "
                                  "and does `labdaemon resources` list it? A vendor VISA library, the other way to "
                                  "reach it, could not be used either: ") +
                          e.what());
      }
  }
  throw IoError(ErrorKind::Unsupported, std::string("no transport for ") + rn.interfaceName() + " resources");
}

}  // namespace ld::io
