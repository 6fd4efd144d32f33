#include "windows/com_ports.h"

#include <windows.h>

#include <algorithm>
#include <cstdlib>

namespace ld::io {

std::vector<std::string> listComPorts() {
  std::vector<std::string> out;
  HKEY key;
  if (RegOpenKeyExA(HKEY_LOCAL_MACHINE, "HARDWARE\\DEVICEMAP\\SERIALCOMM", 0, KEY_READ, &key) != ERROR_SUCCESS)
    return out;
  // Each value maps a driver's device name (\Device\Serial0) to the port name users know (COM1).
  for (DWORD i = 0;; ++i) {
    char name[256], data[256];
    DWORD nameLen = sizeof name, dataLen = sizeof data - 1, type = 0;
    LONG r = RegEnumValueA(key, i, name, &nameLen, nullptr, &type, reinterpret_cast<BYTE*>(data), &dataLen);
    if (r == ERROR_NO_MORE_ITEMS) break;
    if (r != ERROR_SUCCESS || type != REG_SZ) continue;
    data[dataLen] = '\0';
    std::string port(data);
    if (!port.empty() && port.back() == '\0') port.pop_back();
    if (!port.empty()) out.push_back(port);
  }
  RegCloseKey(key);
  auto number = [](const std::string& p) { return p.size() > 3 ? std::atoi(p.c_str() + 3) : 0; };
  std::sort(out.begin(), out.end(), [&](const std::string& a, const std::string& b) {
    return number(a) != number(b) ? number(a) < number(b) : a < b;
  });
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace ld::io
