// The Windows service control handler for `serve --windows-service NAME`:
//   runWindowsService(name, onEvent) connects to the Service Control Manager on a thread of its own
//   (StartServiceCtrlDispatcher blocks until the service stops) and calls onEvent("started"), then
//   onEvent("stop") when Windows asks the service to stop or the machine shuts down, or
//   onEvent("failed", message) when the process was not started by the SCM.
//   reportWindowsService(state, exitCode) tells the SCM "running" or "stopped".
#include <napi.h>
#include <windows.h>

#include <mutex>
#include <string>
#include <thread>

namespace ld::io::binding {
namespace {

struct Event {
  std::string kind, detail;
};

std::mutex mu;
std::wstring serviceName;
SERVICE_STATUS_HANDLE statusHandle = nullptr;
SERVICE_STATUS status{};
Napi::ThreadSafeFunction onEvent;
bool running = false;

void emit(const char* kind, std::string detail = {}) {
  auto* e = new Event{kind, std::move(detail)};
  napi_status s = onEvent.NonBlockingCall(e, [](Napi::Env env, Napi::Function fn, Event* ev) {
    fn.Call({Napi::String::New(env, ev->kind), Napi::String::New(env, ev->detail)});
    delete ev;
  });
  if (s != napi_ok) delete e;
}

void setState(DWORD state, DWORD exitCode = 0) {
  std::lock_guard<std::mutex> lock(mu);
  if (!statusHandle) return;
  status.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
  status.dwCurrentState = state;
  status.dwControlsAccepted = state == SERVICE_RUNNING ? SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN : 0;
  status.dwWin32ExitCode = exitCode == 0 ? NO_ERROR : ERROR_SERVICE_SPECIFIC_ERROR;
  status.dwServiceSpecificExitCode = exitCode;
  // A pending state promises progress within dwWaitHint: the server's start and graceful stop fit in 30 s.
  status.dwWaitHint = state == SERVICE_START_PENDING || state == SERVICE_STOP_PENDING ? 30000 : 0;
  status.dwCheckPoint = state == SERVICE_START_PENDING || state == SERVICE_STOP_PENDING ? status.dwCheckPoint + 1 : 0;
  SetServiceStatus(statusHandle, &status);
}

DWORD WINAPI handler(DWORD control, DWORD, void*, void*) {
  switch (control) {
    case SERVICE_CONTROL_STOP:
    case SERVICE_CONTROL_SHUTDOWN:
      setState(SERVICE_STOP_PENDING);
      emit("stop");
      return NO_ERROR;
    case SERVICE_CONTROL_INTERROGATE:
      return NO_ERROR;
    default:
      return ERROR_CALL_NOT_IMPLEMENTED;
  }
}

// Runs on the dispatcher's thread; returning leaves the handler registered until the service stops.
void WINAPI serviceMain(DWORD, LPWSTR*) {
  SERVICE_STATUS_HANDLE h = RegisterServiceCtrlHandlerExW(serviceName.c_str(), handler, nullptr);
  if (!h) {
    emit("failed", "RegisterServiceCtrlHandlerEx failed with Win32 error " + std::to_string(GetLastError()));
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    statusHandle = h;
  }
  setState(SERVICE_START_PENDING);
  emit("started");
}

Napi::Value RunWindowsService(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString() || !info[1].IsFunction())
    throw Napi::TypeError::New(env, "runWindowsService(name: string, onEvent: (kind, detail) => void)");
  if (running) throw Napi::Error::New(env, "runWindowsService: already running");
  running = true;
  std::u16string name = info[0].As<Napi::String>().Utf16Value();
  serviceName.assign(name.begin(), name.end());
  onEvent = Napi::ThreadSafeFunction::New(env, info[1].As<Napi::Function>(), "labdaemon.windowsService", 0, 1);
  onEvent.Unref(env);  // the server keeps the process alive, not the dispatcher
  std::thread([] {
    SERVICE_TABLE_ENTRYW table[] = {{const_cast<LPWSTR>(serviceName.c_str()), serviceMain}, {nullptr, nullptr}};
    if (!StartServiceCtrlDispatcherW(table)) {
      DWORD err = GetLastError();
      emit("failed", err == ERROR_FAILED_SERVICE_CONTROLLER_CONNECT
                         ? "not started by the Service Control Manager (start it with `sc.exe start`, or run serve "
                           "without --windows-service)"
                         : "StartServiceCtrlDispatcher failed with Win32 error " + std::to_string(err));
    }
    onEvent.Release();
  }).detach();
  return env.Undefined();
}

Napi::Value ReportWindowsService(const Napi::CallbackInfo& info) {
  std::string state = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  DWORD exitCode = info[1].IsNumber() ? info[1].As<Napi::Number>().Uint32Value() : 0;
  if (state == "running") setState(SERVICE_RUNNING);
  else if (state == "stopped") setState(SERVICE_STOPPED, exitCode);
  else throw Napi::TypeError::New(info.Env(), "reportWindowsService(\"running\" | \"stopped\", exitCode?)");
  return info.Env().Undefined();
}

}  // namespace

void InitService(Napi::Env env, Napi::Object exports) {
  exports.Set("runWindowsService", Napi::Function::New(env, RunWindowsService));
  exports.Set("reportWindowsService", Napi::Function::New(env, ReportWindowsService));
}

}  // namespace ld::io::binding
