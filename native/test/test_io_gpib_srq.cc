// GPIB service requests through a stand-in libgpib.so (fake_gpib, built beside this runner): RQS is
// noticed by a status check that does not wait, and the serial poll's status byte is what comes back.
#include <cstdlib>

#include "check.h"
#include "io/io_error.h"
#include "io/session.h"

using namespace ld::io;

namespace {
void useFakeGpib() { ::setenv("LABDAEMON_GPIB_LIBRARY", LD_FAKE_GPIB_PATH, 1); }
}  // namespace

TEST("gpib: RQS after *OPC is seen by polling, with the serial poll's status byte") {
  useFakeGpib();
  Session s("GPIB0::5::INSTR", OpenOptions{});
  auto d = deadlineIn(2000);
  s.write("*IDN?\n", d);
  CHECK(s.readUntil("\n", 1 << 20, d) == "FAKE,GPIB,0,1.0");
  CHECK(s.pollServiceRequest(d) == -1);
  s.write("*OPC\n", d);
  int stb = -1, polls = 0;
  while (stb < 0 && polls < 10) {
    stb = s.pollServiceRequest(d);
    ++polls;
  }
  CHECK(stb == 0x60);
  CHECK(polls == 3);
  CHECK(s.pollServiceRequest(d) == -1);  // the serial poll cleared RQS
  s.close();
}

TEST("gpib: interfaces without service requests refuse before any I/O") {
  bool refused = false;
  try {
    Session s("TCPIP0::127.0.0.1::1::SOCKET", OpenOptions{});
    s.pollServiceRequest(deadlineIn(1000));  // port 1 is never dialled: the refusal comes first
  } catch (const IoError& e) {
    refused = e.kind == ErrorKind::Unsupported;
  }
  CHECK(refused);
}
