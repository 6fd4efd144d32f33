#include "io/session.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>

namespace ld::io {

Session::Session(const std::string& resource, const OpenOptions& opts)
    : resource_(resource), name_(parseResourceName(resource)) {
  transport_ = makeTransport(name_, opts);
  if (opts.termChar >= 0) transport_->setTermChar(opts.termChar);
  thread_ = std::make_unique<IoThread>();
}

Session::~Session() {
  // Runs on the JS thread when the session is garbage-collected: interrupted first, the transport's close
  // below makes no round trip to the instrument (VXI-11 destroy_link) and a job in progress ends now.
  transport_->interrupt();
  thread_->stop();
  transport_->close();
}

namespace {
constexpr size_t kChunk = 65536;
constexpr size_t kKeepAtMost = 1u << 20;  // a buffer grown for one huge answer is given back when it empties
}  // namespace

void Session::reset() {
  len_ = 0;
  pos_ = 0;
  endAt_ = std::string::npos;
  if (buf_.size() > kKeepAtMost) std::string().swap(buf_);
}

size_t Session::find(const std::string& what, size_t from) const {
  return std::string_view(buf_.data(), len_).find(what, from);
}

void Session::refuseIfInterrupted() const {
  if (interrupted_) throw IoError(ErrorKind::Connection, "closed while this request was in progress", ECANCELED, "ECANCELED");
}

void Session::ensureOpen(Deadline d) {
  refuseIfInterrupted();
  if (!transport_->isOpen()) {
    reset();
    transport_->open(d);
  }
  if (clearPending_) {
    refuseIfInterrupted();
    // Left from a read that timed out. Done here, not at the timeout: a device clear sent to the
    // instrument that just stopped answering could hold the timed-out caller another RPC round;
    // here it counts against this request's deadline.
    clearPending_ = false;
    try {
      transport_->clear(d);
    } catch (const IoError& e) {
      if (e.kind == ErrorKind::Connection || e.kind == ErrorKind::Timeout) {
        clearPending_ = true;
        if (e.kind == ErrorKind::Connection) fail();
        throw;
      }
      // An instrument that refuses device clear (VXI-11 error 8) has nothing more to give up.
    }
  }
}

int Session::pollServiceRequest(Deadline d) {
  const std::string no = transport_->noServiceRequests();
  if (!no.empty()) throw IoError(ErrorKind::Unsupported, no);
  ensureOpen(d);
  return transport_->pollServiceRequest(d);
}

void Session::fail() {
  reset();
  transport_->close();
}

// After a timeout the rest of the message may still come ("PART" before the deadline, "IAL1\n" after
// it): joined to the next answer it would put every later answer one behind. So the part that
// arrived is dropped now, and the interface is cleared before the next request (ensureOpen).
void Session::readFailed(const IoError& e) {
  if (e.kind == ErrorKind::Connection) {
    fail();
  } else if (e.kind == ErrorKind::Timeout) {
    reset();
    clearPending_ = true;
  }
}

void Session::writeQuery(const std::string& command, Deadline d) {
  ensureOpen(d);
  reset();
  transport_->discardInput();
  write(command, d);
}

// A write cut short by its deadline leaves part of a command in the instrument's input (or, for VXI-11,
// a device_write the device may still be busy with): the next request clears the interface first, as
// after a timed-out read.
void Session::write(const std::string& data, Deadline d) {
  ensureOpen(d);
  // ensureOpen may have waited for a connection while the owner let go (a reconnect that completes after
  // close with abort): the command must not go out on it.
  refuseIfInterrupted();
  try {
    transport_->write(reinterpret_cast<const uint8_t*>(data.data()), data.size(), d);
  } catch (const IoError& e) {
    if (e.kind == ErrorKind::Connection) fail();
    else if (e.kind == ErrorKind::Timeout) clearPending_ = true;
    throw;
  }
}

void Session::fill(Deadline d, size_t want) {
  if (pos_ > 0 && pos_ >= len_ / 2) {
    std::memmove(&buf_[0], buf_.data() + pos_, len_ - pos_);
    if (endAt_ != std::string::npos) endAt_ -= pos_;
    len_ -= pos_;
    pos_ = 0;
  }
  size_t chunk = want > kChunk ? want : kChunk;
  if (buf_.size() < len_ + chunk) buf_.resize(len_ + chunk);
  bool end = false;
  size_t n = 0;
  try {
    n = transport_->read(reinterpret_cast<uint8_t*>(&buf_[len_]), buf_.size() - len_, d, &end);
  } catch (const IoError& e) {
    readFailed(e);
    throw;
  }
  len_ += n;
  if (end) endAt_ = len_;
}

std::string Session::take(size_t n, size_t skip) {
  std::string out(buf_.data() + pos_, n);
  pos_ += n + skip;
  lastTakeEnded_ = endAt_ != std::string::npos && pos_ >= endAt_;
  if (lastTakeEnded_) endAt_ = std::string::npos;
  if (pos_ >= len_) reset();  // empty: also gives back a buffer grown for one huge answer
  return out;
}

// Whether the interface marks a message's end (VXI-11 END, GPIB EOI, USBTMC EOM); a raw socket or a
// serial line does not.
static bool marksEnd(const ResourceName& name) { return !name.isSocket() && name.type != InterfaceType::Asrl; }

std::string Session::readUntil(const std::string& term, size_t maxBytes, Deadline d) {
  ensureOpen(d);
  size_t searchFrom = pos_;
  for (;;) {
    if (!term.empty()) {
      size_t at = find(term, searchFrom);
      if (at != std::string::npos && (endAt_ == std::string::npos || at < endAt_))
        return take(at - pos_, term.size());
      size_t keep = term.size() - 1;
      searchFrom = len_ > pos_ + keep ? len_ - keep : pos_;
    }
    if (endAt_ != std::string::npos) return take(endAt_ - pos_, 0);
    // Without a termination a message ends at the interface's END; a raw socket or serial line has none.
    if (term.empty() && buffered() > 0 && !marksEnd(name_)) return take(buffered(), 0);
    if (buffered() >= maxBytes) abandon(d, "no read termination within " + std::to_string(maxBytes) + " bytes");
    fill(d, 0);
  }
}

std::string Session::readExact(size_t n, Deadline d) {
  ensureOpen(d);
  if (n - std::min(n, buffered()) < 65536) {
    while (buffered() < n) fill(d, n - buffered());
    return take(n, 0);
  }
  // A large payload (a waveform block) is read straight into its final string: no staging copy.
  std::string out(n, '\0');
  size_t have = buffered();
  std::memcpy(&out[0], buf_.data() + pos_, have);
  bool hitEnd = endAt_ != std::string::npos;
  reset();
  while (have < n) {
    bool end = false;
    try {
      have += transport_->read(reinterpret_cast<uint8_t*>(&out[have]), n - have, d, &end);
    } catch (const IoError& e) {
      readFailed(e);
      throw;
    }
    hitEnd = end;
  }
  lastTakeEnded_ = hitEnd;
  return out;
}

std::string Session::readBlock(const std::string& term, size_t maxBytes, Deadline d) {
  ensureOpen(d);
  // Instruments may echo a header before the block ("CURV #41234…"): skip to the '#', but no further
  // than an unterminated answer may run (a peer streaming anything else would otherwise hold the
  // session until the deadline, however much it sends).
  // A whole message before any '#' (an error string, a number) is the answer, and not a block: it fails
  // at once instead of at the deadline.
  size_t skipped = 0;
  for (;;) {
    size_t hash = find("#", pos_);
    size_t end = term.empty() ? std::string::npos : find(term, pos_);
    if (hash != std::string::npos && (end == std::string::npos || hash < end)) { pos_ = hash; break; }
    // Taken, so that it is not the next read's answer.
    if (end != std::string::npos || endAt_ != std::string::npos) {
      bool byEnd = endAt_ != std::string::npos && (end == std::string::npos || endAt_ <= end);
      std::string text = byEnd ? take(endAt_ - pos_, 0) : take(end - pos_, term.size());
      if (text.size() > 60) text = text.substr(0, 60) + "...";
      throw IoError(ErrorKind::Device, "expected an IEEE 488.2 block, got the answer '" + text + "'");
    }
    size_t keep = std::max(pos_, len_ - std::min(len_, term.empty() ? 0 : term.size() - 1));  // a split termination
    skipped += keep - pos_;
    if (skipped >= maxBytes) abandon(d, "no IEEE 488.2 block header within " + std::to_string(maxBytes) + " bytes");
    pos_ = keep;
    fill(d, 0);
  }
  while (buffered() < 2) fill(d, 0);
  char digits = buf_[pos_ + 1];
  if (digits < '0' || digits > '9') abandon(d, "malformed IEEE 488.2 block header: '#' not followed by a digit");
  int nd = digits - '0';
  if (nd == 0) {
    pos_ += 2;
    return readUntil(term, maxBytes, d);  // indefinite length: the block ends with the message
  }
  while (buffered() < static_cast<size_t>(2 + nd)) fill(d, 0);
  size_t len = 0;
  for (int i = 0; i < nd; ++i) {
    char c = buf_[pos_ + 2 + i];
    if (c < '0' || c > '9') abandon(d, "malformed IEEE 488.2 block header: length is not decimal");
    len = len * 10 + static_cast<size_t>(c - '0');
  }
  if (len > maxBytes) abandon(d, "IEEE 488.2 block of " + std::to_string(len) + " bytes exceeds the limit");
  pos_ += 2 + nd;
  std::string data = readExact(len, d);
  // The terminator after the block (or, without one, the rest up to END) belongs to this message; leave
  // nothing behind for the next read.
  if ((!term.empty() || marksEnd(name_)) && !lastTakeEnded_) readUntil(term, maxBytes, d);
  return data;
}

void Session::clear(Deadline d) {
  reset();
  if (!transport_->isOpen()) return;
  try {
    transport_->clear(d);
  } catch (const IoError& e) {
    if (e.kind == ErrorKind::Connection) fail();
    throw;
  }
  clearPending_ = false;
}

void Session::abandon(Deadline d, const std::string& why) {
  try {
    clear(d);  // what is left is the middle of a message nobody can frame any more
  } catch (const IoError&) {
    // The buffer is already gone (and a broken link closed); the framing error is the one to report.
  }
  throw IoError(ErrorKind::Device, why);
}

void Session::close() {
  reset();
  clearPending_ = false;
  transport_->close();
}

}  // namespace ld::io
