#include "records.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <limits>

namespace records {

const uint8_t* Reader::take(size_t n) {
  if (n > len_ - off_) throw nl::MalformedError("record truncated");
  const uint8_t* p = data_ + off_;
  off_ += n;
  return p;
}

// Records are little-endian on both sides, whatever the host's byte order (records.ts writes them
// with DataView's little-endian accessors): the layout is a format, not a memory image.
uint8_t Reader::u8() { return *take(1); }
uint16_t Reader::u16() {
  const uint8_t* p = take(2);
  return static_cast<uint16_t>(p[0] | (p[1] << 8));
}
uint32_t Reader::u32() {
  const uint8_t* p = take(4);
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) | (static_cast<uint32_t>(p[2]) << 16) |
         (static_cast<uint32_t>(p[3]) << 24);
}
std::string Reader::str() {
  size_t n = u8();
  const uint8_t* p = take(n);
  return std::string(reinterpret_cast<const char*>(p), n);
}
std::string Reader::text() {
  size_t n = u16();
  const uint8_t* p = take(n);
  return std::string(reinterpret_cast<const char*>(p), n);
}

void Writer::u16(uint16_t v) { little_endian(v, 2); }
void Writer::u32(uint32_t v) { little_endian(v, 4); }
void Writer::u64(uint64_t v) { little_endian(v, 8); }
void Writer::little_endian(uint64_t v, int bytes) {
  for (int i = 0; i < bytes; i++) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
// A string longer than its one length byte is an error, as records.ts refuses one: cutting it
// would hand TypeScript a different scheduler name or address than the kernel holds.
void Writer::str(const std::string& s) {
  if (s.size() > 255) throw nl::MalformedError("string of " + std::to_string(s.size()) + " bytes does not fit a record (255 at most)");
  u8(static_cast<uint8_t>(s.size()));
  out.insert(out.end(), s.begin(), s.end());
}
void Writer::text(const std::string& s) {
  if (s.size() > 0xffff) throw nl::MalformedError("text of " + std::to_string(s.size()) + " bytes does not fit a record (65535 at most)");
  u16(static_cast<uint16_t>(s.size()));
  out.insert(out.end(), s.begin(), s.end());
}

namespace {

const char* family_name(uint16_t af) { return af == AF_INET6 ? "IPv6" : "IPv4"; }

void read_addr_into(Reader& r, uint16_t af, std::array<uint8_t, 16>& out, ipvs::Op& op, const char* role) {
  std::string text = r.str();
  if (af != AF_INET && af != AF_INET6) {
    if (op.invalid.empty()) op.invalid = std::string("unknown address family for ") + role;
    return;
  }
  if (!ipvs::parse_addr(af, text, out) && op.invalid.empty())
    op.invalid = std::string("invalid ") + family_name(af) + " address '" + text + "' for " + role;
}

// The virtual server's key, the first part of every op record (and the whole of a key record).
void read_key(Reader& r, ipvs::Op& op) {
  ipvs::ServiceKey& k = op.svc.key;
  k.af = r.u8();
  uint8_t proto = r.u8();
  k.port = r.u16();
  uint32_t fwmark = r.u32();
  if (proto == 0) {
    k.is_fwmark = true;
    k.fwmark = fwmark;
    r.str();
    if (fwmark == 0 && op.invalid.empty()) op.invalid = "firewall mark 0 is not a service";
    if (k.af != AF_INET && k.af != AF_INET6 && op.invalid.empty()) op.invalid = "unknown service family";
  } else {
    k.protocol = proto;
    read_addr_into(r, k.af, k.addr, op, "the virtual server");
  }
}

bool has_service_settings(ipvs::OpKind k) { return k == ipvs::OpKind::AddService || k == ipvs::OpKind::UpdateService; }
bool is_real_op(ipvs::OpKind k) { return k >= ipvs::OpKind::AddReal; }
bool has_real_settings(ipvs::OpKind k) { return k == ipvs::OpKind::AddReal || k == ipvs::OpKind::UpdateReal; }

}  // namespace

std::vector<ipvs::Op> read_ops(const uint8_t* data, size_t len) {
  Reader r(data, len);
  uint32_t count = r.u32();
  if (count > len) throw nl::MalformedError("operation count exceeds the record size");
  std::vector<ipvs::Op> ops;
  ops.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    ipvs::Op op;
    uint8_t kind = r.u8();
    if (kind < 1 || kind > 6) throw nl::MalformedError("unknown operation kind " + std::to_string(kind));
    op.kind = static_cast<ipvs::OpKind>(kind);
    read_key(r, op);
    const ipvs::ServiceKey& k = op.svc.key;
    if (has_service_settings(op.kind)) {
      op.svc.sched = r.str();
      op.svc.flags = r.u32();
      op.svc.timeout = r.u32();
      op.svc.netmask_prefix = r.u32();
      op.svc.pe = r.str();
      uint32_t max_prefix = k.af == AF_INET6 ? 128 : 32;
      if (op.svc.netmask_prefix > max_prefix && op.invalid.empty())
        op.invalid = "netmask prefix " + std::to_string(op.svc.netmask_prefix) + " out of range";
    }
    if (is_real_op(op.kind)) {
      op.dest.af = r.u8();
      read_addr_into(r, op.dest.af, op.dest.addr, op, "the real server");
      op.dest.port = r.u16();
    }
    if (has_real_settings(op.kind)) {
      op.dest.fwd = r.u8();
      op.dest.weight = r.u32();
      op.dest.u_thresh = r.u32();
      op.dest.l_thresh = r.u32();
      op.dest.has_tun = r.u8() != 0;
      op.dest.tun_type = r.u8();
      op.dest.tun_port = r.u16();
      op.dest.tun_flags = r.u16();
      if (op.dest.fwd > 3 && op.invalid.empty()) op.invalid = "unknown forwarding method";
    }
    ops.push_back(std::move(op));
  }
  if (!r.done()) throw nl::MalformedError("trailing bytes after the operation records");
  return ops;
}

ipvs::ServiceKey read_service_key(const uint8_t* data, size_t len) {
  Reader r(data, len);
  ipvs::Op op;
  read_key(r, op);
  if (!r.done()) throw nl::MalformedError("trailing bytes after the service key");
  if (!op.invalid.empty()) throw nl::MalformedError(op.invalid);
  return op.svc.key;
}

namespace {

// The writers below lay out keys and settings exactly as read_ops reads them: one layout for
// operation records, key records and dump records alike (records.ts reads all three with it).
void write_key(Writer& w, const ipvs::ServiceKey& k) {
  w.u8(static_cast<uint8_t>(k.af));
  w.u8(k.is_fwmark ? 0 : static_cast<uint8_t>(k.protocol));
  w.u16(k.port);
  w.u32(k.fwmark);
  w.str(k.is_fwmark ? std::string() : ipvs::format_addr(k.af, k.addr));
}

void write_service_settings(Writer& w, const ipvs::ServiceSpec& svc) {
  w.str(svc.sched);
  w.u32(svc.flags);
  w.u32(svc.timeout);
  w.u32(svc.netmask_prefix);
  w.str(svc.pe);
}

void write_real_key(Writer& w, const ipvs::DestSpec& d) {
  w.u8(static_cast<uint8_t>(d.af));
  w.str(ipvs::format_addr(d.af, d.addr));
  w.u16(d.port);
}

void write_real_settings(Writer& w, const ipvs::DestSpec& d) {
  w.u8(static_cast<uint8_t>(d.fwd));
  w.u32(d.weight);
  w.u32(d.u_thresh);
  w.u32(d.l_thresh);
  w.u8(d.has_tun ? 1 : 0);
  w.u8(d.tun_type);
  w.u16(d.tun_port);
  w.u16(d.tun_flags);
}

void write_stats(Writer& w, const ipvs::Stats& stats) {
  for (uint64_t v : stats.v) w.u64(v);
}

}  // namespace

void write_ops(Writer& w, const std::vector<ipvs::Op>& ops) {
  w.u32(static_cast<uint32_t>(ops.size()));
  for (const ipvs::Op& op : ops) {
    w.u8(static_cast<uint8_t>(op.kind));
    write_key(w, op.svc.key);
    if (has_service_settings(op.kind)) write_service_settings(w, op.svc);
    if (is_real_op(op.kind)) write_real_key(w, op.dest);
    if (has_real_settings(op.kind)) write_real_settings(w, op.dest);
  }
}

// A dump record: the key and settings of an addService record, the counters, then each real server
// as in an addReal record followed by its connection counts and counters.
void write_dump(Writer& w, const std::vector<ipvs::ServiceEntry>& entries) {
  w.u32(static_cast<uint32_t>(entries.size()));
  for (const ipvs::ServiceEntry& e : entries) {
    write_key(w, e.spec.key);
    write_service_settings(w, e.spec);
    write_stats(w, e.stats);
    w.u32(static_cast<uint32_t>(e.dests.size()));
    for (const ipvs::DestEntry& d : e.dests) {
      write_real_key(w, d.spec);
      write_real_settings(w, d.spec);
      w.u32(d.active);
      w.u32(d.inactive);
      w.u32(d.persist);
      write_stats(w, d.stats);
    }
  }
}

namespace {

// A link address, the common part of link op and dump records: u32 ifindex | u8 af | str addr | u8 prefix.
void read_link_address(Reader& r, rtnl::AddrOp& op) {
  uint32_t ifindex = r.u32();
  if (ifindex > static_cast<uint32_t>(std::numeric_limits<int32_t>::max())) throw nl::MalformedError("link index " + std::to_string(ifindex) + " out of range");
  op.ifindex = static_cast<int32_t>(ifindex);
  op.af = r.u8();
  std::string text = r.str();
  op.prefix_len = r.u8();
  if (op.af != AF_INET && op.af != AF_INET6) {
    op.invalid = "unknown address family " + std::to_string(op.af);
  } else if (!ipvs::parse_addr(op.af, text, op.addr)) {
    op.invalid = std::string("invalid ") + family_name(op.af) + " address '" + text + "'";
  } else if (op.prefix_len > (op.af == AF_INET6 ? 128 : 32)) {
    op.invalid = "prefix length " + std::to_string(op.prefix_len) + " out of range for an " + family_name(op.af) + " address";
  }
}

void write_link_address(Writer& w, int32_t ifindex, uint16_t af, const std::array<uint8_t, 16>& addr, uint8_t prefix_len) {
  w.u32(static_cast<uint32_t>(ifindex));
  w.u8(static_cast<uint8_t>(af));
  w.str(ipvs::format_addr(af, addr));
  w.u8(prefix_len);
}

}  // namespace

std::vector<rtnl::AddrOp> read_link_ops(const uint8_t* data, size_t len) {
  Reader r(data, len);
  uint32_t count = r.u32();
  if (count > len) throw nl::MalformedError("operation count exceeds the record size");
  std::vector<rtnl::AddrOp> ops(count);
  for (rtnl::AddrOp& op : ops) {
    uint8_t kind = r.u8();
    if (kind != 1 && kind != 2) throw nl::MalformedError("unknown link operation kind " + std::to_string(kind));
    op.add = kind == 1;
    read_link_address(r, op);
  }
  if (!r.done()) throw nl::MalformedError("trailing bytes after the link operation records");
  return ops;
}

void write_address_dump(Writer& w, const std::vector<rtnl::NamedAddr>& list) {
  w.u32(static_cast<uint32_t>(list.size()));
  for (const rtnl::NamedAddr& a : list) {
    write_link_address(w, a.addr.ifindex, a.addr.af, a.addr.addr, a.addr.prefix_len);
    w.str(a.ifname);
  }
}

void write_route_dump(Writer& w, const std::vector<rtnl::RouteInfo>& routes) {
  w.u32(static_cast<uint32_t>(routes.size()));
  for (const rtnl::RouteInfo& r : routes) {
    write_link_address(w, r.oif, r.af, r.addr, r.prefix_len);
    w.u8(r.protocol);
    w.u8(r.protocol == rtnl::kRouteProtocol && r.metric == rtnl::kRouteMetric ? 1 : 0);
  }
}

std::string errno_name(int err) {
  const char* name = strerrorname_np(err);
  return name != nullptr ? name : "E" + std::to_string(err);
}

}  // namespace records
