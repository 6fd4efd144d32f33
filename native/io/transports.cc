#include "io/tcp_socket.h"
#include "io/transport.h"

namespace ld::io {

std::unique_ptr<Transport> makeTransport(const ResourceName& rn, const OpenOptions& opts) {
  if (rn.type == InterfaceType::Tcpip && rn.isSocket()) return std::make_unique<TcpSocket>(rn.host, rn.port);
  throw IoError(ErrorKind::Unsupported, std::string("no transport for ") + rn.interfaceName() + " resources yet");
}

}  // namespace ld::io
