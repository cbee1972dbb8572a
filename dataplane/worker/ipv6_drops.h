// Which drop reason counts an IPv6 frame the worker does not carry: a frame
// that fails the header walk (ip/ipv6.h) is counted by what was wrong with it,
// so crafted extension chains show up as themselves; a well-formed one is not
// routed yet and stays `not_ipv4`. A fragment an IPv6 reassembly table
// refused (NAT64's on the LAN, the IPv6 waypoint's on the WAN) is counted by
// the table's verdict.
#pragma once

#include "dataplane/ip/ipv6.h"
#include "dataplane/ip/reassembly.h"
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

// The drop reason of a fragment the IPv6 table did not hold (any verdict but pending and complete).
constexpr DropReason ipv6_frag_drop_reason(ReassemblyResult r) {
  switch (r) {
    case ReassemblyResult::duplicate: return DropReason::ipv6_frag_duplicate;
    case ReassemblyResult::overlap: return DropReason::ipv6_frag_overlap;
    case ReassemblyResult::too_many: return DropReason::ipv6_frag_too_many;
    case ReassemblyResult::too_big: return DropReason::ipv6_frag_too_big;
    case ReassemblyResult::table_full: return DropReason::ipv6_frag_table_full;
    case ReassemblyResult::source_limit: return DropReason::ipv6_frag_source_limit;
    case ReassemblyResult::pending:
    case ReassemblyResult::complete:
    case ReassemblyResult::malformed:
    case ReassemblyResult::not_fragment: break;
  }
  return DropReason::ipv6_frag_malformed;
}

}  // namespace wp
