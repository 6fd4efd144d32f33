#include "io/shared_library.h"

#include <dlfcn.h>

namespace ld::io {

SharedLibrary::SharedLibrary(const std::vector<std::string>& candidates) {
  for (const auto& name : candidates) {
    if (name.empty()) continue;
    handle_ = ::dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle_) {
      path_ = name;
      return;
    }
    const char* e = ::dlerror();
    error_ += (error_.empty() ? "" : "; ") + std::string(e ? e : name.c_str());
  }
}

SharedLibrary::~SharedLibrary() {
  // Vendor libraries keep threads and handlers of their own: unloading them at exit is asking for a crash.
}

void* SharedLibrary::symbol(const char* name) const { return handle_ ? ::dlsym(handle_, name) : nullptr; }

}  // namespace ld::io
