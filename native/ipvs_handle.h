// IPVS operations over generic netlink. Plain C++ (no node): the addon's workers call these
// on libuv threads; the mutex serialises operations of one handle.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "ipvs_wire.h"
#include "handle_base.h"
#include "nl_socket.h"

namespace ipvs {

struct OpResult {
  int err = 0;
  std::string message;
};

class Handle : public nl::HandleBase {
 public:
  // Opens a socket and resolves the "IPVS" family; throws Unavailable without it.
  // dump_sockets: how many sockets read real servers in parallel during dump().
  // dump_nice > 0: dump() is background work and runs on a thread of its own at that nice value
  // (a thread attribute on Linux), so that under load the threads writing the kernel come first.
  Handle(std::string netns, int timeout_ms, size_t dump_sockets, int dump_nice = 0);

  std::vector<OpResult> apply(const std::vector<Op>& ops);
  std::vector<ServiceEntry> dump();
  // The real servers of one virtual server (one IPVS_CMD_GET_DEST dump): what a drain check
  // needs, without holding the socket for a whole-table read. A missing service has none.
  std::vector<DestEntry> dump_reals(const ServiceKey& key);
  Info info();
  Timeouts get_timeouts();
  void set_timeouts(const Timeouts& t);
  void flush();
  void zero();
 private:
  // Frees the sockets; the caller holds mu_.
  void release_locked() override;
  // The live socket, reopened after a timeout or lost replies made the old one unusable.
  nl::Socket& sock();
  std::unique_ptr<nl::Socket> open_socket();
  void dump_dests(nl::Socket& s, ServiceEntry& e);
  std::vector<ServiceEntry> dump_table();
  void simple_ack(uint8_t cmd, const std::string& op);

  std::string netns_;
  int timeout_ms_;
  size_t dump_sockets_;
  int dump_nice_;
  uint16_t family_ = 0;
  std::unique_ptr<nl::Socket> sock_;
  std::vector<std::unique_ptr<nl::Socket>> dump_pool_;
};

}  // namespace ipvs
