// ipset's nfnetlink wire format for adding and deleting set entries. Pure: linked into the
// sanitizer test binary. Sets themselves are still created and destroyed by `ipset restore`,
// which picks a set-type revision its own `ipset save` can read back; entries are the same at
// every revision, and there are tens of thousands of them on a large cluster.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "nl_attr.h"

namespace ipset {

// The entry layouts of the set types the agent creates.
enum class SetType : uint8_t { Ip, Net, IpPort, IpPortIp, IpPortNet };

// One entry, parsed from the text `ipset save` prints for it (e.g. "10.0.1.175,tcp:80").
struct Entry {
  std::array<uint8_t, 16> ip{};
  uint8_t cidr = 0;  // hash:net, and the net of hash:ip,port,net (0: a single host)
  uint16_t port = 0;
  uint8_t proto = 0;
  std::array<uint8_t, 16> ip2{};
};

// Parses `text` for a set of `type` and address family `af` (AF_INET or AF_INET6). Returns an
// empty string on success, else why the text is not such an entry.
std::string parse_entry(SetType type, uint16_t af, const std::string& text, Entry& out);

// Parses a type name as ipset prints it ("hash:ip,port"); false for types the agent never creates.
bool parse_type(const std::string& name, SetType& out);

// Equivalent to `ipset add|del <set> <entry> -exist` for every entry, in one request: one
// IPSET_CMD_ADD or IPSET_CMD_DEL message with the entries in an IPSET_ATTR_ADT container. The
// kernel stops at the first failing entry; the caller retries them one by one to name it.
void encode_adt(nl::MsgBuilder& b, uint32_t seq, bool add, const std::string& set, SetType type, uint16_t af,
                const Entry* entries, size_t count);

// Equivalent to `ipset save`: a dump (IPSET_CMD_LIST) of every set with its entries.
void encode_list(nl::MsgBuilder& b, uint32_t seq);

// One set as a dump describes it, entries written as `ipset save` prints them.
struct ListedSet {
  std::string name;
  std::string type;  // as the kernel names it, e.g. "hash:ip,port"
  uint16_t af = 0;
  std::vector<std::string> entries;
};

// Folds one dump message into `sets`. A set's header (type, family) comes in its first message
// and its entries may span many; entries are decoded only for sets whose name starts with one of
// `prefixes` and whose type parse_type knows (the agent's own), others keep just their header.
void decode_list_msg(const nl::Msg& m, const std::vector<std::string>& prefixes, std::vector<ListedSet>& sets);

// The text `ipset save` prints for an entry of a set of `type` and family `af`.
std::string format_entry(SetType type, uint16_t af, const Entry& e);

// ipset-style text for an errno, including ipset's own codes (4097 and up).
std::string error_text(int err);

}  // namespace ipset
