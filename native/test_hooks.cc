// Test hooks without a kernel, compiled only into the tests' build of the addon
// (ipvs_native_test.node; binding.gyp target ipvs_native_test): op records to the netlink
// requests they become and back, and captured dump replies to dump records.
#include "test_hooks.h"

#include <linux/netlink.h>

#include <string>
#include <vector>

#include "ipvs_wire.h"
#include "nl_attr.h"
#include "records.h"

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

}  // namespace

void add(Napi::Env env, Napi::Object exports) {
  exports.Set("encodeOps", Napi::Function::New(env, EncodeOps));
  exports.Set("decodeOps", Napi::Function::New(env, DecodeOps));
  exports.Set("decodeDump", Napi::Function::New(env, DecodeDump));
}

}  // namespace test_hooks
