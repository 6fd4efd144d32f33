// The Windows SharedLibrary (declared in shared_library.h): LoadLibrary for vendor VISA (visa64.dll).
#ifdef _WIN32
#include <windows.h>

#include "io/shared_library.h"

namespace ld::io {

SharedLibrary::SharedLibrary(const std::vector<std::string>& candidates) {
  for (const auto& name : candidates) {
    if (name.empty()) continue;
    HMODULE h = LoadLibraryA(name.c_str());
    if (h) {
      handle_ = reinterpret_cast<void*>(h);
      path_ = name;
      return;
    }
    DWORD err = GetLastError();
    error_ += (error_.empty() ? "" : "; ") + name + ": " +
              (err == ERROR_MOD_NOT_FOUND ? std::string("not found") : "LoadLibrary error " + std::to_string(err));
  }
}

SharedLibrary::~SharedLibrary() {
  // Vendor libraries keep threads of their own: unloading them at exit is asking for a crash.
}

void* SharedLibrary::symbol(const char* name) const {
  return handle_ ? reinterpret_cast<void*>(GetProcAddress(static_cast<HMODULE>(handle_), name)) : nullptr;
}

}  // namespace ld::io
#endif  // _WIN32
