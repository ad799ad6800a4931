// Test-only fault injection, enabled solely by the IPVS_PROXY_FAULTS environment variable
// (see native/README.md). Counters are process-wide and each fault fires once.
#pragma once

namespace faults {

enum class Point { Send, Recv };

// What to do at this send or receive: nothing, fail with an errno, or stop answering.
struct Decision {
  int fail_errno = 0;  // EIO for fail-send, ENOBUFS for enobufs
  bool hang = false;
};

Decision next(Point p);

}  // namespace faults
