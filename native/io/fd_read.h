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

// What readBlockHead found at the start of an answer.
struct BlockHead {
  enum class Kind { Length, Other } kind = Kind::Other;
  size_t length = 0;     // Length: the block's declared data length
  std::string consumed;  // Other: the bytes read, which are not a definite-length block header
};

// Reads an IEEE 488.2 definite-length block header ("#<n><n digits>") and not a byte more; anything else
// ("#0", an echoed "CURV ", a header that is not decimal) is Other, with the bytes it took.
BlockHead readBlockHead(int fd, Deadline d, InterruptibleWait& wait, const std::string& where);

// Consumes `term` if it is already waiting in the socket, byte for byte; reads nothing otherwise.
bool takeTermination(int fd, const std::string& term);

}  // namespace ld::io
