// Reads a known number of bytes from a stream socket another owner (bun's event loop) has paused: the
// large part of a binary block goes from the kernel straight into the caller's buffer, on a worker thread.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "io/fd_wait.h"

namespace ld::io {

// Fills p[0, n) from `fd` (non-blocking reads, a wait between them). Throws IoError: Timeout at `d`,
// Connection when the peer closes or `wait` is interrupted, the errno's kind otherwise. `where` names the
// peer in messages ("127.0.0.1:5025").
void recvExact(int fd, uint8_t* p, size_t n, Deadline d, InterruptibleWait& wait, const std::string& where);

}  // namespace ld::io
