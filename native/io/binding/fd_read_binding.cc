// FdReader: reads a large block from a socket bun's event loop has paused, on a worker of the runtime's
// thread pool, straight into the caller's Uint8Array (src/io/net/tcpLink.ts). One read at a time per
// reader; interrupt() cuts the current one short.
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

// read(): fill dest[offset…]. readBlock(): a block header, then (when it fits in dest) the data and a
// termination already waiting.
class ReadJob : public Napi::AsyncWorker {
 public:
  enum class Mode { Fill, Block };
  ReadJob(Napi::Env env, Mode mode, int fd, Napi::Uint8Array dest, size_t offset, long timeoutMs, std::string where,
          std::string term, std::shared_ptr<InterruptibleWait> wait)
      : Napi::AsyncWorker(env, "labdaemon-fd-read"),
        deferred_(Napi::Promise::Deferred::New(env)),
        dest_(Napi::Persistent(dest)),
        p_(dest.Data() + offset),
        n_(dest.ByteLength() - offset),
        mode_(mode),
        fd_(fd),
        timeoutMs_(timeoutMs),
        where_(std::move(where)),
        term_(std::move(term)),
        wait_(std::move(wait)) {}
  ~ReadJob() override {
    if (fd_ >= 0) ::close(fd_);
  }
  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    try {
      Deadline d = deadlineIn(timeoutMs_);
      if (mode_ == Mode::Fill) {
        recvExact(fd_, p_, n_, d, *wait_, where_);
      } else {
        head_ = readBlockHead(fd_, d, *wait_, where_);
        if (head_.kind == BlockHead::Kind::Length && head_.length <= n_) {
          recvExact(fd_, p_, head_.length, d, *wait_, where_);
          filled_ = true;
          termRead_ = takeTermination(fd_, term_);
        }
      }
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
    if (failed_) {
      Napi::Error err = Napi::Error::New(env, message_);
      err.Set("kind", errorKindName(kind_));
      err.Set("code", Napi::Number::New(env, static_cast<double>(code_)));
      err.Set("codeName", codeName_);
      return deferred_.Reject(err.Value());
    }
    if (mode_ == Mode::Fill) return deferred_.Resolve(env.Undefined());
    // {filled, length, termRead} when dest starts with the block; {length} for a block too long for it
    // (nothing of its data read); {consumed} for an answer that is not a definite-length block.
    Napi::Object r = Napi::Object::New(env);
    if (head_.kind == BlockHead::Kind::Length) {
      r.Set("length", Napi::Number::New(env, static_cast<double>(head_.length)));
      if (filled_) {
        r.Set("filled", true);
        r.Set("termRead", termRead_);
      }
    } else {
      r.Set("consumed", Napi::Buffer<char>::Copy(env, head_.consumed.data(), head_.consumed.size()));
    }
    deferred_.Resolve(r);
  }

 private:
  Napi::Promise::Deferred deferred_;
  Napi::Reference<Napi::Uint8Array> dest_;  // keeps the buffer alive while the worker writes into it
  uint8_t* p_;
  size_t n_;
  Mode mode_;
  int fd_;
  long timeoutMs_;
  std::string where_, term_;
  std::shared_ptr<InterruptibleWait> wait_;
  BlockHead head_;
  bool filled_ = false, termRead_ = false;
  bool failed_ = false;
  ErrorKind kind_ = ErrorKind::Device;
  long code_ = 0;
  std::string codeName_, message_;
};

Napi::Value rejected(Napi::Env env, const std::string& message, int code, const char* codeName) {
  Napi::Error err = Napi::Error::New(env, message);
  err.Set("kind", "connection");
  err.Set("code", Napi::Number::New(env, code));
  err.Set("codeName", codeName);
  auto d = Napi::Promise::Deferred::New(env);
  d.Reject(err.Value());
  return d.Promise();
}

class FdReader : public Napi::ObjectWrap<FdReader> {
 public:
  static Napi::Function Define(Napi::Env env) {
    // The methods are writable so a test can watch the calls they get (test/io/largeBlocks.test.ts).
    constexpr auto writable = static_cast<napi_property_attributes>(napi_writable | napi_configurable);
    return DefineClass(env, "FdReader", {
      InstanceMethod<&FdReader::Read>("read", writable),
      InstanceMethod<&FdReader::ReadBlock>("readBlock", writable),
      InstanceMethod<&FdReader::Interrupt>("interrupt"),
    });
  }
  explicit FdReader(const Napi::CallbackInfo& info)
      : Napi::ObjectWrap<FdReader>(info), wait_(std::make_shared<InterruptibleWait>()) {}

 private:
  // read(fd, dest, offset, timeoutMs, where): fills dest[offset…] from fd.
  Napi::Value Read(const Napi::CallbackInfo& info) {
    return start(info, ReadJob::Mode::Fill, countArg(info[2], "offset"), "");
  }
  // readBlock(fd, dest, timeoutMs, where, termination): the next answer, expected to be a block that fits
  // in dest.
  Napi::Value ReadBlock(const Napi::CallbackInfo& info) {
    std::string term = info[4].IsUndefined() ? "" : bytesArg(info[4], "termination");
    return start(info, ReadJob::Mode::Block, 0, std::move(term), 2);
  }
  // The descriptor is duplicated here, on the JS thread, so the worker reads the same socket even if its
  // owner closes its own descriptor meanwhile (and never a descriptor the number was reused for).
  Napi::Value start(const Napi::CallbackInfo& info, ReadJob::Mode mode, size_t offset, std::string term,
                    size_t timeoutArg = 3) {
    Napi::Env env = info.Env();
    int fd = static_cast<int>(numberArg(info[0], "fd"));
    if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
      throw Napi::TypeError::New(env, "dest must be a Uint8Array");
    auto dest = info[1].As<Napi::Uint8Array>();
    if (offset > dest.ByteLength()) throw Napi::RangeError::New(env, "offset is past the end of dest");
    long ms = static_cast<long>(std::ceil(waitMsArg(info[timeoutArg], "timeoutMs", 2000)));
    std::string where = stringArg(info[timeoutArg + 1], "where");
    int own = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (own < 0) return rejected(env, "read from " + where + ": the socket is closed", errno, "EBADF");
    wait_->reset();
    auto* job = new ReadJob(env, mode, own, dest, offset, ms, std::move(where), std::move(term), wait_);
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
