// The compact binary records exchanged with TypeScript (src/native/records.ts), both ways:
// operations in, dumped tables out. Building JS objects property by property through N-API
// costs far more than one Buffer that V8-compiled TypeScript decodes; this format is that Buffer.
// All integers little-endian; strings are u8 length + bytes, texts (failure messages) u16 length
// + bytes. The layouts are written out in records.ts.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ipvs_wire.h"
#include "rtnl_wire.h"

namespace records {

class Reader {
 public:
  Reader(const uint8_t* data, size_t len) : data_(data), len_(len) {}
  uint8_t u8();
  uint16_t u16();
  uint32_t u32();
  std::string str();
  std::string text();
  bool done() const { return off_ == len_; }

 private:
  const uint8_t* take(size_t n);
  const uint8_t* data_;
  size_t len_;
  size_t off_ = 0;
};

class Writer {
 public:
  void u8(uint8_t v) { out.push_back(v); }
  void u16(uint16_t v);
  void u32(uint32_t v);
  void u64(uint64_t v);
  void str(const std::string& s);
  void text(const std::string& s);
  std::vector<uint8_t> out;

 private:
  void little_endian(uint64_t v, int bytes);
};

// Ops: u32 count, then per op (see records.ts for the layout). Framing errors throw
// nl::MalformedError; an unparsable address marks that one op invalid instead.
std::vector<ipvs::Op> read_ops(const uint8_t* data, size_t len);
void write_ops(Writer& w, const std::vector<ipvs::Op>& ops);

// One virtual server's key, laid out as at the start of an op record; an unparsable key throws.
ipvs::ServiceKey read_service_key(const uint8_t* data, size_t len);

// Dump: u32 count, then each service followed by its real servers.
void write_dump(Writer& w, const std::vector<ipvs::ServiceEntry>& entries);

// Address and local-route ops (one layout for both): u32 count, then per op a kind and a link
// address. Framing errors throw nl::MalformedError; an op that does not parse is marked invalid.
std::vector<rtnl::AddrOp> read_link_ops(const uint8_t* data, size_t len);

// Address dump: u32 count, then per address its link address and its link's name.
void write_address_dump(Writer& w, const std::vector<rtnl::NamedAddr>& list);

// Local-route dump: u32 count, then per route its link address, protocol and whether it is ours.
void write_route_dump(Writer& w, const std::vector<rtnl::RouteInfo>& routes);

// The errno's symbolic name ("EEXIST"), or "E<number>" for one glibc does not name.
std::string errno_name(int err);

// The failures of a batch, whatever its kind (IPVS, address, route): u32 count, then per failed
// op u32 index | u32 errno | str code | text message. A batch of 100k mostly succeeds, so only
// failures cross. Result is any type with `int err` (0: success) and `std::string message`.
template <typename Result>
void write_failures(Writer& w, const std::vector<Result>& results) {
  uint32_t n = 0;
  for (const Result& r : results) n += r.err != 0 ? 1 : 0;
  w.u32(n);
  for (size_t i = 0; i < results.size(); ++i) {
    const Result& r = results[i];
    if (r.err == 0) continue;
    w.u32(static_cast<uint32_t>(i));
    w.u32(static_cast<uint32_t>(r.err));
    w.str(errno_name(r.err));
    w.text(r.message);
  }
}

}  // namespace records
