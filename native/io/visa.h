// Any resource through a vendor VISA library (NI, Keysight, R&S …) loaded at run time: named by the
// caller or LABDAEMON_VISA_LIBRARY, else the usual sonames. The built-in transports need none of it.
#pragma once
#include <string>
#include <vector>

#include "io/transport.h"

namespace ld::io {

class Visa : public Transport {
 public:
  Visa(std::string library, std::string resource);
  ~Visa() override { close(); }
  void open(Deadline d) override;
  void close() override;
  bool isOpen() const override { return vi_ != 0; }
  void write(const uint8_t* data, size_t n, Deadline d) override;
  size_t read(uint8_t* buf, size_t max, Deadline d, bool* end) override;
  void clear(Deadline d) override;
  void setTermChar(int c) override { termChar_ = c; }
  void lock(Deadline d) override;
  void unlock(Deadline d) override;
  std::string noServiceRequests() const override {
    return "service requests through a vendor VISA library are not supported (viEnableEvent is not used)";
  }

  // Resources the library finds for `expr` (e.g. "?*::INSTR"); empty when no library loads.
  static std::vector<std::string> find(const std::string& library, const std::string& expr);
  // Whether a library loads (from `library`, the environment or the default names).
  static bool available(const std::string& library);

 private:
  void setTimeout(Deadline d);
  [[noreturn]] void fail(const char* op, int status);
  std::string library_, resource_;
  unsigned int vi_ = 0;
  int termChar_ = -1;
};

}  // namespace ld::io
