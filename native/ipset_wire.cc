#include "ipset_wire.h"

#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/ipset/ip_set.h>
#include <linux/netfilter/ipset/ip_set_hash.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>

namespace ipset {
namespace {

// The oldest protocol version current kernels accept (IPSET_PROTOCOL_MIN); kernels before 5.x
// accept exactly 6, so 6 works everywhere.
constexpr uint8_t kProtocol = 6;

std::string parse_ip(uint16_t af, const std::string& text, std::array<uint8_t, 16>& out) {
  out.fill(0);
  if (inet_pton(af, text.c_str(), out.data()) != 1) return "'" + text + "' is not an " + std::string(af == AF_INET6 ? "IPv6" : "IPv4") + " address";
  return "";
}

// "10.0.0.0/8" or a bare address (a single host: cidr stays 0).
std::string parse_net(uint16_t af, const std::string& text, std::array<uint8_t, 16>& ip, uint8_t& cidr) {
  size_t slash = text.find('/');
  std::string err = parse_ip(af, text.substr(0, slash), ip);
  if (!err.empty() || slash == std::string::npos) return err;
  const std::string digits = text.substr(slash + 1);
  const unsigned max = af == AF_INET6 ? 128 : 32;
  unsigned v = 0;
  if (digits.empty() || digits.size() > 3 || digits.find_first_not_of("0123456789") != std::string::npos || (v = std::stoul(digits)) < 1 || v > max)
    return "prefix length '" + digits + "' is not in 1.." + std::to_string(max);
  cidr = static_cast<uint8_t>(v);
  return "";
}

// "tcp:80": the protocols Services use, by name as `ipset save` prints them.
std::string parse_proto_port(const std::string& text, uint8_t& proto, uint16_t& port) {
  size_t colon = text.find(':');
  if (colon == std::string::npos) return "'" + text + "' is not proto:port";
  const std::string name = text.substr(0, colon);
  if (name == "tcp") proto = IPPROTO_TCP;
  else if (name == "udp") proto = IPPROTO_UDP;
  else if (name == "sctp") proto = IPPROTO_SCTP;
  else return "protocol '" + name + "' is not tcp, udp or sctp";
  const std::string digits = text.substr(colon + 1);
  if (digits.empty() || digits.size() > 5 || digits.find_first_not_of("0123456789") != std::string::npos || std::stoul(digits) > 65535)
    return "port '" + digits + "' is not in 0..65535";
  port = static_cast<uint16_t>(std::stoul(digits));
  return "";
}

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    size_t comma = text.find(',', start);
    parts.push_back(text.substr(start, comma - start));
    if (comma == std::string::npos) return parts;
    start = comma + 1;
  }
}

size_t parts_of(SetType type) {
  switch (type) {
    case SetType::Ip:
    case SetType::Net: return 1;
    case SetType::IpPort: return 2;
    case SetType::IpPortIp:
    case SetType::IpPortNet: return 3;
  }
  return 0;
}

void put_ip(nl::MsgBuilder& b, uint16_t type, uint16_t af, const std::array<uint8_t, 16>& ip) {
  size_t nest = b.nest_begin(type);
  // The kernel insists on the byte-order flag for addresses (ip_set_get_ipaddr4/6).
  if (af == AF_INET6) b.put(IPSET_ATTR_IPADDR_IPV6 | NLA_F_NET_BYTEORDER, ip.data(), 16);
  else b.put(IPSET_ATTR_IPADDR_IPV4 | NLA_F_NET_BYTEORDER, ip.data(), 4);
  b.nest_end(nest);
}

void put_data(nl::MsgBuilder& b, SetType type, uint16_t af, const Entry& e) {
  size_t data = b.nest_begin(IPSET_ATTR_DATA);
  put_ip(b, IPSET_ATTR_IP, af, e.ip);
  if (type == SetType::Net && e.cidr != 0) b.put_u8(IPSET_ATTR_CIDR, e.cidr);
  if (type == SetType::IpPort || type == SetType::IpPortIp || type == SetType::IpPortNet) {
    const uint16_t port = htons(e.port);
    b.put(IPSET_ATTR_PORT | NLA_F_NET_BYTEORDER, &port, 2);
    b.put_u8(IPSET_ATTR_PROTO, e.proto);
  }
  if (type == SetType::IpPortIp || type == SetType::IpPortNet) put_ip(b, IPSET_ATTR_IP2, af, e.ip2);
  if (type == SetType::IpPortNet && e.cidr != 0) b.put_u8(IPSET_ATTR_CIDR2, e.cidr);
  b.nest_end(data);
}

std::string format_ip(uint16_t af, const std::array<uint8_t, 16>& ip) {
  char buf[INET6_ADDRSTRLEN] = {0};
  inet_ntop(af, ip.data(), buf, sizeof buf);
  return buf;
}

// A net as ipset prints it: the prefix only when narrower than a single host.
std::string format_net(uint16_t af, const std::array<uint8_t, 16>& ip, uint8_t cidr) {
  const unsigned host = af == AF_INET6 ? 128 : 32;
  return cidr == 0 || cidr >= host ? format_ip(af, ip) : format_ip(af, ip) + "/" + std::to_string(cidr);
}

std::string format_proto_port(uint8_t proto, uint16_t port) {
  const char* name = proto == IPPROTO_TCP ? "tcp" : proto == IPPROTO_UDP ? "udp" : proto == IPPROTO_SCTP ? "sctp" : nullptr;
  // Other protocols never come from the agent; their number keeps the entry distinct.
  return (name != nullptr ? std::string(name) : std::to_string(proto)) + ":" + std::to_string(port);
}

// IPSET_ATTR_IP or IPSET_ATTR_IP2: a nest holding one IPADDR_IPV4 or IPADDR_IPV6.
void read_ip(const nl::Attr& nest, uint16_t af, std::array<uint8_t, 16>& out) {
  nl::AttrTable t(nest.data, nest.len, IPSET_ATTR_IPADDR_MAX);
  const nl::Attr& a = t.need(af == AF_INET6 ? IPSET_ATTR_IPADDR_IPV6 : IPSET_ATTR_IPADDR_IPV4, "set entry address");
  const size_t len = af == AF_INET6 ? 16 : 4;
  if (a.len < len) throw nl::MalformedError("short set entry address");
  out.fill(0);
  std::memcpy(out.data(), a.data, len);
}

Entry read_entry(const nl::Attr& data, SetType type, uint16_t af) {
  nl::AttrTable t(data.data, data.len, IPSET_ATTR_ADT_MAX);
  Entry e;
  read_ip(t.need(IPSET_ATTR_IP, "set entry IP"), af, e.ip);
  if (type == SetType::Net) e.cidr = t.need(IPSET_ATTR_CIDR, "set entry CIDR").u8();
  if (type == SetType::IpPort || type == SetType::IpPortIp || type == SetType::IpPortNet) {
    e.port = t.need(IPSET_ATTR_PORT, "set entry port").be16();
    e.proto = t.need(IPSET_ATTR_PROTO, "set entry protocol").u8();
  }
  if (type == SetType::IpPortIp || type == SetType::IpPortNet) read_ip(t.need(IPSET_ATTR_IP2, "set entry IP2"), af, e.ip2);
  if (type == SetType::IpPortNet) e.cidr = t.need(IPSET_ATTR_CIDR2, "set entry CIDR2").u8();
  return e;
}

}  // namespace

bool parse_type(const std::string& name, SetType& out) {
  if (name == "hash:ip") out = SetType::Ip;
  else if (name == "hash:net") out = SetType::Net;
  else if (name == "hash:ip,port") out = SetType::IpPort;
  else if (name == "hash:ip,port,ip") out = SetType::IpPortIp;
  else if (name == "hash:ip,port,net") out = SetType::IpPortNet;
  else return false;
  return true;
}

std::string parse_entry(SetType type, uint16_t af, const std::string& text, Entry& out) {
  out = Entry{};
  std::vector<std::string> parts = split_commas(text);
  if (parts.size() != parts_of(type)) return "'" + text + "' does not have the " + std::to_string(parts_of(type)) + " comma-separated parts of its set type";
  std::string err = type == SetType::Net ? parse_net(af, parts[0], out.ip, out.cidr) : parse_ip(af, parts[0], out.ip);
  if (err.empty() && parts.size() > 1) err = parse_proto_port(parts[1], out.proto, out.port);
  if (err.empty() && type == SetType::IpPortIp) err = parse_ip(af, parts[2], out.ip2);
  if (err.empty() && type == SetType::IpPortNet) err = parse_net(af, parts[2], out.ip2, out.cidr);
  return err;
}

void encode_adt(nl::MsgBuilder& b, uint32_t seq, bool add, const std::string& set, SetType type, uint16_t af,
                const Entry* entries, size_t count) {
  const uint16_t msg_type = static_cast<uint16_t>((NFNL_SUBSYS_IPSET << 8) | (add ? IPSET_CMD_ADD : IPSET_CMD_DEL));
  // Without NLM_F_EXCL the kernel ignores an entry that is already there (add) or already gone
  // (del): ipset's -exist.
  b.begin(msg_type, NLM_F_REQUEST | NLM_F_ACK, seq);
  nfgenmsg g{};
  g.nfgen_family = static_cast<uint8_t>(af == AF_INET6 ? NFPROTO_IPV6 : NFPROTO_IPV4);
  g.version = NFNETLINK_V0;
  g.res_id = 0;
  b.raw(&g, sizeof g);
  b.put_u8(IPSET_ATTR_PROTOCOL, kProtocol);
  b.put_str(IPSET_ATTR_SETNAME, set);
  // The kernel refuses an IPSET_ATTR_ADT container without a line number (ip_set_ad); it is
  // only echoed back in errors, which NETLINK_CAP_ACK leaves out anyway.
  b.put_u32(IPSET_ATTR_LINENO, 0);
  size_t adt = b.nest_begin(IPSET_ATTR_ADT);
  for (size_t i = 0; i < count; ++i) put_data(b, type, af, entries[i]);
  b.nest_end(adt);
  b.end();
}

std::string format_entry(SetType type, uint16_t af, const Entry& e) {
  switch (type) {
    case SetType::Ip: return format_ip(af, e.ip);
    case SetType::Net: return format_net(af, e.ip, e.cidr);
    case SetType::IpPort: return format_ip(af, e.ip) + "," + format_proto_port(e.proto, e.port);
    case SetType::IpPortIp: return format_ip(af, e.ip) + "," + format_proto_port(e.proto, e.port) + "," + format_ip(af, e.ip2);
    case SetType::IpPortNet: return format_ip(af, e.ip) + "," + format_proto_port(e.proto, e.port) + "," + format_net(af, e.ip2, e.cidr);
  }
  return "";
}

void encode_list(nl::MsgBuilder& b, uint32_t seq) {
  b.begin(static_cast<uint16_t>((NFNL_SUBSYS_IPSET << 8) | IPSET_CMD_LIST), NLM_F_REQUEST | NLM_F_DUMP, seq);
  nfgenmsg g{};
  g.nfgen_family = NFPROTO_IPV4;
  g.version = NFNETLINK_V0;
  b.raw(&g, sizeof g);
  b.put_u8(IPSET_ATTR_PROTOCOL, kProtocol);
  b.end();
}

void decode_list_msg(const nl::Msg& m, const std::vector<std::string>& prefixes, std::vector<ListedSet>& sets) {
  if (m.payload_len < sizeof(nfgenmsg)) throw nl::MalformedError("truncated nfnetlink header");
  nl::AttrTable t(m.payload + sizeof(nfgenmsg), m.payload_len - sizeof(nfgenmsg), IPSET_ATTR_CMD_MAX);
  const std::string name = t.need(IPSET_ATTR_SETNAME, "set name").str(IPSET_MAXNAMELEN);
  // The dump goes set by set: a message continues the last set or starts the next one.
  if (sets.empty() || sets.back().name != name) {
    ListedSet fresh;
    fresh.name = name;
    sets.push_back(std::move(fresh));
  }
  ListedSet& set = sets.back();
  if (const nl::Attr* type = t.get(IPSET_ATTR_TYPENAME)) set.type = type->str(IPSET_MAXNAMELEN);
  if (const nl::Attr* family = t.get(IPSET_ATTR_FAMILY)) set.af = family->u8() == NFPROTO_IPV6 ? AF_INET6 : AF_INET;
  const nl::Attr* adt = t.get(IPSET_ATTR_ADT);
  SetType type;
  if (adt == nullptr || set.af == 0 || !parse_type(set.type, type)) return;
  bool ours = false;
  for (const std::string& p : prefixes) ours = ours || name.compare(0, p.size(), p) == 0;
  if (!ours) return;
  size_t off = 0;
  while (off + NLA_HDRLEN <= adt->len) {
    nlattr a;
    std::memcpy(&a, adt->data + off, sizeof a);
    if (a.nla_len < NLA_HDRLEN || a.nla_len > adt->len - off) throw nl::MalformedError("set entry overruns its container");
    if ((a.nla_type & NLA_TYPE_MASK) == IPSET_ATTR_DATA) {
      nl::Attr data{IPSET_ATTR_DATA, adt->data + off + NLA_HDRLEN, static_cast<size_t>(a.nla_len - NLA_HDRLEN)};
      set.entries.push_back(format_entry(type, set.af, read_entry(data, type, set.af)));
    }
    off += nl::align4(a.nla_len);
  }
}

std::string error_text(int err) {
  switch (err) {
    case ENOENT: return "the set does not exist";
    case IPSET_ERR_PROTOCOL: return "kernel and ipvs-proxy disagree on the ipset protocol";
    case IPSET_ERR_TYPE_MISMATCH: return "the entry does not fit the set's type";
    case IPSET_ERR_INVALID_CIDR: return "invalid prefix length";
    case IPSET_ERR_INVALID_FAMILY: return "the entry's address family differs from the set's";
    case IPSET_ERR_IPADDR_IPV4: return "an IPv4 address where the set wants IPv6";
    case IPSET_ERR_IPADDR_IPV6: return "an IPv6 address where the set wants IPv4";
    case IPSET_ERR_HASH_FULL: return "the set is full (maxelem reached)";
    case IPSET_ERR_HASH_ELEM: return "the entry is null-valued";
    case IPSET_ERR_INVALID_PROTO: return "invalid protocol";
    case IPSET_ERR_MISSING_PROTO: return "the protocol is missing";
    default: return err < 4096 ? std::string(std::strerror(err)) : "ipset error " + std::to_string(err);
  }
}

}  // namespace ipset
