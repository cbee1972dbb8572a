// The control thread's IPv6: Neighbor Discovery (RFC 4861) and ICMPv6 echo
// (RFC 4443 § 4) for the interfaces' addresses (docs/ipv6.md). Workers pass
// up what ipv6_input.h lets through; here the checksum and ND's validity
// rules are checked, Neighbor Solicitations for our addresses are answered
// (Router and Override set: we are a router and the address is ours alone;
// Solicited unless the asker was doing DAD, then to all-nodes, § 7.2.4),
// advertisements fill the neighbor cache (neighbor6.h, which decides what may
// be learned), and echo requests are answered from the address pinged.
// Resolution: packets for an on-link neighbor without a cache entry wait in
// pending6_ (kPendingPerNeighbor each) while the cache's INCOMPLETE entry
// solicits; they leave when it is learned or are dropped when it fails.
// Duplicate Address Detection of our own addresses (dad6.h): each is
// tentative, not answered for, until one unanswered DAD solicitation and a
// second of silence; proof that another node holds it makes it duplicate.
// Packet Too Big to a WAN address that quotes our ESP lowers its tunnel's
// outer path MTU (ipsec/esp_ptb.h, esp_path_mtu.h;
// docs/ipsec.md § IPv6 outer addresses); one about anything else goes where it went before.
// Router Advertisements on LAN interfaces with ipv6_ra (RFC 4861 § 6.2,
// ip/router_advert.h): on schedule, sooner after a Router Solicitation, and a
// final one with Router Lifetime 0 when a commit disables them or we stop;
// with HA, Router Lifetime 0 while this node holds none of the interface's addresses.
#include <rte_cycles.h>

#include <cstring>

#include "dataplane/control/control_thread.h"
#include "dataplane/control/ha_na_claim.h"
#include "dataplane/control/linux_cp/punt_interfaces.h"
#include "dataplane/ip/icmp.h"  // kIcmp6PacketTooBig
#include "dataplane/ip/ndp.h"
#include "dataplane/ip/packet_edit.h"
#include "dataplane/ipsec/esp_ptb.h"

namespace wp {
namespace {

DropReason nd_drop_reason(NdStatus s) {
  switch (s) {
    case NdStatus::bad_hop_limit: return DropReason::nd_bad_hop_limit;
    case NdStatus::bad_dad: return DropReason::nd_bad_dad;
    case NdStatus::bad_solicited: return DropReason::nd_bad_solicited;
    case NdStatus::malformed:
    case NdStatus::ok: break;
  }
  return DropReason::nd_malformed;
}

}  // namespace

void Control::icmp6_input(rte_mbuf* m, int iface) {
  const uint8_t* d = pkt_data(m);
  const Ipv6View v = parse_ipv6_packet(d, m->data_len, kEthHdrLen);
  if (v.status == Ipv6Status::ok && ike_wanted6(v, iface)) return ike_input6(m, v, iface);  // control_ike.cc
  if (v.status != Ipv6Status::ok || v.proto != kProtoIcmpv6) return not_ours(m, iface);
  if (icmpv6_checksum(v.src, v.dst, d + v.l4, v.end - v.l4) != 0) return drop(m, DropReason::icmpv6_bad_checksum);
  switch (d[v.l4]) {
    case kNdNeighborSolicit:
    case kNdNeighborAdvert: return nd_input(m, v, iface);
    case kNdRouterSolicit: return rs_input(m, v, iface);
    case kIcmp6EchoRequest: return echo6_input(m, v, iface);
    case kIcmp6PacketTooBig: return ptb6_input(m, v, iface);
    case kMldQuery: return mld_query_input(m, v, iface);  // control_mld.cc
    default: return not_ours(m, iface);
  }
}

// Only a WAN interface's (or the HA peer's we hold) address gets ESP's PTBs:
// one about our ESP on another port, or quoting what no SA of ours sent, is
// forged or stale and changes nothing.
void Control::ptb6_input(rte_mbuf* m, const Ipv6View& v, int iface) {
  const uint8_t* d = pkt_data(m);
  const EspPtb ptb =
      esp_ptb6_check(d + v.l4, v.end - v.l4, v.dst, shared_.esp.load(std::memory_order_acquire));
  if (ptb.verdict == EspPtbVerdict::not_esp) return not_ours(m, iface);
  const InterfaceModel& in = model().interfaces[iface];
  const bool ours = in.holds6(v.dst) || shared_.ha.holds_peer_address6(v.dst, iface);
  if (ptb.verdict != EspPtbVerdict::taken || !in.wan || !ours) return drop(m, DropReason::esp_outer6_ptb_invalid);
  counters().add(Counter::esp_outer6_ptb);
  shared_.esp_path_mtu.lower(ptb.tunnel, ptb.path_mtu, ptb.inner_mtu, now_ms_);
  rte_pktmbuf_free(m);
}

void Control::nd_input(rte_mbuf* m, const Ipv6View& v, int iface) {
  const uint8_t* d = pkt_data(m);
  NdMessage nd;
  NdStatus st = parse_nd(d + v.l4, v.end - v.l4, v.src, v.dst, v.hop_limit, nd);
  if (st != NdStatus::ok) return drop(m, nd_drop_reason(st));
  const InterfaceModel& in = model().interfaces[iface];
  if (nd.type == kNdNeighborAdvert) {
    rte_pktmbuf_free(m);
    return nd_advert_input(nd, iface);
  }
  counters().add(Counter::nd_solicits_received);
  // HA (#19): the peer's addresses are ours to answer while we hold them; our
  // own (but link-local ones, which never move) only while we hold those.
  const HaDataplane& ha = shared_.ha;
  const bool peers = !in.holds6(nd.target) && ha.holds_peer_address6(nd.target, iface);
  if (!in.holds6(nd.target) && !peers) return drop(m, DropReason::nd_target_not_ours);
  if (ha.enabled && !peers && !nd.target.is_link_local() && !ha.own_held.load(std::memory_order_acquire))
    return drop(m, DropReason::nd_target_not_held);
  const bool dad = v.src.is_unspecified();
  // The peer checking its own address as it comes back: it is the owner, we only hold
  // the address for it; an answer would make it give the address up as a duplicate.
  if (peers && dad) return drop(m, DropReason::nd_peer_dad);
  switch (peers ? DadTable::Seen::untracked : dad6_.solicit_seen(iface, nd.target, dad, nd.has_nonce ? nd.nonce : nullptr)) {
    case DadTable::Seen::untracked: break;
    case DadTable::Seen::looped:
      counters().add(Counter::nd_dad_looped);
      return rte_pktmbuf_free(m);
    case DadTable::Seen::duplicate:
      counters().add(Counter::nd_dad_duplicates);
      return rte_pktmbuf_free(m);
    case DadTable::Seen::ignored:
    case DadTable::Seen::conflict: return drop(m, DropReason::nd_target_tentative);
  }
  uint8_t to_mac[6];
  if (dad)
    multicast_mac_of(kAllNodes, to_mac);
  else
    std::memcpy(to_mac, nd.has_lla ? nd.lla : d + 6, 6);
  if (!dad && nd.has_lla &&
      shared_.neighbors6.solicited_by(iface, v.src, nd.lla, now_ms_) == Neighbor6Table::Learned::stale)
    neighbor6_learned(iface, v.src);
  const uint8_t flags = kNaRouter | kNaOverride | (dad ? 0 : kNaSolicited);
  rte_pktmbuf_free(m);
  send_nd(iface,
          [&](uint8_t* f) { return write_advert(f, in.mac, nd.target, dad ? kAllNodes : v.src, to_mac, flags); });
  counters().add(Counter::nd_adverts_sent);
}

// HA (#19): unsolicited NAs with Override (ha_na_claim.h) for our own global
// IPv6 addresses while we hold them, and for the peer's while we hold those.
void Control::announce6() {
  const RouterModel& rm = model();
  const HaDataplane& ha = shared_.ha;
  auto claim = [&](int iface, const Ipv6& a) {
    const InterfaceModel& out = rm.interfaces[static_cast<size_t>(iface)];
    send_nd(iface, [&](uint8_t* f) { return write_ha_na_claim(f, out.mac, a); });
    counters().add(Counter::ha_nd_claims_sent);
  };
  if (ha.own_held.load(std::memory_order_acquire))
    for (size_t i = 0; i < rm.interfaces.size(); ++i)
      for (const Ipv6& a : rm.interfaces[i].addrs6)
        if (!a.is_link_local() && dad6_.usable(static_cast<int>(i), a)) claim(static_cast<int>(i), a);
  if (ha.peer_taken.load(std::memory_order_acquire))
    for (const HaAddress6& p : ha.peer_addresses6) claim(p.iface, p.addr);
}

void Control::nd_advert_input(const NdMessage& nd, int iface) {
  counters().add(Counter::nd_adverts_received);
  if (model().interfaces[iface].holds6(nd.target)) {
    if (dad6_.advert_seen(iface, nd.target) == DadTable::Seen::duplicate)
      return counters().add(Counter::nd_dad_duplicates);
    return counters().add(Counter::nd_address_conflict);
  }
  if (!nd.has_lla) return;  // nothing to learn: our solicitations always ask for it
  switch (shared_.neighbors6.advert(iface, nd.target, nd.lla, nd.flags, now_ms_)) {
    case Neighbor6Table::Learned::ignored: return counters().add(Counter::nd_learn_unsolicited);
    case Neighbor6Table::Learned::unchanged: return;
    case Neighbor6Table::Learned::reachable:
    case Neighbor6Table::Learned::stale: break;
  }
  counters().add(Counter::nd_neighbors_learned);
  neighbor6_learned(iface, nd.target);
}

// The reply leaves from the address pinged, without the request's extension
// headers (they were the request's: RFC 4443 § 4.2 echoes only the data).
void Control::echo6_input(rte_mbuf* m, const Ipv6View& v, int iface) {
  if (!model().interfaces[iface].holds6(v.dst) || !dad6_.usable(iface, v.dst)) return not_ours(m, iface);
  uint8_t* d = pkt_data(m);
  const uint16_t len = static_cast<uint16_t>(v.end - v.l4);
  uint8_t* ip = d + v.l3;
  if (v.l4 != v.l3 + kIpv6HdrLen) {
    std::memmove(ip + kIpv6HdrLen, d + v.l4, len);
    ip[6] = kProtoIcmpv6;
  }
  store_be16(ip + 4, len);
  rte_pktmbuf_trim(m, static_cast<uint16_t>(m->data_len - (v.l3 + kIpv6HdrLen + len)));
  echo6_reply_in_place(ip, ip + kIpv6HdrLen, len, v.dst);
  uint8_t dst[6];
  std::memcpy(dst, d + 6, 6);
  counters().add(Counter::icmpv6_echo_replies);
  send_l2(m, iface, dst);
}

void Control::send_solicit(int iface, const Ipv6& target, const uint8_t* unicast_mac) {
  const InterfaceModel& in = model().interfaces[iface];
  send_nd(iface, [&](uint8_t* f) { return write_solicit(f, in.mac, in.source6_for(target), target, unicast_mac); });
  counters().add(Counter::nd_solicits_sent);
}

// A packet for on-link `m`'s IPv6 destination: sent when its neighbor is
// known, else queued while it is resolved.
void Control::resolve6(rte_mbuf* m) {
  const int iface = m->port;  // mark_resolve6()
  const Ipv6View v = parse_ipv6_packet(pkt_data(m), m->data_len, kEthHdrLen);
  if (v.status != Ipv6Status::ok && v.status != Ipv6Status::fragment) return drop(m, DropReason::parse_error);
  const Ipv6 target = resolve6_target(m, v.dst);  // a routed packet's gateway, else its destination
  uint8_t mac[6];
  if (shared_.neighbors6.use(iface, target, mac, now_ms_)) return send_l2(m, iface, mac);
  auto it = std::find_if(pending6_.begin(), pending6_.end(),
                         [&](const Pending6& p) { return p.iface == iface && p.addr == target; });
  if (it == pending6_.end()) {
    if (pending6_.size() >= kMaxPendingNeighbors) return drop(m, DropReason::nd_unresolved);
    switch (shared_.neighbors6.begin(iface, target, now_ms_)) {
      case Neighbor6Table::Begun::full: return drop(m, DropReason::nd_unresolved);
      case Neighbor6Table::Begun::started: send_solicit(iface, target, nullptr); break;
      case Neighbor6Table::Begun::known: break;  // INCOMPLETE already: its solicitations run
    }
    pending6_.push_back({iface, target, {}});
    it = pending6_.end() - 1;
  }
  if (it->packets.size() >= kPendingPerNeighbor) return drop(m, DropReason::nd_unresolved);
  it->packets.push_back(m);
}

void Control::neighbor6_learned(int iface, const Ipv6& addr) {
  uint8_t mac[6];
  if (!shared_.neighbors6.lookup(iface, addr, mac)) return;
  // The punt path's kernel interface learns it too (control_punt.cc), when it speaks IPv6.
  if (punt_ && static_cast<size_t>(iface) < punt_->size() && model().interfaces[iface].addrs6.size() > 1)
    kernel_advert(iface, addr, mac, kAllNodes);
  auto it = std::find_if(pending6_.begin(), pending6_.end(),
                         [&](const Pending6& p) { return p.iface == iface && p.addr == addr; });
  if (it == pending6_.end()) return;
  for (rte_mbuf* m : it->packets) send_l2(m, iface, mac);
  pending6_.erase(it);
}

void Control::neighbor6_failed(int iface, const Ipv6& addr) {
  counters().add(Counter::nd_resolution_failed);
  auto it = std::find_if(pending6_.begin(), pending6_.end(),
                         [&](const Pending6& p) { return p.iface == iface && p.addr == addr; });
  if (it == pending6_.end()) return;
  for (rte_mbuf* m : it->packets) drop(m, DropReason::nd_unresolved);
  pending6_.erase(it);
}

// DAD: the addresses of the model in use (re-read when a commit publishes a
// new one: kept addresses keep their state), their solicitations and timers.
void Control::dad6_poll(uint32_t now_ms) {
  const RouterModel& rm = model();
  if (&rm != dad6_model_) {
    dad6_model_ = &rm;
    std::vector<std::pair<int, Ipv6>> addrs;
    // Interfaces with configured IPv6 addresses (their link-local too); an
    // IPv4-only port originates no IPv6, so its link-local is not probed.
    for (size_t i = 0; i < rm.interfaces.size(); ++i)
      if (rm.interfaces[i].addrs6.size() > 1)
        for (const Ipv6& a : rm.interfaces[i].addrs6) addrs.emplace_back(static_cast<int>(i), a);
    dad6_.set(addrs, rte_rdtsc() ^ reinterpret_cast<uintptr_t>(this));
  }
  // HA: our global addresses still tentative (a link-local is never claimed).
  const bool holding = shared_.ha.enabled && shared_.ha.own_held.load(std::memory_order_acquire);
  auto tentative_globals = [this] {
    size_t n = 0;
    for (const DadTable::Entry& e : dad6_.entries())
      n += e.state == DadTable::State::tentative && !e.addr.is_link_local();
    return n;
  };
  const size_t tentative = holding ? tentative_globals() : 0;
  const uint32_t passed = dad6_.tick(now_ms, [this](const DadTable::Entry& e) {
    const InterfaceModel& in = model().interfaces[e.iface];
    send_nd(e.iface, [&](uint8_t* f) { return write_dad_solicit(f, in.mac, e.addr, e.nonce); });
    counters().add(Counter::nd_dad_probes_sent);
  });
  if (!passed) return;
  counters().add(Counter::nd_dad_passed, passed);
  // HA (#19): announce6 skips addresses still tentative, so a node that took its addresses
  // back before their DAD was done (just restarted, its peer handing them back) had neighbors
  // left on the peer's MAC. Once a global one passes while we hold ours, the claims start over
  // (now, then on the re-announce schedule), as after a takeover or hand-back.
  if (holding && tentative_globals() < tentative) {
    announce();
    announced_ms_ = now_ms;
    reannounce_step_ = 0;
  }
}

void Control::age_neighbors6(uint32_t now_ms) {
  auto solicit = [this](int iface, const Ipv6& addr, const uint8_t* mac) { send_solicit(iface, addr, mac); };
  auto failed = [this](int iface, const Ipv6& addr) { neighbor6_failed(iface, addr); };
  Neighbor6Table::Aged aged = shared_.neighbors6.age(now_ms, kNeighborSweep, solicit, failed);
  if (aged.expired) counters().add(Counter::nd_neighbors_expired, aged.expired);
}

// Router Advertisements (RFC 4861 § 6.2; ip/router_advert.h). A valid
// solicitation on an advertising interface brings its next RA forward (to
// all-nodes, like every RA: § 6.2.6's rate limit holds for all of them); its
// source link-layer option updates a neighbor entry we hold, as an NS's does.
void Control::rs_input(rte_mbuf* m, const Ipv6View& v, int iface) {
  NdMessage rs;
  switch (parse_router_solicit(pkt_data(m) + v.l4, v.end - v.l4, v.src, v.hop_limit, rs)) {
    case RsStatus::ok: break;
    case RsStatus::bad_hop_limit: return drop(m, DropReason::nd_bad_hop_limit);
    case RsStatus::malformed:
    case RsStatus::bad_source: return drop(m, DropReason::nd_bad_router_solicit);
  }
  if (static_cast<size_t>(iface) >= ra_.size() || !ra_[iface].active) return not_ours(m, iface);
  rte_pktmbuf_free(m);
  ra_[iface].schedule.solicited(now_ms_);
  counters().add(Counter::rs_answered);
  if (!v.src.is_unspecified() && rs.has_lla &&
      shared_.neighbors6.solicited_by(iface, v.src, rs.lla, now_ms_) == Neighbor6Table::Learned::stale)
    neighbor6_learned(iface, v.src);
}

// Advertising starts (with the initial fast RAs) on an interface a commit
// enabled or changed, and ends with a final RA of Router Lifetime 0 on one it
// disabled (§ 6.2.5); an unchanged one keeps its schedule.
void Control::ra_reload(const RouterModel& rm, uint32_t now_ms) {
  ra_.resize(std::max(ra_.size(), rm.interfaces.size()));
  for (size_t i = 0; i < ra_.size(); ++i) {
    RaAdvertiser& a = ra_[i];
    const bool present = i < rm.interfaces.size();
    if (!present || !rm.interfaces[i].ra.enabled) {
      if (present && a.active && a.schedule.advertised()) send_ra(static_cast<int>(i), a, false);
      a.active = false;
      continue;
    }
    const InterfaceModel& in = rm.interfaces[i];
    if (a.active && a.settings == in.ra && a.prefixes == in.ra_prefixes && a.mtu == in.mtu &&
        a.link_local == in.addrs6[0])
      continue;
    a.active = true;
    a.settings = in.ra;
    a.prefixes = in.ra_prefixes;
    a.mtu = in.mtu;
    std::memcpy(a.mac, in.mac, 6);
    a.link_local = in.addrs6[0];
    a.router = ra_router(static_cast<int>(i));
    a.schedule.start(now_ms, in.ra.min_interval_ms, in.ra.max_interval_ms, rte_rdtsc() ^ (i * 0x9e3779b97f4a7c15ULL));
  }
}

// HA (#19): both nodes advertise, but one that holds none of the
// interface's addresses (just restarted, cut from Corosync, or the standby of
// a taken-over peer's) would draw hosts' traffic it does not own: it
// advertises Router Lifetime 0 (prefixes, routes and DNS stay: they are the
// link's) until it holds one again. Either change starts the initial RAs
// over, so hosts learn it within the 3 s limit, not one interval later.
bool Control::ra_router(int iface) const {
  const HaDataplane& ha = shared_.ha;
  if (!ha.enabled || ha.own_held.load(std::memory_order_acquire)) return true;
  if (!ha.peer_taken.load(std::memory_order_acquire)) return false;
  auto on_iface = [iface](const auto& p) { return p.iface == iface; };
  return std::any_of(ha.peer_addresses.begin(), ha.peer_addresses.end(), on_iface) ||
         std::any_of(ha.peer_addresses6.begin(), ha.peer_addresses6.end(), on_iface);
}

// RAs leave from the link-local address once DAD let it be used (§ 6.2.2's
// "MUST use the link-local address"; a tentative one is not ours yet).
void Control::ra_poll(uint32_t now_ms) {
  const RouterModel& rm = model();
  if (&rm != ra_model_) {
    ra_model_ = &rm;
    ra_reload(rm, now_ms);
  }
  for (size_t i = 0; i < ra_.size(); ++i) {
    RaAdvertiser& a = ra_[i];
    if (!a.active) continue;
    if (const bool router = ra_router(static_cast<int>(i)); router != a.router) {
      a.router = router;
      a.schedule.start(now_ms, a.settings.min_interval_ms, a.settings.max_interval_ms, rte_rdtsc() ^ i);
    }
    if (!a.schedule.due(now_ms)) continue;
    if (!dad6_.usable(static_cast<int>(i), a.link_local)) {
      a.schedule.hold(now_ms);
      continue;
    }
    send_ra(static_cast<int>(i), a, a.router);
    a.schedule.sent(now_ms);
  }
}

void Control::retire_router_adverts() {
  const size_t n = model().interfaces.size();
  for (size_t i = 0; i < ra_.size() && i < n; ++i) {
    if (ra_[i].active && ra_[i].schedule.advertised()) send_ra(static_cast<int>(i), ra_[i], false);
    ra_[i].active = false;
  }
}

// Not `serving` (RAs disabled by a commit, shutdown, or an HA node holding
// none of the link's addresses): Router Lifetime 0, and every Route
// Information option's lifetime 0 too, since RFC 4191 § 2.3 routes outlive
// the Router Lifetime (a host keeps sending their traffic through us
// otherwise). Serving: the configured lifetimes (not_default_router's
// Router Lifetime 0 keeps its routes: RFC 4191's non-default router).
void Control::send_ra(int iface, const RaAdvertiser& a, bool serving) {
  const RaSettings* s = &a.settings;
  RaSettings withdrawn;
  if (!serving && !a.settings.routes.empty()) {  // control path, rare: a copy with the routes' lifetime 0
    withdrawn = a.settings;
    withdrawn.route_lifetime_s = 0;
    s = &withdrawn;
  }
  const uint16_t router_lifetime_s = serving ? a.settings.router_lifetime_s : 0;
  const bool sent = send_nd(
      iface, [&](uint8_t* f) { return write_router_advert(f, a.mac, a.link_local, *s, router_lifetime_s, a.mtu, a.prefixes); },
      kRaMaxFrameLen, Counter::ra_no_mbuf);
  if (sent) counters().add(Counter::ra_sent);  // the tx queue took it (tx_full counts one it did not)
}

}  // namespace wp
