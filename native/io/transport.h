// What a session needs from an interface. Implementations run only on their session's I/O thread,
// except interrupt(), which another thread calls to wake a blocked call early.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "io/io_error.h"
#include "io/resource_name.h"

namespace ld::io {

struct SerialSettings {
  int baudRate = 9600;
  int dataBits = 8;
  int stopBits = 1;          // 1 or 2
  char parity = 'N';         // N, E, O
  bool rtscts = false;
  bool xonxoff = false;
};

struct OpenOptions {
  SerialSettings serial;
  std::string visaLibrary;   // empty: built-in transports
  int termChar = -1;         // VXI-11/GPIB/VISA: end a read on this byte, -1 for none
  std::string usbtmcPath;    // USB: the usbtmc character device TypeScript matched through sysfs
};

class Transport {
 public:
  virtual ~Transport() = default;
  virtual void open(Deadline d) = 0;
  virtual void close() = 0;
  virtual bool isOpen() const = 0;
  // Sends the whole buffer as one message (END/EOI on its last byte where the interface has it).
  virtual void write(const uint8_t* data, size_t n, Deadline d) = 0;
  // Waits until at least one byte arrives, then returns what is there (≤ max). `*end` is set when the
  // interface marked the end of a message (VXI-11 END or term char, GPIB EOI); sockets never do.
  virtual size_t read(uint8_t* buf, size_t max, Deadline d, bool* end) = 0;
  // Device clear where the interface has one; raw sockets reconnect (a late answer goes with the old
  // connection), serial ports drop pending input.
  virtual void clear(Deadline d) = 0;
  // Drops input that already arrived and nobody asked for, without waiting or talking to the device.
  // Only byte streams (sockets, serial) hold any: elsewhere an answer is sent when a read asks for it.
  virtual void discardInput() {}
  virtual void interrupt() {}
  virtual void setTermChar(int) {}
  // Exclusive access among clients of a shared instrument (VXI-11 device_lock, VISA viLock).
  virtual void lock(Deadline) { throw IoError(ErrorKind::Unsupported, "this interface has no locking"); }
  virtual void unlock(Deadline) { throw IoError(ErrorKind::Unsupported, "this interface has no locking"); }
  // Why this interface offers no service requests; empty where pollServiceRequest works (GPIB).
  virtual std::string noServiceRequests() const { return "this interface has no service requests"; }
  // Without waiting: the status byte (read by a serial poll, which clears RQS) when the device requests
  // service, -1 when it does not.
  virtual int pollServiceRequest(Deadline) { throw IoError(ErrorKind::Unsupported, noServiceRequests()); }
};

// Picks the transport for a resource; throws IoError(Unsupported) with what to install when none can.
std::unique_ptr<Transport> makeTransport(const ResourceName& rn, const OpenOptions& opts);

}  // namespace ld::io
