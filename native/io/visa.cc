#include "io/visa.h"

#include <cerrno>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>

#include "io/shared_library.h"

namespace ld::io {
namespace {

// The VISA C API (IVI-6.2 / VPP-4.3.2), restated for 64-bit Linux and Windows: ViSession/ViUInt32 are 32-bit,
// ViStatus is a signed 32-bit, ViAttrState is 64-bit.
using ViStatus = int32_t;
using ViSession = uint32_t;
using ViUInt32 = uint32_t;
using ViAttrState = uint64_t;
constexpr ViStatus kSuccess = 0;
constexpr ViStatus kErrorTimeout = static_cast<ViStatus>(0xBFFF0015);
constexpr ViStatus kErrorResourceNotFound = static_cast<ViStatus>(0xBFFF0011);
constexpr ViStatus kErrorConnLost = static_cast<ViStatus>(0xBFFF00A6);
constexpr ViUInt32 kAttrTmoValue = 0x3FFF001A, kAttrTermChar = 0x3FFF0018, kAttrTermCharEn = 0x3FFF0038;
constexpr ViUInt32 kExclusiveLock = 1;

struct VisaApi {
  std::unique_ptr<SharedLibrary> lib;
  std::string error;
  ViSession rm = 0;
  ViStatus (*openDefaultRM)(ViSession*);
  ViStatus (*open)(ViSession, const char*, ViUInt32, ViUInt32, ViSession*);
  ViStatus (*close)(ViSession);
  ViStatus (*write)(ViSession, const uint8_t*, ViUInt32, ViUInt32*);
  ViStatus (*read)(ViSession, uint8_t*, ViUInt32, ViUInt32*);
  ViStatus (*clear)(ViSession);
  ViStatus (*setAttribute)(ViSession, ViUInt32, ViAttrState);
  ViStatus (*statusDesc)(ViSession, ViStatus, char*);
  ViStatus (*findRsrc)(ViSession, const char*, ViSession*, ViUInt32*, char*);
  ViStatus (*findNext)(ViSession, char*);
  ViStatus (*lock)(ViSession, ViUInt32, ViUInt32, const char*, char*);
  ViStatus (*unlock)(ViSession);
};

std::vector<std::string> candidates(const std::string& library) {
  if (!library.empty()) return {library};
  const char* env = std::getenv("LABDAEMON_VISA_LIBRARY");
  if (env && *env) return {env};
#ifdef _WIN32
  // The VISA shared-components router: NI-VISA, Keysight and R&S all install it in System32.
  return {"visa64.dll"};
#else
  // NI-VISA, Keysight IO Libraries, R&S VISA.
  return {"libvisa.so", "libvisa.so.0", "libiovisa.so", "libktvisa32.so", "librsvisa.so"};
#endif
}

// One loaded library (and its default resource manager) per name, for the life of the process.
const VisaApi& api(const std::string& library) {
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<VisaApi>> loaded;
  std::lock_guard<std::mutex> lock(mu);
  auto& slot = loaded[library];
  if (slot) return *slot;
  slot = std::make_unique<VisaApi>();
  VisaApi& a = *slot;
  auto names = candidates(library);
  a.lib = std::make_unique<SharedLibrary>(names);
  if (!a.lib->loaded()) {
    a.error = "no VISA library could be loaded (install NI-VISA, Keysight IO Libraries or R&S VISA, or name the "
              "library with LABDAEMON_VISA_LIBRARY); dlopen said: " + a.lib->error();
    return a;
  }
  auto sym = [&](const char* n) {
    void* p = a.lib->symbol(n);
    if (!p && a.error.empty()) a.error = a.lib->path() + " lacks " + n + ": not a VISA library";
    return p;
  };
  a.openDefaultRM = reinterpret_cast<decltype(a.openDefaultRM)>(sym("viOpenDefaultRM"));
  a.open = reinterpret_cast<decltype(a.open)>(sym("viOpen"));
  a.close = reinterpret_cast<decltype(a.close)>(sym("viClose"));
  a.write = reinterpret_cast<decltype(a.write)>(sym("viWrite"));
  a.read = reinterpret_cast<decltype(a.read)>(sym("viRead"));
  a.clear = reinterpret_cast<decltype(a.clear)>(sym("viClear"));
  a.setAttribute = reinterpret_cast<decltype(a.setAttribute)>(sym("viSetAttribute"));
  a.statusDesc = reinterpret_cast<decltype(a.statusDesc)>(sym("viStatusDesc"));
  a.findRsrc = reinterpret_cast<decltype(a.findRsrc)>(sym("viFindRsrc"));
  a.findNext = reinterpret_cast<decltype(a.findNext)>(sym("viFindNext"));
  a.lock = reinterpret_cast<decltype(a.lock)>(sym("viLock"));
  a.unlock = reinterpret_cast<decltype(a.unlock)>(sym("viUnlock"));
  if (a.error.empty()) {
    ViStatus s = a.openDefaultRM(&a.rm);
    if (s < 0) a.error = a.lib->path() + ": viOpenDefaultRM failed with status " + std::to_string(s);
  }
  return a;
}

const VisaApi& require(const std::string& library) {
  const VisaApi& a = api(library);
  if (!a.error.empty()) throw IoError(ErrorKind::Unsupported, a.error);
  return a;
}

std::string statusName(ViStatus s) {
  char hex[16];
  std::snprintf(hex, sizeof hex, "0x%08X", static_cast<unsigned>(s));
  return hex;
}

}  // namespace

Visa::Visa(std::string library, std::string resource) : library_(std::move(library)), resource_(std::move(resource)) {
  require(library_);
}

bool Visa::available(const std::string& library) { return api(library).error.empty(); }

void Visa::fail(const char* op, int status) {
  const VisaApi& a = require(library_);
  char desc[256] = {0};
  if (a.statusDesc) a.statusDesc(vi_ ? vi_ : a.rm, status, desc);
  std::string msg = std::string("VISA ") + op + " failed: " + (desc[0] ? desc : "status " + statusName(status));
  ErrorKind kind = status == kErrorTimeout ? ErrorKind::Timeout
                   : (status == kErrorResourceNotFound || status == kErrorConnLost) ? ErrorKind::Connection
                                                                                     : ErrorKind::Device;
  throw IoError(kind, msg, status, statusName(status));
}

void Visa::open(Deadline d) {
  close();
  const VisaApi& a = require(library_);
  ViSession vi = 0;
  ViStatus s = a.open(a.rm, resource_.c_str(), 0, static_cast<ViUInt32>(msLeft(d)), &vi);
  if (s < 0) fail("viOpen", s);
  vi_ = vi;
  if (termChar_ >= 0) {
    a.setAttribute(vi_, kAttrTermChar, static_cast<ViAttrState>(termChar_));
    a.setAttribute(vi_, kAttrTermCharEn, 1);
  }
}

void Visa::close() {
  if (vi_ != 0) require(library_).close(vi_);
  vi_ = 0;
}

void Visa::setTimeout(Deadline d) {
  int left = msLeft(d);
  if (left <= 0) throw IoError(ErrorKind::Timeout, "VISA " + resource_ + ": timed out", kErrorTimeout, statusName(kErrorTimeout));
  require(library_).setAttribute(vi_, kAttrTmoValue, static_cast<ViAttrState>(left));
}

void Visa::write(const uint8_t* data, size_t n, Deadline d) {
  setTimeout(d);
  size_t off = 0;
  while (off < n) {
    ViUInt32 done = 0;
    ViStatus s = require(library_).write(vi_, data + off, static_cast<ViUInt32>(std::min<size_t>(n - off, 1u << 30)), &done);
    if (s < 0) fail("viWrite", s);
    off += std::min<size_t>(done, n - off);
    // A library that reports success without taking anything would have this loop spin forever.
    if (done == 0 && Clock::now() >= d) fail("viWrite", kErrorTimeout);
  }
}

size_t Visa::read(uint8_t* buf, size_t max, Deadline d, bool* end) {
  setTimeout(d);
  ViUInt32 got = 0;
  ViStatus s = require(library_).read(vi_, buf, static_cast<ViUInt32>(std::min<size_t>(max, 1u << 30)), &got);
  if (s < 0) fail("viRead", s);
  // Only VI_SUCCESS means END: a term-char stop can fall inside a binary block, and the session finds
  // the term char in its buffer anyway (VI_SUCCESS_TERM_CHAR, VI_SUCCESS_MAX_CNT: more may follow).
  *end = s == kSuccess;
  return got;
}

void Visa::clear(Deadline d) {
  setTimeout(d);
  ViStatus s = require(library_).clear(vi_);
  if (s < 0) fail("viClear", s);
}

void Visa::lock(Deadline d) {
  ViStatus s = require(library_).lock(vi_, kExclusiveLock, static_cast<ViUInt32>(msLeft(d)), nullptr, nullptr);
  if (s < 0) fail("viLock", s);
}

void Visa::unlock(Deadline) {
  ViStatus s = require(library_).unlock(vi_);
  if (s < 0) fail("viUnlock", s);
}

std::vector<std::string> Visa::find(const std::string& library, const std::string& expr) {
  const VisaApi& a = api(library);
  std::vector<std::string> out;
  if (!a.error.empty()) return out;
  ViSession list = 0;
  ViUInt32 count = 0;
  char desc[256] = {0};
  if (a.findRsrc(a.rm, expr.c_str(), &list, &count, desc) < 0) return out;
  if (count > 0) out.push_back(desc);
  for (ViUInt32 i = 1; i < count; ++i) {
    if (a.findNext(list, desc) < 0) break;
    out.push_back(desc);
  }
  a.close(list);
  return out;
}

}  // namespace ld::io
