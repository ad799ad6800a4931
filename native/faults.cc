#include "faults.h"

#ifdef IPVS_PROXY_TEST_BUILD

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <mutex>
#include <sstream>
#include <string>

namespace faults {
namespace {

struct Plan {
  long fail_send = 0;  // 1-based index of the send that fails; 0 = never
  long enobufs = 0;    // receive that reports ENOBUFS
  long hang = 0;       // receive that never gets an answer
};

std::once_flag parsed;
Plan plan;
std::atomic<long> sends{0};
std::atomic<long> recvs{0};

void parse() {
  const char* env = std::getenv("IPVS_PROXY_FAULTS");
  if (env == nullptr) return;
  std::stringstream ss(env);
  std::string item;
  while (std::getline(ss, item, ',')) {
    size_t colon = item.find(':');
    if (colon == std::string::npos) continue;
    std::string name = item.substr(0, colon);
    long n = std::strtol(item.c_str() + colon + 1, nullptr, 10);
    if (name == "fail-send") plan.fail_send = n;
    else if (name == "enobufs") plan.enobufs = n;
    else if (name == "hang") plan.hang = n;
  }
}

}  // namespace

Decision next(Point p) {
  std::call_once(parsed, parse);
  Decision d;
  if (p == Point::Send) {
    long n = ++sends;
    if (n == plan.fail_send) d.fail_errno = EIO;
  } else {
    long n = ++recvs;
    if (n == plan.enobufs) d.fail_errno = ENOBUFS;
    if (n == plan.hang) d.hang = true;
  }
  return d;
}

}  // namespace faults

#endif  // IPVS_PROXY_TEST_BUILD
