#include "ipvs_handle.h"

#include <linux/genetlink.h>
#include <linux/ip_vs.h>
#include <linux/netlink.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <thread>

namespace ipvs {
namespace {

// A netlink socket holds one dump at a time; with dump_sockets > 1 the per-service real-server
// dumps spread over that many sockets and threads, each taking at least this many services.
constexpr size_t kServicesPerDumpThread = 64;

}  // namespace

Handle::Handle(std::string netns, int timeout_ms, size_t dump_sockets, int dump_nice)
    : netns_(std::move(netns)),
      timeout_ms_(timeout_ms),
      dump_sockets_(dump_sockets == 0 ? 1 : dump_sockets),
      dump_nice_(dump_nice) {
  sock_ = open_socket();
}

std::unique_ptr<nl::Socket> Handle::open_socket() {
  auto s = std::make_unique<nl::Socket>(NETLINK_GENERIC, netns_, timeout_ms_);
  nl::MsgBuilder b;
  uint32_t seq = s->next_seq();
  encode_get_family(b, seq, IPVS_GENL_NAME);
  try {
    s->request(b, seq, "open", [&](const nl::Msg& m) { family_ = decode_family_id(m); });
  } catch (const nl::Error& e) {
    if (e.kind == nl::ErrorKind::Errno && e.err == ENOENT)
      throw nl::Error(nl::ErrorKind::Unavailable, ENOENT, "open",
                      "IPVS is not available in this kernel: generic netlink family IPVS not found; "
                      "load the ip_vs module (modprobe ip_vs)");
    throw;
  }
  return s;
}

nl::Socket& Handle::sock() {
  if (closed_) throw nl::Error(nl::ErrorKind::Closed, EBADF, "ipvs", "the IPVS handle is closed");
  if (!sock_ || sock_->broken()) {
    sock_.reset();
    sock_ = open_socket();
  }
  return *sock_;
}

std::vector<OpResult> Handle::apply(const std::vector<Op>& ops) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<OpResult> results(ops.size());
  std::vector<size_t> to_send;
  to_send.reserve(ops.size());
  for (size_t i = 0; i < ops.size(); ++i) {
    if (ops[i].invalid.empty()) to_send.push_back(i);
    else results[i] = OpResult{EINVAL, ops[i].invalid};
  }
  if (to_send.empty()) return results;
  nl::Socket& s = sock();
  const uint16_t fam = family_;
  std::vector<int> errs = s.batch(to_send.size(), "apply", [&](size_t k, nl::MsgBuilder& b, uint32_t seq) {
    encode_op(b, fam, seq, ops[to_send[k]]);
  });
  for (size_t k = 0; k < to_send.size(); ++k) {
    const Op& op = ops[to_send[k]];
    if (errs[k] != 0) results[to_send[k]] = OpResult{errs[k], op_error_text(op.kind, errs[k])};
  }
  return results;
}

void Handle::dump_dests(nl::Socket& s, ServiceEntry& e) {
  nl::MsgBuilder b;
  uint32_t seq = s.next_seq();
  encode_get_dests(b, family_, seq, e.spec.key);
  const uint16_t af = e.spec.key.af;
  s.dump(b, seq, "dump", [&](const nl::Msg& m) { e.dests.push_back(decode_dest_msg(m, af)); });
}

std::vector<ServiceEntry> Handle::dump() {
  if (dump_nice_ <= 0) return dump_table();
  // A thread of its own rather than the pool's: a pool thread's nice value could not be put back
  // without privilege, and it would slow whatever that thread ran next. Raising nice needs none;
  // should it fail anyway, the read runs at normal priority, which is only slower for the rest.
  std::vector<ServiceEntry> out;
  std::exception_ptr error;
  std::thread reader([&] {
    setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), dump_nice_);
    try {
      out = dump_table();
    } catch (...) {
      error = std::current_exception();
    }
  });
  reader.join();
  if (error) std::rethrow_exception(error);
  return out;
}

std::vector<ServiceEntry> Handle::dump_table() {
  std::lock_guard<std::mutex> lock(mu_);
  nl::Socket& s = sock();
  std::vector<ServiceEntry> out;
  nl::MsgBuilder b;
  uint32_t seq = s.next_seq();
  encode_simple(b, family_, seq, IPVS_CMD_GET_SERVICE, NLM_F_REQUEST | NLM_F_DUMP);
  s.dump(b, seq, "dump", [&](const nl::Msg& m) { out.push_back(decode_service_msg(m)); });

  size_t threads = std::min(dump_sockets_, out.size() / kServicesPerDumpThread);
  if (threads <= 1) {
    for (ServiceEntry& e : out) dump_dests(s, e);
    return out;
  }
  // Open the helper sockets here: this thread is the one that may switch namespaces.
  for (auto& p : dump_pool_)
    if (p && p->broken()) p.reset();
  dump_pool_.resize(threads);
  for (auto& p : dump_pool_)
    if (!p) p = open_socket();
  std::vector<std::exception_ptr> errors(threads);
  std::vector<std::thread> workers;
  for (size_t t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      try {
        for (size_t i = t; i < out.size(); i += threads) dump_dests(*dump_pool_[t], out[i]);
      } catch (...) {
        errors[t] = std::current_exception();
      }
    });
  }
  for (auto& w : workers) w.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
  return out;
}

std::vector<DestEntry> Handle::dump_reals(const ServiceKey& key) {
  std::lock_guard<std::mutex> lock(mu_);
  nl::Socket& s = sock();
  ServiceEntry e;
  e.spec.key = key;
  dump_dests(s, e);
  return std::move(e.dests);
}

Info Handle::info() {
  std::lock_guard<std::mutex> lock(mu_);
  nl::Socket& s = sock();
  nl::MsgBuilder b;
  uint32_t seq = s.next_seq();
  encode_simple(b, family_, seq, IPVS_CMD_GET_INFO, NLM_F_REQUEST);
  Info i;
  s.request(b, seq, "info", [&](const nl::Msg& m) { i = decode_info_msg(m); });
  return i;
}

Timeouts Handle::get_timeouts() {
  std::lock_guard<std::mutex> lock(mu_);
  nl::Socket& s = sock();
  nl::MsgBuilder b;
  uint32_t seq = s.next_seq();
  encode_simple(b, family_, seq, IPVS_CMD_GET_CONFIG, NLM_F_REQUEST);
  Timeouts t;
  s.request(b, seq, "getTimeouts", [&](const nl::Msg& m) { t = decode_timeouts_msg(m); });
  return t;
}

void Handle::set_timeouts(const Timeouts& t) {
  std::lock_guard<std::mutex> lock(mu_);
  nl::Socket& s = sock();
  nl::MsgBuilder b;
  uint32_t seq = s.next_seq();
  encode_set_timeouts(b, family_, seq, t);
  int e = s.request_ack(b, seq, "setTimeouts");
  if (e != 0) throw nl::Error(nl::ErrorKind::Errno, e, "setTimeouts", std::strerror(e));
}

void Handle::simple_ack(uint8_t cmd, const std::string& op) {
  std::lock_guard<std::mutex> lock(mu_);
  nl::Socket& s = sock();
  nl::MsgBuilder b;
  uint32_t seq = s.next_seq();
  encode_simple(b, family_, seq, cmd, NLM_F_REQUEST | NLM_F_ACK);
  int e = s.request_ack(b, seq, op);
  if (e != 0) throw nl::Error(nl::ErrorKind::Errno, e, op, std::strerror(e));
}

void Handle::flush() { simple_ack(IPVS_CMD_FLUSH, "flush"); }
void Handle::zero() { simple_ack(IPVS_CMD_ZERO, "zero"); }

void Handle::release_locked() {
  sock_.reset();
  dump_pool_.clear();
}

}  // namespace ipvs
