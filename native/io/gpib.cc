#include "io/gpib.h"

#include <cerrno>
#include <cstdlib>

#include "io/shared_library.h"

namespace ld::io {
namespace {

// linux-gpib's ib.h, restated: the header is not needed to build, only the library to run.
constexpr int kErr = 0x8000, kTimo = 0x4000, kEnd = 0x2000, kRqs = 0x800;
constexpr int kReos = 0x400;
constexpr int kEabo = 6;  // I/O aborted: linux-gpib's report of a timeout

struct GpibApi {
  int (*ibdev)(int, int, int, int, int, int);
  int (*ibwrt)(int, const void*, long);
  int (*ibrd)(int, void*, long);
  int (*ibclr)(int);
  int (*ibonl)(int, int);
  int (*ibtmo)(int, int);
  int (*ibeos)(int, int);
  int (*ibwait)(int, int);
  int (*ibrsp)(int, char*);
  int (*threadIberr)();
  long (*threadIbcntl)();
  std::string error;
};

const GpibApi& api() {
  static GpibApi a = [] {
    GpibApi x{};
    // LABDAEMON_GPIB_LIBRARY: linux-gpib installed where the loader does not look (or a stand-in, in tests).
    const char* given = std::getenv("LABDAEMON_GPIB_LIBRARY");
    static SharedLibrary lib(given && *given ? std::vector<std::string>{given}
                                             : std::vector<std::string>{"libgpib.so.0", "libgpib.so"});
    if (!lib.loaded()) {
      x.error = "GPIB needs linux-gpib's libgpib.so, which is not installed (install linux-gpib from "
                "https://linux-gpib.sourceforge.io and load its kernel module, or install a vendor VISA library "
                "and set LABDAEMON_VISA_LIBRARY); dlopen said: " + lib.error();
      return x;
    }
    auto sym = [&](const char* n) {
      void* p = lib.symbol(n);
      if (!p && x.error.empty()) x.error = lib.path() + " lacks " + n + ": not a linux-gpib library";
      return p;
    };
    x.ibdev = reinterpret_cast<int (*)(int, int, int, int, int, int)>(sym("ibdev"));
    x.ibwrt = reinterpret_cast<int (*)(int, const void*, long)>(sym("ibwrt"));
    x.ibrd = reinterpret_cast<int (*)(int, void*, long)>(sym("ibrd"));
    x.ibclr = reinterpret_cast<int (*)(int)>(sym("ibclr"));
    x.ibonl = reinterpret_cast<int (*)(int, int)>(sym("ibonl"));
    x.ibtmo = reinterpret_cast<int (*)(int, int)>(sym("ibtmo"));
    x.ibeos = reinterpret_cast<int (*)(int, int)>(sym("ibeos"));
    x.ibwait = reinterpret_cast<int (*)(int, int)>(sym("ibwait"));
    x.ibrsp = reinterpret_cast<int (*)(int, char*)>(sym("ibrsp"));
    x.threadIberr = reinterpret_cast<int (*)()>(sym("ThreadIberr"));
    x.threadIbcntl = reinterpret_cast<long (*)()>(sym("ThreadIbcntl"));
    return x;
  }();
  return a;
}

// GPIB timeouts are a fixed ladder (T10us … T1000s): the smallest step that covers what is left.
int timeoutCode(int ms) {
  static const double steps[] = {0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30, 100, 300, 1000, 3000, 10000, 30000, 100000, 300000, 1000000};
  for (int i = 0; i < 17; ++i)
    if (steps[i] >= ms) return i + 1;
  return 17;
}

const char* iberrName(int e) {
  static const char* names[] = {"EDVR", "ECIC", "ENOL", "EADR", "EARG", "ESAC", "EABO", "ENEB", "EDMA", "", "EOIP",
                                "ECAP", "EFSO", "", "EBUS", "ESTB", "ESRQ", "", "", "", "ETAB"};
  return e >= 0 && e <= 20 ? names[e] : "";
}

}  // namespace

void Gpib::requireLibrary() {
  if (!api().error.empty()) throw IoError(ErrorKind::Unsupported, api().error);
}

Gpib::Gpib(int board, int pad, int sad, std::string resource) : board_(board), pad_(pad), sad_(sad), resource_(std::move(resource)) {
  requireLibrary();
}

void Gpib::fail(const char* op, int sta) {
  int err = api().threadIberr();
  std::string msg = std::string("GPIB ") + op + " on board " + std::to_string(board_) + " address " + std::to_string(pad_) +
                    " failed: " + iberrName(err);
  if ((sta & kTimo) || err == kEabo) throw IoError(ErrorKind::Timeout, msg + " (timeout)", err, iberrName(err));
  if (err == 0 || err == 2 || err == 7) throw IoError(ErrorKind::Connection, msg, err, iberrName(err));
  throw IoError(ErrorKind::Device, msg, err, iberrName(err));
}

void Gpib::open(Deadline d) {
  close();
  int eos = termChar_ >= 0 ? (termChar_ | kReos) : 0;
  // linux-gpib numbers secondary addresses from 0x60, VISA from 0.
  int ud = api().ibdev(board_, pad_, sad_ >= 0 ? sad_ + 0x60 : 0, timeoutCode(msLeft(d)), 1, eos);
  if (ud < 0) fail("ibdev", kErr);
  ud_ = ud;
}

void Gpib::close() {
  if (ud_ >= 0) api().ibonl(ud_, 0);
  ud_ = -1;
}

void Gpib::setTimeout(Deadline d) {
  int left = msLeft(d);
  if (left <= 0) throw IoError(ErrorKind::Timeout, "GPIB " + resource_ + ": timed out", ETIMEDOUT, "ETIMEDOUT");
  api().ibtmo(ud_, timeoutCode(left));
}

void Gpib::write(const uint8_t* data, size_t n, Deadline d) {
  setTimeout(d);
  int sta = api().ibwrt(ud_, data, static_cast<long>(n));
  if (sta & kErr) fail("write", sta);
}

size_t Gpib::read(uint8_t* buf, size_t max, Deadline d, bool* end) {
  setTimeout(d);
  int sta = api().ibrd(ud_, buf, static_cast<long>(max));
  if (sta & kErr) fail("read", sta);
  *end = (sta & kEnd) != 0;
  return static_cast<size_t>(api().threadIbcntl());
}

int Gpib::pollServiceRequest(Deadline d) {
  // A mask of 0 returns the device's status at once: RQS is set there once the board's autopoll has
  // seen the device request service.
  int sta = api().ibwait(ud_, 0);
  if (sta & kErr) fail("ibwait", sta);
  if (!(sta & kRqs)) return -1;
  setTimeout(d);
  char stb = 0;
  sta = api().ibrsp(ud_, &stb);
  if (sta & kErr) fail("serial poll", sta);
  return static_cast<unsigned char>(stb);
}

void Gpib::clear(Deadline d) {
  setTimeout(d);
  int sta = api().ibclr(ud_);
  if (sta & kErr) fail("clear", sta);
}

}  // namespace ld::io
