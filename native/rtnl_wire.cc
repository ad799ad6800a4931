#include "rtnl_wire.h"

#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace rtnl {
namespace {

void link_header(nl::MsgBuilder& b, int32_t ifindex, uint32_t flags, uint32_t change) {
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = ifindex;
  ifi.ifi_flags = flags;
  ifi.ifi_change = change;
  b.raw(&ifi, sizeof ifi);
}

}  // namespace

void encode_new_dummy(nl::MsgBuilder& b, uint32_t seq, const std::string& name) {
  b.begin(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq);
  // Created down, as kube-proxy creates it: the kernel adds the local route of a VIP on a down
  // link just the same, and each address costs it several times less (10,000 VIPs: about 4x).
  link_header(b, 0, 0, 0);
  b.put_str(IFLA_IFNAME, name);
  size_t li = b.nest_begin(IFLA_LINKINFO);
  b.put_str(IFLA_INFO_KIND, "dummy");
  b.nest_end(li);
  b.end();
}

void encode_get_link(nl::MsgBuilder& b, uint32_t seq, const std::string& name) {
  b.begin(RTM_GETLINK, NLM_F_REQUEST, seq);
  link_header(b, 0, 0, 0);
  b.put_str(IFLA_IFNAME, name);
  b.end();
}

void encode_del_link(nl::MsgBuilder& b, uint32_t seq, const std::string& name) {
  b.begin(RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK, seq);
  link_header(b, 0, 0, 0);
  b.put_str(IFLA_IFNAME, name);
  b.end();
}

void encode_dump(nl::MsgBuilder& b, uint32_t seq, uint16_t type) {
  b.begin(type, NLM_F_REQUEST | NLM_F_DUMP, seq);
  if (type == RTM_GETADDR) {
    ifaddrmsg ifa{};
    ifa.ifa_family = AF_UNSPEC;
    b.raw(&ifa, sizeof ifa);
  } else {
    link_header(b, 0, 0, 0);
  }
  b.end();
}

void encode_addr(nl::MsgBuilder& b, uint32_t seq, bool add, int32_t ifindex, uint16_t af,
                 const std::array<uint8_t, 16>& addr, uint8_t prefix_len) {
  uint16_t flags = NLM_F_REQUEST | NLM_F_ACK;
  if (add) flags |= NLM_F_CREATE | NLM_F_EXCL;
  b.begin(add ? RTM_NEWADDR : RTM_DELADDR, flags, seq);
  ifaddrmsg ifa{};
  ifa.ifa_family = static_cast<uint8_t>(af);
  ifa.ifa_prefixlen = prefix_len;
  ifa.ifa_scope = RT_SCOPE_UNIVERSE;
  ifa.ifa_index = static_cast<uint32_t>(ifindex);
  // Duplicate address detection would hold a new service VIP "tentative" for a second or more.
  if (af == AF_INET6) ifa.ifa_flags = IFA_F_NODAD;
  b.raw(&ifa, sizeof ifa);
  size_t len = af == AF_INET6 ? 16 : 4;
  b.put(IFA_LOCAL, addr.data(), len);
  b.put(IFA_ADDRESS, addr.data(), len);
  if (af == AF_INET6 && add) b.put_u32(IFA_FLAGS, IFA_F_NODAD);
  b.end();
}

LinkInfo decode_link(const nl::Msg& m) {
  if (m.payload_len < sizeof(ifinfomsg)) throw nl::MalformedError("truncated ifinfomsg");
  ifinfomsg ifi;
  std::memcpy(&ifi, m.payload, sizeof ifi);
  size_t hdr = NLMSG_ALIGN(sizeof ifi);
  if (hdr > m.payload_len) throw nl::MalformedError("truncated ifinfomsg");
  nl::AttrTable t(m.payload + hdr, m.payload_len - hdr, IFLA_MAX);
  LinkInfo l;
  l.ifindex = ifi.ifi_index;
  l.name = t.need(IFLA_IFNAME, "link name").str(IFNAMSIZ);
  if (const nl::Attr* info = t.get(IFLA_LINKINFO)) {
    nl::AttrTable it(info->data, info->len, IFLA_INFO_MAX);
    if (const nl::Attr* kind = it.get(IFLA_INFO_KIND)) l.kind = kind->str(64);
  }
  return l;
}

std::optional<AddrInfo> decode_addr(const nl::Msg& m) {
  if (m.payload_len < sizeof(ifaddrmsg)) throw nl::MalformedError("truncated ifaddrmsg");
  ifaddrmsg ifa;
  std::memcpy(&ifa, m.payload, sizeof ifa);
  if (ifa.ifa_family != AF_INET && ifa.ifa_family != AF_INET6) return std::nullopt;
  size_t hdr = NLMSG_ALIGN(sizeof ifa);
  nl::AttrTable t(m.payload + hdr, m.payload_len - hdr, IFA_MAX);
  // IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer on point-to-point links.
  const nl::Attr* a = ifa.ifa_family == AF_INET ? t.get(IFA_LOCAL) : nullptr;
  if (a == nullptr) a = &t.need(IFA_ADDRESS, "address");
  AddrInfo out;
  out.ifindex = static_cast<int32_t>(ifa.ifa_index);
  out.af = ifa.ifa_family;
  out.prefix_len = ifa.ifa_prefixlen;
  size_t need = ifa.ifa_family == AF_INET6 ? 16 : 4;
  if (a->len < need) throw nl::MalformedError("address attribute too short");
  std::memcpy(out.addr.data(), a->data, need);
  return out;
}

std::string addr_error_text(bool add, int err) {
  if (add && err == EEXIST) return "Address already assigned";
  if (!add && err == EADDRNOTAVAIL) return "Address not assigned";
  if (err == ENODEV) return "No such device";
  return std::strerror(err);
}

}  // namespace rtnl
