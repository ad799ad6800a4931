#include "link_handle.h"

#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <map>

namespace rtnl {

Handle::Handle(std::string netns, int timeout_ms)
    : nl::SingleSocketHandle(NETLINK_ROUTE, std::move(netns), timeout_ms, "links", "the link handle is closed") {}

std::optional<LinkInfo> Handle::lookup_locked(const std::string& name) {
  nl::Socket& s = sock();
  nl::MsgBuilder b;
  uint32_t seq = s.next_seq();
  encode_get_link(b, seq, name);
  LinkInfo l;
  try {
    s.request(b, seq, "linkIndex", [&](const nl::Msg& m) { l = decode_link(m); });
  } catch (const nl::Error& e) {
    if (e.kind == nl::ErrorKind::Errno && e.err == ENODEV) return std::nullopt;
    throw;
  }
  return l;
}

std::optional<int32_t> Handle::index_locked(const std::string& name) {
  std::optional<LinkInfo> l = lookup_locked(name);
  if (!l) return std::nullopt;
  return l->ifindex;
}

void Handle::require_kind(const LinkInfo& l, const std::string& kind, const std::string& op) {
  if (l.kind == kind) return;
  std::string what = l.kind.empty() ? "a link without a kind" : "a " + l.kind + " link";
  throw nl::Error(nl::ErrorKind::Errno, EEXIST, op,
                  "link " + l.name + " exists as " + what + ", not a " + kind + " link: not ours, left alone");
}

Handle::Ensured Handle::ensure_dummy(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  nl::Socket& s = sock();
  nl::MsgBuilder b;
  uint32_t seq = s.next_seq();
  encode_new_dummy(b, seq, name);
  int e = s.request_ack(b, seq, "ensureDummyLink");
  if (e != 0 && e != EEXIST) throw nl::Error(nl::ErrorKind::Errno, e, "ensureDummyLink", std::strerror(e));
  std::optional<LinkInfo> link = lookup_locked(name);
  if (!link) throw nl::Error(nl::ErrorKind::Errno, ENODEV, "ensureDummyLink", "link " + name + " vanished after creation");
  // An existing link keeps its state (up or down): only its kind is checked.
  if (e == EEXIST) require_kind(*link, "dummy", "ensureDummyLink");
  const int32_t idx = link->ifindex;
  return Ensured{idx, e == 0, link->up};
}

std::optional<int32_t> Handle::link_index(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  return index_locked(name);
}

bool Handle::delete_link(const std::string& name, const std::string& only_kind) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!only_kind.empty()) {
    std::optional<LinkInfo> link = lookup_locked(name);
    if (!link) return false;
    require_kind(*link, only_kind, "deleteLink");
  }
  nl::Socket& s = sock();
  nl::MsgBuilder b;
  uint32_t seq = s.next_seq();
  encode_del_link(b, seq, name);
  int e = s.request_ack(b, seq, "deleteLink");
  if (e == ENODEV) return false;
  if (e != 0) throw nl::Error(nl::ErrorKind::Errno, e, "deleteLink", std::strerror(e));
  return true;
}

std::vector<NamedAddr> Handle::list_addresses(std::optional<int32_t> ifindex) {
  std::lock_guard<std::mutex> lock(mu_);
  nl::Socket& s = sock();
  std::map<int32_t, std::string> names;
  nl::MsgBuilder b;
  uint32_t seq = s.next_seq();
  encode_dump(b, seq, RTM_GETLINK);
  s.dump(b, seq, "listAddresses", [&](const nl::Msg& m) {
    if (m.type != RTM_NEWLINK) return;
    LinkInfo l = decode_link(m);
    names[l.ifindex] = l.name;
  });
  std::vector<NamedAddr> out;
  b.clear();
  seq = s.next_seq();
  encode_dump(b, seq, RTM_GETADDR);
  s.dump(b, seq, "listAddresses", [&](const nl::Msg& m) {
    if (m.type != RTM_NEWADDR) return;
    std::optional<AddrInfo> a = decode_addr(m);
    if (!a || (ifindex && a->ifindex != *ifindex)) return;
    out.push_back(NamedAddr{*a, names[a->ifindex]});
  });
  return out;
}

namespace {

using Encoder = void (*)(nl::MsgBuilder&, uint32_t, bool, int32_t, uint16_t, const std::array<uint8_t, 16>&, uint8_t);
using ErrorText = std::string (*)(bool, int);

// Address and route ops share their shape: an op that could not be encoded fails alone with
// EINVAL and is never sent, the rest go in one batch, and each failure gets the text `ip` prints.
std::vector<AddrResult> apply_batch(nl::Socket& s, const std::vector<AddrOp>& ops, const char* what, Encoder encode,
                                    ErrorText error_text) {
  std::vector<AddrResult> results(ops.size());
  std::vector<size_t> to_send;
  for (size_t i = 0; i < ops.size(); ++i) {
    if (ops[i].invalid.empty()) to_send.push_back(i);
    else results[i] = AddrResult{EINVAL, ops[i].invalid};
  }
  if (to_send.empty()) return results;
  std::vector<int> errs = s.batch(to_send.size(), what, [&](size_t k, nl::MsgBuilder& b, uint32_t seq) {
    const AddrOp& op = ops[to_send[k]];
    encode(b, seq, op.add, op.ifindex, op.af, op.addr, op.prefix_len);
  });
  for (size_t k = 0; k < to_send.size(); ++k) {
    if (errs[k] != 0) results[to_send[k]] = AddrResult{errs[k], error_text(ops[to_send[k]].add, errs[k])};
  }
  return results;
}

}  // namespace

std::vector<AddrResult> Handle::apply(const std::vector<AddrOp>& ops) {
  std::lock_guard<std::mutex> lock(mu_);
  return apply_batch(sock(), ops, "applyAddresses", encode_addr, addr_error_text);
}

std::vector<RouteInfo> Handle::list_local_routes(int32_t oif) {
  std::lock_guard<std::mutex> lock(mu_);
  nl::Socket& s = sock();
  s.strict_check();
  std::vector<RouteInfo> out;
  for (uint16_t af : {static_cast<uint16_t>(AF_INET), static_cast<uint16_t>(AF_INET6)}) {
    nl::MsgBuilder b;
    uint32_t seq = s.next_seq();
    encode_local_route_dump(b, seq, af, oif);
    s.dump(b, seq, "listLocalRoutes", [&](const nl::Msg& m) {
      if (m.type != RTM_NEWROUTE) return;
      std::optional<RouteInfo> r = decode_local_route(m, oif);
      if (r) out.push_back(*r);
    });
  }
  return out;
}

std::vector<AddrResult> Handle::apply_routes(const std::vector<AddrOp>& ops) {
  std::lock_guard<std::mutex> lock(mu_);
  return apply_batch(sock(), ops, "applyRoutes", encode_local_route, route_error_text);
}

bool Handle::bring_up_quiet(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  std::optional<LinkInfo> link = lookup_locked(name);
  if (!link) throw nl::Error(nl::ErrorKind::Errno, ENODEV, "bringUpQuiet", "link " + name + " does not exist");
  require_kind(*link, "dummy", "bringUpQuiet");
  if (link->up) return false;
  nl::Socket& s = sock();
  // Address generation off first: the link must never come up with a link-local address.
  nl::MsgBuilder b;
  uint32_t seq = s.next_seq();
  encode_addr_gen_none(b, seq, link->ifindex);
  int e = s.request_ack(b, seq, "bringUpQuiet");
  if (e != 0) throw nl::Error(nl::ErrorKind::Errno, e, "bringUpQuiet", "addrgenmode none on " + name + ": " + std::strerror(e));
  b.clear();
  seq = s.next_seq();
  encode_link_up(b, seq, link->ifindex);
  e = s.request_ack(b, seq, "bringUpQuiet");
  if (e != 0) throw nl::Error(nl::ErrorKind::Errno, e, "bringUpQuiet", "link " + name + " up: " + std::strerror(e));
  return true;
}

}  // namespace rtnl
