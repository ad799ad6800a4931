#include "set_handle.h"

#include <linux/netlink.h>

#include <cerrno>

namespace ipset {
namespace {

// Entries per request: about 11 KB of attributes for IPv4 ip,port,ip entries, well inside a
// nested attribute's 64 KB and the socket's send buffer.
constexpr size_t kEntriesPerRequest = 256;

struct Chunk {
  size_t group;
  std::vector<size_t> entries;  // indexes into the group's entries
};

}  // namespace

Handle::Handle(std::string netns, int timeout_ms)
    : nl::SingleSocketHandle(NETLINK_NETFILTER, std::move(netns), timeout_ms, "sets", "the set handle is closed") {}

ApplyResult Handle::apply(const std::vector<Group>& groups) {
  std::lock_guard<std::mutex> lock(mu_);
  ApplyResult result;
  std::vector<Chunk> chunks;
  for (size_t g = 0; g < groups.size(); ++g) {
    const Group& group = groups[g];
    for (size_t i = 0; i < group.entries.size(); ++i) {
      if (i < group.invalid.size() && !group.invalid[i].empty()) {
        result.failures.push_back(Failure{g, i, EINVAL, group.invalid[i]});
        continue;
      }
      if (chunks.empty() || chunks.back().group != g || chunks.back().entries.size() == kEntriesPerRequest) chunks.push_back(Chunk{g, {}});
      chunks.back().entries.push_back(i);
    }
  }
  std::vector<Entry> scratch;
  auto send = [&](const std::vector<Chunk>& list) {
    result.requests += list.size();
    return sock().batch(list.size(), "applySetEntries", [&](size_t k, nl::MsgBuilder& b, uint32_t seq) {
      const Chunk& c = list[k];
      const Group& group = groups[c.group];
      scratch.clear();
      for (size_t i : c.entries) scratch.push_back(group.entries[i]);
      encode_adt(b, seq, group.add, group.set, group.type, group.af, scratch.data(), scratch.size());
    });
  };
  std::vector<int> errs = send(chunks);
  // The kernel stops a request at its first failing entry and does not say which: the entries
  // of a failed request go again one per request, so each failure names its entry and every
  // good entry still lands.
  std::vector<Chunk> singles;
  for (size_t k = 0; k < chunks.size(); ++k) {
    if (errs[k] == 0) continue;
    if (chunks[k].entries.size() == 1) {
      result.failures.push_back(Failure{chunks[k].group, chunks[k].entries[0], errs[k], error_text(errs[k])});
      continue;
    }
    for (size_t i : chunks[k].entries) singles.push_back(Chunk{chunks[k].group, {i}});
  }
  if (!singles.empty()) {
    std::vector<int> single_errs = send(singles);
    for (size_t k = 0; k < singles.size(); ++k)
      if (single_errs[k] != 0) result.failures.push_back(Failure{singles[k].group, singles[k].entries[0], single_errs[k], error_text(single_errs[k])});
  }
  return result;
}

std::vector<ListedSet> Handle::list(const std::vector<std::string>& prefixes) {
  std::lock_guard<std::mutex> lock(mu_);
  nl::Socket& s = sock();
  nl::MsgBuilder b;
  uint32_t seq = s.next_seq();
  encode_list(b, seq);
  std::vector<ListedSet> sets;
  s.dump(b, seq, "listSets", [&](const nl::Msg& m) { decode_list_msg(m, prefixes, sets); });
  return sets;
}

}  // namespace ipset
