// Refusals and their text, the way PMDs report them; see flow_port.h.
#include "offload/flow_port.h"

#include <rte_errno.h>

namespace wp::offload {

std::string flow_error_text(int rc, const rte_flow_error& e) {
  return "rc " + std::to_string(rc) + ", error type " + std::to_string(static_cast<int>(e.type)) + ": " +
         (e.message ? e.message : rte_strerror(-rc));
}

int flow_refuse(rte_flow_error* e, int errno_value, rte_flow_error_type type, const void* cause, const char* message) {
  if (e) {
    e->type = type;
    e->cause = cause;
    e->message = message;
  }
  rte_errno = errno_value;
  return -errno_value;
}

}  // namespace wp::offload
