#include "io/serial_port.h"
#include "io/tcp_socket.h"
#include "io/transport.h"
#include "io/vxi11.h"

namespace ld::io {

std::unique_ptr<Transport> makeTransport(const ResourceName& rn, const OpenOptions& opts) {
  switch (rn.type) {
    case InterfaceType::Tcpip:
      if (rn.isSocket()) return std::make_unique<TcpSocket>(rn.host, rn.port);
      return std::make_unique<Vxi11>(rn.host, rn.lanDeviceName);
    case InterfaceType::Asrl:
      return std::make_unique<SerialPort>(rn.serialPath, opts.serial);
    default:
      break;
  }
  throw IoError(ErrorKind::Unsupported, std::string("no transport for ") + rn.interfaceName() + " resources yet");
}

}  // namespace ld::io
