// Control thread packet work; see control_thread.h.
#include "dataplane/control/control_thread.h"

#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ether.h>

#include <algorithm>
#include <cstring>

#include "dataplane/control/arp_frame.h"
#include "dataplane/control/waypoint6_addr.h"
#include "dataplane/ip/checksum.h"
#include "dataplane/ip/icmp.h"  // kIcmpDestUnreachable, kIcmpCodeFragNeeded
#include "dataplane/ip/packet_edit.h"
#include "dataplane/ipsec/esp_ptb.h"
#include "dataplane/paths/path_monitor.h"

namespace wp {
namespace {

constexpr uint8_t kBroadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
constexpr const uint8_t* kZeroMac = kZeroMacAddr;

uint16_t eth_tx(void*, uint16_t port, uint16_t queue, rte_mbuf** pkts, uint16_t n) {
  return rte_eth_tx_burst(port, queue, pkts, n);
}

}  // namespace

Control::Control(DataplaneShared& shared, rte_mempool* pool, uint16_t tx_queue)
    : shared_(shared), pool_(pool), tx_queue_(tx_queue), tx_(eth_tx) {
  uint64_t hz = rte_get_tsc_hz();
  tsc_per_us_ = hz >= 1000000 ? hz / 1000000 : 1;
}

uint64_t Control::now_us() const { return rte_get_tsc_cycles() / tsc_per_us_; }

void Control::set_path_monitor(PathMonitor* pm) {
  paths_ = pm;
  if (pm)
    pm->set_sender(
        [](void* ctx, rte_mbuf* m, int iface, Ipv4 nh) { static_cast<Control*>(ctx)->send_ip(m, iface, nh); }, this);
  if (!pm) return;
  pm->set_sender6([](void* ctx, rte_mbuf* m, int iface, const Ipv6& nh) {
    static_cast<Control*>(ctx)->send_ip6(m, iface, nh);
  });
  // A path over IPv6 waypoints lives while the route to the peer's leaves by its interface
  // (the config's routes and FRR's, as the sessions' packets are routed: svr/waypoint6.h).
  pm->set_route_check([](void* ctx, const PathModel& p) {
    const Control& c = *static_cast<Control*>(ctx);
    const auto r = waypoint6_route6(c.model(), c.shared_.fib6.load(std::memory_order_acquire), p.remote6);
    return r && r->iface == p.iface;
  });
}

void Control::send_ip6(rte_mbuf* m, int iface, const Ipv6& next_hop) {
  uint8_t mac[6];
  if (shared_.neighbors6.use(iface, next_hop, mac, now_ms_)) return send_l2(m, iface, mac);
  // On-link: the header's destination is the next hop; a gateway's is kept in the headroom.
  if (next_hop == load_ipv6(pkt_data(m) + kEthHdrLen + 24))
    mark_resolve6(m, iface);
  else if (!mark_resolve6_via(m, iface, next_hop))
    return drop(m, DropReason::nd_unresolved);
  resolve6(m);
}

void Control::send_ip(rte_mbuf* m, int iface, Ipv4 next_hop) {
  uint8_t mac[6];
  if (shared_.neighbors.use(iface, next_hop, mac, now_ms_)) return send_l2(m, iface, mac);
  mark_resolve(m, iface, next_hop);
  resolve(m, now_ms_);
}

Control::~Control() {
  for (auto& p : pending_)
    for (rte_mbuf* m : p.packets) rte_pktmbuf_free(m);
  for (auto& p : pending6_)
    for (rte_mbuf* m : p.packets) rte_pktmbuf_free(m);
}

size_t Control::pending_count() const {
  size_t n = 0;
  for (const auto& p : pending_) n += p.packets.size();
  for (const auto& p : pending6_) n += p.packets.size();
  return n;
}

uint32_t Control::poll_once(uint32_t now_ms) {
  uint32_t handled = 0;
  now_ms_ = now_ms;
  // The HA thread asks for gratuitous ARP after a takeover or hand-back.
  if (shared_.ha.enabled) {
    if (shared_.ha.announce_gen.load(std::memory_order_acquire) != announce_seen_) {
      announce_seen_ = shared_.ha.announce_gen.load(std::memory_order_acquire);
      announce();
      announced_ms_ = now_ms;
      reannounce_step_ = 0;
    } else if (reannounce_step_ < std::size(kReannounceMs) &&
               now_ms - announced_ms_ >= kReannounceMs[reannounce_step_]) {
      ++reannounce_step_;
      announce();
    }
  }
  rte_mbuf* pkts[kMaxBurst];
  for (rte_ring* r : shared_.to_control) {
    unsigned n = rte_ring_sc_dequeue_burst(r, reinterpret_cast<void**>(pkts), kMaxBurst, nullptr);
    for (unsigned i = 0; i < n; ++i) local_input(pkts[i]);
    handled += n;
  }
  for (rte_ring* r : shared_.resolve) {
    unsigned n = rte_ring_sc_dequeue_burst(r, reinterpret_cast<void**>(pkts), kMaxBurst, nullptr);
    for (unsigned i = 0; i < n; ++i) resolve(pkts[i], now_ms);
    handled += n;
  }
  // ARP retries; give up after kArpTries unanswered requests.
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (static_cast<int32_t>(now_ms - it->last_request_ms) < static_cast<int32_t>(kArpRetryMs)) {
      ++it;
      continue;
    }
    if (it->tries >= kArpTries) {
      for (rte_mbuf* m : it->packets) drop(m, DropReason::arp_unresolved);
      it = pending_.erase(it);
      continue;
    }
    send_arp(it->iface, RTE_ARP_OP_REQUEST, kZeroMac, it->addr);
    it->last_request_ms = now_ms;
    ++it->tries;
    ++it;
  }
  if (punt_) handled += punt_poll();
  if (ike_) ike_poll();
  // Learned outer path MTUs age out (RFC 8201 § 4) and are forgotten when a commit renumbered
  // the tunnels (a PTB comes again for the next packet that does not fit); a commit that left
  // the tunnels as they were keeps them.
  if (const RouterModel* rm = &model(); rm != path_mtu_model_) {
    path_mtu_model_ = rm;
    const bool same = path_mtu_tunnels_.size() == rm->tunnels.size() &&
                      std::equal(rm->tunnels.begin(), rm->tunnels.end(), path_mtu_tunnels_.begin(),
                                 [](const TunnelModel& t, const std::string& name) { return t.name == name; });
    if (!same) {
      path_mtu_tunnels_.clear();
      for (const TunnelModel& t : rm->tunnels) path_mtu_tunnels_.push_back(t.name);
      shared_.esp_path_mtu.forget_all();
    }
  }
  if (const uint32_t aged = shared_.esp_path_mtu.age(now_ms)) counters().add(Counter::esp_outer6_path_mtu_aged, aged);
  age_neighbors(now_ms);
  age_neighbors6(now_ms);
  dad6_poll(now_ms);
  ra_poll(now_ms);
  mld_poll(now_ms);  // after dad6_poll: a link-local that just passed DAD is the reports' source
  if (paths_) paths_->poll(now_us());
  return handled;
}

void Control::age_neighbors(uint32_t now_ms) {
  auto probe = [this](int iface, Ipv4 addr) { send_arp(iface, RTE_ARP_OP_REQUEST, kZeroMac, addr); };
  NeighborTable::Aged aged = shared_.neighbors.age(now_ms, kNeighborSweep, probe);
  if (aged.expired) counters().add(Counter::neighbors_expired, aged.expired);
  if (aged.probes) counters().add(Counter::neighbor_probes, aged.probes);
}

void Control::local_input(rte_mbuf* m) {
  if (const int tunnel = tunnel_from(m->port); tunnel != kNone) return punt_tunnel_up(m, tunnel);
  ParsedPacket pp = parse_packet(pkt_data(m), m->data_len);
  int iface = model().iface_by_port(m->port);
  if (iface == kNone) return drop(m, DropReason::not_for_us);
  if (pp.status == ParseStatus::not_ipv4 && load_be16(pkt_data(m) + 12) == kEtherTypeIpv6) {
    if (paths_ && paths_->input6(m, iface, now_us())) return;  // BFD, probes between IPv6 waypoints
    return icmp6_input(m, iface);
  }
  if (pp.status == ParseStatus::arp) return arp_input(m, pp, iface);
  if (ike_wanted(pp, iface)) return ike_input(m, pp, iface);
  if (paths_ && paths_->input(m, pp, iface, now_us())) return;  // BFD, probes
  if (pp.status == ParseStatus::ipv4 && pp.proto == kProtoIcmp) return icmp_input(m, pp, iface);
  not_ours(m, iface);
}

void Control::not_ours(rte_mbuf* m, int iface) {
  if (punt_) return punt_up(m, iface);
  drop(m, DropReason::not_for_us);
}

void Control::arp_input(rte_mbuf* m, const ParsedPacket& pp, int iface) {
  const InterfaceModel& in = model().interfaces[iface];
  const ArpFields& a = pp.arp;
  arp_learn(a, iface);
  // Own addresses only while we hold them, the peer's while taken over.
  const HaDataplane& ha = shared_.ha;
  bool own = in.holds(a.tpa) && (!ha.enabled || ha.own_held.load(std::memory_order_relaxed));
  bool taken = ha.holds_peer_address(a.tpa);
  if (ha.enabled && a.spa == a.tpa && std::memcmp(a.sha, in.mac, 6) != 0)
    note_ha_claim(read_ha_arp_claim(pkt_data(m), m->data_len), a.tpa == in.addr, taken);
  if (a.op == RTE_ARP_OP_REQUEST && (own || taken) && a.spa != a.tpa)
    send_arp(iface, RTE_ARP_OP_REPLY, a.sha, a.spa, a.tpa);
  rte_pktmbuf_free(m);
}

// RFC 826's merge rule learns every sender, which lets one LAN host fill
// the table with made-up neighbors. We learn only on the interface's subnet,
// and only an answer to a request of ours (resolution or probe) or a
// gratuitous ARP (sender = target address) of a neighbor we already know.
void Control::arp_learn(const ArpFields& a, int iface) {
  if (a.spa == 0) return;  // an address probe (RFC 5227): nothing to learn
  if (!model().interfaces[iface].subnet.contains(a.spa)) return counters().add(Counter::arp_learn_off_subnet);
  NeighborTable::State known = shared_.neighbors.state(iface, a.spa);
  bool asked = a.op == RTE_ARP_OP_REPLY && (known == NeighborTable::State::probe || resolving(iface, a.spa));
  bool gratuitous = a.spa == a.tpa && known != NeighborTable::State::none;
  if (!asked && !gratuitous) return counters().add(Counter::arp_learn_unsolicited);
  switch (shared_.neighbors.learn(iface, a.spa, a.sha, now_ms_)) {
    case NeighborTable::Learned::full: return counters().add(Counter::neighbor_table_full);
    case NeighborTable::Learned::evicted_stale: counters().add(Counter::neighbors_evicted); break;
    case NeighborTable::Learned::added:
    case NeighborTable::Learned::updated: break;
  }
  neighbor_learned(iface, a.spa);
}

bool Control::resolving(int iface, Ipv4 addr) const {
  return std::any_of(pending_.begin(), pending_.end(),
                     [&](const Pending& p) { return p.iface == iface && p.addr == addr; });
}

// Another node announces an address we answer for: the HA thread weighs the
// epochs (dataplane/control/ha_arp_claim.h); here they are only recorded.
void Control::note_ha_claim(const HaArpClaim& c, bool our_own, bool taken) {
  HaDataplane& ha = shared_.ha;
  if (taken) ha.split_brain_arps.fetch_add(1, std::memory_order_relaxed);  // the peer announces what we hold
  if (!c.present) return;
  std::atomic<uint64_t>* seen = nullptr;
  if (taken && c.owner) seen = &ha.owner_claim_epoch;
  if (our_own && !c.owner) seen = &ha.takeover_claim_epoch;
  if (seen && c.epoch > seen->load(std::memory_order_relaxed)) seen->store(c.epoch, std::memory_order_release);
}

void Control::icmp_input(rte_mbuf* m, const ParsedPacket& pp, int iface) {
  uint8_t* d = pkt_data(m);
  uint8_t* icmp = d + pp.l4;
  if (model().own_address_iface(pp.dst) == kNone && !shared_.ha.holds_peer_address(pp.dst))
    return not_ours(m, iface);                  // link-local multicast when punting
  if (icmp[0] == kIcmpDestUnreachable && icmp[1] == kIcmpCodeFragNeeded) return frag_needed4_input(m, pp, iface);
  if (icmp[0] != 8) return not_ours(m, iface);  // errors for our own connections, timestamps, ...
  trim_padding(m, pp);
  uint8_t* ip = d + pp.l3;
  store_be32(ip + 12, pp.dst);  // reply from the address that was pinged
  store_be32(ip + 16, pp.src);
  ip[8] = 64;
  store_be16(ip + 10, ipv4_header_checksum(ip));
  icmp[0] = 0;  // echo reply
  store_be16(icmp + 2, 0);
  store_be16(icmp + 2, csum_fold(csum_partial(icmp, pp.end - pp.l4)));
  auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
  uint8_t dst[6];
  std::memcpy(dst, eth->src_addr.addr_bytes, 6);
  send_l2(m, iface, dst);
}

// Fragmentation Needed to a WAN address (ours, or the HA peer's we hold) that
// quotes our ESP over IPv4 lowers its tunnel's outer path MTU (ipsec/esp_ptb.h,
// esp_path_mtu.h; docs/ipsec.md § Fragmentation Needed on the outer path): one
// on another port, with a bad checksum, or quoting what no SA of ours sent is
// forged or stale and changes nothing; one about anything else (the kernel's
// own TCP, when punting) goes where it went before.
void Control::frag_needed4_input(rte_mbuf* m, const ParsedPacket& pp, int iface) {
  const uint8_t* icmp = pkt_data(m) + pp.l4;
  const size_t len = pp.end - pp.l4;
  const EspPtb fn = esp_frag_needed4_check(icmp, len, pp.dst, shared_.esp.load(std::memory_order_acquire));
  if (fn.verdict == EspPtbVerdict::not_esp) return not_ours(m, iface);
  const RouterModel& rm = model();
  const int owner = rm.own_address_iface(pp.dst);  // whose address it came to
  const bool to_wan = (owner != kNone && rm.interfaces[owner].wan) || shared_.ha.holds_peer_address(pp.dst);
  if (fn.verdict != EspPtbVerdict::taken || !rm.interfaces[iface].wan || !to_wan ||
      csum_fold(csum_partial(icmp, len)) != 0)
    return drop(m, DropReason::esp_outer4_frag_needed_invalid);
  counters().add(Counter::esp_outer4_frag_needed);
  shared_.esp_path_mtu.lower(fn.tunnel, fn.path_mtu, fn.inner_mtu, now_ms_);
  rte_pktmbuf_free(m);
}

void Control::resolve(rte_mbuf* m, uint32_t now_ms) {
  if (m->hash.usr == kResolveIpv6 || m->hash.usr == kResolveIpv6Via) return resolve6(m);
  int iface = m->port;  // mark_resolve() put the interface index and next hop here
  Ipv4 addr = m->hash.usr;
  uint8_t mac[6];
  if (shared_.neighbors.lookup(iface, addr, mac)) return send_l2(m, iface, mac);
  auto it = std::find_if(pending_.begin(), pending_.end(),
                         [&](const Pending& p) { return p.iface == iface && p.addr == addr; });
  if (it == pending_.end()) {
    if (pending_.size() >= kMaxPendingNeighbors) return drop(m, DropReason::arp_unresolved);
    pending_.push_back({iface, addr, now_ms, 1, {}});
    it = pending_.end() - 1;
    send_arp(iface, RTE_ARP_OP_REQUEST, kZeroMac, addr);
  }
  if (it->packets.size() >= kPendingPerNeighbor) return drop(m, DropReason::arp_unresolved);
  it->packets.push_back(m);
}

void Control::neighbor_learned(int iface, Ipv4 addr) {
  uint8_t mac[6];
  if (!shared_.neighbors.lookup(iface, addr, mac)) return;
  if (punt_) kernel_arp_reply(iface, addr, mac);  // the kernel's entry follows ours (it ignores unknown ones)
  auto it = std::find_if(pending_.begin(), pending_.end(),
                         [&](const Pending& p) { return p.iface == iface && p.addr == addr; });
  if (it == pending_.end()) return;
  for (rte_mbuf* m : it->packets) send_l2(m, iface, mac);
  pending_.erase(it);
}

void Control::send_arp(int iface, uint16_t op, const uint8_t* tha, Ipv4 tpa, Ipv4 spa) {
  const InterfaceModel& out = model().interfaces[iface];
  if (spa == 0) spa = out.addr;
  // While the peer answers for our address, resolve with ARP probes
  // (sender 0.0.0.0, RFC 5227) so neighbors do not learn our MAC for it.
  if (op == RTE_ARP_OP_REQUEST && spa == out.addr && shared_.ha.enabled &&
      !shared_.ha.own_held.load(std::memory_order_relaxed))
    spa = 0;
  // Our gratuitous ARPs carry the ownership claim in their padding.
  bool claim = shared_.ha.enabled && op == RTE_ARP_OP_REQUEST && spa == tpa;
  uint16_t len = claim ? kHaArpClaimOffset + kHaArpClaimLen + 2 : kArpFrameLen;
  rte_mbuf* m = rte_pktmbuf_alloc(pool_);
  if (!m) return;
  auto* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, len));
  if (!p) return rte_pktmbuf_free(m);
  std::memset(p, 0, len);
  if (claim) write_ha_arp_claim(p + kHaArpClaimOffset, spa == out.addr, shared_.ha.epoch.load(std::memory_order_acquire));
  write_arp(p, op, out.mac, spa, tha, tpa);
  bool unicast = op == RTE_ARP_OP_REPLY;
  send_l2(m, iface, unicast ? tha : kBroadcast);
}

void Control::send_l2(rte_mbuf* m, int iface, const uint8_t* dst_mac) {
  const InterfaceModel& out = model().interfaces[iface];
  // Byte access: packets queued for ARP may start at an odd address (see Worker::transmit).
  uint8_t* eth = pkt_data(m);
  std::memcpy(eth, dst_mac, 6);
  std::memcpy(eth + 6, out.mac, 6);
  if (tx_(tx_ctx_, out.port_id, tx_queue_, &m, 1) != 1) return drop(m, DropReason::tx_full);
  counters().add(Counter::tx_packets);
}

void Control::announce() {
  const RouterModel& rm = model();
  const HaDataplane& ha = shared_.ha;
  if (!ha.enabled || ha.own_held.load(std::memory_order_acquire))
    for (size_t i = 0; i < rm.interfaces.size(); ++i)
      send_arp(static_cast<int>(i), RTE_ARP_OP_REQUEST, kZeroMac, rm.interfaces[i].addr, rm.interfaces[i].addr);
  // The peer's addresses, from us, while we hold them.
  if (ha.enabled && ha.peer_taken.load(std::memory_order_acquire))
    for (const HaAddress& p : ha.peer_addresses) send_arp(p.iface, RTE_ARP_OP_REQUEST, kZeroMac, p.addr, p.addr);
  if (ha.enabled) announce6();
}

}  // namespace wp
