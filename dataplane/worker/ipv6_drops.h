// Which drop reason counts an IPv6 frame the worker does not carry: a frame
// that fails the header walk (ip/ipv6.h) is counted by what was wrong with it,
// so crafted extension chains show up as themselves; a well-formed one is not
// routed yet and stays `not_ipv4`.
#pragma once

#include "dataplane/ip/ipv6.h"
#include "dataplane/worker/drop_reason.h"

namespace wp {

constexpr DropReason ipv6_drop_reason(Ipv6Status s) {
  switch (s) {
    case Ipv6Status::malformed: return DropReason::ipv6_malformed;
    case Ipv6Status::ext_truncated: return DropReason::ipv6_ext_truncated;
    case Ipv6Status::ext_chain_too_long: return DropReason::ipv6_ext_chain_too_long;
    case Ipv6Status::ext_too_long: return DropReason::ipv6_ext_too_long;
    case Ipv6Status::ext_order: return DropReason::ipv6_ext_order;
    case Ipv6Status::first_fragment_short: return DropReason::ipv6_first_fragment_short;
    case Ipv6Status::l4_truncated: return DropReason::ipv6_l4_truncated;
    case Ipv6Status::ok:
    case Ipv6Status::fragment: break;
  }
  return DropReason::not_ipv4;
}

}  // namespace wp
