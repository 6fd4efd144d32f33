// The native core's version, reported to JS so a stale build is noticed.
namespace labdaemon { const char* native_version() { return "0.1.0"; } }
