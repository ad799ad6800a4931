// Standalone driver for the pure parsers (nl_attr, ipvs_wire, rtnl_wire, records: IPVS and link op records), built with
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

#include <sys/socket.h>

#include "../../../native/ipset_wire.h"
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
      try { (void)rtnl::decode_local_route(m, 2); } catch (const nl::MalformedError&) {}
      try { (void)nl::error_code(m); } catch (const nl::MalformedError&) {}
      try {
        std::vector<ipset::ListedSet> sets;
        ipset::decode_list_msg(m, {"IPVS-PROXY-", ""}, sets);
      } catch (const nl::MalformedError&) {}
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
  try {
    // What parses as link op records must encode as both address and route requests.
    nl::MsgBuilder b;
    for (const rtnl::AddrOp& op : records::read_link_ops(buf.data(), buf.size())) {
      if (!op.invalid.empty()) continue;
      rtnl::encode_addr(b, 1, op.add, op.ifindex, op.af, op.addr, op.prefix_len);
      rtnl::encode_local_route(b, 2, op.add, op.ifindex, op.af, op.addr, op.prefix_len);
    }
  } catch (const nl::MalformedError&) {
  }
}

// An ipset entry text: parsed for every set type and family; what parses must encode.
void parse_entry_all(const std::string& text) {
  static const ipset::SetType kTypes[] = {ipset::SetType::Ip, ipset::SetType::Net, ipset::SetType::IpPort, ipset::SetType::IpPortIp, ipset::SetType::IpPortNet};
  for (ipset::SetType type : kTypes) {
    for (uint16_t af : {uint16_t{AF_INET}, uint16_t{AF_INET6}}) {
      ipset::Entry e;
      if (!ipset::parse_entry(type, af, text, e).empty()) continue;
      nl::MsgBuilder b;
      ipset::encode_adt(b, 1, true, "IPVS-PROXY-FUZZ", type, af, &e, 1);
    }
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
  // Entry texts: seeds of every layout, mutated within the characters they are made of.
  const char* seeds[] = {"10.0.1.175", "10.244.0.0/16", "10.0.1.175,tcp:80", "10.244.1.5,udp:53,10.244.1.5", "203.0.113.7,sctp:443,198.51.100.0/24",
                         "fd00::a", "fd00:10:244::/56", "fd00::a,tcp:65535", "2001:db8::7,tcp:443,2001:db8:1::/48"};
  const std::string alphabet = "0123456789abcdef.:,/tcpudsx-";
  for (const char* seed : seeds) {
    parse_entry_all(seed);
    for (long k = 0; k < rounds; ++k) {
      std::string m = seed;
      int edits = 1 + static_cast<int>(rng() % 3);
      for (int j = 0; j < edits; ++j) {
        size_t at = rng() % (m.size() + 1);
        switch (rng() % 3) {
          case 0: if (at < m.size()) m[at] = alphabet[rng() % alphabet.size()]; break;
          case 1: m.insert(at, 1, alphabet[rng() % alphabet.size()]); break;
          default: if (at < m.size()) m.erase(at, 1); break;
        }
      }
      parse_entry_all(m);
    }
  }
  std::printf("inputs %zu accepted %zu rejected %zu rounds %ld\n", inputs, accepted, rejected, rounds);
  return inputs == 0 ? 2 : 0;
}
