// Module init of the Windows addon: the rooms shared with Linux, then what only Windows has (COM port
// listing, the service control handler). The systemd notification is Linux-only and absent here.
#include <napi.h>

Napi::Object InitRing(Napi::Env env, Napi::Object exports);
Napi::Object InitIo(Napi::Env env, Napi::Object exports);
Napi::Object InitSim(Napi::Env env, Napi::Object exports);

namespace ld::io::binding {
void InitComPorts(Napi::Env env, Napi::Object exports);
void InitService(Napi::Env env, Napi::Object exports);
}  // namespace ld::io::binding

// notify_binding.cc (sd_notify) and fd_read_binding.cc (poll on a socket bun paused) are POSIX-only;
// the io room still names their inits. Without FdReader, large blocks stay on the event loop.
namespace ld::io::binding {
void InitNotify(Napi::Env, Napi::Object) {}
void InitFdRead(Napi::Env, Napi::Object) {}
}  // namespace ld::io::binding

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  InitRing(env, exports);
  InitIo(env, exports);
  InitSim(env, exports);
  ld::io::binding::InitComPorts(env, exports);
  ld::io::binding::InitService(env, exports);
  return exports;
}

NODE_API_MODULE(labdaemon_native, Init)
