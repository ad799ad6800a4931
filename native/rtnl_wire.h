// rtnetlink wire format for links and addresses. Pure: linked into the sanitizer test binary.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "nl_attr.h"

namespace rtnl {

struct LinkInfo {
  int32_t ifindex = 0;
  std::string name;
  // IFLA_INFO_KIND ("dummy", "veth", ...); empty for links without one (lo, physical NICs).
  std::string kind;
  bool up = false;
};

struct AddrInfo {
  int32_t ifindex = 0;
  uint16_t af = 0;
  std::array<uint8_t, 16> addr{};
  uint8_t prefix_len = 0;
};

// An address as a dump lists it, with its link's name.
struct NamedAddr {
  AddrInfo addr;
  std::string ifname;
};

// One address or local-route operation (the two share their shape; prefix_len is the route's
// for a route). An op that did not parse carries the reason and is never sent.
struct AddrOp {
  bool add = true;
  int32_t ifindex = 0;
  uint16_t af = 0;
  std::array<uint8_t, 16> addr{};
  uint8_t prefix_len = 0;
  std::string invalid;  // reported as EINVAL, never sent
};

// Equivalent to: ip link add <name> type dummy, left down (NLM_F_CREATE|EXCL|ACK).
void encode_new_dummy(nl::MsgBuilder& b, uint32_t seq, const std::string& name);
// The routing protocol number that marks the agent's own local routes (iproute2 prints it as
// "proto 201"): the kernel's routes for addresses are "proto kernel", and deletes match it.
constexpr uint8_t kRouteProtocol = 201;
// Metric of the agent's local routes: not the 0 of the kernel's routes for addresses, so that a
// VIP can hold both at once (the way from addresses to routes never leaves it without either).
constexpr uint32_t kRouteMetric = 1024;

struct RouteInfo {
  int32_t oif = 0;
  uint16_t af = 0;
  std::array<uint8_t, 16> addr{};
  uint8_t prefix_len = 0;
  uint8_t protocol = 0;
  uint32_t metric = 0;
};

// Equivalent to: ip link show <name> (one RTM_NEWLINK reply).
void encode_get_link(nl::MsgBuilder& b, uint32_t seq, const std::string& name);
// Equivalent to: ip link del <name> (ACK).
void encode_del_link(nl::MsgBuilder& b, uint32_t seq, const std::string& name);
// RTM_GETLINK or RTM_GETADDR with NLM_F_DUMP over every family.
void encode_dump(nl::MsgBuilder& b, uint32_t seq, uint16_t type);
// Equivalent to: ip addr add|del <addr>/<prefix> dev <ifindex> (add: CREATE|EXCL|ACK, IPv6 NODAD).
void encode_addr(nl::MsgBuilder& b, uint32_t seq, bool add, int32_t ifindex, uint16_t af,
                 const std::array<uint8_t, 16>& addr, uint8_t prefix_len);

// Equivalent to: ip route add|del local <addr>/<prefix> dev <ifindex> table local proto 201
// metric 1024 (scope host; add: CREATE|EXCL|ACK).
void encode_local_route(nl::MsgBuilder& b, uint32_t seq, bool add, int32_t ifindex, uint16_t af,
                        const std::array<uint8_t, 16>& addr, uint8_t prefix_len);
// RTM_GETROUTE dump of one family's table local, type local, through link oif. Under
// NETLINK_GET_STRICT_CHK the kernel filters (table, type, RTA_OIF); decode_local_route filters
// again for kernels that ignore the request's filter.
void encode_local_route_dump(nl::MsgBuilder& b, uint32_t seq, uint16_t af, int32_t oif);
// Equivalent to: ip link set dev <ifindex> addrgenmode none (no IPv6 link-local address, so no
// duplicate address detection and no router solicitation once the link is up).
void encode_addr_gen_none(nl::MsgBuilder& b, uint32_t seq, int32_t ifindex);
// Equivalent to: ip link set dev <ifindex> up.
void encode_link_up(nl::MsgBuilder& b, uint32_t seq, int32_t ifindex);

LinkInfo decode_link(const nl::Msg& m);
// A local route of table local through link oif, or nothing for any other route.
std::optional<RouteInfo> decode_local_route(const nl::Msg& m, int32_t oif);
// iproute2-style text for a route operation error.
std::string route_error_text(bool add, int err);
// Addresses of other families than inet/inet6 yield nothing.
std::optional<AddrInfo> decode_addr(const nl::Msg& m);

// iproute2-style text for an address operation error.
std::string addr_error_text(bool add, int err);

}  // namespace rtnl
