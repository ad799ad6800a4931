// Test hooks of the tests' build of the addon (IPVS_PROXY_TEST_BUILD only): see test_hooks.cc.
#pragma once

#include <napi.h>

namespace test_hooks {

void add(Napi::Env env, Napi::Object exports);

}  // namespace test_hooks
