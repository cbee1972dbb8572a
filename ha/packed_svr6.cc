// IPv6 sessions over SVR as HA records; see packed_svr6.h for the layout.
#include "ha/packed_svr6.h"

#include <cstring>

#include "dataplane/control/route_choice.h"
#include "dataplane/control/waypoint6_addr.h"
#include "dataplane/ip/ipv6.h"
#include "ha/packed_bytes.h"

namespace wp::ha {
namespace {

enum : size_t {
  kTailSrc = kPackedRecordBytes, kTailDst = kTailSrc + 16, kTailSport = kTailDst + 16, kTailDport = kTailSport + 2,
  kTailProto = kTailDport + 2, kTailRole = kTailProto + 1, kTailZero = kTailRole + 1, kTailPacketsFwd = kTailZero + 2,
  kTailPacketsRev = kTailPacketsFwd + 8, kTailBytesFwd = kTailPacketsRev + 8, kTailBytesRev = kTailBytesFwd + 8,
};
static_assert(kTailBytesRev + 8 == kPackedSvr6RecordBytes);
static_assert(kTailSrc + kPackedTuple6Bytes == kTailRole);  // the tuple's fields as packed_put_tuple6 lays them
constexpr auto kFw = static_cast<size_t>(Dir::forward), kRv = static_cast<size_t>(Dir::reverse);

}  // namespace

void write_svr6_tail(uint8_t* p, const Session6& s6, Svr6Role role) {
  packed_put_tuple6(p + kTailSrc, s6.original);
  p[kTailRole] = static_cast<uint8_t>(role);
  packed_put<uint64_t>(p + kTailPacketsFwd, s6.packets[kFw]);
  packed_put<uint64_t>(p + kTailPacketsRev, s6.packets[kRv]);
  packed_put<uint64_t>(p + kTailBytesFwd, s6.bytes[kFw]);
  packed_put<uint64_t>(p + kTailBytesRev, s6.bytes[kRv]);
}

bool svr6_role(const uint8_t* p, Svr6Role& role, std::string& error) {
  const uint8_t r = p[kTailRole];
  if (r != static_cast<uint8_t>(Svr6Role::ingress) && r != static_cast<uint8_t>(Svr6Role::egress) &&
      r != static_cast<uint8_t>(Svr6Role::transit))
    return error = "svr6 role: " + std::to_string(r) + " unknown", false;
  role = static_cast<Svr6Role>(r);
  return true;
}

bool decode_svr6_tail(const uint8_t* p, PackedKind kind, const RouterModel& rm, const Session& carrier,
                      Session6& out, std::string& error, const FibTable6* fib) {
  if (p[kTailZero] || p[kTailZero + 1]) return error = "svr6: reserved bytes not zero", false;
  Svr6Role role;
  if (!svr6_role(p, role, error)) return false;
  const bool ingress = role == Svr6Role::ingress;
  out = Session6{};
  out.original = packed_get_tuple6(p + kTailSrc);
  out.uuid = carrier.uuid;
  const FiveTuple6& t = out.original;
  // The halves describe one session: the IPv4 half's internal tuple keeps the IPv6 ports.
  if (t.sport != carrier.original.sport || t.dport != carrier.original.dport || t.proto != carrier.original.proto)
    return error = "svr6: the IPv6 tuple's ports or protocol differ from the IPv4 half's", false;
  const bool transit = role == Svr6Role::transit;
  // A transit session has no IPv6 side here: both of its sides are waypoint legs.
  for (const bool fwd : {true, false}) {
    if (!transit && fwd != ingress) continue;
    if ((fwd ? carrier.out_fwd : carrier.out_rev).peer < 0)
      return error = std::string("svr6: ") + (fwd ? "out_fwd" : "out_rev") + " is no waypoint leg", false;
  }
  if (kind == PackedKind::remove) return true;
  if (t.src.is_unspecified() || t.dst.is_unspecified() || t.src.is_multicast() || t.dst.is_multicast())
    return error = "svr6: unspecified or multicast IPv6 tuple", false;
  if (rm.service_for6(t.dst, t.proto, t.dport) != carrier.service)
    return error = "svr6: the service here for " + format_ipv6(t.dst) + " is not " +
                   rm.services[static_cast<size_t>(carrier.service)].name,
           false;
  out.tenant = carrier.tenant;
  out.service = carrier.service;
  out.created_ms = carrier.created_ms;
  out.last_ms = carrier.last_ms;
  // Transit: the service's next peer is where the onward leg goes (as bind_transit chose it there).
  if (transit) {
    const int next = rm.services[static_cast<size_t>(carrier.service)].next_peer;
    if (next != carrier.out_fwd.peer)
      return error = "svr6: transit: " + rm.services[static_cast<size_t>(carrier.service)].name +
                     " here does not lead to the onward leg's peer",
             false;
    return true;  // held, not routed: its packets and bytes are the carrier's (svr/svr6_lan.h view)
  }
  // The LAN side's route here: toward the client at the ingress, the server at the egress.
  const Ipv6& lan_end = ingress ? t.src : t.dst;
  const std::optional<Route6> r = route6_to(rm, fib, lan_end, symmetric_hash(t));
  if (!r) return error = "svr6: no IPv6 route here to " + format_ipv6(lan_end), false;
  if (r->tunnel())
    return error = "svr6: the route to " + format_ipv6(lan_end) + " leads into an IPsec tunnel here", false;
  const size_t k = ingress ? kRv : kFw;
  out.next_hop[k] = r->connected() ? lan_end : r->next_hop;
  out.iface[k] = static_cast<int8_t>(r->iface);
  out.packets[kFw] = packed_get<uint64_t>(p + kTailPacketsFwd);
  out.packets[kRv] = packed_get<uint64_t>(p + kTailPacketsRev);
  out.bytes[kFw] = packed_get<uint64_t>(p + kTailBytesFwd);
  out.bytes[kRv] = packed_get<uint64_t>(p + kTailBytesRev);
  return true;
}

bool svr6_describable(const Session& s, const RouterModel& rm) {
  for (const SideOut* side : {&s.out_fwd, &s.out_rev})
    for (const Ipv4 a : {side->tuple.src, side->tuple.dst})
      if (is_waypoint6_standin(a) && !waypoint6_of(rm, a)) return false;
  return true;
}

}  // namespace wp::ha
