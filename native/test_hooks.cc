// Test hooks without a kernel, compiled only into the tests' build of the addon
// (ipvs_native_test.node; binding.gyp target ipvs_native_test): op records to the netlink
// requests they become and back, captured dump replies to dump records, link op records to
// address and route requests, those messages to address and route dump records, and results
// to failure records.
#include "test_hooks.h"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ipvs_wire.h"
#include "nl_attr.h"
#include "records.h"
#include "rtnl_wire.h"

namespace test_hooks {
namespace {

Napi::Buffer<uint8_t> to_buffer(Napi::Env env, std::vector<uint8_t>&& bytes) {
  auto* heap = new std::vector<uint8_t>(std::move(bytes));
  return Napi::Buffer<uint8_t>::New(env, heap->data(), heap->size(),
                                    [](Napi::Env, uint8_t*, std::vector<uint8_t>* v) { delete v; }, heap);
}

// op records -> netlink requests, and back.
Napi::Value EncodeOps(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsBuffer()) throw Napi::TypeError::New(info.Env(), "encodeOps expects a Buffer");
  auto buf = info[0].As<Napi::Buffer<uint8_t>>();
  try {
    std::vector<ipvs::Op> ops = records::read_ops(buf.Data(), buf.Length());
    nl::MsgBuilder b;
    uint32_t seq = 1;
    for (const ipvs::Op& op : ops) {
      if (!op.invalid.empty()) throw Napi::TypeError::New(info.Env(), op.invalid);
      ipvs::encode_op(b, 0x1d, seq++, op);
    }
    std::vector<uint8_t> bytes = b.bytes();
    return to_buffer(info.Env(), std::move(bytes));
  } catch (const nl::MalformedError& e) {
    throw Napi::TypeError::New(info.Env(), e.what());
  }
}

Napi::Value DecodeOps(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsBuffer()) throw Napi::TypeError::New(info.Env(), "decodeOps expects a Buffer");
  auto buf = info[0].As<Napi::Buffer<uint8_t>>();
  try {
    std::vector<ipvs::Op> ops;
    for (const nl::Msg& m : nl::split_messages(buf.Data(), buf.Length())) ops.push_back(ipvs::decode_op_msg(m));
    records::Writer w;
    records::write_ops(w, ops);
    return to_buffer(info.Env(), std::move(w.out));
  } catch (const nl::MalformedError& e) {
    throw Napi::Error::New(info.Env(), std::string("malformed: ") + e.what());
  }
}

// Decodes captured dump replies: one buffer of service messages and, per service, one of
// real-server messages; returns the same dump records as IpvsHandle.dump().
Napi::Value DecodeDump(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsBuffer() || !info[1].IsArray())
    throw Napi::TypeError::New(env, "decodeDump expects (Buffer, Buffer[])");
  auto svc = info[0].As<Napi::Buffer<uint8_t>>();
  Napi::Array dests = info[1].As<Napi::Array>();
  try {
    std::vector<ipvs::ServiceEntry> entries;
    for (const nl::Msg& m : nl::split_messages(svc.Data(), svc.Length()))
      if (m.type >= NLMSG_MIN_TYPE) entries.push_back(ipvs::decode_service_msg(m));
    if (dests.Length() != entries.size()) throw Napi::TypeError::New(env, "one real-server buffer per service expected");
    for (uint32_t i = 0; i < dests.Length(); ++i) {
      Napi::Value v = dests.Get(i);
      if (!v.IsBuffer()) throw Napi::TypeError::New(env, "real-server replies must be Buffers");
      auto d = v.As<Napi::Buffer<uint8_t>>();
      for (const nl::Msg& m : nl::split_messages(d.Data(), d.Length()))
        if (m.type >= NLMSG_MIN_TYPE) entries[i].dests.push_back(ipvs::decode_dest_msg(m, entries[i].spec.key.af));
    }
    records::Writer w;
    records::write_dump(w, entries);
    return to_buffer(env, std::move(w.out));
  } catch (const nl::MalformedError& e) {
    throw Napi::Error::New(env, std::string("malformed: ") + e.what());
  }
}

// Link op records -> the requests applyAddresses ("address") or applyRoutes ("route") sends.
Napi::Value EncodeLinkOps(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsBuffer() || !info[1].IsString()) throw Napi::TypeError::New(env, "encodeLinkOps expects (Buffer, 'address' | 'route')");
  std::string form = info[1].As<Napi::String>().Utf8Value();
  if (form != "address" && form != "route") throw Napi::TypeError::New(env, "encodeLinkOps: form must be address or route");
  auto buf = info[0].As<Napi::Buffer<uint8_t>>();
  try {
    std::vector<rtnl::AddrOp> ops = records::read_link_ops(buf.Data(), buf.Length());
    nl::MsgBuilder b;
    uint32_t seq = 1;
    for (const rtnl::AddrOp& op : ops) {
      if (!op.invalid.empty()) throw Napi::TypeError::New(env, op.invalid);
      if (form == "address") rtnl::encode_addr(b, seq++, op.add, op.ifindex, op.af, op.addr, op.prefix_len);
      else rtnl::encode_local_route(b, seq++, op.add, op.ifindex, op.af, op.addr, op.prefix_len);
    }
    std::vector<uint8_t> bytes = b.bytes();
    return to_buffer(env, std::move(bytes));
  } catch (const nl::MalformedError& e) {
    throw Napi::TypeError::New(env, e.what());
  }
}

// Address messages (dump replies, or the requests above) and optionally link messages naming
// their links -> the address dump records listAddresses() returns.
Napi::Value DecodeAddressDump(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsBuffer()) throw Napi::TypeError::New(env, "decodeAddressDump expects (Buffer, Buffer?)");
  try {
    std::map<int32_t, std::string> names;
    if (info.Length() > 1 && info[1].IsBuffer()) {
      auto links = info[1].As<Napi::Buffer<uint8_t>>();
      for (const nl::Msg& m : nl::split_messages(links.Data(), links.Length())) {
        if (m.type != RTM_NEWLINK) continue;
        rtnl::LinkInfo l = rtnl::decode_link(m);
        names[l.ifindex] = l.name;
      }
    }
    auto addrs = info[0].As<Napi::Buffer<uint8_t>>();
    std::vector<rtnl::NamedAddr> list;
    for (const nl::Msg& m : nl::split_messages(addrs.Data(), addrs.Length())) {
      if (m.type != RTM_NEWADDR && m.type != RTM_DELADDR) continue;
      if (std::optional<rtnl::AddrInfo> a = rtnl::decode_addr(m)) list.push_back(rtnl::NamedAddr{*a, names[a->ifindex]});
    }
    records::Writer w;
    records::write_address_dump(w, list);
    return to_buffer(env, std::move(w.out));
  } catch (const nl::MalformedError& e) {
    throw Napi::Error::New(env, std::string("malformed: ") + e.what());
  }
}

// Route messages (dump replies, or the requests above) -> the local-route dump records
// listLocalRoutes(oif) returns.
Napi::Value DecodeRouteDump(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsBuffer() || !info[1].IsNumber()) throw Napi::TypeError::New(env, "decodeRouteDump expects (Buffer, ifindex)");
  auto buf = info[0].As<Napi::Buffer<uint8_t>>();
  int32_t oif = info[1].As<Napi::Number>().Int32Value();
  try {
    std::vector<rtnl::RouteInfo> routes;
    for (const nl::Msg& m : nl::split_messages(buf.Data(), buf.Length())) {
      if (m.type != RTM_NEWROUTE && m.type != RTM_DELROUTE) continue;
      if (std::optional<rtnl::RouteInfo> r = rtnl::decode_local_route(m, oif)) routes.push_back(*r);
    }
    records::Writer w;
    records::write_route_dump(w, routes);
    return to_buffer(env, std::move(w.out));
  } catch (const nl::MalformedError& e) {
    throw Napi::Error::New(env, std::string("malformed: ") + e.what());
  }
}

// [{errno, message}] per op (errno 0: success) -> the failure records an apply returns.
struct HookResult {
  int err = 0;
  std::string message;
};

Napi::Value EncodeFailures(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArray()) throw Napi::TypeError::New(env, "encodeFailures expects an array of {errno, message}");
  Napi::Array arr = info[0].As<Napi::Array>();
  std::vector<HookResult> results(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    Napi::Value v = arr.Get(i);
    if (!v.IsObject()) throw Napi::TypeError::New(env, "encodeFailures: each result must be an object");
    Napi::Value err = v.As<Napi::Object>().Get("errno");
    Napi::Value message = v.As<Napi::Object>().Get("message");
    if (!err.IsNumber() || !message.IsString()) throw Napi::TypeError::New(env, "encodeFailures: errno must be a number and message a string");
    results[i] = HookResult{err.As<Napi::Number>().Int32Value(), message.As<Napi::String>().Utf8Value()};
  }
  try {
    records::Writer w;
    records::write_failures(w, results);
    return to_buffer(env, std::move(w.out));
  } catch (const nl::MalformedError& e) {
    throw Napi::TypeError::New(env, e.what());
  }
}

}  // namespace

void add(Napi::Env env, Napi::Object exports) {
  exports.Set("encodeOps", Napi::Function::New(env, EncodeOps));
  exports.Set("decodeOps", Napi::Function::New(env, DecodeOps));
  exports.Set("decodeDump", Napi::Function::New(env, DecodeDump));
  exports.Set("encodeLinkOps", Napi::Function::New(env, EncodeLinkOps));
  exports.Set("decodeAddressDump", Napi::Function::New(env, DecodeAddressDump));
  exports.Set("decodeRouteDump", Napi::Function::New(env, DecodeRouteDump));
  exports.Set("encodeFailures", Napi::Function::New(env, EncodeFailures));
}

}  // namespace test_hooks
