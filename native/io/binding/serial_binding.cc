// NativeSerialPort: what src/io/serialBinding.ts needs to implement @serialport/stream's binding.
// Reads wait on their own thread (a read may wait for data indefinitely); writes and control calls
// share a second thread, so a pending read never holds up a write.
#include <napi.h>

#include <algorithm>
#include <future>
#include <memory>

#include "io/binding/js_bridge.h"
#include "io/binding/serial_options.h"
#include "io/serial_port.h"

namespace ld::io::binding {
namespace {

// Long enough to look like "no timeout" to a stream reader; close() interrupts it anyway.
constexpr long kStreamReadMs = 24L * 3600 * 1000;
constexpr size_t kMaxRead = 1u << 20;

struct Port {
  explicit Port(std::string path, SerialSettings s) : port(std::move(path), s) {}
  SerialPort port;
  IoThread reader;
  IoThread writer;
};

class NativeSerialPort : public Napi::ObjectWrap<NativeSerialPort> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeSerialPort", {
      InstanceMethod<&NativeSerialPort::Open>("open"),
      InstanceMethod<&NativeSerialPort::Read>("read"),
      InstanceMethod<&NativeSerialPort::Write>("write"),
      InstanceMethod<&NativeSerialPort::Update>("update"),
      InstanceMethod<&NativeSerialPort::Set>("set"),
      InstanceMethod<&NativeSerialPort::Get>("get"),
      InstanceMethod<&NativeSerialPort::Flush>("flush"),
      InstanceMethod<&NativeSerialPort::Drain>("drain"),
      InstanceMethod<&NativeSerialPort::Close>("close"),
    });
  }

  explicit NativeSerialPort(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeSerialPort>(info) {
    std::string path = stringArg(info[0], "path");
    SerialSettings s = serialSettingsArg(info[1]);
    try {
      port_ = std::make_shared<Port>(path, s);
    } catch (const IoError& e) {
      // The same error as a failed request: a DeviceError subclass carrying the path and EINVAL.
      throw Napi::Error(info.Env(), JsBridge::errorFor(info.Env(), info[0], JsBridge::failure(e)));
    }
    bridge_ = std::make_unique<JsBridge>(info.Env(), info[0], [this] { Ref(); }, [this] { Unref(); });
  }

  ~NativeSerialPort() override {
    if (port_) {
      port_->port.interrupt();
      port_->reader.stop();
      port_->writer.stop();
    }
    port_.reset();
    bridge_.reset();
  }

 private:
  Napi::Value onWriter(Napi::Env env, std::function<Outcome(SerialPort&)> fn) {
    auto p = port_;
    return bridge_->submit(env, p->writer, [p, fn = std::move(fn)] { return fn(p->port); });
  }

  Napi::Value Open(const Napi::CallbackInfo& info) {
    return onWriter(info.Env(), [](SerialPort& s) { s.open(deadlineIn(5000)); return Outcome{}; });
  }
  Napi::Value Read(const Napi::CallbackInfo& info) {
    // A read returns what has arrived, never more than the kernel's buffer: a larger length only
    // allocates (and a double beyond size_t's range would not even convert).
    const double len = numberArg(info[0], "length");
    size_t n = len >= 1 ? static_cast<size_t>(std::min(len, double(kMaxRead))) : 1;
    auto p = port_;
    return bridge_->submit(info.Env(), p->reader, [p, n] {
      std::string buf(n, '\0');
      bool end;
      size_t got = p->port.read(reinterpret_cast<uint8_t*>(&buf[0]), buf.size(), deadlineIn(kStreamReadMs), &end);
      buf.resize(got);
      return Outcome::text(std::move(buf), 0);
    });
  }
  Napi::Value Write(const Napi::CallbackInfo& info) {
    std::string data = bytesArg(info[0], "buffer");
    return onWriter(info.Env(), [data = std::move(data)](SerialPort& s) {
      // Proportional to the bytes at the port's own rate, with room for flow control stalls.
      long ms = 5000 + static_cast<long>(data.size() * 20000.0 / (s.baudRate() > 0 ? s.baudRate() : 9600));
      s.write(reinterpret_cast<const uint8_t*>(data.data()), data.size(), deadlineIn(ms));
      return Outcome{};
    });
  }
  Napi::Value Update(const Napi::CallbackInfo& info) {
    int baud = static_cast<int>(numberArg(info[0], "baudRate"));
    return onWriter(info.Env(), [baud](SerialPort& s) { s.setBaudRate(baud); return Outcome{}; });
  }
  Napi::Value Set(const Napi::CallbackInfo& info) {
    bool dtr = info[0].ToBoolean(), rts = info[1].ToBoolean(), brk = info[2].ToBoolean();
    return onWriter(info.Env(), [dtr, rts, brk](SerialPort& s) { s.setLines(dtr, rts, brk); return Outcome{}; });
  }
  Napi::Value Get(const Napi::CallbackInfo& info) {
    return onWriter(info.Env(), [](SerialPort& s) {
      ModemStatus m = s.modemStatus();
      return Outcome::num((m.cts ? 1 : 0) | (m.dsr ? 2 : 0) | (m.dcd ? 4 : 0));
    });
  }
  Napi::Value Flush(const Napi::CallbackInfo& info) {
    return onWriter(info.Env(), [](SerialPort& s) { s.clear(deadlineIn(1000)); return Outcome{}; });
  }
  Napi::Value Drain(const Napi::CallbackInfo& info) {
    return onWriter(info.Env(), [](SerialPort& s) { s.drain(); return Outcome{}; });
  }
  // A port object is not reopened (the binding's open() makes a new one), so its two threads end
  // here rather than wait for GC; later calls reject with "closed".
  Napi::Value Close(const Napi::CallbackInfo& info) {
    auto p = port_;
    p->port.interrupt();  // a pending read rejects now; the stream treats it as canceled
    Napi::Value done = bridge_->submit(info.Env(), p->writer, [p] {
      // Close the fd only once the reader thread has let go of it.
      std::promise<void> readerIdle;
      if (p->reader.post([&readerIdle] { readerIdle.set_value(); })) readerIdle.get_future().wait();
      p->reader.finish();
      p->port.close();
      return Outcome{};
    });
    p->writer.finish();
    return done;
  }

  std::unique_ptr<JsBridge> bridge_;
  std::shared_ptr<Port> port_;
};

}  // namespace

void InitSerial(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeSerialPort", NativeSerialPort::Define(env));
}

}  // namespace ld::io::binding
