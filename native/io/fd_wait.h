// poll() on one descriptor until it is ready or a deadline passes, shared by the fd-based transports.
#pragma once
#include <poll.h>

#include <string>

#include "io/io_error.h"

namespace ld::io {

// Returns when `events` are ready; throws IoError(Timeout) at the deadline, naming `what`.
void waitFd(int fd, short events, Deadline d, const std::string& what);

}  // namespace ld::io
