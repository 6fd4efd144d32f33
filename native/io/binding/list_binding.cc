// listNativeResources(visaLibrary): what an installed VISA library finds, off the JS thread
// (a VISA find may probe buses for seconds).
#include <napi.h>

#include "io/visa.h"

namespace ld::io::binding {
namespace {

class FindWorker : public Napi::AsyncWorker {
 public:
  FindWorker(Napi::Env env, std::string library)
      : Napi::AsyncWorker(env, "labdaemon.listResources"), deferred_(Napi::Promise::Deferred::New(env)), library_(std::move(library)) {}
  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  void Execute() override { found_ = Visa::find(library_, "?*::INSTR"); }
  void OnOK() override {
    Napi::Array a = Napi::Array::New(Env(), found_.size());
    for (size_t i = 0; i < found_.size(); ++i) a.Set(static_cast<uint32_t>(i), found_[i]);
    deferred_.Resolve(a);
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::string library_;
  std::vector<std::string> found_;
};

Napi::Value ListNativeResources(const Napi::CallbackInfo& info) {
  std::string lib = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  auto* w = new FindWorker(info.Env(), lib);
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
}

}  // namespace

void InitList(Napi::Env env, Napi::Object exports) {
  exports.Set("listNativeResources", Napi::Function::New(env, ListNativeResources));
}

}  // namespace ld::io::binding
