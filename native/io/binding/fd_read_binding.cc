// FdReader: reads the rest of a large block from a socket bun's event loop has paused, on a worker of the
// runtime's thread pool, straight into the caller's Uint8Array (src/io/net/tcpLink.ts). One read at a
// time per reader; interrupt() cuts the current one short.
#include <fcntl.h>
#include <napi.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <memory>

#include "io/binding/js_bridge.h"
#include "io/fd_read.h"

namespace ld::io::binding {
namespace {

class ReadJob : public Napi::AsyncWorker {
 public:
  ReadJob(Napi::Env env, int fd, Napi::Uint8Array dest, size_t offset, long timeoutMs, std::string where,
          std::shared_ptr<InterruptibleWait> wait)
      : Napi::AsyncWorker(env, "labdaemon-fd-read"),
        deferred_(Napi::Promise::Deferred::New(env)),
        dest_(Napi::Persistent(dest)),
        p_(dest.Data() + offset),
        n_(dest.ByteLength() - offset),
        fd_(fd),
        timeoutMs_(timeoutMs),
        where_(std::move(where)),
        wait_(std::move(wait)) {}
  ~ReadJob() override {
    if (fd_ >= 0) ::close(fd_);
  }
  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    try {
      recvExact(fd_, p_, n_, deadlineIn(timeoutMs_), *wait_, where_);
    } catch (const IoError& e) {
      failed_ = true;
      kind_ = e.kind;
      code_ = e.code;
      codeName_ = e.codeName;
      message_ = e.what();
    }
    ::close(fd_);
    fd_ = -1;
  }
  void OnOK() override {
    Napi::Env env = Env();
    if (!failed_) return deferred_.Resolve(env.Undefined());
    Napi::Error err = Napi::Error::New(env, message_);
    err.Set("kind", errorKindName(kind_));
    err.Set("code", Napi::Number::New(env, static_cast<double>(code_)));
    err.Set("codeName", codeName_);
    deferred_.Reject(err.Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  Napi::Reference<Napi::Uint8Array> dest_;  // keeps the buffer alive while the worker writes into it
  uint8_t* p_;
  size_t n_;
  int fd_;
  long timeoutMs_;
  std::string where_;
  std::shared_ptr<InterruptibleWait> wait_;
  bool failed_ = false;
  ErrorKind kind_ = ErrorKind::Device;
  long code_ = 0;
  std::string codeName_, message_;
};

class FdReader : public Napi::ObjectWrap<FdReader> {
 public:
  static Napi::Function Define(Napi::Env env) {
    // read is writable so a test can watch the calls it gets (test/io/largeBlocks.test.ts).
    return DefineClass(env, "FdReader", {
      InstanceMethod<&FdReader::Read>("read", static_cast<napi_property_attributes>(napi_writable | napi_configurable)),
      InstanceMethod<&FdReader::Interrupt>("interrupt"),
    });
  }
  explicit FdReader(const Napi::CallbackInfo& info)
      : Napi::ObjectWrap<FdReader>(info), wait_(std::make_shared<InterruptibleWait>()) {}

 private:
  // read(fd, dest, offset, timeoutMs, where): fills dest[offset…] from fd. The descriptor is duplicated
  // here, on the JS thread, so the worker reads the same socket even if its owner closes its own
  // descriptor meanwhile (and never a descriptor the number was reused for).
  Napi::Value Read(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int fd = static_cast<int>(numberArg(info[0], "fd"));
    if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
      throw Napi::TypeError::New(env, "dest must be a Uint8Array");
    auto dest = info[1].As<Napi::Uint8Array>();
    size_t offset = countArg(info[2], "offset");
    if (offset > dest.ByteLength()) throw Napi::RangeError::New(env, "offset is past the end of dest");
    long ms = static_cast<long>(std::ceil(waitMsArg(info[3], "timeoutMs", 2000)));
    std::string where = stringArg(info[4], "where");
    int own = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (own < 0) {
      Napi::Error err = Napi::Error::New(env, "read from " + where + ": the socket is closed");
      err.Set("kind", "connection");
      err.Set("code", Napi::Number::New(env, errno));
      err.Set("codeName", "EBADF");
      auto d = Napi::Promise::Deferred::New(env);
      d.Reject(err.Value());
      return d.Promise();
    }
    wait_->reset();
    auto* job = new ReadJob(env, own, dest, offset, ms, std::move(where), wait_);
    Napi::Promise p = job->promise();
    job->Queue();
    return p;
  }
  // The read in progress (if any) fails at once with a connection error ("… is closing").
  Napi::Value Interrupt(const Napi::CallbackInfo& info) {
    wait_->interrupt();
    return info.Env().Undefined();
  }

  std::shared_ptr<InterruptibleWait> wait_;
};

}  // namespace

void InitFdRead(Napi::Env env, Napi::Object exports) { exports.Set("FdReader", FdReader::Define(env)); }

}  // namespace ld::io::binding
