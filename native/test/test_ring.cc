// Single-thread behaviour of SampleRing and AnyRing: capacity rules, wrap-around, both overflow
// policies and the counters' arithmetic.
#include <cstdint>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "check.h"
#include "ring/any_ring.h"
#include "ring/sample_ring.h"

using ld::Overflow;
using ld::SampleRing;

namespace {
std::vector<int32_t> iota(int32_t from, size_t n) {
  std::vector<int32_t> v(n);
  std::iota(v.begin(), v.end(), from);
  return v;
}
bool throwsInvalid(size_t cap) {
  try {
    SampleRing<float> r(cap, Overflow::DropNewest);
  } catch (const std::invalid_argument&) {
    return true;
  }
  return false;
}
}  // namespace

TEST("ring: capacity must be a power of two >= 2") {
  CHECK(throwsInvalid(0));
  CHECK(throwsInvalid(1));
  CHECK(throwsInvalid(3));
  CHECK(throwsInvalid(1000));
  CHECK(!throwsInvalid(2));
  CHECK(!throwsInvalid(1024));
}

TEST("ring: producer and consumer state sit on separate cache blocks") {
  // The whole point of the layout: if this fails the ring still works but the two threads share lines.
  CHECK(alignof(SampleRing<float>) >= 128);
  CHECK(sizeof(SampleRing<float>) >= 3 * 128);
}

TEST("ring: pop on an empty ring returns 0 and leaves counters at 0") {
  SampleRing<double> r(8, Overflow::DropNewest);
  double out[4];
  CHECK(r.pop(out, 4) == 0);
  auto c = r.counters();
  CHECK(c.written == 0 && c.read == 0 && c.dropped == 0 && c.available == 0 && c.capacity == 8);
}

TEST("ring: samples come out in order across the wrap-around") {
  SampleRing<int32_t> r(8, Overflow::DropNewest);
  std::vector<int32_t> out(8);
  int32_t next = 0, expect = 0;
  for (int round = 0; round < 50; ++round) {
    auto in = iota(next, 5);
    CHECK(r.push(in.data(), 5) == 5);
    next += 5;
    size_t k = r.pop(out.data(), 3 + round % 3);
    for (size_t i = 0; i < k; ++i) CHECK(out[i] == expect++);
    k = r.pop(out.data(), 8);
    for (size_t i = 0; i < k; ++i) CHECK(out[i] == expect++);
  }
  CHECK(expect == next);
}

TEST("ring: drop-newest stores what fits and counts the rest") {
  SampleRing<int16_t> r(8, Overflow::DropNewest);
  std::vector<int16_t> in(11);
  std::iota(in.begin(), in.end(), int16_t(0));
  CHECK(r.push(in.data(), 11) == 8);
  CHECK(r.push(in.data(), 2) == 0);
  auto c = r.counters();
  CHECK(c.written == 13 && c.dropped == 5 && c.available == 8 && c.read == 0);
  std::vector<int16_t> out(16);
  CHECK(r.pop(out.data(), 16) == 8);
  for (int i = 0; i < 8; ++i) CHECK(out[i] == i);
  c = r.counters();
  CHECK(c.written == c.read + c.dropped + c.available);
  CHECK(c.highWater == 8);
}

TEST("ring: tryPush stores what fits without counting a drop") {
  SampleRing<float> r(4, Overflow::DropNewest);
  float in[6] = {1, 2, 3, 4, 5, 6};
  CHECK(r.tryPush(in, 6) == 4);
  auto c = r.counters();
  CHECK(c.written == 4 && c.dropped == 0);
}

TEST("ring: overwrite-oldest keeps the newest capacity samples and counts the overwritten") {
  SampleRing<int32_t> r(8, Overflow::OverwriteOldest);
  auto in = iota(0, 13);
  CHECK(r.push(in.data(), 13) == 13);
  auto c = r.counters();
  CHECK(c.written == 13 && c.available == 8 && c.dropped == 5);
  std::vector<int32_t> out(16);
  CHECK(r.pop(out.data(), 16) == 8);
  for (int i = 0; i < 8; ++i) CHECK(out[i] == 5 + i);
  c = r.counters();
  CHECK(c.read == 8 && c.dropped == 5 && c.available == 0);
  CHECK(c.highWater == 8);
}

TEST("ring: overwrite-oldest with a batch larger than the ring keeps its tail") {
  SampleRing<int32_t> r(4, Overflow::OverwriteOldest);
  auto in = iota(100, 10);
  r.push(in.data(), 10);
  int32_t out[4];
  CHECK(r.pop(out, 4) == 4);
  CHECK(out[0] == 106 && out[3] == 109);
  auto c = r.counters();
  CHECK(c.written == 10 && c.read == 4 && c.dropped == 6);
}

TEST("ring: overwrite-oldest behaves like a plain FIFO while it does not overflow") {
  SampleRing<double> r(16, Overflow::OverwriteOldest);
  double in[10], out[10];
  for (int i = 0; i < 10; ++i) in[i] = i * 0.5;
  r.push(in, 10);
  CHECK(r.pop(out, 3) == 3);
  CHECK(r.pop(out + 3, 10) == 7);
  for (int i = 0; i < 10; ++i) CHECK(out[i] == i * 0.5);
  CHECK(r.counters().dropped == 0);
}

TEST("anyring: parses dtype and overflow names and moves raw elements") {
  ld::DType t;
  ld::Overflow o;
  CHECK(ld::parseDType("float32", &t) && t == ld::DType::Float32);
  CHECK(ld::parseDType("int16", &t) && t == ld::DType::Int16);
  CHECK(!ld::parseDType("uint8", &t));
  CHECK(ld::parseOverflow("overwrite-oldest", &o) && o == Overflow::OverwriteOldest);
  CHECK(!ld::parseOverflow("block", &o));
  auto ring = ld::AnyRing::create(ld::DType::Int32, 16, Overflow::DropNewest);
  CHECK(ring->elementSize() == 4 && ring->capacity() == 16);
  auto in = iota(7, 3);
  CHECK(ring->pushRaw(in.data(), 3) == 3);
  int32_t out[3];
  CHECK(ring->popRaw(out, 3) == 3 && out[2] == 9);
  bool threw = false;
  try {
    ring->typed<float>();
  } catch (const std::logic_error&) {
    threw = true;
  }
  CHECK(threw);
}

TEST("anyring: only one producer can claim a ring") {
  auto ring = ld::AnyRing::create(ld::DType::Float64, 8, Overflow::DropNewest);
  CHECK(ring->claimProducer());
  CHECK(!ring->claimProducer());
  ring->releaseProducer();
  CHECK(ring->claimProducer());
}
