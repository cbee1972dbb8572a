// IPv6 sessions in REST; see rest_sessions6.h.
#include "mgmt/rest_sessions6.h"

#include "dataplane/ip/ipv4.h"
#include "dataplane/ip/ipv6.h"
#include "mgmt/app_stats.h"
#include "mgmt/session_id.h"

namespace wp::mgmt {
namespace {

namespace api = ::waypoint::api;

std::string proto6_name(uint8_t p) {
  switch (p) {
    case 6: return "tcp";
    case 17: return "udp";
    case 58: return "icmpv6";
    default: return std::to_string(p);
  }
}

void fill_tuple6(api::Tuple* t, const FiveTuple6& f) {
  t->set_src(format_ipv6(f.src));
  t->set_dst(format_ipv6(f.dst));
  t->set_sport(f.sport);
  t->set_dport(f.dport);
  t->set_protocol(proto6_name(f.proto));
}

// A port, or an IPsec tunnel (side6(), session/table6.h), by its name.
std::string iface6_name(const RouterModel& m, int idx) {
  if (idx >= kSide6Tunnel) {
    const auto t = static_cast<size_t>(idx - kSide6Tunnel);
    return t < m.tunnels.size() ? m.tunnels[t].name : std::string();
  }
  return idx >= 0 && static_cast<size_t>(idx) < m.interfaces.size() ? m.interfaces[static_cast<size_t>(idx)].name
                                                                    : std::string();
}

}  // namespace

void fill_waypoints(api::Tuple* t, const Svr6Waypoints& w, const std::string& protocol) {
  t->set_src(!w.known ? std::string() : w.ipv4 ? format_ipv4(w.src4) : format_ipv6(w.src6));
  t->set_dst(!w.known ? std::string() : w.ipv4 ? format_ipv4(w.dst4) : format_ipv6(w.dst6));
  t->set_sport(w.sport);
  t->set_dport(w.dport);
  t->set_protocol(protocol);
}

void fill_session6(api::SessionInfo* o, const Session6View& v, const RouterModel& m) {
  o->set_uuid(format_session_id(v.uuid));
  o->set_family("ipv6");
  o->set_tenant(v.tenant);
  o->set_service(v.service);
  fill_tuple6(o->mutable_original(), v.original);
  if (v.role == Svr6Role::none) {
    fill_tuple6(o->mutable_arrived(), v.original);  // routed: no translation on either side
    fill_tuple6(o->mutable_left(), v.original);
  } else if (v.role == Svr6Role::transit) {  // both sides WAN: the leg it arrived on, the leg it left on
    fill_waypoints(o->mutable_arrived(), v.waypoints, proto6_name(v.original.proto));
    fill_waypoints(o->mutable_left(), v.onward, proto6_name(v.original.proto));
    o->set_peer(v.peer);
    o->set_svr_role("transit");
  } else {  // SVR: the IPv6 tuple on the LAN side, the waypoint leg on the WAN side
    const bool ingress = v.role == Svr6Role::ingress;
    fill_tuple6(ingress ? o->mutable_arrived() : o->mutable_left(), v.original);
    fill_waypoints(ingress ? o->mutable_left() : o->mutable_arrived(), v.waypoints, proto6_name(v.original.proto));
    o->set_peer(v.peer);
    o->set_svr_role(ingress ? "ingress" : "egress");
  }
  o->set_ingress(iface6_name(m, v.ingress));
  o->set_egress(iface6_name(m, v.egress));
  o->mutable_forward()->set_packets(v.packets[0]);
  o->mutable_forward()->set_bytes(v.bytes[0]);
  o->mutable_reverse()->set_packets(v.packets[1]);
  o->mutable_reverse()->set_bytes(v.bytes[1]);
  o->set_established(v.established);
  o->set_created_ms(v.created_epoch_ms);
  o->set_last_ms(v.last_epoch_ms);
  o->set_worker(v.worker);
  if (!v.next_hop.is_unspecified()) o->set_next_hop(format_ipv6(v.next_hop));
  o->set_application(app_name(0));  // IPv6 sessions are not classified (docs/ipv6.md)
  o->set_category(app_category_name(0));
}

}  // namespace wp::mgmt
