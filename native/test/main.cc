// Runs every TEST registered by the other files in native/test; prints one line per test.
#include <cstring>
#include "check.h"

int main(int argc, char** argv) {
  int failed = 0, passed = 0;
  for (auto& c : ldtest::registry()) {
    if (argc > 1 && std::strstr(c.name, argv[1]) == nullptr) continue;
    int before = ldtest::failures();
    c.fn();
    bool ok = ldtest::failures() == before;
    std::printf("%s %s\n", ok ? "ok" : "FAIL", c.name);
    ok ? ++passed : ++failed;
  }
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
