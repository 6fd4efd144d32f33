// Loopback TCP for tests that play the peer: a listening socket on 127.0.0.1 with a port the kernel
// picks, and a peer that answers one request with a script.
#pragma once
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace ldtest {

// Returns the listening fd and sets *port.
inline int loopbackListener(int* port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::listen(fd, 1);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return fd;
}

// Accepts one connection, waits for one request line, then sends `pieces` one send() at a time.
struct Peer {
  int listener = -1;
  int port = 0;
  std::thread thread;
  explicit Peer(std::vector<std::string> pieces, bool closeAfter = false) {
    listener = loopbackListener(&port);
    thread = std::thread([this, pieces, closeAfter] {
      int fd = ::accept(listener, nullptr, nullptr);
      char c;
      while (::recv(fd, &c, 1, 0) == 1 && c != '\n') {}
      for (const auto& p : pieces) {
        ::send(fd, p.data(), p.size(), MSG_NOSIGNAL);
        std::this_thread::sleep_for(std::chrono::milliseconds(2));  // forces separate segments
      }
      if (!closeAfter) {
        while (::recv(fd, &c, 1, 0) > 0) {}  // until the client closes
      }
      ::close(fd);
    });
  }
  ~Peer() {
    thread.join();
    ::close(listener);
  }
  std::string resource() const { return "TCPIP::127.0.0.1::" + std::to_string(port) + "::SOCKET"; }
};

}  // namespace ldtest
