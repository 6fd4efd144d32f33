// A minimal test registry for the plain C++ cores: TEST(name) { CHECK(cond); }.
#pragma once
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace ldtest {
struct Case { const char* name; std::function<void()> fn; };
inline std::vector<Case>& registry() { static std::vector<Case> r; return r; }
inline int& failures() { static int f = 0; return f; }
struct Register { Register(const char* n, std::function<void()> f) { registry().push_back({n, std::move(f)}); } };
}  // namespace ldtest

#define LD_CAT2(a, b) a##b
#define LD_CAT(a, b) LD_CAT2(a, b)
#define TEST(name) \
  static void LD_CAT(test_, __LINE__)(); \
  static ldtest::Register LD_CAT(reg_, __LINE__)(name, LD_CAT(test_, __LINE__)); \
  static void LD_CAT(test_, __LINE__)()
#define CHECK(cond) do { if (!(cond)) { \
  std::fprintf(stderr, "  CHECK failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
  ++ldtest::failures(); return; } } while (0)
