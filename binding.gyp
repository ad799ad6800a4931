{
  "target_defaults": {
    "sources": [
      "native/addon.cc",
      "native/ipvs_handle.cc",
      "native/ipset_wire.cc",
      "native/ipvs_wire.cc",
      "native/link_handle.cc",
      "native/nl_attr.cc",
      "native/nl_socket.cc",
      "native/records.cc",
      "native/rtnl_wire.cc",
      "native/set_handle.cc"
    ],
    "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
    "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "_GNU_SOURCE"],
    "cflags!": ["-fno-exceptions"],
    "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
    "cflags_cc": ["-std=c++17", "-fexceptions", "-Wall", "-Wextra"],
    "ldflags": ["-pthread"]
  },
  "targets": [
    {
      "target_name": "ipvs_native"
    },
    {
      "target_name": "ipvs_native_test",
      "sources": ["native/faults.cc", "native/test_hooks.cc"],
      "defines": ["IPVS_PROXY_TEST_BUILD"]
    }
  ]
}
