// Links and addresses over rtnetlink (the kube-ipvs0 dummy link and its VIPs). Plain C++.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "handle_base.h"
#include "nl_socket.h"
#include "rtnl_wire.h"

namespace rtnl {

struct AddrResult {
  int err = 0;
  std::string message;
};

class Handle : public nl::SingleSocketHandle {
 public:
  Handle(std::string netns, int timeout_ms);

  struct Ensured {
    int32_t ifindex;
    bool created;
    bool up;
  };
  Ensured ensure_dummy(const std::string& name);
  std::optional<int32_t> link_index(const std::string& name);
  // Deletes the link; with only_kind set, a link of another kind is refused (EEXIST), not deleted.
  bool delete_link(const std::string& name, const std::string& only_kind);
  std::vector<NamedAddr> list_addresses(std::optional<int32_t> ifindex);
  std::vector<AddrResult> apply(const std::vector<AddrOp>& ops);
  // Local routes of table local through link oif (both families), the kernel's included.
  std::vector<RouteInfo> list_local_routes(int32_t oif);
  // Adds or deletes the agent's local routes (prefix_len is the route's); batched like apply().
  std::vector<AddrResult> apply_routes(const std::vector<AddrOp>& ops);
  // Brings the link up with IPv6 address generation off; false when it was up already.
  bool bring_up_quiet(const std::string& name);

 private:
  std::optional<int32_t> index_locked(const std::string& name);
  std::optional<LinkInfo> lookup_locked(const std::string& name);
  // Throws EEXIST naming the link when it is not of this kind: someone else's link by that name.
  static void require_kind(const LinkInfo& l, const std::string& kind, const std::string& op);
};

}  // namespace rtnl
