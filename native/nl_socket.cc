#include "nl_socket.h"

#include <fcntl.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "faults.h"

namespace nl {

const char* kind_name(ErrorKind k) {
  switch (k) {
    case ErrorKind::Errno: return "errno";
    case ErrorKind::Timeout: return "timeout";
    case ErrorKind::DumpInterrupted: return "dumpInterrupted";
    case ErrorKind::StateUnknown: return "stateUnknown";
    case ErrorKind::Unavailable: return "unavailable";
    case ErrorKind::Malformed: return "malformed";
    case ErrorKind::Closed: return "closed";
  }
  return "errno";
}

namespace {

constexpr int kBufferBytes = 32 << 20;
// An error reply costs about this much receive buffer (skb truesize): a batch in which every
// request fails must still fit.
constexpr size_t kAckCost = 1024;
constexpr size_t kMaxBatchMsgs = 8192;
// Dump datagrams are at most 32 KiB unless a family asks for more (min_dump_alloc); acks are tiny.
constexpr size_t kSlotBytes = 65536;
constexpr size_t kRecvSlots = 32;

std::string sys_text(const char* what, int err) { return std::string(what) + ": " + std::strerror(err); }

// Switches the calling thread into a network namespace for the lifetime of the object.
class NetnsScope {
 public:
  explicit NetnsScope(const std::string& path) {
    if (path.empty()) return;
    self_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (self_ < 0) throw Error(ErrorKind::Errno, errno, "open", sys_text("open own network namespace", errno));
    int target = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (target < 0) {
      int e = errno;
      ::close(self_);
      throw Error(ErrorKind::Errno, e, "open", sys_text(("open network namespace " + path).c_str(), e));
    }
    int rc = ::setns(target, CLONE_NEWNET);
    int e = errno;
    ::close(target);
    if (rc != 0) {
      ::close(self_);
      throw Error(ErrorKind::Errno, e, "open", sys_text(("enter network namespace " + path).c_str(), e));
    }
  }
  ~NetnsScope() {
    if (self_ < 0) return;
    // A worker thread left in a foreign namespace would silently program the wrong kernel
    // table for every later operation: there is no safe way to continue.
    if (::setns(self_, CLONE_NEWNET) != 0) std::terminate();
    ::close(self_);
  }
  NetnsScope(const NetnsScope&) = delete;
  NetnsScope& operator=(const NetnsScope&) = delete;

 private:
  int self_ = -1;
};

void set_buffer(int fd, int force_opt, int opt, int bytes) {
  if (::setsockopt(fd, SOL_SOCKET, force_opt, &bytes, sizeof bytes) != 0)
    ::setsockopt(fd, SOL_SOCKET, opt, &bytes, sizeof bytes);  // unprivileged: capped by *mem_max
}

int get_buffer(int fd, int opt) {
  int v = 0;
  socklen_t len = sizeof v;
  ::getsockopt(fd, SOL_SOCKET, opt, &v, &len);
  return v;
}

#ifndef NETLINK_GET_STRICT_CHK
#define NETLINK_GET_STRICT_CHK 12
#endif

long now_ms() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

}  // namespace

void Socket::strict_check() {
  int one = 1;
  ::setsockopt(fd_, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof one);
}

Socket::Socket(int protocol, const std::string& netns_path, int timeout_ms) : timeout_ms_(timeout_ms) {
  {
    NetnsScope scope(netns_path);
    fd_ = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
  }
  if (fd_ < 0) throw Error(ErrorKind::Errno, errno, "open", sys_text("netlink socket", errno));
  set_buffer(fd_, SO_SNDBUFFORCE, SO_SNDBUF, kBufferBytes);
  set_buffer(fd_, SO_RCVBUFFORCE, SO_RCVBUF, kBufferBytes);
  int one = 1;
  // Error acks carry only the failed request's header, not the whole request.
  ::setsockopt(fd_, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  sockaddr_nl sa{};
  sa.nl_family = AF_NETLINK;
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    int e = errno;
    ::close(fd_);
    throw Error(ErrorKind::Errno, e, "open", sys_text("bind netlink socket", e));
  }
  socklen_t len = sizeof sa;
  if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
    int e = errno;
    ::close(fd_);
    throw Error(ErrorKind::Errno, e, "open", sys_text("getsockname", e));
  }
  port_id_ = sa.nl_pid;
  seq_ = static_cast<uint32_t>(now_ms());
  size_t snd = static_cast<size_t>(get_buffer(fd_, SO_SNDBUF));
  size_t rcv = static_cast<size_t>(get_buffer(fd_, SO_RCVBUF));
  batch_bytes_ = std::max<size_t>(16384, std::min<size_t>(snd / 2, 4u << 20));
  batch_msgs_ = std::max<size_t>(16, std::min(kMaxBatchMsgs, rcv / 2 / kAckCost));
  rbuf_.resize(kSlotBytes * kRecvSlots);
}

Socket::~Socket() {
  if (fd_ >= 0) ::close(fd_);
}

void Socket::fail(ErrorKind kind, int err, const std::string& op, const std::string& msg) {
  if (kind == ErrorKind::Timeout || kind == ErrorKind::StateUnknown || kind == ErrorKind::Malformed) broken_ = true;
  throw Error(kind, err, op, msg);
}

void Socket::send(const std::vector<uint8_t>& bytes, const std::string& op) {
  faults::Decision d = faults::next(faults::Point::Send);
  if (d.fail_errno != 0) fail(ErrorKind::Errno, d.fail_errno, op, sys_text("netlink send (injected fault)", d.fail_errno));
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  for (;;) {
    ssize_t n = ::sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel);
    if (n >= 0) {
      if (static_cast<size_t>(n) != bytes.size()) fail(ErrorKind::Errno, EMSGSIZE, op, "short netlink send");
      return;
    }
    if (errno == EINTR) continue;
    int e = errno;
    // The request may or may not have reached the kernel: nothing here is reliable now.
    broken_ = true;
    throw Error(ErrorKind::Errno, e, op, sys_text("netlink send", e));
  }
}

std::vector<Msg> Socket::receive(const std::string& op) {
  faults::Decision d = faults::next(faults::Point::Recv);
  if (d.fail_errno == ENOBUFS) fail(ErrorKind::StateUnknown, ENOBUFS, op, "netlink replies lost (ENOBUFS, injected fault)");
  const long deadline = now_ms() + timeout_ms_;
  // The kernel answers most requests inside sendmsg, so try reading first and poll only when
  // nothing is queued yet; recvmmsg takes up to kRecvSlots datagrams (acks) per syscall.
  bool try_first = !d.hang;
  for (;;) {
    if (!try_first) {
      long left = deadline - now_ms();
      if (left <= 0) fail(ErrorKind::Timeout, ETIMEDOUT, op, "no netlink reply within " + std::to_string(timeout_ms_) + " ms");
      if (d.hang) {
        // Injected "kernel stopped answering": wait out the deadline without reading.
        ::usleep(static_cast<useconds_t>(left) * 1000u);
        continue;
      }
      pollfd p{fd_, POLLIN, 0};
      int pr = ::poll(&p, 1, static_cast<int>(left));
      if (pr < 0 && errno == EINTR) continue;
      if (pr < 0) fail(ErrorKind::Errno, errno, op, sys_text("poll netlink socket", errno));
      if (pr == 0) continue;
    }
    try_first = false;
    sockaddr_nl from[kRecvSlots];
    iovec iov[kRecvSlots];
    mmsghdr mm[kRecvSlots];
    std::memset(mm, 0, sizeof mm);
    for (size_t i = 0; i < kRecvSlots; ++i) {
      iov[i] = iovec{rbuf_.data() + i * kSlotBytes, kSlotBytes};
      mm[i].msg_hdr.msg_name = &from[i];
      mm[i].msg_hdr.msg_namelen = sizeof from[i];
      mm[i].msg_hdr.msg_iov = &iov[i];
      mm[i].msg_hdr.msg_iovlen = 1;
    }
    int n = ::recvmmsg(fd_, mm, kRecvSlots, MSG_DONTWAIT, nullptr);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      if (errno == ENOBUFS) fail(ErrorKind::StateUnknown, ENOBUFS, op, "netlink replies lost: receive buffer overrun (ENOBUFS)");
      fail(ErrorKind::Errno, errno, op, sys_text("netlink receive", errno));
    }
    std::vector<Msg> mine;
    for (int i = 0; i < n; ++i) {
      if ((mm[i].msg_hdr.msg_flags & MSG_TRUNC) != 0) fail(ErrorKind::Malformed, EMSGSIZE, op, "netlink reply truncated");
      if (from[i].nl_pid != 0) continue;  // only the kernel talks to us
      try {
        for (const Msg& m : split_messages(rbuf_.data() + static_cast<size_t>(i) * kSlotBytes, mm[i].msg_len))
          if (m.pid == port_id_) mine.push_back(m);
      } catch (const MalformedError& e) {
        fail(ErrorKind::Malformed, EBADMSG, op, e.what());
      }
    }
    if (!mine.empty()) return mine;
  }
}

void Socket::request(const MsgBuilder& b, uint32_t seq, const std::string& op, const std::function<void(const Msg&)>& cb) {
  send(b.bytes(), op);
  for (;;) {
    for (const Msg& m : receive(op)) {
      if (m.seq != seq) continue;  // a late answer to an earlier request
      if (m.type == NLMSG_ERROR) {
        int e = error_code(m);
        if (e == 0) continue;  // an ack after the data
        throw Error(ErrorKind::Errno, e, op, std::strerror(e));
      }
      try {
        cb(m);
      } catch (const MalformedError& e) {
        fail(ErrorKind::Malformed, EBADMSG, op, e.what());
      }
      return;
    }
  }
}

int Socket::request_ack(const MsgBuilder& b, uint32_t seq, const std::string& op) {
  send(b.bytes(), op);
  for (;;) {
    for (const Msg& m : receive(op)) {
      if (m.seq != seq || m.type != NLMSG_ERROR) continue;
      try {
        return error_code(m);
      } catch (const MalformedError& e) {
        fail(ErrorKind::Malformed, EBADMSG, op, e.what());
      }
    }
  }
}

void Socket::dump(const MsgBuilder& b, uint32_t seq, const std::string& op, const std::function<void(const Msg&)>& cb) {
  send(b.bytes(), op);
  bool interrupted = false;
  for (;;) {
    for (const Msg& m : receive(op)) {
      if (m.seq != seq) continue;
      if ((m.flags & NLM_F_DUMP_INTR) != 0) interrupted = true;
      if (m.type == NLMSG_DONE) {
        if (interrupted) throw Error(ErrorKind::DumpInterrupted, EINTR, op, "dump interrupted by a concurrent change; retry");
        return;
      }
      try {
        if (m.type == NLMSG_ERROR) {
          int e = error_code(m);
          if (e != 0) throw Error(ErrorKind::Errno, e, op, std::strerror(e));
          continue;
        }
        cb(m);
      } catch (const MalformedError& e) {
        fail(ErrorKind::Malformed, EBADMSG, op, e.what());
      }
    }
  }
}

std::vector<int> Socket::batch(size_t n, const std::string& op,
                               const std::function<void(size_t, MsgBuilder&, uint32_t)>& encode) {
  // The kernel handles every message of one sendmsg before sendmsg returns, and answers a
  // message without NLM_F_ACK only when it fails. So the requests go without ACK, followed by
  // an acked NLMSG_NOOP: its ack arrives after every error, and a request with no error
  // before it succeeded. That saves the kernel one reply per request and us reading it.
  std::vector<int> result(n, 0);
  MsgBuilder b;
  size_t i = 0;
  while (i < n) {
    b.clear();
    const uint32_t first_seq = seq_ + 1;
    size_t count = 0;
    while (i + count < n && count < batch_msgs_ && b.size() < batch_bytes_) {
      size_t start = b.size();
      encode(i + count, b, next_seq());
      b.clear_flags(start, NLM_F_ACK);
      ++count;
    }
    const uint32_t sentinel = next_seq();
    b.begin(NLMSG_NOOP, NLM_F_REQUEST | NLM_F_ACK, sentinel);
    b.end();
    send(b.bytes(), op);
    bool done = false;
    while (!done) {
      for (const Msg& m : receive(op)) {
        if (m.type != NLMSG_ERROR) continue;
        int e;
        try {
          e = error_code(m);
        } catch (const MalformedError& ex) {
          fail(ErrorKind::Malformed, EBADMSG, op, ex.what());
        }
        if (m.seq == sentinel) {
          done = true;
          continue;
        }
        uint32_t k = m.seq - first_seq;  // wraps for stale sequence numbers: out of range
        if (k < count && e != 0) result[i + k] = e;
      }
    }
    i += count;
  }
  return result;
}

}  // namespace nl
