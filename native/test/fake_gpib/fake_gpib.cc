// A stand-in for linux-gpib's libgpib.so (there is no GPIB hardware here): one device that answers
// *IDN?, and after *OPC requests service (status byte 0x60) once it has been polled a few times, the
// way a board's autopoll notices a device's SRQ. Loaded through LABDAEMON_GPIB_LIBRARY by the tests.
#include <cstring>
#include <string>

namespace {
constexpr int kCmpl = 0x100, kRqs = 0x800, kEnd = 0x2000, kTimo = 0x4000, kErr = 0x8000;
constexpr int kEabo = 6;
constexpr unsigned char kStbAfterOpc = 0x60;  // RQS and ESB
// Status checks with nothing to report before the request shows (an operation still running).
constexpr int kPollsUntilRequest = 3;

thread_local int iberr = 0;
thread_local long ibcnt = 0;
std::string answer;
int pollsLeft = -1;  // counting down to the request; -1: none pending
bool requesting = false;
}  // namespace

extern "C" {

int ibdev(int, int pad, int, int, int, int) {
  answer.clear();
  pollsLeft = -1;
  requesting = false;
  return pad;
}

int ibonl(int, int) { return kCmpl; }
int ibtmo(int, int) { return kCmpl; }
int ibeos(int, int) { return kCmpl; }
int ibclr(int) {
  answer.clear();
  return kCmpl;
}

int ibwrt(int, const void* data, long n) {
  std::string cmd(static_cast<const char*>(data), static_cast<size_t>(n));
  while (!cmd.empty() && (cmd.back() == '\n' || cmd.back() == '\r')) cmd.pop_back();
  if (cmd == "*IDN?") answer = "FAKE,GPIB,0,1.0\n";
  if (cmd == "*OPC") pollsLeft = kPollsUntilRequest;
  ibcnt = n;
  return kCmpl;
}

int ibrd(int, void* buf, long max) {
  if (answer.empty()) {
    iberr = kEabo;
    ibcnt = 0;
    return kErr | kTimo;
  }
  size_t n = answer.size() < static_cast<size_t>(max) ? answer.size() : static_cast<size_t>(max);
  std::memcpy(buf, answer.data(), n);
  answer.erase(0, n);
  ibcnt = static_cast<long>(n);
  return kCmpl | (answer.empty() ? kEnd : 0);
}

int ibwait(int, int) {
  if (pollsLeft > 0 && --pollsLeft == 0) {
    pollsLeft = -1;
    requesting = true;
  }
  return kCmpl | (requesting ? kRqs : 0);
}

int ibrsp(int, char* stb) {
  *stb = static_cast<char>(requesting ? kStbAfterOpc : kStbAfterOpc & ~0x40);
  requesting = false;
  return kCmpl;
}

int ThreadIberr() { return iberr; }
long ThreadIbcntl() { return ibcnt; }
}
