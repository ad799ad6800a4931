// A netlink socket: RAII fd, sequence and port-id checks, large buffers, multi-part replies,
// and a deadline on every wait. After a timeout or lost replies the socket is "broken": its
// owner drops it and opens a new one rather than read stale answers (kubernetes#71071).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "nl_attr.h"
#include "nl_error.h"

namespace nl {

class Socket {
 public:
  // Opens a NETLINK_GENERIC or NETLINK_ROUTE socket, inside the network namespace at
  // netns_path when given (the calling thread switches there and back).
  Socket(int protocol, const std::string& netns_path, int timeout_ms);
  ~Socket();
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  bool broken() const { return broken_; }
  // rtnetlink: the kernel checks dump requests strictly and applies their filters (table, type,
  // output link) instead of returning everything. Kernels before 4.20 ignore it.
  void strict_check();
  uint32_t next_seq() { return ++seq_; }

  // One request whose answer is a single message (or an error): cb sees that message.
  void request(const MsgBuilder& b, uint32_t seq, const std::string& op, const std::function<void(const Msg&)>& cb);
  // One request answered by an ack: returns the errno (0 on success).
  int request_ack(const MsgBuilder& b, uint32_t seq, const std::string& op);
  // A dump: cb sees every message until NLMSG_DONE. Throws DumpInterrupted after draining
  // it if the kernel flagged the dump as inconsistent.
  void dump(const MsgBuilder& b, uint32_t seq, const std::string& op, const std::function<void(const Msg&)>& cb);
  // Sends n requests in as few sendmsg calls as the buffers allow; encode(i, b, seq) appends
  // request i. Returns the errno of each (0 = done), in order.
  std::vector<int> batch(size_t n, const std::string& op,
                         const std::function<void(size_t, MsgBuilder&, uint32_t)>& encode);

 private:
  void send(const std::vector<uint8_t>& bytes, const std::string& op);
  // Waits (bounded) for the next datagram and returns its messages addressed to us.
  std::vector<Msg> receive(const std::string& op);
  [[noreturn]] void fail(ErrorKind kind, int err, const std::string& op, const std::string& msg);

  int fd_ = -1;
  uint32_t port_id_ = 0;
  uint32_t seq_ = 0;
  int timeout_ms_;
  bool broken_ = false;
  size_t batch_bytes_ = 0;
  size_t batch_msgs_ = 0;
  std::vector<uint8_t> rbuf_;
};

}  // namespace nl
