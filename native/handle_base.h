// What every handle shares: one mutex that serialises its calls, a closed flag that rejects
// calls after close, and close()/try_close() that free its sockets. Plain C++.
#pragma once

#include <atomic>
#include <cerrno>
#include <memory>
#include <mutex>
#include <string>

#include "nl_error.h"
#include "nl_socket.h"

namespace nl {

class HandleBase {
 public:
  virtual ~HandleBase() = default;
  // Rejects every later call at once; close() then frees the sockets.
  void mark_closed() { closed_ = true; }
  void close() {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    release_locked();
  }
  // close() at once when no call holds the handle; false (nothing done) when one does.
  bool try_close() {
    std::unique_lock<std::mutex> lock(mu_, std::try_to_lock);
    if (!lock.owns_lock()) return false;
    closed_ = true;
    release_locked();
    return true;
  }

 protected:
  // Frees the handle's sockets; the caller holds mu_.
  virtual void release_locked() = 0;

  std::mutex mu_;
  std::atomic<bool> closed_{false};
};

// A handle on one netlink socket, reopened after a timeout or lost replies made it unusable.
class SingleSocketHandle : public HandleBase {
 protected:
  // A call after close() fails with op `op` and the message `closed_message`.
  SingleSocketHandle(int protocol, std::string netns, int timeout_ms, std::string op, std::string closed_message)
      : protocol_(protocol), netns_(std::move(netns)), timeout_ms_(timeout_ms), op_(std::move(op)), closed_message_(std::move(closed_message)) {
    sock_ = std::make_unique<Socket>(protocol_, netns_, timeout_ms_);
  }

  // The live socket; the caller holds mu_.
  Socket& sock() {
    if (closed_) throw Error(ErrorKind::Closed, EBADF, op_, closed_message_);
    if (!sock_ || sock_->broken()) {
      sock_.reset();
      sock_ = std::make_unique<Socket>(protocol_, netns_, timeout_ms_);
    }
    return *sock_;
  }

  void release_locked() override { sock_.reset(); }

 private:
  int protocol_;
  std::string netns_;
  int timeout_ms_;
  std::string op_;
  std::string closed_message_;
  std::unique_ptr<Socket> sock_;
};

}  // namespace nl
