#include "ipvs_wire.h"

#include <arpa/inet.h>
#include <linux/genetlink.h>
#include <linux/ip_vs.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>

namespace ipvs {
namespace {

uint32_t prefix_to_mask_be(uint32_t prefix) {
  uint32_t host = prefix == 0 ? 0 : (prefix >= 32 ? 0xffffffffu : ~((1u << (32 - prefix)) - 1));
  return htonl(host);
}

uint32_t mask_be_to_prefix(uint32_t mask_be) {
  uint32_t host = ntohl(mask_be);
  uint32_t n = 0;
  while (n < 32 && (host & (0x80000000u >> n)) != 0) ++n;
  return n;
}

size_t addr_len(uint16_t af) { return af == AF_INET6 ? 16 : 4; }

void put_service(nl::MsgBuilder& b, const ServiceSpec& s, bool full) {
  size_t nest = b.nest_begin(IPVS_CMD_ATTR_SERVICE);
  const ServiceKey& k = s.key;
  b.put_u16(IPVS_SVC_ATTR_AF, k.af);
  if (k.is_fwmark) {
    b.put_u32(IPVS_SVC_ATTR_FWMARK, k.fwmark);
  } else {
    b.put_u16(IPVS_SVC_ATTR_PROTOCOL, k.protocol);
    b.put(IPVS_SVC_ATTR_ADDR, k.addr.data(), 16);  // union nf_inet_addr, zero-padded for inet
    b.put_be16(IPVS_SVC_ATTR_PORT, k.port);
  }
  if (full) {
    b.put_str(IPVS_SVC_ATTR_SCHED_NAME, s.sched);
    if (!s.pe.empty()) b.put_str(IPVS_SVC_ATTR_PE_NAME, s.pe);
    ip_vs_flags f{s.flags, 0xffffffffu};
    b.put(IPVS_SVC_ATTR_FLAGS, &f, sizeof f);
    b.put_u32(IPVS_SVC_ATTR_TIMEOUT, s.timeout);
    b.put_u32(IPVS_SVC_ATTR_NETMASK, k.af == AF_INET6 ? s.netmask_prefix : prefix_to_mask_be(s.netmask_prefix));
  }
  b.nest_end(nest);
}

void put_dest(nl::MsgBuilder& b, const DestSpec& d, bool full) {
  size_t nest = b.nest_begin(IPVS_CMD_ATTR_DEST);
  b.put(IPVS_DEST_ATTR_ADDR, d.addr.data(), 16);
  b.put_be16(IPVS_DEST_ATTR_PORT, d.port);
  // Always sent: without it the kernel assumes the service's family and IPv6 reals break.
  b.put_u16(IPVS_DEST_ATTR_ADDR_FAMILY, d.af);
  if (full) {
    b.put_u32(IPVS_DEST_ATTR_FWD_METHOD, d.fwd);
    b.put_u32(IPVS_DEST_ATTR_WEIGHT, d.weight);
    b.put_u32(IPVS_DEST_ATTR_U_THRESH, d.u_thresh);
    b.put_u32(IPVS_DEST_ATTR_L_THRESH, d.l_thresh);
    if (d.has_tun) {
      b.put_u8(IPVS_DEST_ATTR_TUN_TYPE, d.tun_type);
      b.put_be16(IPVS_DEST_ATTR_TUN_PORT, d.tun_port);
      b.put_u16(IPVS_DEST_ATTR_TUN_FLAGS, d.tun_flags);
    }
  }
  b.nest_end(nest);
}

void begin_genl(nl::MsgBuilder& b, uint16_t family_id, uint32_t seq, uint8_t cmd, uint16_t flags) {
  b.begin(family_id, flags, seq);
  b.genl_header(cmd, IPVS_GENL_VERSION);
}

void read_addr(const nl::Attr& a, uint16_t af, std::array<uint8_t, 16>& out) {
  size_t need = addr_len(af);
  if (a.len < need) throw nl::MalformedError("address attribute too short");
  out.fill(0);
  std::memcpy(out.data(), a.data, need);  // inet comes zero-padded to 16 bytes: keep 4
}

uint16_t checked_af(uint16_t af) {
  if (af != AF_INET && af != AF_INET6) throw nl::MalformedError("unknown address family " + std::to_string(af));
  return af;
}

Stats read_stats(const nl::Attr* nested) {
  Stats s;
  if (nested == nullptr) return s;
  nl::AttrTable t(nested->data, nested->len, IPVS_STATS_ATTR_MAX);
  for (uint16_t i = 0; i < 10; ++i) {
    const nl::Attr* a = t.get(static_cast<uint16_t>(IPVS_STATS_ATTR_CONNS + i));
    if (a != nullptr) s.v[i] = a->counter();
  }
  return s;
}

ServiceSpec read_service_spec(const nl::AttrTable& t, bool full) {
  ServiceSpec s;
  ServiceKey& k = s.key;
  k.af = checked_af(t.need(IPVS_SVC_ATTR_AF, "service family").u16());
  if (const nl::Attr* fw = t.get(IPVS_SVC_ATTR_FWMARK); fw != nullptr && fw->u32() != 0) {
    k.is_fwmark = true;
    k.fwmark = fw->u32();
  } else {
    k.protocol = t.need(IPVS_SVC_ATTR_PROTOCOL, "service protocol").u16();
    read_addr(t.need(IPVS_SVC_ATTR_ADDR, "service address"), k.af, k.addr);
    k.port = t.need(IPVS_SVC_ATTR_PORT, "service port").be16();
  }
  if (!full) return s;
  s.sched = t.need(IPVS_SVC_ATTR_SCHED_NAME, "scheduler").str(IP_VS_SCHEDNAME_MAXLEN);
  if (const nl::Attr* pe = t.get(IPVS_SVC_ATTR_PE_NAME)) s.pe = pe->str(IP_VS_PENAME_MAXLEN);
  const nl::Attr& fl = t.need(IPVS_SVC_ATTR_FLAGS, "service flags");
  if (fl.len < sizeof(ip_vs_flags)) throw nl::MalformedError("service flags too short");
  ip_vs_flags f;
  std::memcpy(&f, fl.data, sizeof f);
  s.flags = f.flags;
  s.timeout = t.need(IPVS_SVC_ATTR_TIMEOUT, "persistence timeout").u32();
  uint32_t nm = t.need(IPVS_SVC_ATTR_NETMASK, "netmask").u32();
  if (k.af == AF_INET6) {
    if (nm > 128) throw nl::MalformedError("IPv6 netmask prefix over 128");
    s.netmask_prefix = nm;
  } else {
    s.netmask_prefix = mask_be_to_prefix(nm);
  }
  return s;
}

DestSpec read_dest_spec(const nl::AttrTable& t, uint16_t service_af, bool full) {
  DestSpec d;
  const nl::Attr* fam = t.get(IPVS_DEST_ATTR_ADDR_FAMILY);
  d.af = checked_af(fam != nullptr ? fam->u16() : service_af);
  read_addr(t.need(IPVS_DEST_ATTR_ADDR, "real server address"), d.af, d.addr);
  d.port = t.need(IPVS_DEST_ATTR_PORT, "real server port").be16();
  if (!full) return d;
  d.fwd = t.need(IPVS_DEST_ATTR_FWD_METHOD, "forwarding method").u32() & IP_VS_CONN_F_FWD_MASK;
  d.weight = t.need(IPVS_DEST_ATTR_WEIGHT, "weight").u32();
  d.u_thresh = t.need(IPVS_DEST_ATTR_U_THRESH, "upper threshold").u32();
  d.l_thresh = t.need(IPVS_DEST_ATTR_L_THRESH, "lower threshold").u32();
  // Kernels since 5.2 report tunnel settings for every real server; they mean something only
  // for tunnel forwarding, so other methods leave them out.
  const nl::Attr* tt = t.get(IPVS_DEST_ATTR_TUN_TYPE);
  if (tt != nullptr && d.fwd == IP_VS_CONN_F_TUNNEL) {
    d.has_tun = true;
    d.tun_type = tt->u8();
    if (const nl::Attr* tp = t.get(IPVS_DEST_ATTR_TUN_PORT)) d.tun_port = tp->be16();
    if (const nl::Attr* tf = t.get(IPVS_DEST_ATTR_TUN_FLAGS)) d.tun_flags = tf->u16();
  }
  return d;
}

}  // namespace

void encode_op(nl::MsgBuilder& b, uint16_t family_id, uint32_t seq, const Op& op) {
  const uint16_t flags = NLM_F_REQUEST | NLM_F_ACK;
  switch (op.kind) {
    case OpKind::AddService:
    case OpKind::UpdateService:
      begin_genl(b, family_id, seq, op.kind == OpKind::AddService ? IPVS_CMD_NEW_SERVICE : IPVS_CMD_SET_SERVICE, flags);
      put_service(b, op.svc, true);
      break;
    case OpKind::DeleteService:
      begin_genl(b, family_id, seq, IPVS_CMD_DEL_SERVICE, flags);
      put_service(b, op.svc, false);
      break;
    case OpKind::AddReal:
    case OpKind::UpdateReal:
    case OpKind::DeleteReal: {
      uint8_t cmd = op.kind == OpKind::AddReal    ? IPVS_CMD_NEW_DEST
                    : op.kind == OpKind::UpdateReal ? IPVS_CMD_SET_DEST
                                                    : IPVS_CMD_DEL_DEST;
      begin_genl(b, family_id, seq, cmd, flags);
      put_service(b, op.svc, false);
      put_dest(b, op.dest, op.kind != OpKind::DeleteReal);
      break;
    }
  }
  b.end();
}

void encode_get_dests(nl::MsgBuilder& b, uint16_t family_id, uint32_t seq, const ServiceKey& key) {
  begin_genl(b, family_id, seq, IPVS_CMD_GET_DEST, NLM_F_REQUEST | NLM_F_DUMP);
  ServiceSpec s;
  s.key = key;
  put_service(b, s, false);
  b.end();
}

void encode_simple(nl::MsgBuilder& b, uint16_t family_id, uint32_t seq, uint8_t cmd, uint16_t flags) {
  begin_genl(b, family_id, seq, cmd, flags);
  b.end();
}

void encode_set_timeouts(nl::MsgBuilder& b, uint16_t family_id, uint32_t seq, const Timeouts& t) {
  begin_genl(b, family_id, seq, IPVS_CMD_SET_CONFIG, NLM_F_REQUEST | NLM_F_ACK);
  b.put_u32(IPVS_CMD_ATTR_TIMEOUT_TCP, t.tcp);
  b.put_u32(IPVS_CMD_ATTR_TIMEOUT_TCP_FIN, t.tcp_fin);
  b.put_u32(IPVS_CMD_ATTR_TIMEOUT_UDP, t.udp);
  b.end();
}

ServiceEntry decode_service_msg(const nl::Msg& m) {
  nl::GenlBody body = nl::genl_body(m);
  nl::AttrTable top(body.attrs, body.attrs_len, IPVS_CMD_ATTR_MAX);
  const nl::Attr& sa = top.need(IPVS_CMD_ATTR_SERVICE, "service");
  nl::AttrTable t(sa.data, sa.len, IPVS_SVC_ATTR_MAX);
  ServiceEntry e;
  e.spec = read_service_spec(t, true);
  const nl::Attr* st = t.get(IPVS_SVC_ATTR_STATS64);
  e.stats = read_stats(st != nullptr ? st : t.get(IPVS_SVC_ATTR_STATS));
  return e;
}

DestEntry decode_dest_msg(const nl::Msg& m, uint16_t service_af) {
  nl::GenlBody body = nl::genl_body(m);
  nl::AttrTable top(body.attrs, body.attrs_len, IPVS_CMD_ATTR_MAX);
  const nl::Attr& da = top.need(IPVS_CMD_ATTR_DEST, "real server");
  nl::AttrTable t(da.data, da.len, IPVS_DEST_ATTR_MAX);
  DestEntry e;
  e.spec = read_dest_spec(t, service_af, true);
  if (const nl::Attr* a = t.get(IPVS_DEST_ATTR_ACTIVE_CONNS)) e.active = a->u32();
  if (const nl::Attr* a = t.get(IPVS_DEST_ATTR_INACT_CONNS)) e.inactive = a->u32();
  if (const nl::Attr* a = t.get(IPVS_DEST_ATTR_PERSIST_CONNS)) e.persist = a->u32();
  const nl::Attr* st = t.get(IPVS_DEST_ATTR_STATS64);
  e.stats = read_stats(st != nullptr ? st : t.get(IPVS_DEST_ATTR_STATS));
  return e;
}

Info decode_info_msg(const nl::Msg& m) {
  nl::GenlBody body = nl::genl_body(m);
  nl::AttrTable t(body.attrs, body.attrs_len, IPVS_INFO_ATTR_MAX);
  Info i;
  i.version = t.need(IPVS_INFO_ATTR_VERSION, "version").u32();
  i.conn_tab_size = t.need(IPVS_INFO_ATTR_CONN_TAB_SIZE, "connection table size").u32();
  return i;
}

Timeouts decode_timeouts_msg(const nl::Msg& m) {
  nl::GenlBody body = nl::genl_body(m);
  nl::AttrTable t(body.attrs, body.attrs_len, IPVS_CMD_ATTR_MAX);
  Timeouts o;
  o.tcp = t.need(IPVS_CMD_ATTR_TIMEOUT_TCP, "tcp timeout").u32();
  o.tcp_fin = t.need(IPVS_CMD_ATTR_TIMEOUT_TCP_FIN, "tcpfin timeout").u32();
  o.udp = t.need(IPVS_CMD_ATTR_TIMEOUT_UDP, "udp timeout").u32();
  return o;
}

Op decode_op_msg(const nl::Msg& m) {
  nl::GenlBody body = nl::genl_body(m);
  nl::AttrTable top(body.attrs, body.attrs_len, IPVS_CMD_ATTR_MAX);
  Op op;
  bool full_svc = false;
  bool full_dest = false;
  switch (body.cmd) {
    case IPVS_CMD_NEW_SERVICE: op.kind = OpKind::AddService; full_svc = true; break;
    case IPVS_CMD_SET_SERVICE: op.kind = OpKind::UpdateService; full_svc = true; break;
    case IPVS_CMD_DEL_SERVICE: op.kind = OpKind::DeleteService; break;
    case IPVS_CMD_NEW_DEST: op.kind = OpKind::AddReal; full_dest = true; break;
    case IPVS_CMD_SET_DEST: op.kind = OpKind::UpdateReal; full_dest = true; break;
    case IPVS_CMD_DEL_DEST: op.kind = OpKind::DeleteReal; break;
    default: throw nl::MalformedError("not an IPVS write command: " + std::to_string(body.cmd));
  }
  const nl::Attr& sa = top.need(IPVS_CMD_ATTR_SERVICE, "service");
  nl::AttrTable st(sa.data, sa.len, IPVS_SVC_ATTR_MAX);
  op.svc = read_service_spec(st, full_svc);
  if (op.kind >= OpKind::AddReal) {
    const nl::Attr& da = top.need(IPVS_CMD_ATTR_DEST, "real server");
    nl::AttrTable dt(da.data, da.len, IPVS_DEST_ATTR_MAX);
    op.dest = read_dest_spec(dt, op.svc.key.af, full_dest);
  }
  return op;
}

std::string op_error_text(OpKind kind, int err) {
  const bool svc_op = kind == OpKind::AddService || kind == OpKind::UpdateService || kind == OpKind::DeleteService;
  if (kind == OpKind::AddService && err == EEXIST) return "Service already exists";
  if ((kind == OpKind::AddService || kind == OpKind::UpdateService) && err == ENOENT)
    return "Scheduler or persistence engine not found";
  if (svc_op && err == ESRCH) return "No such service";
  if (!svc_op && err == ESRCH) return "Service not defined";
  if (kind == OpKind::AddReal && err == EEXIST) return "Destination already exists";
  if ((kind == OpKind::UpdateReal || kind == OpKind::DeleteReal) && err == ENOENT) return "No such destination";
  switch (err) {
    case EPERM: return "Permission denied (you must be root)";
    case EINVAL: return "Invalid operation.  Possibly wrong module version, address not unicast, ...";
    case ENOPROTOOPT: return "Protocol not available";
    case ENOMEM: return "Memory allocation problem";
    case EOPNOTSUPP: return "Operation not supported with IPv6";
    case EAFNOSUPPORT: return "Operation not supported with specified address family";
    case EMSGSIZE: return "Module is wrong version";
    default: return std::strerror(err);
  }
}

bool parse_addr(uint16_t af, const std::string& text, std::array<uint8_t, 16>& out) {
  out.fill(0);
  if (af != AF_INET && af != AF_INET6) return false;
  return inet_pton(af, text.c_str(), out.data()) == 1;
}

std::string format_addr(uint16_t af, const std::array<uint8_t, 16>& addr) {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (inet_ntop(af, addr.data(), buf, sizeof buf) == nullptr) return std::string();
  return std::string(buf);
}

void encode_get_family(nl::MsgBuilder& b, uint32_t seq, const std::string& name) {
  b.begin(GENL_ID_CTRL, NLM_F_REQUEST, seq);
  b.genl_header(CTRL_CMD_GETFAMILY, 1);
  b.put_str(CTRL_ATTR_FAMILY_NAME, name);
  b.end();
}

uint16_t decode_family_id(const nl::Msg& m) {
  nl::GenlBody body = nl::genl_body(m);
  nl::AttrTable t(body.attrs, body.attrs_len, CTRL_ATTR_MAX);
  return t.need(CTRL_ATTR_FAMILY_ID, "family id").u16();
}

}  // namespace ipvs
