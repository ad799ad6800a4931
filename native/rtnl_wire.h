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
};

struct AddrInfo {
  int32_t ifindex = 0;
  uint16_t af = 0;
  std::array<uint8_t, 16> addr{};
  uint8_t prefix_len = 0;
};

// Equivalent to: ip link add <name> type dummy, left down (NLM_F_CREATE|EXCL|ACK).
void encode_new_dummy(nl::MsgBuilder& b, uint32_t seq, const std::string& name);
// Equivalent to: ip link show <name> (one RTM_NEWLINK reply).
void encode_get_link(nl::MsgBuilder& b, uint32_t seq, const std::string& name);
// Equivalent to: ip link del <name> (ACK).
void encode_del_link(nl::MsgBuilder& b, uint32_t seq, const std::string& name);
// RTM_GETLINK or RTM_GETADDR with NLM_F_DUMP over every family.
void encode_dump(nl::MsgBuilder& b, uint32_t seq, uint16_t type);
// Equivalent to: ip addr add|del <addr>/<prefix> dev <ifindex> (add: CREATE|EXCL|ACK, IPv6 NODAD).
void encode_addr(nl::MsgBuilder& b, uint32_t seq, bool add, int32_t ifindex, uint16_t af,
                 const std::array<uint8_t, 16>& addr, uint8_t prefix_len);

LinkInfo decode_link(const nl::Msg& m);
// Addresses of other families than inet/inet6 yield nothing.
std::optional<AddrInfo> decode_addr(const nl::Msg& m);

// iproute2-style text for an address operation error.
std::string addr_error_text(bool add, int err);

}  // namespace rtnl
