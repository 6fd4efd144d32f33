// GPIB[board]::pad[::sad]::INSTR through linux-gpib's libgpib.so (or LABDAEMON_GPIB_LIBRARY), loaded at run time.
#pragma once
#include "io/transport.h"

namespace ld::io {

class Gpib : public Transport {
 public:
  Gpib(int board, int pad, int sad, std::string resource);
  ~Gpib() override { close(); }
  void open(Deadline d) override;
  void close() override;
  bool isOpen() const override { return ud_ >= 0; }
  void write(const uint8_t* data, size_t n, Deadline d) override;
  size_t read(uint8_t* buf, size_t max, Deadline d, bool* end) override;
  void clear(Deadline d) override;
  void setTermChar(int c) override { termChar_ = c; }
  std::string noServiceRequests() const override { return {}; }
  // ibwait for RQS without waiting (linux-gpib's autopolling notices the request), then ibrsp.
  int pollServiceRequest(Deadline d) override;

  // Throws IoError(Unsupported) saying what to install when libgpib.so cannot be loaded.
  static void requireLibrary();

 private:
  void setTimeout(Deadline d);
  [[noreturn]] void fail(const char* op, int sta);
  int board_, pad_, sad_;
  std::string resource_;
  int ud_ = -1;
  int termChar_ = -1;
};

}  // namespace ld::io
