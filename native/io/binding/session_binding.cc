// NativeSession: the JS handle of one open resource. Every method returns a promise settled by the
// session's own I/O thread, so calls on one resource run in the order they were made.
#include <napi.h>

#include <atomic>
#include <cerrno>

#include <cmath>
#include <memory>

#include "io/binding/js_bridge.h"
#include "io/binding/serial_options.h"
#include "io/session.h"

namespace ld::io::binding {
namespace {

constexpr size_t kDefaultMax = 64u << 20;

OpenOptions parseOptions(const Napi::Value& v) {
  OpenOptions o;
  o.serial = serialSettingsArg(v);
  if (!v.IsObject()) return o;
  auto obj = v.As<Napi::Object>();
  Napi::Value lib = obj.Get("visaLibrary");
  if (lib.IsString()) o.visaLibrary = lib.As<Napi::String>().Utf8Value();
  o.termChar = intField(obj, "termChar", -1);
  Napi::Value usbtmc = obj.Get("usbtmcPath");
  if (usbtmc.IsString()) o.usbtmcPath = usbtmc.As<Napi::String>().Utf8Value();
  // One byte on the wire (VXI-11 termChar, GPIB EOS, VISA attribute): a larger value would spill
  // into the flag bits sent beside it.
  if (o.termChar < -1 || o.termChar > 255) throw Napi::RangeError::New(v.Env(), "termChar must be a byte (0–255) or -1 for none");
  return o;
}

Napi::FunctionReference* sessionCtor = nullptr;

class NativeSession : public Napi::ObjectWrap<NativeSession> {
 public:
  std::shared_ptr<Session> session() const { return session_; }
  Napi::Value resourceGiven() const { return bridge_->resource(); }

  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeSession", {
      InstanceMethod<&NativeSession::Open>("open"),
      InstanceMethod<&NativeSession::Write>("write"),
      InstanceMethod<&NativeSession::Read>("read"),
      InstanceMethod<&NativeSession::ReadBytes>("readBytes"),
      InstanceMethod<&NativeSession::Query>("query"),
      InstanceMethod<&NativeSession::QueryBlock>("queryBlock"),
      InstanceMethod<&NativeSession::Clear>("clear"),
      InstanceMethod<&NativeSession::Close>("close"),
      InstanceMethod<&NativeSession::Lock>("lock"),
      InstanceMethod<&NativeSession::Ping>("ping"),
      InstanceMethod<&NativeSession::Unlock>("unlock"),
      InstanceMethod<&NativeSession::PollServiceRequest>("pollServiceRequest"),
      InstanceAccessor<&NativeSession::Resource>("resource"),
      InstanceAccessor<&NativeSession::InterfaceType>("interfaceType"),
    });
  }

  explicit NativeSession(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeSession>(info) {
    Napi::Env env = info.Env();
    std::string resource = stringArg(info[0], "resource");
    try {
      session_ = std::make_shared<Session>(resource, parseOptions(info[1]));
    } catch (const IoError& e) {
      throw Napi::Error(env, JsBridge::errorFor(env, info[0], JsBridge::failure(e)));
    }
    bridge_ = std::make_unique<JsBridge>(env, info[0], [this] { Ref(); }, [this] { Unref(); });
  }

  ~NativeSession() override {
    // Destroy the session (joins its thread) before the bridge whose TSFN that thread calls.
    session_.reset();
    bridge_.reset();
  }

 private:
  static size_t maxArg(const Napi::Value& v) { return byteLimitArg(v, kDefaultMax); }
  static int encArg(const Napi::Value& v) { return v.IsNumber() ? v.As<Napi::Number>().Int32Value() : 0; }

  // Deadlines start when the request reaches the I/O thread, so queued requests each get their full timeout.
  // After close(true), requests still waiting for their turn fail when it comes, without any I/O.
  Napi::Value submit(Napi::Env env, long timeoutMs, std::function<Outcome(Session&, Deadline)> fn,
                     bool evenAborted = false) {
    auto s = session_;
    auto aborted = aborted_;
    return bridge_->submit(env, s->thread(), [s, aborted, evenAborted, fn = std::move(fn), timeoutMs]() {
      if (*aborted && !evenAborted)
        throw IoError(ErrorKind::Connection, "closed before this request's turn",
                      ECANCELED, "ECANCELED");
      return fn(*s, deadlineIn(timeoutMs));
    });
  }
  // Checked where the call is made, so a bad timeout rejects that call instead of timing out at once.
  static long msArg(const Napi::Value& v) { return static_cast<long>(std::ceil(waitMsArg(v, "timeoutMs", 2000))); }

  Napi::Value Open(const Napi::CallbackInfo& info) {
    return submit(info.Env(), msArg(info[0]), [](Session& s, Deadline d) {
      s.ensureOpen(d);
      return Outcome{};
    });
  }
  Napi::Value Write(const Napi::CallbackInfo& info) {
    std::string data = bytesArg(info[0], "data");
    return submit(info.Env(), msArg(info[1]), [data = std::move(data)](Session& s, Deadline d) {
      s.write(data, d);
      return Outcome::num(static_cast<double>(data.size()));
    });
  }
  Napi::Value Read(const Napi::CallbackInfo& info) {
    std::string term = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
    size_t max = maxArg(info[1]);
    int enc = encArg(info[3]);
    return submit(info.Env(), msArg(info[2]), [term, max, enc](Session& s, Deadline d) {
      return Outcome::text(s.readUntil(term, max, d), enc);
    });
  }
  Napi::Value ReadBytes(const Napi::CallbackInfo& info) {
    size_t n = countArg(info[0], "count");
    int enc = encArg(info[2]);
    return submit(info.Env(), msArg(info[1]), [n, enc](Session& s, Deadline d) { return Outcome::text(s.readExact(n, d), enc); });
  }
  Napi::Value Query(const Napi::CallbackInfo& info) {
    std::string data = bytesArg(info[0], "data");
    std::string term = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
    size_t max = maxArg(info[2]);
    int enc = encArg(info[4]);
    return submit(info.Env(), msArg(info[3]), [data = std::move(data), term, max, enc](Session& s, Deadline d) {
      s.writeQuery(data, d);
      return Outcome::text(s.readUntil(term, max, d), enc);
    });
  }
  Napi::Value QueryBlock(const Napi::CallbackInfo& info) {
    bool hasCommand = !info[0].IsNull() && !info[0].IsUndefined();
    std::string data = hasCommand ? bytesArg(info[0], "data") : "";
    std::string term = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
    size_t max = maxArg(info[2]);
    return submit(info.Env(), msArg(info[3]), [data = std::move(data), hasCommand, term, max](Session& s, Deadline d) {
      if (hasCommand) s.writeQuery(data, d);
      return Outcome::text(s.readBlock(term, max, d), 0);
    });
  }
  Napi::Value Clear(const Napi::CallbackInfo& info) {
    return submit(info.Env(), msArg(info[0]), [](Session& s, Deadline d) {
      s.clear(d);
      return Outcome{};
    });
  }
  // A request that does no I/O: what the trip to the session thread and back costs (bench).
  Napi::Value Ping(const Napi::CallbackInfo& info) {
    return submit(info.Env(), 1000, [](Session&, Deadline) { return Outcome{}; });
  }
  Napi::Value Lock(const Napi::CallbackInfo& info) {
    return submit(info.Env(), msArg(info[0]), [](Session& s, Deadline d) {
      s.lock(d);
      return Outcome{};
    });
  }
  Napi::Value Unlock(const Napi::CallbackInfo& info) {
    return submit(info.Env(), msArg(info[0]), [](Session& s, Deadline d) {
      s.unlock(d);
      return Outcome{};
    });
  }
  // One check for a service request, in its turn among the requests: the status byte, or -1 for none.
  Napi::Value PollServiceRequest(const Napi::CallbackInfo& info) {
    return submit(info.Env(), msArg(info[0]), [](Session& s, Deadline d) {
      return Outcome::num(static_cast<double>(s.pollServiceRequest(d)));
    });
  }
  // Runs after the requests already made; then the session's thread ends, so a closed instrument
  // costs no thread while it waits for GC. Later calls reject with "closed". close(true) aborts first:
  // a request blocked in I/O (an instrument that never answers) is woken and fails now instead of
  // waiting out its timeout.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (info.Length() > 0 && info[0].IsBoolean() && info[0].As<Napi::Boolean>().Value()) {
      *aborted_ = true;
      session_->interrupt();
    }
    Napi::Value p = submit(
        info.Env(), 1000,
        [](Session& s, Deadline) {
          s.close();
          return Outcome{};
        },
        true);
    session_->thread().finish();
    return p;
  }
  Napi::Value Resource(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), session_->name().canonical()); }
  Napi::Value InterfaceType(const Napi::CallbackInfo& info) {
    return Napi::String::New(info.Env(), session_->name().isSocket() ? "SOCKET" : session_->name().interfaceName());
  }

  std::unique_ptr<JsBridge> bridge_;
  std::shared_ptr<Session> session_;
  std::shared_ptr<std::atomic<bool>> aborted_ = std::make_shared<std::atomic<bool>>(false);
};

Napi::Value ParseResourceName(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string text = stringArg(info[0], "resource");
  ResourceName r;
  try {
    r = parseResourceName(text);
  } catch (const IoError& e) {
    Napi::Error err = Napi::Error::New(env, e.what());
    err.Value().Set("kind", errorKindName(e.kind));
    err.Value().Set("resource", info[0]);
    throw err;
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("interfaceType", r.interfaceName());
  o.Set("board", r.board);
  o.Set("resourceClass", r.resourceClass);
  o.Set("canonical", r.canonical());
  if (r.type == InterfaceType::Tcpip) {
    o.Set("host", r.host);
    if (r.isSocket()) o.Set("port", r.port);
    else o.Set("lanDeviceName", r.lanDeviceName);
  }
  if (r.type == InterfaceType::Asrl) o.Set("serialPath", r.serialPath);
  if (r.type == InterfaceType::Gpib) {
    o.Set("primaryAddress", r.primaryAddress);
    if (r.secondaryAddress >= 0) o.Set("secondaryAddress", r.secondaryAddress);
  }
  if (r.type == InterfaceType::Usb) {
    o.Set("manufacturerId", r.usbManufacturer);
    o.Set("modelCode", r.usbModel);
    o.Set("serialNumber", r.usbSerial);
    if (r.usbInterface >= 0) o.Set("usbInterfaceNumber", r.usbInterface);
  }
  return o;
}

}  // namespace

std::shared_ptr<Session> sessionFrom(const Napi::Value& v) {
  if (!sessionCtor || !v.IsObject() || !v.As<Napi::Object>().InstanceOf(sessionCtor->Value())) return nullptr;
  return NativeSession::Unwrap(v.As<Napi::Object>())->session();
}

Napi::Value sessionResourceGiven(const Napi::Value& v) {
  return NativeSession::Unwrap(v.As<Napi::Object>())->resourceGiven();
}

void InitSession(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = NativeSession::Define(env);
  // One environment per process here (bun's main thread); a worker would re-point it at its own class.
  if (!sessionCtor) sessionCtor = new Napi::FunctionReference();
  *sessionCtor = Napi::Persistent(ctor);
  exports.Set("NativeSession", ctor);
  exports.Set("parseResourceName", Napi::Function::New(env, ParseResourceName));
}

}  // namespace ld::io::binding
