// Runs the TESTs registered by the other files in native/test; prints one line per test.
//   native_tests              every test
//   native_tests SUBSTRING    the tests whose name contains SUBSTRING
//   native_tests --list       the test names, one a line, running nothing
//   native_tests --exact NAME the one test called NAME (exit 2 when there is none)
#include <cstring>
#include "check.h"

int main(int argc, char** argv) {
  const bool list = argc > 1 && std::strcmp(argv[1], "--list") == 0;
  const bool exact = argc > 2 && std::strcmp(argv[1], "--exact") == 0;
  const char* filter = exact ? argv[2] : (argc > 1 && !list ? argv[1] : nullptr);
  int failed = 0, passed = 0;
  for (auto& c : ldtest::registry()) {
    if (list) {
      std::printf("%s\n", c.name);
      continue;
    }
    if (filter && (exact ? std::strcmp(c.name, filter) != 0 : std::strstr(c.name, filter) == nullptr)) continue;
    int before = ldtest::failures();
    c.fn();
    bool ok = ldtest::failures() == before;
    std::printf("%s %s\n", ok ? "ok" : "FAIL", c.name);
    std::fflush(stdout);
    ok ? ++passed : ++failed;
  }
  if (list) return 0;
  if (exact && passed + failed == 0) {
    std::fprintf(stderr, "no test named \"%s\"\n", filter);
    return 2;
  }
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
