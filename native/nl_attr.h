// Netlink message building and bounds-checked parsing. Knows only bytes: no sockets, no node,
// so the standalone sanitizer test binary links it as is.
//
//   nlmsghdr (16) | genlmsghdr (4) or ifinfomsg/ifaddrmsg | attr | attr(nested: attr attr) | ...
//   each attr: u16 nla_len (header+payload, unpadded), u16 nla_type, payload, pad to 4
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace nl {

// A reply that does not parse. Never recovered from inside one message: the caller reports it.
class MalformedError : public std::runtime_error {
 public:
  explicit MalformedError(const std::string& what) : std::runtime_error(what) {}
};

inline constexpr size_t align4(size_t n) { return (n + 3u) & ~size_t{3}; }

// Appends netlink messages to one growing buffer (many messages per sendmsg).
class MsgBuilder {
 public:
  // Starts a message; the length is patched by end(). Returns its offset.
  size_t begin(uint16_t type, uint16_t flags, uint32_t seq);
  void end();
  void genl_header(uint8_t cmd, uint8_t version);
  // Clears nlmsg_flags bits of the message that starts at offset start.
  void clear_flags(size_t start, uint16_t bits);
  void raw(const void* data, size_t len);  // fixed family header, 4-aligned afterwards
  void put(uint16_t type, const void* data, size_t len);
  void put_u8(uint16_t type, uint8_t v) { put(type, &v, 1); }
  void put_u16(uint16_t type, uint16_t v) { put(type, &v, 2); }
  void put_u32(uint16_t type, uint32_t v) { put(type, &v, 4); }
  void put_be16(uint16_t type, uint16_t host);
  void put_str(uint16_t type, const std::string& s);  // NUL-terminated
  size_t nest_begin(uint16_t type);
  void nest_end(size_t off);
  const std::vector<uint8_t>& bytes() const { return buf_; }
  size_t size() const { return buf_.size(); }
  void clear() { buf_.clear(); }

 private:
  std::vector<uint8_t> buf_;
  size_t msg_start_ = 0;
};

// A view of one attribute payload, with typed readers that check the length.
struct Attr {
  uint16_t type = 0;  // without NLA_F_NESTED / NLA_F_NET_BYTEORDER
  const uint8_t* data = nullptr;
  size_t len = 0;

  uint8_t u8() const;
  uint16_t u16() const;
  uint16_t be16() const;
  uint32_t u32() const;
  uint64_t u64() const;
  // 4- or 8-byte counter, as in the 32-bit and 64-bit stats blocks.
  uint64_t counter() const;
  // String payload up to the first NUL (or the whole payload), at most max_len bytes.
  std::string str(size_t max_len) const;
};

// Indexes the attributes of one level by type (last one wins, as in the kernel's nla_parse).
class AttrTable {
 public:
  AttrTable(const uint8_t* data, size_t len, uint16_t max_type);
  const Attr* get(uint16_t type) const;
  const Attr& need(uint16_t type, const char* what) const;

 private:
  std::vector<Attr> slots_;
  std::vector<bool> present_;
};

// One netlink message inside a received datagram.
struct Msg {
  uint16_t type = 0;
  uint16_t flags = 0;
  uint32_t seq = 0;
  uint32_t pid = 0;
  const uint8_t* payload = nullptr;  // after nlmsghdr
  size_t payload_len = 0;
};

// Splits a datagram into messages; a header that overruns the datagram throws.
std::vector<Msg> split_messages(const uint8_t* data, size_t len);

// For NLMSG_ERROR payloads: the (positive) errno, 0 for an ack.
int error_code(const Msg& m);

// After the genlmsghdr: the attribute area of a generic netlink message.
struct GenlBody {
  uint8_t cmd = 0;
  const uint8_t* attrs = nullptr;
  size_t attrs_len = 0;
};
GenlBody genl_body(const Msg& m);

}  // namespace nl
