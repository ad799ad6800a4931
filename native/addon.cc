// The N-API surface. Every kernel call runs in Execute() on a libuv thread and touches only
// C++ data; JS values are built only in OnOK. Arguments are checked synchronously.
#include <linux/netlink.h>
#include <linux/netfilter/ipset/ip_set.h>
#include <napi.h>
#include <sys/socket.h>

#include <cstring>
#include <functional>
#include <memory>
#include <optional>

#include "ipvs_handle.h"
#include "link_handle.h"
#include "records.h"
#include "set_handle.h"
#ifdef IPVS_PROXY_TEST_BUILD
#include "test_hooks.h"
#endif
// After the other headers: __GLIBC__ comes from the C library's own headers.
#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace {

struct Constructors {
  Napi::FunctionReference ipvs;
  Napi::FunctionReference links;
  Napi::FunctionReference sets;
};

Napi::Error make_error(Napi::Env env, const nl::Error& e) {
  Napi::Error err = Napi::Error::New(env, e.what());
  err.Set("errno", Napi::Number::New(env, e.err));
  err.Set("code", Napi::String::New(env, records::errno_name(e.err)));
  err.Set("op", Napi::String::New(env, e.op));
  err.Set("kind", Napi::String::New(env, nl::kind_name(e.kind)));
  return err;
}

// One promise-returning kernel call: work() runs off the JS thread, done() builds the value.
template <typename R>
class Task : public Napi::AsyncWorker {
 public:
  using Work = std::function<R()>;
  using Done = std::function<Napi::Value(Napi::Env, R&)>;
  Task(Napi::Env env, Work work, Done done)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), work_(std::move(work)), done_(std::move(done)) {}
  static Napi::Promise Start(Napi::Env env, Work work, Done done) {
    auto* t = new Task(env, std::move(work), std::move(done));
    Napi::Promise p = t->deferred_.Promise();
    t->Queue();
    return p;
  }
  void Execute() override {
    try {
      result_ = work_();
    } catch (const nl::Error& e) {
      error_.emplace(e);
    } catch (const std::exception& e) {
      error_.emplace(nl::ErrorKind::Errno, EIO, "native", e.what());
    }
  }
  void OnOK() override {
    Napi::HandleScope scope(Env());
    if (error_) {
      deferred_.Reject(make_error(Env(), *error_).Value());
      return;
    }
    try {
      deferred_.Resolve(done_(Env(), *result_));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }

 private:
  Napi::Promise::Deferred deferred_;
  Work work_;
  Done done_;
  std::optional<R> result_;
  std::optional<nl::Error> error_;
};

struct Unit {};
Napi::Value undefined_value(Napi::Env env, Unit&) { return env.Undefined(); }

// Marks the handle closed (later calls reject at once) and frees its sockets: right here when no
// call is running, the usual case, so a process that exits just after close() leaves no worker
// freeing sockets during its teardown (which once killed a test process at exit); otherwise
// off-thread, once the running call ends.
template <typename H>
Napi::Promise close_handle(Napi::Env env, const std::shared_ptr<H>& handle) {
  auto h = handle;
  h->mark_closed();
  if (h->try_close()) {
    auto done = Napi::Promise::Deferred::New(env);
    done.Resolve(env.Undefined());
    return done.Promise();
  }
  return Task<Unit>::Start(env, [h] { h->close(); return Unit{}; }, undefined_value);
}

std::string netns_arg(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || info[i].IsUndefined() || info[i].IsNull()) return std::string();
  if (!info[i].IsString()) throw Napi::TypeError::New(info.Env(), "netns must be a path string");
  return info[i].As<Napi::String>().Utf8Value();
}

int timeout_arg(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || info[i].IsUndefined()) return 5000;
  if (!info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), "timeoutMs must be a number");
  int v = info[i].As<Napi::Number>().Int32Value();
  if (v <= 0) throw Napi::TypeError::New(info.Env(), "timeoutMs must be positive");
  return v;
}

Napi::Buffer<uint8_t> to_buffer(Napi::Env env, std::vector<uint8_t>&& bytes) {
  auto* heap = new std::vector<uint8_t>(std::move(bytes));
  return Napi::Buffer<uint8_t>::New(env, heap->data(), heap->size(),
                                    [](Napi::Env, uint8_t*, std::vector<uint8_t>* v) { delete v; }, heap);
}

std::string string_arg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (info.Length() <= i || !info[i].IsString()) throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a string");
  return info[i].As<Napi::String>().Utf8Value();
}

// A call whose answer is one Buffer of records (src/native/records.ts), written off the JS
// thread by work(): op failures, dumps.
Napi::Promise records_task(Napi::Env env, std::function<std::vector<uint8_t>()> work) {
  return Task<std::vector<uint8_t>>::Start(env, std::move(work), [](Napi::Env e, std::vector<uint8_t>& bytes) -> Napi::Value {
    return to_buffer(e, std::move(bytes));
  });
}

template <typename Result>
std::vector<uint8_t> failure_records(const std::vector<Result>& results) {
  records::Writer w;
  records::write_failures(w, results);
  return std::move(w.out);
}

class IpvsWrap : public Napi::ObjectWrap<IpvsWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "IpvsHandle",
                       {InstanceMethod("apply", &IpvsWrap::Apply), InstanceMethod("dump", &IpvsWrap::Dump),
                        InstanceMethod("dumpReals", &IpvsWrap::DumpReals),
                        InstanceMethod("info", &IpvsWrap::Info), InstanceMethod("getTimeouts", &IpvsWrap::GetTimeouts),
                        InstanceMethod("setTimeouts", &IpvsWrap::SetTimeouts), InstanceMethod("flush", &IpvsWrap::Flush),
                        InstanceMethod("zero", &IpvsWrap::Zero), InstanceMethod("close", &IpvsWrap::Close)});
  }
  explicit IpvsWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<IpvsWrap>(info) {}
  std::shared_ptr<ipvs::Handle> handle;

 private:
  Napi::Value Apply(const Napi::CallbackInfo& info) {
    if (info.Length() < 1 || !info[0].IsBuffer()) throw Napi::TypeError::New(info.Env(), "apply expects a Buffer of op records");
    auto buf = info[0].As<Napi::Buffer<uint8_t>>();
    std::vector<ipvs::Op> ops;
    try {
      ops = records::read_ops(buf.Data(), buf.Length());
    } catch (const nl::MalformedError& e) {
      throw Napi::TypeError::New(info.Env(), std::string("bad op records: ") + e.what());
    }
    auto h = handle;
    auto shared_ops = std::make_shared<std::vector<ipvs::Op>>(std::move(ops));
    return records_task(info.Env(), [h, shared_ops] { return failure_records(h->apply(*shared_ops)); });
  }
  Napi::Value Dump(const Napi::CallbackInfo& info) {
    auto h = handle;
    return records_task(info.Env(), [h] {
      records::Writer w;
      records::write_dump(w, h->dump());
      return std::move(w.out);
    });
  }
  // Answers in the dump's record format: one entry (the key asked for) with its real servers.
  Napi::Value DumpReals(const Napi::CallbackInfo& info) {
    if (info.Length() < 1 || !info[0].IsBuffer()) throw Napi::TypeError::New(info.Env(), "dumpReals expects a Buffer holding a service key");
    auto buf = info[0].As<Napi::Buffer<uint8_t>>();
    ipvs::ServiceEntry entry;
    try {
      entry.spec.key = records::read_service_key(buf.Data(), buf.Length());
    } catch (const nl::MalformedError& e) {
      throw Napi::TypeError::New(info.Env(), std::string("bad service key: ") + e.what());
    }
    auto h = handle;
    return records_task(info.Env(), [h, entry]() mutable {
      entry.dests = h->dump_reals(entry.spec.key);
      records::Writer w;
      records::write_dump(w, {entry});
      return std::move(w.out);
    });
  }
  Napi::Value Info(const Napi::CallbackInfo& info) {
    auto h = handle;
    return Task<ipvs::Info>::Start(info.Env(), [h] { return h->info(); }, [](Napi::Env env, ipvs::Info& i) -> Napi::Value {
      Napi::Object o = Napi::Object::New(env);
      o.Set("version", Napi::Number::New(env, i.version));
      o.Set("connTableSize", Napi::Number::New(env, i.conn_tab_size));
      return o;
    });
  }
  Napi::Value GetTimeouts(const Napi::CallbackInfo& info) {
    auto h = handle;
    return Task<ipvs::Timeouts>::Start(info.Env(), [h] { return h->get_timeouts(); },
                                       [](Napi::Env env, ipvs::Timeouts& t) -> Napi::Value {
                                         Napi::Object o = Napi::Object::New(env);
                                         o.Set("tcp", Napi::Number::New(env, t.tcp));
                                         o.Set("tcpFin", Napi::Number::New(env, t.tcp_fin));
                                         o.Set("udp", Napi::Number::New(env, t.udp));
                                         return o;
                                       });
  }
  Napi::Value SetTimeouts(const Napi::CallbackInfo& info) {
    if (info.Length() < 3 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber())
      throw Napi::TypeError::New(info.Env(), "setTimeouts expects (tcp, tcpFin, udp)");
    ipvs::Timeouts t{info[0].As<Napi::Number>().Uint32Value(), info[1].As<Napi::Number>().Uint32Value(),
                     info[2].As<Napi::Number>().Uint32Value()};
    auto h = handle;
    return Task<Unit>::Start(info.Env(), [h, t] { h->set_timeouts(t); return Unit{}; }, undefined_value);
  }
  Napi::Value Flush(const Napi::CallbackInfo& info) {
    auto h = handle;
    return Task<Unit>::Start(info.Env(), [h] { h->flush(); return Unit{}; }, undefined_value);
  }
  Napi::Value Zero(const Napi::CallbackInfo& info) {
    auto h = handle;
    return Task<Unit>::Start(info.Env(), [h] { h->zero(); return Unit{}; }, undefined_value);
  }
  Napi::Value Close(const Napi::CallbackInfo& info) {
    return close_handle(info.Env(), handle);
  }
};

class LinksWrap : public Napi::ObjectWrap<LinksWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "LinkHandle",
                       {InstanceMethod("ensureDummyLink", &LinksWrap::EnsureDummy), InstanceMethod("linkIndex", &LinksWrap::LinkIndex),
                        InstanceMethod("deleteLink", &LinksWrap::DeleteLink), InstanceMethod("listAddresses", &LinksWrap::ListAddresses),
                        InstanceMethod("applyAddresses", &LinksWrap::ApplyAddresses), InstanceMethod("listLocalRoutes", &LinksWrap::ListLocalRoutes),
                        InstanceMethod("applyRoutes", &LinksWrap::ApplyRoutes), InstanceMethod("bringUpQuiet", &LinksWrap::BringUpQuiet),
                        InstanceMethod("close", &LinksWrap::Close)});
  }
  explicit LinksWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<LinksWrap>(info) {}
  std::shared_ptr<rtnl::Handle> handle;

 private:
  Napi::Value EnsureDummy(const Napi::CallbackInfo& info) {
    std::string name = string_arg(info, 0, "link name");
    auto h = handle;
    return Task<rtnl::Handle::Ensured>::Start(info.Env(), [h, name] { return h->ensure_dummy(name); },
                                              [](Napi::Env env, rtnl::Handle::Ensured& r) -> Napi::Value {
                                                Napi::Object o = Napi::Object::New(env);
                                                o.Set("ifindex", Napi::Number::New(env, r.ifindex));
                                                o.Set("created", Napi::Boolean::New(env, r.created));
                                                o.Set("up", Napi::Boolean::New(env, r.up));
                                                return o;
                                              });
  }
  Napi::Value LinkIndex(const Napi::CallbackInfo& info) {
    std::string name = string_arg(info, 0, "link name");
    auto h = handle;
    return Task<std::optional<int32_t>>::Start(info.Env(), [h, name] { return h->link_index(name); },
                                               [](Napi::Env env, std::optional<int32_t>& r) -> Napi::Value {
                                                 return r ? Napi::Number::New(env, *r) : env.Undefined();
                                               });
  }
  Napi::Value DeleteLink(const Napi::CallbackInfo& info) {
    std::string name = string_arg(info, 0, "link name");
    std::string kind = info.Length() > 1 && info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
    auto h = handle;
    return Task<bool>::Start(info.Env(), [h, name, kind] { return h->delete_link(name, kind); },
                             [](Napi::Env env, bool& r) -> Napi::Value { return Napi::Boolean::New(env, r); });
  }
  // Resolves to address dump records.
  Napi::Value ListAddresses(const Napi::CallbackInfo& info) {
    std::optional<int32_t> ifindex;
    if (info.Length() > 0 && info[0].IsNumber()) ifindex = info[0].As<Napi::Number>().Int32Value();
    auto h = handle;
    return records_task(info.Env(), [h, ifindex] {
      records::Writer w;
      records::write_address_dump(w, h->list_addresses(ifindex));
      return std::move(w.out);
    });
  }
  // Address and route ops share one record layout (src/native/records.ts).
  static std::shared_ptr<std::vector<rtnl::AddrOp>> link_ops(const Napi::CallbackInfo& info, const char* method) {
    if (info.Length() < 1 || !info[0].IsBuffer()) throw Napi::TypeError::New(info.Env(), std::string(method) + " expects a Buffer of link op records");
    auto buf = info[0].As<Napi::Buffer<uint8_t>>();
    try {
      return std::make_shared<std::vector<rtnl::AddrOp>>(records::read_link_ops(buf.Data(), buf.Length()));
    } catch (const nl::MalformedError& e) {
      throw Napi::TypeError::New(info.Env(), std::string("bad link op records: ") + e.what());
    }
  }
  // Resolve to failure records.
  Napi::Value ApplyAddresses(const Napi::CallbackInfo& info) {
    auto ops = link_ops(info, "applyAddresses");
    auto h = handle;
    return records_task(info.Env(), [h, ops] { return failure_records(h->apply(*ops)); });
  }
  Napi::Value ApplyRoutes(const Napi::CallbackInfo& info) {
    auto ops = link_ops(info, "applyRoutes");
    auto h = handle;
    return records_task(info.Env(), [h, ops] { return failure_records(h->apply_routes(*ops)); });
  }
  // Resolves to local-route dump records.
  Napi::Value ListLocalRoutes(const Napi::CallbackInfo& info) {
    if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(info.Env(), "listLocalRoutes expects a link index");
    int32_t oif = info[0].As<Napi::Number>().Int32Value();
    auto h = handle;
    return records_task(info.Env(), [h, oif] {
      records::Writer w;
      records::write_route_dump(w, h->list_local_routes(oif));
      return std::move(w.out);
    });
  }
  Napi::Value BringUpQuiet(const Napi::CallbackInfo& info) {
    std::string name = string_arg(info, 0, "link name");
    auto h = handle;
    return Task<bool>::Start(info.Env(), [h, name] { return h->bring_up_quiet(name); },
                             [](Napi::Env env, bool& r) -> Napi::Value { return Napi::Boolean::New(env, r); });
  }
  Napi::Value Close(const Napi::CallbackInfo& info) {
    return close_handle(info.Env(), handle);
  }
};

class SetsWrap : public Napi::ObjectWrap<SetsWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "SetHandle", {InstanceMethod("applyEntries", &SetsWrap::ApplyEntries), InstanceMethod("listSets", &SetsWrap::ListSets),
                                          InstanceMethod("close", &SetsWrap::Close)});
  }
  explicit SetsWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SetsWrap>(info) {}
  std::shared_ptr<ipset::Handle> handle;

 private:
  // groups: [{ op: 'add'|'delete', set, family: 'inet'|'inet6', type: 'hash:ip'|..., entries: string[] }].
  // Resolves to { requests, failures: [group, entry, errno, code, message][] }.
  Napi::Value ApplyEntries(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsArray()) throw Napi::TypeError::New(env, "applyEntries expects an array");
    Napi::Array arr = info[0].As<Napi::Array>();
    auto groups = std::make_shared<std::vector<ipset::Group>>(arr.Length());
    for (uint32_t g = 0; g < arr.Length(); ++g) {
      Napi::Value v = arr.Get(g);
      if (!v.IsObject()) throw Napi::TypeError::New(env, "set entry group must be an object");
      Napi::Object o = v.As<Napi::Object>();
      ipset::Group& group = (*groups)[g];
      std::string kind = o.Get("op").ToString().Utf8Value();
      if (kind != "add" && kind != "delete") throw Napi::TypeError::New(env, "set entry op must be add or delete");
      group.add = kind == "add";
      group.set = o.Get("set").ToString().Utf8Value();
      if (group.set.empty() || group.set.size() >= IPSET_MAXNAMELEN) throw Napi::TypeError::New(env, "set name '" + group.set + "' must have 1 to 31 characters");
      std::string family = o.Get("family").ToString().Utf8Value();
      if (family != "inet" && family != "inet6") throw Napi::TypeError::New(env, "set family must be inet or inet6");
      group.af = family == "inet6" ? AF_INET6 : AF_INET;
      std::string type = o.Get("type").ToString().Utf8Value();
      if (!ipset::parse_type(type, group.type)) throw Napi::TypeError::New(env, "set type '" + type + "' is not one the agent creates");
      Napi::Value list = o.Get("entries");
      if (!list.IsArray()) throw Napi::TypeError::New(env, "set entries must be an array of strings");
      Napi::Array entries = list.As<Napi::Array>();
      group.entries.resize(entries.Length());
      group.invalid.resize(entries.Length());
      for (uint32_t i = 0; i < entries.Length(); ++i) {
        std::string text = entries.Get(i).ToString().Utf8Value();
        group.invalid[i] = ipset::parse_entry(group.type, group.af, text, group.entries[i]);
      }
    }
    auto h = handle;
    return Task<ipset::ApplyResult>::Start(env, [h, groups] { return h->apply(*groups); },
                                           [](Napi::Env e, ipset::ApplyResult& r) -> Napi::Value {
                                             Napi::Object out = Napi::Object::New(e);
                                             out.Set("requests", Napi::Number::New(e, static_cast<double>(r.requests)));
                                             Napi::Array rows = Napi::Array::New(e, r.failures.size());
                                             for (size_t i = 0; i < r.failures.size(); ++i) {
                                               const ipset::Failure& f = r.failures[i];
                                               Napi::Array row = Napi::Array::New(e, 5);
                                               row.Set(0u, Napi::Number::New(e, static_cast<double>(f.group)));
                                               row.Set(1u, Napi::Number::New(e, static_cast<double>(f.entry)));
                                               row.Set(2u, Napi::Number::New(e, f.err));
                                               row.Set(3u, Napi::String::New(e, records::errno_name(f.err)));
                                               row.Set(4u, Napi::String::New(e, f.message));
                                               rows.Set(static_cast<uint32_t>(i), row);
                                             }
                                             out.Set("failures", rows);
                                             return out;
                                           });
  }
  // prefixes: string[]. Resolves to [{ name, type, family, entries: string[] }].
  Napi::Value ListSets(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsArray()) throw Napi::TypeError::New(env, "listSets expects an array of name prefixes");
    Napi::Array arr = info[0].As<Napi::Array>();
    std::vector<std::string> prefixes;
    for (uint32_t i = 0; i < arr.Length(); ++i) prefixes.push_back(arr.Get(i).ToString().Utf8Value());
    auto h = handle;
    return Task<std::vector<ipset::ListedSet>>::Start(
        env, [h, prefixes] { return h->list(prefixes); },
        [](Napi::Env e, std::vector<ipset::ListedSet>& sets) -> Napi::Value {
          Napi::Array out = Napi::Array::New(e, sets.size());
          for (size_t i = 0; i < sets.size(); ++i) {
            const ipset::ListedSet& s = sets[i];
            Napi::Object o = Napi::Object::New(e);
            o.Set("name", Napi::String::New(e, s.name));
            o.Set("type", Napi::String::New(e, s.type));
            o.Set("family", Napi::String::New(e, s.af == AF_INET6 ? "inet6" : "inet"));
            Napi::Array entries = Napi::Array::New(e, s.entries.size());
            for (size_t k = 0; k < s.entries.size(); ++k) entries.Set(static_cast<uint32_t>(k), Napi::String::New(e, s.entries[k]));
            o.Set("entries", entries);
            out.Set(static_cast<uint32_t>(i), o);
          }
          return out;
        });
  }
  Napi::Value Close(const Napi::CallbackInfo& info) {
    return close_handle(info.Env(), handle);
  }
};

Napi::Value OpenIpvs(const Napi::CallbackInfo& info) {
  std::string netns = netns_arg(info, 0);
  int timeout = timeout_arg(info, 1);
  size_t dump_sockets = 1;
  if (info.Length() > 2 && info[2].IsNumber()) {
    int v = info[2].As<Napi::Number>().Int32Value();
    if (v < 1 || v > 64) throw Napi::TypeError::New(info.Env(), "dumpSockets must be in 1..64");
    dump_sockets = static_cast<size_t>(v);
  }
  int dump_nice = 0;
  if (info.Length() > 3 && info[3].IsNumber()) {
    dump_nice = info[3].As<Napi::Number>().Int32Value();
    if (dump_nice < 0 || dump_nice > 19) throw Napi::TypeError::New(info.Env(), "dumpNice must be in 0..19");
  }
  return Task<std::shared_ptr<ipvs::Handle>>::Start(
      info.Env(),
      [netns, timeout, dump_sockets, dump_nice] { return std::make_shared<ipvs::Handle>(netns, timeout, dump_sockets, dump_nice); },
      [](Napi::Env env, std::shared_ptr<ipvs::Handle>& h) -> Napi::Value {
        Napi::Object obj = env.GetInstanceData<Constructors>()->ipvs.New({});
        IpvsWrap::Unwrap(obj)->handle = h;
        return obj;
      });
}

Napi::Value OpenLinks(const Napi::CallbackInfo& info) {
  std::string netns = netns_arg(info, 0);
  int timeout = timeout_arg(info, 1);
  return Task<std::shared_ptr<rtnl::Handle>>::Start(
      info.Env(), [netns, timeout] { return std::make_shared<rtnl::Handle>(netns, timeout); },
      [](Napi::Env env, std::shared_ptr<rtnl::Handle>& h) -> Napi::Value {
        Napi::Object obj = env.GetInstanceData<Constructors>()->links.New({});
        LinksWrap::Unwrap(obj)->handle = h;
        return obj;
      });
}

Napi::Value OpenSets(const Napi::CallbackInfo& info) {
  std::string netns = netns_arg(info, 0);
  int timeout = timeout_arg(info, 1);
  return Task<std::shared_ptr<ipset::Handle>>::Start(
      info.Env(), [netns, timeout] { return std::make_shared<ipset::Handle>(netns, timeout); },
      [](Napi::Env env, std::shared_ptr<ipset::Handle>& h) -> Napi::Value {
        Napi::Object obj = env.GetInstanceData<Constructors>()->sets.New({});
        SetsWrap::Unwrap(obj)->handle = h;
        return obj;
      });
}

// Hands the C heap's free pages back to the system. A full sync or dump at 10,000 services
// allocates tens of megabytes of ops, messages and records on the main thread and on worker
// threads (each with its own malloc arena); freed, glibc keeps most of them, so the process's
// resident size stays at its peak for as long as it runs. Returns whether anything was released.
Napi::Value ReleaseFreeMemory(const Napi::CallbackInfo& info) {
#ifdef __GLIBC__
  return Napi::Boolean::New(info.Env(), malloc_trim(0) != 0);
#else
  return Napi::Boolean::New(info.Env(), false);
#endif
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* ctors = new Constructors();
  ctors->ipvs = Napi::Persistent(IpvsWrap::Define(env));
  ctors->links = Napi::Persistent(LinksWrap::Define(env));
  ctors->sets = Napi::Persistent(SetsWrap::Define(env));
  env.SetInstanceData<Constructors>(ctors);
  exports.Set("openIpvs", Napi::Function::New(env, OpenIpvs));
  exports.Set("openLinks", Napi::Function::New(env, OpenLinks));
  exports.Set("openSets", Napi::Function::New(env, OpenSets));
  exports.Set("releaseFreeMemory", Napi::Function::New(env, ReleaseFreeMemory));
#ifdef IPVS_PROXY_TEST_BUILD
  test_hooks::add(env, exports);
#endif
  return exports;
}

}  // namespace

NODE_API_MODULE(ipvs_native, Init)
