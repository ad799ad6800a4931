// The compact binary records exchanged with TypeScript (src/native/records.ts), both ways:
// operations in, dumped tables out. Building JS objects property by property through N-API
// costs far more than one Buffer that V8-compiled TypeScript decodes; this format is that Buffer.
// All integers little-endian; strings are u8 length + bytes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ipvs_wire.h"

namespace records {

class Reader {
 public:
  Reader(const uint8_t* data, size_t len) : data_(data), len_(len) {}
  uint8_t u8();
  uint16_t u16();
  uint32_t u32();
  std::string str();
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

}  // namespace records
