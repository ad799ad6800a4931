// The one error type of the native layer. The addon turns it into a JS Error with errno,
// code, op and kind; src/native/errors.ts maps kind to a typed class.
#pragma once

#include <stdexcept>
#include <string>

namespace nl {

enum class ErrorKind {
  Errno,         // the kernel (or a syscall) returned this errno
  Timeout,       // no reply before the deadline: the socket was dropped and will be replaced
  DumpInterrupted,  // NLM_F_DUMP_INTR: the table changed during the dump; retry it
  StateUnknown,  // ENOBUFS: replies were lost, so which requests took effect is unknown
  Unavailable,   // the IPVS generic netlink family does not exist in this kernel
  Malformed,     // a reply did not parse
  Closed,        // the handle was closed
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, int err, std::string op, const std::string& message)
      : std::runtime_error(message), kind(kind), err(err), op(std::move(op)) {}
  ErrorKind kind;
  int err;
  std::string op;
};

const char* kind_name(ErrorKind k);

}  // namespace nl
