// ipset entries over nfnetlink (the per-service contents of the agent's sets). Plain C++.
#pragma once

#include <string>
#include <vector>

#include "handle_base.h"
#include "ipset_wire.h"

namespace ipset {

// Entries to add to or delete from one set. invalid[i] non-empty: entry i did not parse and is
// reported as EINVAL, never sent.
struct Group {
  bool add = true;
  std::string set;
  SetType type = SetType::Ip;
  uint16_t af = 0;
  std::vector<Entry> entries;
  std::vector<std::string> invalid;
};

struct Failure {
  size_t group = 0;
  size_t entry = 0;
  int err = 0;
  std::string message;
};

struct ApplyResult {
  std::vector<Failure> failures;
  // Netlink requests sent: the kernel writes.
  size_t requests = 0;
};

class Handle : public nl::SingleSocketHandle {
 public:
  Handle(std::string netns, int timeout_ms);
  ApplyResult apply(const std::vector<Group>& groups);
  // Every set (equivalent to `ipset save`); entries only for sets named with one of `prefixes`.
  std::vector<ListedSet> list(const std::vector<std::string>& prefixes);
};

}  // namespace ipset
