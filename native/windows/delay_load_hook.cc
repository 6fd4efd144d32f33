// The addon imports N-API from "node.exe" through a delay-load import library (addon.cmake); this hook
// answers that name with the executable that loaded the addon, so bun.exe, labdaemon.exe or node.exe
// provide the functions whatever their file is called.
#include <windows.h>
#include <delayimp.h>

#include <cstring>

namespace {

FARPROC WINAPI hostForNode(unsigned event, PDelayLoadInfo info) {
  if (event != dliNotePreLoadLibrary) return nullptr;
  if (_stricmp(info->szDll, "node.exe") != 0) return nullptr;
  return reinterpret_cast<FARPROC>(GetModuleHandleA(nullptr));
}

}  // namespace

// mingw-w64's delayimp.h declares it (C linkage, not const); the delay-load helper reads it.
PfnDliHook __pfnDliNotifyHook2 = hostForNode;
