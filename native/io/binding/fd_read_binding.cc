// FdReader: reads a large block from a socket bun's event loop has paused, on a thread of its own, into
// the caller's Uint8Array (src/io/net/tcpLink.ts). One read at a time per reader; interrupt() cuts the
// current one short; close() ends the thread.
//
// The thread is the reader's own, not the runtime's shared pool: a read may wait for its whole timeout,
// and waits on the pool would hold up every other user of it (and start their deadlines late).
// A destination the caller owns (`into`) is not written from the thread: the caller could detach its
// memory meanwhile. The thread fills the reader's scratch buffer instead, kept between reads, and the JS
// thread copies it over once the read is done, if the destination is still whole. An array that cannot be
// detached (blockArray(), src/io/binaryBlock.ts) comes as `own` and is written directly.
#include <fcntl.h>
#include <napi.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <memory>

#include "io/binding/js_bridge.h"
#include "io/fd_read.h"
#include "io/io_thread.h"

namespace ld::io::binding {
namespace {

constexpr size_t kKeepScratch = 16u << 20;  // scratch kept between reads up to this size

class FdReader;

// read(): fill dest[offset…]. readBlock(): a block header, then (when it fits in dest) the data and a
// termination already waiting.
struct Job {
  enum class Mode { Fill, Block } mode;
  Napi::Promise::Deferred deferred;
  Napi::Reference<Napi::Uint8Array> dest;  // keeps the buffer alive while the thread writes into it
  uint8_t* target;                         // dest's bytes from `offset`, or the scratch buffer
  size_t offset, n;
  bool viaScratch;
  int fd;
  Deadline deadline;
  std::string where, term;
  // results
  BlockHead head;
  size_t got = 0;  // bytes of data in target
  bool filled = false, termRead = false, failed = false;
  ErrorKind kind = ErrorKind::Device;
  long code = 0;
  std::string codeName, message;

  void run(InterruptibleWait& wait) {
    try {
      if (mode == Mode::Fill) {
        recvExact(fd, target, n, deadline, wait, where);
        got = n;
      } else {
        head = readBlockHead(fd, deadline, wait, where);
        if (head.kind == BlockHead::Kind::Length && head.length <= n) {
          recvExact(fd, target, head.length, deadline, wait, where);
          got = head.length;
          filled = true;
          termRead = takeTermination(fd, term);
        }
      }
    } catch (const IoError& e) {
      fail(e.kind, e.code, e.codeName, e.what());
    }
    ::close(fd);
    fd = -1;
  }
  void fail(ErrorKind k, long c, std::string name, std::string why) {
    failed = true;
    kind = k;
    code = c;
    codeName = std::move(name);
    message = std::move(why);
  }
};

void settleJob(Napi::Env env, Napi::Function, FdReader* reader, Job* job);
using JobTsfn = Napi::TypedThreadSafeFunction<FdReader, Job, settleJob>;

class FdReader : public Napi::ObjectWrap<FdReader> {
 public:
  static Napi::Function Define(Napi::Env env) {
    // The reads are writable so a test can watch the calls they get (test/io/largeBlocks.test.ts).
    constexpr auto writable = static_cast<napi_property_attributes>(napi_writable | napi_configurable);
    return DefineClass(env, "FdReader", {
      InstanceMethod<&FdReader::Read>("read", writable),
      InstanceMethod<&FdReader::ReadBlock>("readBlock", writable),
      InstanceMethod<&FdReader::Interrupt>("interrupt"),
      InstanceMethod<&FdReader::Close>("close"),
      InstanceAccessor<&FdReader::ScratchBytes>("scratchBytes"),
    });
  }

  explicit FdReader(const Napi::CallbackInfo& info)
      : Napi::ObjectWrap<FdReader>(info), wait_(std::make_shared<InterruptibleWait>()) {
    tsfn_ = JobTsfn::New(info.Env(), "labdaemon-fd-read", 0, 1, this);
    tsfn_.Unref(info.Env());
  }
  ~FdReader() override {
    thread_.stop();  // idle here: a pending read holds a reference to this object
    tsfn_.Release();
  }

  void settle(Napi::Env env, Job* job) {
    std::unique_ptr<Job> owned(job);
    Napi::HandleScope scope(env);
    if (!job->failed && job->viaScratch && job->got > 0) {
      // The caller's array, if it is still whole: it may have been detached or shrunk meanwhile.
      Napi::Uint8Array dest = job->dest.Value();
      if (dest.ByteLength() < job->offset + job->got)
        job->fail(ErrorKind::Argument, 0, "EINVAL", "the array to read into was detached or resized during the read");
      else
        std::memcpy(dest.Data() + job->offset, scratch_.get(), job->got);
    }
    if (scratchSize_ > kKeepScratch) {
      scratch_.reset();
      scratchSize_ = 0;
    }
    if (job->failed) {
      Napi::Error err = Napi::Error::New(env, job->message);
      err.Set("kind", errorKindName(job->kind));
      err.Set("code", Napi::Number::New(env, static_cast<double>(job->code)));
      err.Set("codeName", job->codeName);
      job->deferred.Reject(err.Value());
    } else if (job->mode == Job::Mode::Fill) {
      job->deferred.Resolve(env.Undefined());
    } else {
      // {filled, length, termRead} when dest starts with the block; {length} for a block too long for it
      // (nothing of its data read); {consumed} for an answer that is not a definite-length block.
      Napi::Object r = Napi::Object::New(env);
      if (job->head.kind == BlockHead::Kind::Length) {
        r.Set("length", Napi::Number::New(env, static_cast<double>(job->head.length)));
        if (job->filled) {
          r.Set("filled", true);
          r.Set("termRead", job->termRead);
        }
      } else {
        r.Set("consumed", Napi::Buffer<char>::Copy(env, job->head.consumed.data(), job->head.consumed.size()));
      }
      job->deferred.Resolve(r);
    }
    if (--pending_ == 0) {
      tsfn_.Unref(env);
      Unref();
    }
  }

 private:
  // read(fd, dest, offset, timeoutMs, where, own): fills dest[offset…] from fd. `own`: dest cannot be
  // detached while the thread writes it (a private buffer, or a blockArray), so it is written directly.
  Napi::Value Read(const Napi::CallbackInfo& info) {
    return start(info, Job::Mode::Fill, countArg(info[2], "offset"), 3, "");
  }
  // readBlock(fd, dest, timeoutMs, where, own, termination): the next answer, expected to be a block that
  // fits in dest.
  Napi::Value ReadBlock(const Napi::CallbackInfo& info) {
    std::string term = info[5].IsUndefined() ? "" : bytesArg(info[5], "termination");
    return start(info, Job::Mode::Block, 0, 2, std::move(term));
  }

  // The deadline counts from here. The descriptor is duplicated here, on the JS thread, so the thread
  // reads the same socket even if its owner closes its own descriptor meanwhile (and never a descriptor
  // the number was reused for).
  Napi::Value start(const Napi::CallbackInfo& info, Job::Mode mode, size_t offset, size_t timeoutArg,
                    std::string term) {
    Napi::Env env = info.Env();
    int fd = static_cast<int>(numberArg(info[0], "fd"));
    if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
      throw Napi::TypeError::New(env, "dest must be a Uint8Array");
    auto dest = info[1].As<Napi::Uint8Array>();
    if (offset > dest.ByteLength()) throw Napi::RangeError::New(env, "offset is past the end of dest");
    long ms = static_cast<long>(std::ceil(waitMsArg(info[timeoutArg], "timeoutMs", 2000)));
    std::string where = stringArg(info[timeoutArg + 1], "where");
    bool own = info[timeoutArg + 2].ToBoolean().Value();
    if (pending_ > 0) throw Napi::Error::New(env, "FdReader: one read at a time");
    auto deferred = Napi::Promise::Deferred::New(env);
    int dup = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (dup < 0) {
      Napi::Error err = Napi::Error::New(env, "read from " + where + ": the socket is closed");
      err.Set("kind", "connection");
      err.Set("code", Napi::Number::New(env, errno));
      err.Set("codeName", "EBADF");
      deferred.Reject(err.Value());
      return deferred.Promise();
    }
    size_t n = dest.ByteLength() - offset;
    uint8_t* target = dest.Data() + offset;
    if (!own) {
      if (scratchSize_ < n) {
        scratch_.reset(new uint8_t[n]);
        scratchSize_ = n;
      }
      target = scratch_.get();
    }
    auto* job = new Job{mode,  deferred, Napi::Persistent(dest), target, offset,         n,   !own,
                        dup,   deadlineIn(ms), std::move(where), std::move(term)};
    wait_->reset();
    auto wait = wait_;
    JobTsfn tsfn = tsfn_;
    if (!thread_.post([job, wait, tsfn]() mutable {
          job->run(*wait);
          tsfn.NonBlockingCall(job);
        })) {
      ::close(dup);
      delete job;
      throw Napi::Error::New(env, "FdReader is closed");
    }
    if (pending_++ == 0) {
      tsfn_.Ref(env);
      Ref();
    }
    return deferred.Promise();
  }

  // The read in progress (if any) fails at once with a connection error ("… is closing").
  Napi::Value Interrupt(const Napi::CallbackInfo& info) {
    wait_->interrupt();
    return info.Env().Undefined();
  }
  // The scratch buffer's size: what the reader keeps for copies into callers' arrays.
  Napi::Value ScratchBytes(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(scratchSize_));
  }
  // Ends the thread after the read in progress; later reads throw.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    thread_.finish();
    return info.Env().Undefined();
  }

  IoThread thread_;
  JobTsfn tsfn_;
  std::shared_ptr<InterruptibleWait> wait_;
  std::unique_ptr<uint8_t[]> scratch_;  // written by the thread during a read, read by JS after it
  size_t scratchSize_ = 0;
  size_t pending_ = 0;
};

void settleJob(Napi::Env env, Napi::Function, FdReader* reader, Job* job) {
  if (env == nullptr) {  // the environment is going away: nothing left to settle
    delete job;
    return;
  }
  reader->settle(env, job);
}

}  // namespace

void InitFdRead(Napi::Env env, Napi::Object exports) { exports.Set("FdReader", FdReader::Define(env)); }

}  // namespace ld::io::binding
