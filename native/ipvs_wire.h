// IPVS generic netlink wire format: plain structs and their encoding/decoding. Pure (no
// sockets, no node): the sanitizer test binary links this file directly.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "nl_attr.h"

namespace ipvs {

// IPVS_STATS_ATTR_CONNS .. OUTBPS, in that order.
struct Stats {
  std::array<uint64_t, 10> v{};
};

struct ServiceKey {
  uint16_t af = 0;  // AF_INET or AF_INET6
  bool is_fwmark = false;
  uint32_t fwmark = 0;
  uint16_t protocol = 0;  // IPPROTO_TCP/UDP/SCTP
  std::array<uint8_t, 16> addr{};
  uint16_t port = 0;  // host order
};

struct ServiceSpec {
  ServiceKey key;
  std::string sched;
  uint32_t flags = 0;
  uint32_t timeout = 0;
  uint32_t netmask_prefix = 0;  // the kernel's be32 mask (inet) or prefix length (inet6) converted
  std::string pe;
};

struct DestSpec {
  uint16_t af = 0;
  std::array<uint8_t, 16> addr{};
  uint16_t port = 0;
  uint32_t fwd = 0;  // IP_VS_CONN_F_MASQ .. DROUTE
  uint32_t weight = 0;
  uint32_t u_thresh = 0;
  uint32_t l_thresh = 0;
  bool has_tun = false;
  uint8_t tun_type = 0;
  uint16_t tun_port = 0;
  uint16_t tun_flags = 0;
};

struct DestEntry {
  DestSpec spec;
  uint32_t active = 0;
  uint32_t inactive = 0;
  uint32_t persist = 0;
  Stats stats;
};

struct ServiceEntry {
  ServiceSpec spec;
  Stats stats;
  std::vector<DestEntry> dests;
};

enum class OpKind : uint8_t { AddService = 1, UpdateService, DeleteService, AddReal, UpdateReal, DeleteReal };

struct Op {
  OpKind kind = OpKind::AddService;
  ServiceSpec svc;  // only the key for delete and real-server ops
  DestSpec dest;
  std::string invalid;  // set when the request cannot be encoded; reported as EINVAL, never sent
};

struct Info {
  uint32_t version = 0;
  uint32_t conn_tab_size = 0;
};

struct Timeouts {
  uint32_t tcp = 0;
  uint32_t tcp_fin = 0;
  uint32_t udp = 0;
};

// Request encoding. family_id is the resolved generic netlink id of "IPVS".
void encode_op(nl::MsgBuilder& b, uint16_t family_id, uint32_t seq, const Op& op);
void encode_get_dests(nl::MsgBuilder& b, uint16_t family_id, uint32_t seq, const ServiceKey& key);
void encode_simple(nl::MsgBuilder& b, uint16_t family_id, uint32_t seq, uint8_t cmd, uint16_t flags);
void encode_set_timeouts(nl::MsgBuilder& b, uint16_t family_id, uint32_t seq, const Timeouts& t);

// Reply decoding (also used on encoded requests by the round-trip tests: same attribute layout).
ServiceEntry decode_service_msg(const nl::Msg& m);
DestEntry decode_dest_msg(const nl::Msg& m, uint16_t service_af);
Info decode_info_msg(const nl::Msg& m);
Timeouts decode_timeouts_msg(const nl::Msg& m);
// Decodes an encoded op back (the tests' round trip of encode_op).
Op decode_op_msg(const nl::Msg& m);

// libipvs-style text for an errno of one operation: the same ENOENT means "no such
// destination" for one call and "scheduler not found" for another.
std::string op_error_text(OpKind kind, int err);

// Parses the text form of an address for a family; false when it is not one.
bool parse_addr(uint16_t af, const std::string& text, std::array<uint8_t, 16>& out);
std::string format_addr(uint16_t af, const std::array<uint8_t, 16>& addr);

// Generic netlink controller: CTRL_CMD_GETFAMILY request and the family id in its reply.
void encode_get_family(nl::MsgBuilder& b, uint32_t seq, const std::string& name);
uint16_t decode_family_id(const nl::Msg& m);

}  // namespace ipvs
