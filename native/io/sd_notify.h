// The systemd notification protocol (sd_notify): one datagram to the AF_UNIX socket named by
// $NOTIFY_SOCKET ("/path" or "@abstract"), e.g. "READY=1". Plain C++, no N-API, no libsystemd.
#pragma once
#include <string>

namespace ld::io {

// Sends `message` to `socketPath` without blocking. Returns 0, or the errno of the failure
// (EINVAL for a path that is empty or too long for sockaddr_un).
int sdNotify(const std::string& socketPath, const std::string& message);

}  // namespace ld::io
