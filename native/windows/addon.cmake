# The Windows addon (included from ../CMakeLists.txt when WIN32): the same cores and bindings minus the
# POSIX-only transports, with Win32 COM ports, VISA through LoadLibrary and the service control handler.
# TCP instruments need no native code here: their sockets run on bun's event loop on every platform.
# Cross-built on Linux with mingw-w64 (windows/mingw-w64.cmake) by tools/windowsBuild.ts.

# POSIX-only: termios, poll/eventfd, BSD sockets, linux-gpib, the usbtmc driver, sd_notify, dlopen.
set(LD_POSIX_ONLY "/(serial_port|serial_custom_baud|fd_wait|tcp_socket|vxi11|onc_rpc|usbtmc|gpib|sd_notify|shared_library|transports|notify_binding|fd_read|fd_read_binding)\\.cc$")
file(GLOB LD_WIN_CORE CONFIGURE_DEPENDS ring/*.cc io/*.cc sim/*.cc)
file(GLOB LD_WIN_BINDING CONFIGURE_DEPENDS ring/binding/*.cc io/binding/*.cc sim/binding/*.cc)
list(FILTER LD_WIN_CORE EXCLUDE REGEX "${LD_POSIX_ONLY}")
list(FILTER LD_WIN_BINDING EXCLUDE REGEX "${LD_POSIX_ONLY}")
list(APPEND LD_WIN_CORE windows/transports_win.cc windows/com_ports.cc)

add_library(ld_core STATIC ${LD_WIN_CORE})
target_include_directories(ld_core PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_compile_definitions(ld_core PUBLIC WIN32_LEAN_AND_MEAN NOMINMAX _WIN32_WINNT=0x0A00)
target_link_libraries(ld_core PUBLIC Threads::Threads)

# The addon binds to whichever executable hosts it (bun.exe, labdaemon.exe, node.exe): N-API comes from a
# delay-load import library naming node.exe, and delay_load_hook.cc answers that name with the host.
set(LD_NODE_DEF ${CMAKE_JS_INC_DIR}/../def/node_api.def)
set(LD_NODE_LIB ${CMAKE_CURRENT_BINARY_DIR}/libnode_delay.a)
add_custom_command(OUTPUT ${LD_NODE_LIB}
  COMMAND ${CMAKE_DLLTOOL} -d ${LD_NODE_DEF} -y ${LD_NODE_LIB} -D node.exe
  DEPENDS ${LD_NODE_DEF} COMMENT "delay-load import library for node.exe")
add_custom_target(ld_node_lib DEPENDS ${LD_NODE_LIB})

add_library(labdaemon_native SHARED windows/addon_win.cc windows/delay_load_hook.cc windows/service_binding.cc
  windows/com_binding.cc ${LD_WIN_BINDING})
add_dependencies(labdaemon_native ld_node_lib)
target_compile_definitions(labdaemon_native PRIVATE NAPI_VERSION=8 NAPI_CPP_EXCEPTIONS)
set_target_properties(labdaemon_native PROPERTIES PREFIX "" SUFFIX ".node")
target_include_directories(labdaemon_native PRIVATE ${CMAKE_JS_INC} ${CMAKE_CURRENT_SOURCE_DIR})
# Everything static: the .node must need nothing but Windows' own DLLs (no libstdc++/winpthread DLLs).
target_link_options(labdaemon_native PRIVATE -static -static-libgcc -static-libstdc++)
target_link_libraries(labdaemon_native PRIVATE ld_core ${LD_NODE_LIB} delayimp advapi32)
