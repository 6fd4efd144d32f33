// An open resource: its transport, its read buffer and the message-level reads (termination,
// exact counts, IEEE 488.2 blocks). Methods are called from jobs on the session's own IoThread.
#pragma once
#include <atomic>
#include <memory>
#include <string>

#include "io/io_thread.h"
#include "io/transport.h"

namespace ld::io {

class Session {
 public:
  Session(const std::string& resource, const OpenOptions& opts);
  ~Session();

  const std::string& resource() const { return resource_; }
  const ResourceName& name() const { return name_; }
  IoThread& thread() { return *thread_; }

  // Connects when closed, so a session whose peer went away serves the next request after reconnecting;
  // clears the interface first when a read timed out since (see readFailed).
  void ensureOpen(Deadline d);
  void write(const std::string& data, Deadline d);
  // write() for a query's command: drops input nobody asked for first (bytes buffered from earlier
  // messages, what the socket already holds), so the answer read next is this command's.
  void writeQuery(const std::string& command, Deadline d);
  // Until `term` (stripped) or the interface's END; `term` empty → until END, or the first data that
  // arrives on interfaces without END.
  std::string readUntil(const std::string& term, size_t maxBytes, Deadline d);
  std::string readExact(size_t n, Deadline d);
  // An IEEE 488.2 block (#<n><len><data> or #0<data>…term); returns the data; drops the trailing term.
  std::string readBlock(const std::string& term, size_t maxBytes, Deadline d);
  void clear(Deadline d);
  void lock(Deadline d) { ensureOpen(d); transport_->lock(d); }
  void unlock(Deadline d) { ensureOpen(d); transport_->unlock(d); }
  // The status byte when the device requests service, -1 when not (Transport::pollServiceRequest);
  // refused before any I/O where the interface has no service requests.
  int pollServiceRequest(Deadline d);
  void close();
  // From another thread, when the owner is done with the instrument (close with abort, teardown): wakes a
  // blocked call, and from then on nothing connects or sends (refuseIfInterrupted), so a request caught
  // reconnecting cannot reach the instrument after it was let go.
  void interrupt() {
    interrupted_ = true;
    transport_->interrupt();
  }

 private:
  size_t buffered() const { return len_ - pos_; }
  void fill(Deadline d, size_t want);  // one transport read appended to buf_
  size_t find(const std::string& what, size_t from) const;
  void reset();  // forget everything buffered
  std::string take(size_t n, size_t skip);
  void fail();  // after a broken connection: drop the buffer and close, so the next request reconnects
  void readFailed(const IoError& e);  // a broken connection closes; a timeout gives up the message
  void refuseIfInterrupted() const;  // throws IoError(Connection) once interrupt() was called
  // After an answer that cannot be framed: drop what is buffered (device clear where there is one),
  // so its bytes never become the next answer; throws a Device error.
  [[noreturn]] void abandon(Deadline d, const std::string& why);

  std::string resource_;
  ResourceName name_;
  std::unique_ptr<Transport> transport_;
  // buf_ keeps its size between reads (growing it zero-fills, which would cost every query);
  // the valid bytes are [pos_, len_).
  std::string buf_;
  size_t len_ = 0;
  size_t pos_ = 0;
  size_t endAt_ = std::string::npos;  // buffer index where the interface marked END
  bool lastTakeEnded_ = false;         // the last take() reached that END
  bool clearPending_ = false;          // a read or write timed out: clear the interface before the next request
  std::atomic<bool> interrupted_{false};
  std::unique_ptr<IoThread> thread_;
};

}  // namespace ld::io
