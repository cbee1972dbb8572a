// Session record encode/decode; see session_codec.h.
#include "ha/session_codec.h"

#include <algorithm>
#include <cstring>

#include "dataplane/apps/catalog.h"
#include "dataplane/control/route_choice.h"
#include "dataplane/control/waypoint6_addr.h"

#include "dataplane/session/owner.h"
#include "dataplane/ip/packet.h"

namespace wp::ha {
namespace {

void to_pb_tuple(const FiveTuple& t, pb::Tuple& out) {
  out.set_src(t.src);
  out.set_dst(t.dst);
  out.set_sport(t.sport);
  out.set_dport(t.dport);
  out.set_proto(t.proto);
}

WireTuple wire(const pb::Tuple& t) { return {t.src(), t.dst(), t.sport(), t.dport(), t.proto()}; }

bool from_wire_tuple(const WireTuple& in, FiveTuple& out) {
  if (in.sport > 0xffff || in.dport > 0xffff || (in.proto != kProtoTcp && in.proto != kProtoUdp)) return false;
  out = {in.src, in.dst, static_cast<uint16_t>(in.sport), static_cast<uint16_t>(in.dport),
         static_cast<uint8_t>(in.proto)};
  return out.src != 0 && out.dst != 0;
}

template <typename List>
std::string_view name_at(const List& list, int idx) {
  return idx >= 0 && static_cast<size_t>(idx) < list.size() ? std::string_view(list[static_cast<size_t>(idx)].name)
                                                             : std::string_view();
}

// A WAN leg to a peer's IPv6 waypoint (its stand-in here, mapped by the
// packed reader): out of the WAN interface our IPv6 routes give that waypoint
// (the config's and FRR's, `fib6`, as a session made here: waypoint6_route),
// from our IPv6 waypoint there or the HA peer node's (control/waypoint6_addr.h).
bool waypoint6_leg(const RouterModel& rm, const FibTable6* fib6, const char* which, SideOut& out, std::string& error) {
  const Ipv4 src = out.tuple.src, dst = out.tuple.dst;
  if (out.peer < 0 || waypoint6_standin_peer(rm, dst) != out.peer) {
    const Ipv6* w = waypoint6_of(rm, dst);
    return error = std::string(which) + ": IPv6 waypoint " + (w ? format_ipv6(*w) : format_ipv4(dst)) +
                   " is not the leg's peer's here",
           false;
  }
  const auto nh = waypoint6_route(rm, fib6, dst);
  if (!nh) return error = std::string(which) + ": no IPv6 route to the peer's waypoint", false;
  const bool from = src == waypoint6_own_standin(nh->iface) ||
                    (is_waypoint6_ha_standin(src) && waypoint6_source(rm, src, nh->iface) != nullptr);
  if (!from)
    return error = std::string(which) + ": its IPv6 waypoint is not on the interface the route to the peer leaves by",
           false;
  out.iface = static_cast<int8_t>(nh->iface);
  out.next_hop = nh->addr;
  return true;
}

// A leg as the receiver will forward it: its own route to the destination.
// A tunnel leg goes into this node's tunnel of the same name, whatever the
// routes say (as a session made from a tunnel's packet replies into it).
bool get_leg(const WireTuple& tuple, int peer, std::string_view peer_name, int tunnel, std::string_view tunnel_name,
             const RouterModel& rm, const FibTable* fib, const FibTable6* fib6, uint32_t hash, const char* which,
             SideOut& out, std::string& error) {
  if (!from_wire_tuple(tuple, out.tuple)) return error = std::string(which) + ": incomplete tuple", false;
  out.peer = -1;
  if (peer == kUnknownPeer) return error = std::string(which) + ": unknown peer \"" + std::string(peer_name) + "\"", false;
  if (tunnel == kUnknownTunnel)
    return error = std::string(which) + ": tunnel \"" + std::string(tunnel_name) +
                   "\" not configured here (both nodes of a pair need the same tunnels)",
           false;
  if (tunnel >= 0) {
    if (peer >= 0) return error = std::string(which) + ": both a peer and a tunnel", false;
    out.iface = static_cast<int8_t>(kIfaceTunnel);
    out.next_hop = static_cast<Ipv4>(tunnel);
    return true;
  }
  if (peer >= 0) out.peer = static_cast<int16_t>(peer);
  if (is_waypoint6_standin(out.tuple.dst)) return waypoint6_leg(rm, fib6, which, out, error);
  auto nh = route_next_hop(route_winner(rm, fib, out.tuple.dst), out.tuple.dst, hash);
  if (!nh) return error = std::string(which) + ": no route to " + format_ipv4(out.tuple.dst), false;
  if (nh->iface < 0)
    return error = std::string(which) + ": routed into a tunnel here, not at the sender (the pair's routes differ)",
           false;
  if (rm.interfaces[nh->iface].wan != (out.peer >= 0))
    return error = std::string(which) + ": routed out of the wrong kind of interface", false;
  out.iface = static_cast<int8_t>(nh->iface);
  out.next_hop = nh->addr;
  return true;
}
// #19: the IPv6 LAN side of an SVR session (its Session6 holds the route); the
// tuple is the sender's internal one, which the owning worker replaces by its own.
bool lan6_leg(const WireTuple& tuple, int peer, int tunnel, const char* which, SideOut& out, std::string& error) {
  if (!from_wire_tuple(tuple, out.tuple)) return error = std::string(which) + ": incomplete tuple", false;
  if (peer != -1 || tunnel != -1) return error = std::string(which) + ": the IPv6 LAN side names a peer or tunnel", false;
  out.peer = -1;
  out.iface = static_cast<int8_t>(kIfaceSvr6);
  out.next_hop = 0;
  return true;
}

// The catalog (nDPI's tables, started once per process on first use); null when nDPI
// cannot start, and then applications travel as Unknown.
const app::AppCatalog* catalog() {
  try {
    return &app::AppCatalog::instance();
  } catch (const std::exception&) {
    return nullptr;
  }
}

uint16_t category_of(const app::AppCatalog& c, uint16_t app) {
  const auto& apps = c.applications();  // sorted by id
  auto it = std::lower_bound(apps.begin(), apps.end(), app, [](const app::AppCatalog::Entry& e, uint16_t id) { return e.id < id; });
  return it != apps.end() && it->id == app ? it->category : 0;
}

}  // namespace

uint32_t key_id(const HmacKey& key) {
  uint32_t h = 2166136261u;  // FNV-1a over the derived pad states
  for (uint8_t b : key.ipad_state) h = (h ^ b) * 16777619u;
  for (uint8_t b : key.opad_state) h = (h ^ b) * 16777619u;
  return h;
}

std::string_view peer_name(const RouterModel& rm, int peer) { return name_at(rm.peers, peer); }

std::string_view tunnel_name(const RouterModel& rm, const SideOut& side) {
  return side.iface == kIfaceTunnel ? name_at(rm.tunnels, static_cast<int>(side.next_hop)) : std::string_view();
}

int tunnel_by_name(const RouterModel& rm, std::string_view name) {
  for (size_t i = 0; i < rm.tunnels.size(); ++i)
    if (rm.tunnels[i].name == name) return static_cast<int>(i);
  return kUnknownTunnel;
}

int peer_by_name(const RouterModel& rm, std::string_view name) {
  const int i = rm.peer_by_name(name);
  return i == kNone ? kUnknownPeer : i;
}

std::string_view tenant_name(const RouterModel& rm, const Session& s) {
  return s.tenant >= 0 && static_cast<size_t>(s.tenant) < rm.tenants.size()
             ? std::string_view(rm.tenants[static_cast<size_t>(s.tenant)])
             : std::string_view();
}
std::string_view service_name(const RouterModel& rm, const Session& s) { return name_at(rm.services, s.service); }
std::string_view security_name(const RouterModel& rm, const Session& s) { return name_at(rm.security, s.security); }

std::string_view application_name(uint16_t app) {
  if (app == 0) return {};
  const app::AppCatalog* c = catalog();
  return c ? std::string_view(c->application_name(app)) : std::string_view();
}

uint16_t application_id(std::string_view name) {
  const app::AppCatalog* apps = name.empty() ? nullptr : catalog();
  return apps ? apps->find_application(name).value_or(0) : 0;
}

uint32_t session_key_id(const Session& s, const RouterModel& rm, KeyIdCache* cache) {
  int side = s.side_a_wan() ? 0 : 1;
  int peer = side == 0 ? s.out_rev.peer : s.out_fwd.peer;
  if (peer < 0 || static_cast<size_t>(peer) >= rm.peers.size()) return 0;
  const PairKeyRing& ring = rm.peers[peer].keys;
  const PairKey* k = s.key_version(side) ? ring.find(s.key_version(side)) : nullptr;
  const HmacKey& mac = (k ? *k : ring.oldest()).mac;
  if (!cache) return key_id(mac);
  if (!cache->set || std::memcmp(cache->key.ipad_state, mac.ipad_state, sizeof mac.ipad_state) != 0 ||
      std::memcmp(cache->key.opad_state, mac.opad_state, sizeof mac.opad_state) != 0) {
    cache->key = mac;
    cache->id = key_id(mac);
    cache->set = true;
  }
  return cache->id;
}

void encode_session(const Session& s, const RouterModel& rm, const DataplaneClock& clock, uint32_t node_id,
                    pb::SessionRecord& out) {
  out.set_uuid(s.uuid.data(), s.uuid.size());
  to_pb_tuple(s.original, *out.mutable_original());
  to_pb_tuple(s.out_fwd.tuple, *out.mutable_out_fwd()->mutable_tuple());
  to_pb_tuple(s.out_rev.tuple, *out.mutable_out_rev()->mutable_tuple());
  auto set = [](std::string_view v, auto setter) { setter(v.data(), v.size()); };
  set(peer_name(rm, s.out_fwd.peer), [&](const char* d, size_t n) { out.mutable_out_fwd()->set_peer(d, n); });
  set(peer_name(rm, s.out_rev.peer), [&](const char* d, size_t n) { out.mutable_out_rev()->set_peer(d, n); });
  set(tunnel_name(rm, s.out_fwd), [&](const char* d, size_t n) { out.mutable_out_fwd()->set_tunnel(d, n); });
  set(tunnel_name(rm, s.out_rev), [&](const char* d, size_t n) { out.mutable_out_rev()->set_tunnel(d, n); });
  if (auto t = tenant_name(rm, s); !t.empty()) out.set_tenant(t.data(), t.size());
  set(service_name(rm, s), [&](const char* d, size_t n) { out.set_service(d, n); });
  set(security_name(rm, s), [&](const char* d, size_t n) { out.set_security(d, n); });
  out.set_flags(s.flags & ~kPeerSession);
  out.set_created_ms(clock.epoch_ms(s.created_ms));
  out.set_last_ms(clock.epoch_ms(s.last_ms));
  out.set_version(clock.epoch_ms(s.last_ms));
  out.set_owner_node(node_id);
  if (uint32_t id = session_key_id(s, rm)) out.set_key_id(id);
  out.set_key_version_a(s.out_rev.key_version);
  out.set_key_version_b(s.out_fwd.key_version);
  out.set_packets_fwd(s.packets[0]);
  out.set_packets_rev(s.packets[1]);
  out.set_bytes_fwd(s.bytes[0]);
  out.set_bytes_rev(s.bytes[1]);
  out.set_migrations(s.migrations);
  out.clear_application();  // "" = Unknown
  if (auto a = application_name(s.app); !a.empty()) out.set_application(a.data(), a.size());
  out.set_app_refused(s.app_slot == kAppDenied);
}

bool decode_session(const pb::SessionRecord& in, const RouterModel& rm, const DataplaneClock& clock, Session& out,
                    std::string& error, const FibTable* fib, const FibTable6* fib6) {
  SessionFacts f;
  f.uuid = in.uuid().data();
  f.uuid_size = in.uuid().size();
  f.original = wire(in.original());
  f.fwd_tuple = wire(in.out_fwd().tuple());
  f.rev_tuple = wire(in.out_rev().tuple());
  f.fwd_peer_name = in.out_fwd().peer();
  f.rev_peer_name = in.out_rev().peer();
  f.fwd_peer = f.fwd_peer_name.empty() ? -1 : peer_by_name(rm, f.fwd_peer_name);
  f.rev_peer = f.rev_peer_name.empty() ? -1 : peer_by_name(rm, f.rev_peer_name);
  f.fwd_tunnel_name = in.out_fwd().tunnel();
  f.rev_tunnel_name = in.out_rev().tunnel();
  f.fwd_tunnel = f.fwd_tunnel_name.empty() ? -1 : tunnel_by_name(rm, f.fwd_tunnel_name);
  f.rev_tunnel = f.rev_tunnel_name.empty() ? -1 : tunnel_by_name(rm, f.rev_tunnel_name);
  f.tenant_name = in.tenant();
  f.service_name = in.service();
  f.tenant = rm.tenant_by_name(f.tenant_name);
  f.service = rm.service_by_name(f.service_name);
  f.app = application_id(in.application());
  f.app_refused = in.app_refused();
  f.flags = in.flags();
  f.created_ms = in.created_ms();
  f.last_ms = in.last_ms();
  f.packets_fwd = in.packets_fwd();
  f.packets_rev = in.packets_rev();
  f.bytes_fwd = in.bytes_fwd();
  f.bytes_rev = in.bytes_rev();
  f.migrations = in.migrations();
  f.key_version_a = in.key_version_a();
  f.key_version_b = in.key_version_b();
  return decode_facts(f, rm, clock, out, error, fib, fib6);
}

bool decode_facts(const SessionFacts& in, const RouterModel& rm, const DataplaneClock& clock, Session& out,
                  std::string& error, const FibTable* fib, const FibTable6* fib6) {
  out = Session{};
  if (in.uuid_size != out.uuid.size()) return error = "uuid: not 16 bytes", false;
  std::memcpy(out.uuid.data(), in.uuid, out.uuid.size());
  if (!from_wire_tuple(in.original, out.original)) return error = "original: incomplete tuple", false;
  const uint32_t hash = symmetric_hash(out.original);
  if (in.lan6_side == 1 ? !lan6_leg(in.fwd_tuple, in.fwd_peer, in.fwd_tunnel, "out_fwd", out.out_fwd, error)
                         : !get_leg(in.fwd_tuple, in.fwd_peer, in.fwd_peer_name, in.fwd_tunnel, in.fwd_tunnel_name,
                                    rm, fib, fib6, hash, "out_fwd", out.out_fwd, error))
    return false;
  if (in.lan6_side == 0 ? !lan6_leg(in.rev_tuple, in.rev_peer, in.rev_tunnel, "out_rev", out.out_rev, error)
                         : !get_leg(in.rev_tuple, in.rev_peer, in.rev_peer_name, in.rev_tunnel, in.rev_tunnel_name,
                                    rm, fib, fib6, hash, "out_rev", out.out_rev, error))
    return false;
  const int tenant = in.tenant;
  if (tenant == kNone) return error = "tenant \"" + std::string(in.tenant_name) + "\" not configured here", false;
  const int service = in.service;
  if (service == kNone) return error = "service \"" + std::string(in.service_name) + "\" not configured here", false;
  int security = rm.policy(tenant, service);
  if (security == kNone)
    return error = "policy here denies " + std::string(in.tenant_name) + " -> " + std::string(in.service_name), false;
  out.tenant = static_cast<int16_t>(tenant);
  out.service = static_cast<int16_t>(service);
  // The application in this node's nDPI table (a name it does not know: Unknown, as for
  // TLV 35). Never classified here: a session synced while the owner still classified it
  // stays Unknown until the owner's `update` says more (or for good after a takeover).
  out.app = in.app;
  out.app_slot = in.app_refused ? kAppDenied : kAppDone;
  // Zero trust: our own application policy too, as a hop told the application in TLV 35.
  const app::AppCatalog* apps = out.app != 0 ? catalog() : nullptr;
  if (apps && rm.app_rules &&
      rm.app_decision(tenant, service, out.app, category_of(*apps, out.app)) != AppDecision::allow)
    out.app_slot = kAppDenied;
  // Our config's class: the application's (qos.applications) first, else the service's.
  out.set_qos_class(static_cast<uint8_t>(rm.session_qos_class(service, out.app)));
  out.security = static_cast<int16_t>(security);
  out.flags = static_cast<uint8_t>(in.flags & ~uint32_t{kPeerSession});
  // Epoch back to our worker clock (wrap-safe 32-bit difference).
  out.created_ms = clock.base_ms + static_cast<uint32_t>(in.created_ms - clock.base_epoch_ms);
  out.last_ms = clock.base_ms + static_cast<uint32_t>(in.last_ms - clock.base_epoch_ms);
  out.packets[0] = in.packets_fwd;
  out.packets[1] = in.packets_rev;
  out.bytes[0] = in.bytes_fwd;
  out.bytes[1] = in.bytes_rev;
  out.migrations = static_cast<uint16_t>(in.migrations > UINT16_MAX ? UINT16_MAX : in.migrations);
  if (in.key_version_a > 255 || in.key_version_b > 255) return error = "key_version: not 0..255", false;
  out.out_rev.key_version = static_cast<uint8_t>(in.key_version_a);
  out.out_fwd.key_version = static_cast<uint8_t>(in.key_version_b);
  out.in_use = 1;
  return true;
}

uint32_t owner_worker(const Session& s, uint32_t workers) {
  return owner_of_class(affinity_class(s.original), workers);
}

}  // namespace wp::ha
