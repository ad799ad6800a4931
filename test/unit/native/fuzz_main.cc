// Standalone driver for the pure parsers (nl_attr, ipvs_wire, rtnl_wire, records), built with
// AddressSanitizer and UBSan by asan.test.ts. Feeds each input file (raw netlink datagrams),
// every truncation of it and seeded random mutations to every decoder; a decoder may reject an
// input (nl::MalformedError) but must never read out of bounds or crash.
// IPVS_PROXY_FUZZ_ROUNDS (mutations per input, default 2000) and IPVS_PROXY_FUZZ_SEED make a
// longer or different run: IPVS_PROXY_FUZZ_ROUNDS=200000 node --import tsx --test test/unit/native/asan.test.ts
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "../../../native/ipvs_wire.h"
#include "../../../native/nl_attr.h"
#include "../../../native/records.h"
#include "../../../native/rtnl_wire.h"

namespace {

size_t accepted = 0;
size_t rejected = 0;

void decode_all(const std::vector<uint8_t>& buf) {
  try {
    for (const nl::Msg& m : nl::split_messages(buf.data(), buf.size())) {
      // Every decoder on every message: the wrong decoder must fail cleanly as well.
      try { (void)ipvs::decode_service_msg(m); } catch (const nl::MalformedError&) {}
      try { (void)ipvs::decode_dest_msg(m, 2); } catch (const nl::MalformedError&) {}
      try { (void)ipvs::decode_info_msg(m); } catch (const nl::MalformedError&) {}
      try { (void)ipvs::decode_timeouts_msg(m); } catch (const nl::MalformedError&) {}
      try { (void)ipvs::decode_op_msg(m); } catch (const nl::MalformedError&) {}
      try { (void)ipvs::decode_family_id(m); } catch (const nl::MalformedError&) {}
      try { (void)rtnl::decode_link(m); } catch (const nl::MalformedError&) {}
      try { (void)rtnl::decode_addr(m); } catch (const nl::MalformedError&) {}
      try { (void)nl::error_code(m); } catch (const nl::MalformedError&) {}
    }
    ++accepted;
  } catch (const nl::MalformedError&) {
    ++rejected;
  }
  try {
    std::vector<ipvs::Op> ops = records::read_ops(buf.data(), buf.size());
    records::Writer w;
    records::write_ops(w, ops);
  } catch (const nl::MalformedError&) {
  }
}

std::vector<uint8_t> from_hex(const std::string& hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

long env_or(const char* name, long fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtol(v, nullptr, 10) : fallback;
}

}  // namespace

int main(int argc, char** argv) {
  const long rounds = env_or("IPVS_PROXY_FUZZ_ROUNDS", 2000);
  std::mt19937 rng(static_cast<uint32_t>(env_or("IPVS_PROXY_FUZZ_SEED", 20251125)));
  size_t inputs = 0;
  for (int a = 1; a < argc; ++a) {
    std::ifstream f(argv[a]);
    std::string line;
    while (std::getline(f, line)) {  // one hex datagram per line
      if (line.empty()) continue;
      std::vector<uint8_t> base = from_hex(line);
      decode_all(base);
      for (size_t n = 0; n < base.size(); ++n) decode_all(std::vector<uint8_t>(base.begin(), base.begin() + static_cast<long>(n)));
      for (long k = 0; k < rounds; ++k) {
        std::vector<uint8_t> m = base;
        int flips = 1 + static_cast<int>(rng() % 4);
        for (int j = 0; j < flips && !m.empty(); ++j) m[rng() % m.size()] = static_cast<uint8_t>(rng());
        decode_all(m);
      }
      ++inputs;
    }
  }
  for (long k = 0; k < 10 * rounds; ++k) {
    std::vector<uint8_t> r(rng() % 256);
    for (auto& b : r) b = static_cast<uint8_t>(rng());
    decode_all(r);
  }
  std::printf("inputs %zu accepted %zu rejected %zu rounds %ld\n", inputs, accepted, rejected, rounds);
  return inputs == 0 ? 2 : 0;
}
