// Bytes the C heap has handed out and not taken back (every arena, mmapped chunks included): what a
// test reads to see that a buffer grown for one huge answer was given back.
#pragma once
#include <malloc.h>

#include <cstddef>

namespace ldtest {

inline size_t heapInUse() {
  struct mallinfo2 m = ::mallinfo2();
  return m.uordblks + m.hblkhd;
}

}  // namespace ldtest
