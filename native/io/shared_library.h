// dlopen for optional vendor libraries (linux-gpib, VISA): loaded on first use, never required to build.
#pragma once
#include <string>
#include <vector>

namespace ld::io {

class SharedLibrary {
 public:
  // Tries each name in turn; `error()` then lists what was tried and why each failed.
  explicit SharedLibrary(const std::vector<std::string>& candidates);
  ~SharedLibrary();
  bool loaded() const { return handle_ != nullptr; }
  const std::string& path() const { return path_; }
  const std::string& error() const { return error_; }
  // nullptr when absent; the caller names the symbol in its own error.
  void* symbol(const char* name) const;

 private:
  void* handle_ = nullptr;
  std::string path_, error_;
};

}  // namespace ld::io
