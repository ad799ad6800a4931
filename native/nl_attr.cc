#include "nl_attr.h"

#include <arpa/inet.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include <cstddef>
#include <cstring>

namespace nl {

size_t MsgBuilder::begin(uint16_t type, uint16_t flags, uint32_t seq) {
  msg_start_ = buf_.size();
  nlmsghdr h{};
  h.nlmsg_type = type;
  h.nlmsg_flags = flags;
  h.nlmsg_seq = seq;
  h.nlmsg_pid = 0;  // the kernel fills in our port id
  raw(&h, sizeof h);
  return msg_start_;
}

void MsgBuilder::end() {
  uint32_t len = static_cast<uint32_t>(buf_.size() - msg_start_);
  std::memcpy(buf_.data() + msg_start_, &len, sizeof len);
}

void MsgBuilder::clear_flags(size_t start, uint16_t bits) {
  uint16_t flags;
  std::memcpy(&flags, buf_.data() + start + offsetof(nlmsghdr, nlmsg_flags), sizeof flags);
  flags = static_cast<uint16_t>(flags & ~bits);
  std::memcpy(buf_.data() + start + offsetof(nlmsghdr, nlmsg_flags), &flags, sizeof flags);
}

void MsgBuilder::genl_header(uint8_t cmd, uint8_t version) {
  genlmsghdr g{};
  g.cmd = cmd;
  g.version = version;
  raw(&g, sizeof g);
}

void MsgBuilder::raw(const void* data, size_t len) {
  const auto* p = static_cast<const uint8_t*>(data);
  buf_.insert(buf_.end(), p, p + len);
  buf_.resize(align4(buf_.size()), 0);
}

void MsgBuilder::put(uint16_t type, const void* data, size_t len) {
  nlattr a{};
  a.nla_len = static_cast<uint16_t>(NLA_HDRLEN + len);
  a.nla_type = type;
  const auto* ap = reinterpret_cast<const uint8_t*>(&a);
  buf_.insert(buf_.end(), ap, ap + sizeof a);
  const auto* p = static_cast<const uint8_t*>(data);
  if (len > 0) buf_.insert(buf_.end(), p, p + len);
  buf_.resize(align4(buf_.size()), 0);
}

void MsgBuilder::put_be16(uint16_t type, uint16_t host) { put_u16(type, htons(host)); }

void MsgBuilder::put_str(uint16_t type, const std::string& s) { put(type, s.c_str(), s.size() + 1); }

size_t MsgBuilder::nest_begin(uint16_t type) {
  size_t off = buf_.size();
  put(static_cast<uint16_t>(type | NLA_F_NESTED), nullptr, 0);
  return off;
}

void MsgBuilder::nest_end(size_t off) {
  uint16_t len = static_cast<uint16_t>(buf_.size() - off);
  std::memcpy(buf_.data() + off, &len, sizeof len);
}

namespace {
template <typename T>
T read_as(const Attr& a, const char* what) {
  if (a.len < sizeof(T)) throw MalformedError(std::string("attribute too short for ") + what);
  T v;
  std::memcpy(&v, a.data, sizeof v);
  return v;
}
}  // namespace

uint8_t Attr::u8() const { return read_as<uint8_t>(*this, "u8"); }
uint16_t Attr::u16() const { return read_as<uint16_t>(*this, "u16"); }
uint16_t Attr::be16() const { return ntohs(read_as<uint16_t>(*this, "be16")); }
uint32_t Attr::u32() const { return read_as<uint32_t>(*this, "u32"); }
uint64_t Attr::u64() const { return read_as<uint64_t>(*this, "u64"); }

uint64_t Attr::counter() const {
  if (len == 4) return u32();
  if (len == 8) return u64();
  throw MalformedError("counter attribute of length " + std::to_string(len));
}

std::string Attr::str(size_t max_len) const {
  size_t n = 0;
  while (n < len && data[n] != 0) ++n;
  if (n > max_len) throw MalformedError("string attribute too long");
  return std::string(reinterpret_cast<const char*>(data), n);
}

AttrTable::AttrTable(const uint8_t* data, size_t len, uint16_t max_type)
    : slots_(max_type + 1u), present_(max_type + 1u, false) {
  size_t off = 0;
  while (off < len) {
    if (len - off < NLA_HDRLEN) throw MalformedError("truncated attribute header");
    nlattr a;
    std::memcpy(&a, data + off, sizeof a);
    if (a.nla_len < NLA_HDRLEN || a.nla_len > len - off) throw MalformedError("attribute overruns its message");
    uint16_t type = a.nla_type & NLA_TYPE_MASK;
    if (type <= max_type) {
      slots_[type] = Attr{type, data + off + NLA_HDRLEN, static_cast<size_t>(a.nla_len - NLA_HDRLEN)};
      present_[type] = true;
    }
    size_t step = align4(a.nla_len);
    if (step > len - off) break;  // the last attribute may omit its padding
    off += step;
  }
}

const Attr* AttrTable::get(uint16_t type) const {
  if (type >= slots_.size() || !present_[type]) return nullptr;
  return &slots_[type];
}

const Attr& AttrTable::need(uint16_t type, const char* what) const {
  const Attr* a = get(type);
  if (a == nullptr) throw MalformedError(std::string("missing attribute ") + what);
  return *a;
}

std::vector<Msg> split_messages(const uint8_t* data, size_t len) {
  std::vector<Msg> out;
  size_t off = 0;
  while (off < len) {
    if (len - off < NLMSG_HDRLEN) throw MalformedError("truncated netlink header");
    nlmsghdr h;
    std::memcpy(&h, data + off, sizeof h);
    if (h.nlmsg_len < NLMSG_HDRLEN || h.nlmsg_len > len - off) throw MalformedError("netlink message overruns datagram");
    Msg m;
    m.type = h.nlmsg_type;
    m.flags = h.nlmsg_flags;
    m.seq = h.nlmsg_seq;
    m.pid = h.nlmsg_pid;
    m.payload = data + off + NLMSG_HDRLEN;
    m.payload_len = h.nlmsg_len - NLMSG_HDRLEN;
    out.push_back(m);
    size_t step = NLMSG_ALIGN(h.nlmsg_len);
    if (step > len - off) break;
    off += step;
  }
  return out;
}

int error_code(const Msg& m) {
  if (m.payload_len < sizeof(int32_t)) throw MalformedError("truncated NLMSG_ERROR");
  int32_t e;
  std::memcpy(&e, m.payload, sizeof e);
  // Errnos are small (ipset's own codes run from 4097 to the 4300s); anything else, including
  // INT_MIN whose negation overflows, is garbage.
  if (e > 0 || e < -65535) throw MalformedError("NLMSG_ERROR code out of range");
  return -e;
}

GenlBody genl_body(const Msg& m) {
  if (m.payload_len < GENL_HDRLEN) throw MalformedError("truncated generic netlink header");
  GenlBody b;
  b.cmd = m.payload[0];
  b.attrs = m.payload + GENL_HDRLEN;
  b.attrs_len = m.payload_len - GENL_HDRLEN;
  return b;
}

}  // namespace nl
