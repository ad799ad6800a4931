// Test-only fault injection, compiled only into the tests' build of the addon
// (ipvs_native_test.node, IPVS_PROXY_TEST_BUILD) and enabled there by the IPVS_PROXY_FAULTS
// environment variable (see native/README.md). Counters are process-wide and each fault fires
// once. The product's build has no injection point: next() is an empty inline decision.
#pragma once

namespace faults {

enum class Point { Send, Recv };

// What to do at this send or receive: nothing, fail with an errno, or stop answering.
struct Decision {
  int fail_errno = 0;  // EIO for fail-send, ENOBUFS for enobufs
  bool hang = false;
};

#ifdef IPVS_PROXY_TEST_BUILD
Decision next(Point p);
#else
inline Decision next(Point) { return {}; }
#endif

}  // namespace faults
