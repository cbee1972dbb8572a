// The worker loop; see worker.h. Read top to bottom: the steps of poll_once().
#include "dataplane/worker/worker.h"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_prefetch.h>
#include <unistd.h>

#include <algorithm>

#include "dataplane/ip/checksum.h"
#include "dataplane/ip/icmp.h"  // kIcmpEchoRequest, kIcmpEchoReply
#include "dataplane/ip/packet_edit.h"
#include "dataplane/session/owner.h"
#include "dataplane/svr/waypoint6.h"
#include "dataplane/worker/punt_class.h"
#include "dataplane/worker/staged_lookup.h"

namespace wp {
namespace {

uint16_t eth_rx(void*, uint16_t port, uint16_t queue, rte_mbuf** pkts, uint16_t n) {
  return rte_eth_rx_burst(port, queue, pkts, n);
}

// RFC 1812 § 5.2.2: a datagram whose header checksum fails is dropped before
// anything in the header is believed. A port that checked it says so in
// ol_flags; otherwise the header (20-60 bytes, hot in cache) is summed here.
bool ip_checksum_ok(const rte_mbuf* m, const ParsedPacket& pp) {
  switch (m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) {
    case RTE_MBUF_F_RX_IP_CKSUM_GOOD: return true;
    case RTE_MBUF_F_RX_IP_CKSUM_BAD: return false;
    default: return ipv4_header_checksum_ok(rte_pktmbuf_mtod(m, const uint8_t*) + pp.l3);
  }
}

bool is_icmp_echo(rte_mbuf* m, const ParsedPacket& pp, uint8_t type) {
  return pp.proto == kProtoIcmp && pp.status == ParseStatus::ipv4 && pkt_data(m)[pp.l4] == type;
}

// ICMPv4 Fragmentation Needed (type 3 code 4, RFC 1191).
bool is_frag_needed(rte_mbuf* m, const ParsedPacket& pp) {
  const uint8_t* d = pkt_data(m);
  return pp.proto == kProtoIcmp && pp.status == ParseStatus::ipv4 && pp.end >= pp.l4 + 2 &&
         d[pp.l4] == kIcmpDestUnreachable && d[pp.l4 + 1] == kIcmpCodeFragNeeded;
}

// Packets wait in a QoS scheduler this worker runs (worker/qos_tx.h).
bool qos_backlog(const WorkerContext& ctx) {
  for (const QosPortShared& p : ctx.shared.qos.ports)
    if (p.owner == ctx.id && p.sched->queued()) return true;
  return false;
}

}  // namespace

Worker::Worker(uint32_t id, DataplaneShared& shared, uint32_t max_sessions, int socket)
    : ctx_(id, shared, max_sessions, socket), rx_(eth_rx) {
  fragments_.set_tunnels(&esp_);  // sides that leave through an IPsec tunnel
  route6_.attach_tunnels(&esp_);  // IPv6 ones too
  svr6_.attach_tunnels(&esp_);    // and IPv6 sessions over SVR opened out of a tunnel (#20)
  svr6_.attach_migration(&migration_);  // whose forward packets move them off a path, as LanInput's do
  lan_.attach_icmp4(&icmp4_);           // ICMPv4 errors about IPv4 SVR sessions' packets (TLV 20)
  wan_.attach_icmp4(&icmp4_);
  emit_.attach_icmp4(&icmp4_);
  ha_.attach6(&ha6_);             // #19: the peer's IPv6 sessions
  offload_.attach6(&route6_);     // #19: feedback of offloaded IPv6 sessions
  uint64_t hz = rte_get_tsc_hz();
  tsc_per_ms_ = hz >= 1000 ? hz / 1000 : 1;
}

void Worker::set_io(RxFn rx, TxFn tx, void* io_ctx) {
  rx_ = rx;
  io_ctx_ = io_ctx;
  tx_.set_io(tx, io_ctx);
  qos_.set_io(tx, io_ctx);
}

void Worker::set_ports(std::vector<uint16_t> ports, uint16_t queue, uint16_t burst) {
  ports_ = std::move(ports);
  queue_ = queue;
  burst_ = burst == 0 || burst > kMaxBurst ? 32 : burst;
  tx_.set_queue(queue);
  qos_.set_queue(queue);
}

void Worker::run() {
  uint32_t idle = 0;
  while (ctx_.shared.running.load(std::memory_order_relaxed)) {
    if (debug_stall_.load(std::memory_order_relaxed)) [[unlikely]] {
      usleep(1000);  // stuck: no iteration ends, the epoch stands still
      continue;
    }
    update_clock();
    if (poll_once() != 0) {
      idle = 0;
      continue;
    }
    // Adaptive back-off: spin briefly, then sleep up to 200 us while idle;
    // 20 us at most while a QoS scheduler holds packets waiting for tokens
    // (a port's burst must cover the sleep: 32 KiB is 26 us at 10 Gbit/s).
    if (++idle > 64) usleep(idle > 1024 && !qos_backlog(ctx_) ? 200 : 20);
  }
  flush();
  qos_.drop_staged();
  handoff_.drop_held();
}

void Worker::update_clock() { ctx_.now_ms = static_cast<uint32_t>(rte_get_tsc_cycles() / tsc_per_ms_); }

uint32_t Worker::poll_once() {
  recheck_.poll();                            // a committed config: adopt it, re-check a slice of sessions
  routes_.poll();                             // a new FIB: sessions whose next hop it no longer offers
  routes6_.poll();                            // the same for routed IPv6 sessions (also the config's routes)
  uint32_t handled = handoff_.retry_held();   // what owners' rings could not take last time
  handled += read_ports();                    // rx bursts, dispatched by the owner rule
  handled += drain_handoff();                 // packets other workers handed to us
  if (offload_.enabled()) offload_.drain();   // the NIC's counters and aged flows
  if (ctx_.shared.paths) migration_.sweep();  // sessions on paths that must be left
  if (ctx_.shared.ha.enabled && ctx_.is_worker()) handled += ha_.poll();  // the HA peer's sessions
  handled += flush();  // seal the burst's packets, send the tx bursts and what the QoS shapers allow
  fragments_.age();  // datagrams that never completed
  aging_.age();      // idle sessions
  nat64_.age();      // idle NAT64 bindings
  nat46_.age();      // idle NAT46 sessions
  route6_.age();     // idle IPv6 sessions
  ipv6_.age();       // LAN datagrams of IPv6 sessions over SVR that never completed
  end_iteration();   // a quiescent point for the model's retirement
  return handled;
}

uint32_t Worker::read_ports() {
  uint32_t handled = 0;
  rte_mbuf* pkts[kMaxBurst];
  for (uint16_t port : ports_) {
    if (handoff_.held()) break;  // backpressure: leave the rest in the device queues
    uint16_t n = rx_(io_ctx_, port, queue_, pkts, burst_);
    if (n == 0) continue;
    handled += n;
    receive(pkts, n);
  }
  return handled;
}

void Worker::receive(rte_mbuf** pkts, uint16_t n) {
  // Callers pass at most a burst; longer input is taken in order, a burst at a time.
  for (; n > kMaxBurst; pkts += kMaxBurst, n = static_cast<uint16_t>(n - kMaxBurst)) receive(pkts, kMaxBurst);
  ctx_.counters->add(Counter::rx_packets, n);
  dispatch(pkts, n);
}

void Worker::dispatch(rte_mbuf** pkts, uint16_t n) {
  BurstArray<Owned> owned;
  uint32_t n_owned = 0;
  BurstArray<Route6Step::Staged> owned6;  // the IPv6 packets routed here, staged the same way
  uint32_t n_owned6 = 0;
  for (uint16_t i = 0; i < n; ++i) {
    if (i + 1 < n) rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void*));
    rte_mbuf* m = pkts[i];
    clear_qos_class(m);  // what its mbuf's last packet left there is not its class (worker/qos_tx.h)
    if (m->nb_segs != 1 && rte_pktmbuf_linearize(m) != 0) {
      ctx_.drop(m, DropReason::parse_error);
      continue;
    }
    const int iface = ctx_.rm().iface_by_port(m->port);
    // Parsed straight into the burst's next entry: no copy of the parse state (a copy of
    // the just-written struct stalled on store forwarding).
    Owned& o = *::new (&owned[n_owned]) Owned{m, parse_packet(pkt_data(m), m->data_len), iface, false, 0};
    int owner;
    if (o.pp.status == ParseStatus::not_ipv4 && iface != kNone) {  // IPv6 (or another EtherType)
      // ESP over IPv6 to our WAN address: to the SA's owner by its SPI alone,
      // as over IPv4 (docs/ipsec.md § IPv6 outer addresses).
      if (const uint32_t spi = esp_.spi6_of(m, iface)) {
        const uint32_t esp_owner = owner_of_spi(spi, ctx_.shared.workers);
        if (esp_owner == ctx_.id)
          esp_.input6(m);
        else
          handoff_.stage(m, esp_owner);
        continue;
      }
      // SVR to our IPv6 waypoint: the IPv4 stand-in form, then by port class like IPv4's (svr/waypoint6.h).
      Waypoint6In w6 = waypoint6_input(ctx_, m, iface, o.pp);
      if (w6 == Waypoint6In::fragment) {  // made whole on its datagram's worker first (svr/fragments.h)
        if (!fragments_.take6(o.m)) continue;
        m = o.m;
        w6 = waypoint6_input(ctx_, m, iface, o.pp);
        if (w6 == Waypoint6In::fragment) {  // a fragment inside the fragments: nothing we sent
          ctx_.drop(m, DropReason::ipv6_frag_malformed);
          continue;
        }
      }
      if (w6 == Waypoint6In::consumed) continue;
      if (w6 == Waypoint6In::not_ours) {
        if (ipv6_.stage(m, iface, owned6[n_owned6])) ++n_owned6;
        continue;
      }
      owner = static_cast<int>(owner_of_class(class_of_port(o.pp.dport), ctx_.shared.workers));
    } else {
      owner = owner_of(o.m, o.pp, iface);
    }
    if (owner == kNone) continue;
    if (static_cast<uint32_t>(owner) != ctx_.id) {
      handoff_.stage(o.m, static_cast<uint32_t>(owner));
      continue;
    }
    o.wan = ctx_.rm().interfaces[iface].wan;
    stage(o);
    ++n_owned;
  }
  handoff_.send_staged();  // one burst per owner
  // IPv6 first, as when each IPv6 packet was routed the moment it was parsed.
  if (n_owned6) {
    route6_.prefetch_sessions(owned6.data(), n_owned6);
    for (uint32_t i = 0; i < n_owned6; ++i) route6_.process(owned6[i]);
  }
  process_owned(owned.data(), n_owned);
}

int Worker::owner_of(rte_mbuf*& m, ParsedPacket& pp, int iface) {
  if (iface == kNone) return ctx_.drop(m, DropReason::not_for_us), kNone;
  bool wan = ctx_.rm().interfaces[iface].wan;
  bool has_ip = pp.status == ParseStatus::ipv4 || pp.status == ParseStatus::fragment;
  if (has_ip && !ip_checksum_ok(m, pp)) return ctx_.drop(m, DropReason::bad_ip_checksum), kNone;
  switch (pp.status) {
    case ParseStatus::arp: return arp_to_control(m, iface), kNone;
    case ParseStatus::not_ipv4: return ipv6_.input(m, iface), kNone;  // or another EtherType
    case ParseStatus::fragment:  // reassembled on the fragment's worker, then dispatched whole
      if (!fragments_.take(m, pp)) return kNone;
      break;
    case ParseStatus::malformed: return ctx_.drop(m, DropReason::parse_error), kNone;
    case ParseStatus::ipv4: break;
  }
  bool l4_svr = pp.proto == kProtoTcp || pp.proto == kProtoUdp;
  if (ctx_.rm().nat64_pool_holds(pp.dst)) {
    // NAT64 replies (and ICMP errors about what we sent) go to the worker
    // whose binding holds the port; echo requests to the pool are answered
    // by the control thread like those to our other addresses.
    int owner = Nat64Step::owner4(pkt_data(m), pp, ctx_.shared.workers);
    if (owner != kNone) return owner;
    if (is_icmp_echo(m, pp, kIcmpEchoRequest)) return local_to_control(m, pp), kNone;
    return ctx_.drop(m, DropReason::nat64_no_binding), kNone;
  }
  uint32_t cls;
  if (ctx_.rm().own_address_iface(pp.dst) != kNone || ctx_.shared.ha.holds_peer_address(pp.dst)) {
    // ESP of an IPsec tunnel goes to the worker that owns its SA, by the SPI
    // alone (docs/ipsec.md § Which worker owns an SA).
    if (wan && esp_.enabled())
      if (const uint32_t spi = esp_spi_of(m, pp)) return static_cast<int>(owner_of_spi(spi, ctx_.shared.workers));
    // Fragmentation Needed, about our ESP over IPv4 perhaps: the control thread checks what it
    // quotes, metered on its own (docs/ipsec.md § Fragmentation Needed on the outer path).
    if (is_frag_needed(m, pp)) [[unlikely]] {
      if (!ctx_.path_mtu_errors.admit(iface, ctx_.now_ms))
        return ctx_.drop(m, DropReason::icmp_path_mtu_rate_limited), kNone;
      return to_control(m), kNone;
    }
    // SVR traffic to our waypoint ports (and breakout replies: TCP, UDP, ICMP
    // echo replies to a source-NAT port) is dispatched by the class in the
    // port; the rest is ours to answer.
    if (!(wan && (l4_svr || is_icmp_echo(m, pp, kIcmpEchoReply)) && is_waypoint_port(pp.dport)))
      return local_to_control(m, pp), kNone;
    cls = class_of_port(pp.dport);
  } else if (ctx_.rm().punt.enabled && is_link_local_multicast(pp.dst)) {
    return local_to_control(m, pp), kNone;  // OSPF hellos and the like, for the kernel's daemons
  } else if (!wan) {
    // ICMP echo requests are for breakout services and tunnels, replies for
    // tunnels' pings (LanInput checks).
    if (!l4_svr && !is_icmp_echo(m, pp, kIcmpEchoRequest) && !is_icmp_echo(m, pp, kIcmpEchoReply)) {
      // An ICMP error goes where the session of the packet it quotes lives (svr/svr_icmp4.h).
      const std::optional<FiveTuple> q = SvrIcmp4::quoted_tuple(pkt_data(m), pp);
      if (!q) return ctx_.drop(m, DropReason::unsupported_proto), kNone;
      cls = affinity_class(*q);
    } else {
      cls = affinity_class({pp.src, pp.dst, pp.sport, pp.dport, pp.proto});
    }
  } else {
    return ctx_.drop(m, DropReason::not_for_us), kNone;
  }
  return static_cast<int>(owner_of_class(cls, ctx_.shared.workers));
}

void Worker::to_control(rte_mbuf* m) {
  if (rte_ring_sp_enqueue(ctx_.shared.to_control[ctx_.id], m) != 0) return ctx_.drop(m, DropReason::control_full);
  ctx_.counters->add(Counter::to_control);
}

// With the punt path on, what the control thread does not consume goes up to
// the kernel, so everything for us is metered by protocol class first
// (punt_meter.h).
void Worker::local_to_control(rte_mbuf* m, const ParsedPacket& pp) {
  if (!ctx_.rm().punt.enabled || punt_.admit(m, punt_class(pp))) to_control(m);
}

void Worker::arp_to_control(rte_mbuf* m, int iface) {
  if (!arp_rate_[static_cast<size_t>(iface) % kArpPorts].take(ctx_.now_ms, kArpPerSecond, kArpBurst))
    return ctx_.drop(m, DropReason::arp_rate_limited);
  to_control(m);
}

void Worker::stage(Owned& o) {
  o.sig = SessionTable::signature(FiveTuple{o.pp.src, o.pp.dst, o.pp.sport, o.pp.dport, o.pp.proto});
}

void Worker::process_owned(Owned* o, uint32_t n) {
  // The staged lookup (staged_lookup.h): the burst's home slots back to back,
  // then the sessions of the first kSessionsAhead; each packet processed
  // prefetches the session kSessionsAhead further on, whose slot has had that
  // many packets' time to arrive.
  constexpr uint32_t kSessionsAhead = 8;
  prefetch_slots(ctx_.table, o, n);
  prefetch_sessions(ctx_.table, o, std::min(n, kSessionsAhead));
  // The features that take an IPv4 packet before its session does (NAT64's
  // pool, NAT46, ESP), asked once per burst of the model and the published
  // tables: a router with none of them sends every packet straight to its
  // WAN or LAN input, with no call or test per packet for any of them.
  const RouterModel& rm = ctx_.rm();
  const bool nat64 = !rm.nat64_pool.empty(), nat46 = nat46_.has_tables() && rm.nat46, esp = esp_.enabled();
  const bool features = nat64 || nat46 || esp;
  for (uint32_t i = 0; i < n; ++i) {
    if (i + kSessionsAhead < n && o[i + kSessionsAhead].sig != 0)
      ctx_.table.prefetch_session(o[i + kSessionsAhead].sig);
    Owned& p = o[i];
    if (!features && p.tunnel == kNone) [[likely]] {
      if (p.wan)
        wan_.input(p.m, p.pp);
      else
        lan_.input(p.m, p.pp, p.iface);
    } else if (p.tunnel != kNone) {  // out of an IPsec tunnel: a LAN packet of the tunnel's tenant
      esp_.clamp(p.m, p.pp, static_cast<uint32_t>(p.tunnel));
      lan_.input(p.m, p.pp, kNone, p.tunnel);
    } else if (nat64 && rm.nat64_pool_holds(p.pp.dst)) {
      nat64_.input4(p.m, p.pp);
    } else if (nat46 && !p.wan && nat46_.input4(p.m, p.pp, p.iface)) {
      // NAT46: an IPv4 client's packet to a NAT46 service, translated to IPv6 (or dropped)
    } else if (esp && p.wan && esp_spi_of(p.m, p.pp)) {
      esp_.input(p.m, p.pp);  // owner_of_spi sent it here
    } else if (p.wan) {
      wan_.input(p.m, p.pp);
    } else {
      lan_.input(p.m, p.pp, p.iface);
    }
  }
  wan_.open_pending();  // verify + decrypt the burst's sealed WAN packets together
  rte_mbuf* inner[kMaxBurst];
  if (const uint16_t k = esp_.open_pending(inner)) dispatch_inner(inner, k);  // the burst's ESP, opened together
}

void Worker::dispatch_inner(rte_mbuf** pkts, uint16_t n) {
  BurstArray<Owned> owned;
  uint32_t n_owned = 0;
  for (uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = pkts[i];
    ParsedPacket pp = parse_packet(pkt_data(m), m->data_len);
    if (pp.status == ParseStatus::fragment) {
      // Made whole on the worker its fragment key names (Fragments::take hands
      // the others there, the port still naming the tunnel; drain_handoff
      // brings them back here); the datagram then takes the checks below. Its
      // tunnel is the last fragment's.
      if (!fragments_.take(m, pp)) continue;
      ctx_.counters->add(Counter::tunnel_datagrams_reassembled);
    }
    const int tunnel = tunnel_from(m->port);
    if (pp.status == ParseStatus::not_ipv4) {  // IPv6 (next header 41): the IPv6 path as the tunnel's
      if (!tunnel_punt6(m, tunnel)) route6_.from_tunnel(m, tunnel);
      continue;
    }
    if (pp.status != ParseStatus::ipv4) {
      ctx_.drop(m, DropReason::esp_inner_malformed);
      continue;
    }
    if (!ipv4_header_checksum_ok(pkt_data(m) + pp.l3)) {
      ctx_.drop(m, DropReason::bad_ip_checksum);
      continue;
    }
    const int to = ctx_.rm().tunnel_by_address(pp.dst);
    const bool multicast = is_link_local_multicast(pp.dst);
    // The router's own on this tunnel (its address, or link-local multicast
    // such as OSPF's) goes up the tunnel's kernel tap, metered by class like
    // the ports' punt path (the port still says which tunnel); the rest for
    // us (a port's address, another tunnel's) is not reachable through one.
    if ((to != kNone || multicast) && tunnel_punts(tunnel, to, multicast)) {
      local_to_control(m, pp);
      continue;
    }
    if (to != kNone || ctx_.rm().own_address_iface(pp.dst) != kNone) {
      ctx_.drop(m, DropReason::esp_inner_to_us);
      continue;
    }
    if (pp.proto != kProtoTcp && pp.proto != kProtoUdp && !is_icmp_echo(m, pp, kIcmpEchoRequest) &&
        !is_icmp_echo(m, pp, kIcmpEchoReply)) {
      ctx_.drop(m, DropReason::unsupported_proto);
      continue;
    }
    const uint32_t owner = owner_of_class(affinity_class({pp.src, pp.dst, pp.sport, pp.dport, pp.proto}),
                                          ctx_.shared.workers);
    if (owner != ctx_.id) {
      handoff_.stage(m, owner);  // the port still says which tunnel
      continue;
    }
    owned[n_owned] = Owned{m, pp, kNone, false, 0, tunnel};
    stage(owned[n_owned++]);
  }
  handoff_.send_staged();
  process_owned(owned.data(), n_owned);
}

// Whether a decrypted packet out of `tunnel` to the address of tunnel `to`
// (or to link-local multicast) goes up `tunnel`'s kernel tap: the punt path
// is on, `tunnel` has an address (so it has a tap) and that address is `to`'s.
bool Worker::tunnel_punts(int tunnel, int to, bool multicast) const {
  const RouterModel& rm = ctx_.rm();
  if (!rm.punt.enabled || tunnel < 0 || static_cast<size_t>(tunnel) >= rm.tunnels.size()) return false;
  return rm.tunnels[static_cast<size_t>(tunnel)].addr != 0 && (multicast || to == tunnel);
}

// IPv6 out of `tunnel` for the tunnel's own IPv6 address or its TUN's
// link-local one (#19) goes up its kernel tap like IPv4 for its address
// (tunnel_punts), metered by the same classes. Only the destination is
// compared before the packet is parsed: the IPv6 routed through the tunnel
// pays two 16-byte compares where it has an address.
bool Worker::tunnel_punt6(rte_mbuf* m, int tunnel) {
  const RouterModel& rm = ctx_.rm();
  if (!rm.punt.enabled || tunnel < 0 || static_cast<size_t>(tunnel) >= rm.tunnels.size()) return false;
  const TunnelModel& tm = rm.tunnels[static_cast<size_t>(tunnel)];
  if (tm.addr6.is_unspecified() || m->data_len < kEthHdrLen + kIpv6HdrLen) return false;
  const Ipv6 dst = load_ipv6(pkt_data(m) + kEthHdrLen + 24);
  if (dst != tm.addr6 && dst != tm.link_local6) return false;
  const Ipv6View v = parse_ipv6_packet(pkt_data(m), m->data_len, kEthHdrLen);
  if (v.status != Ipv6Status::ok) return false;  // the IPv6 path drops it with its reason
  if (punt_.admit(m, punt_class(v.proto, v.sport, v.dport, v.tcp_flags))) to_control(m);
  return true;
}

void Worker::tunnel_output(rte_mbuf* m, uint32_t tunnel) {
  // From the ports' pool, beside dispatch(): no class of its mbuf's last packet onto a shaped WAN.
  clear_qos_class(m);
  if (m->nb_segs != 1 && rte_pktmbuf_linearize(m) != 0) return ctx_.drop(m, DropReason::punt_kernel_unsent);
  const ParsedPacket pp = parse_packet(pkt_data(m), m->data_len);
  Ipv6View v{};
  if (pp.status == ParseStatus::not_ipv4 && m->data_len >= kEthHdrLen && load_be16(pkt_data(m) + 12) == kEtherTypeIpv6)
    v = parse_ipv6_packet(pkt_data(m), m->data_len, kEthHdrLen);
  const bool ipv6 = v.status == Ipv6Status::ok;
  if (pp.status != ParseStatus::ipv4 && !ipv6) return ctx_.drop(m, DropReason::punt_kernel_unsent);
  if (!esp_.has_outbound(tunnel)) return ctx_.drop(m, DropReason::punt_tunnel_down);
  ctx_.counters->add(Counter::punt_from_kernel);
  // To the tunnel's owner (or queued here when this worker owns it).
  if (ipv6)
    esp_.output6(m, v, tunnel);
  else
    esp_.output(m, pp, tunnel);
  handoff_.send_staged();
}

uint32_t Worker::drain_handoff() {
  if (!ctx_.is_worker()) return 0;  // the control dispatcher only produces
  uint32_t total = 0;
  rte_mbuf* pkts[kMaxBurst];
  for (uint32_t from = 0; from <= ctx_.shared.workers; ++from) {  // [workers] = control's dispatcher
    if (from == ctx_.id) continue;
    unsigned n = rte_ring_sc_dequeue_burst(ctx_.shared.handoff_ring(from, ctx_.id), reinterpret_cast<void**>(pkts),
                                           burst_, nullptr);
    total += n;
    ctx_.counters->add(Counter::handoff_in, n);
    // Handed-off packets were parsed by the sender; parse again here rather
    // than carry parse state across threads (headers are hot in cache by now).
    BurstArray<Owned> owned;
    uint32_t n_owned = 0;
    rte_mbuf* whole[kMaxBurst];  // datagrams reassembled here, dispatched by the owner rule below
    uint16_t n_whole = 0;
    rte_mbuf* inner_frags[kMaxBurst];  // fragments out of tunnels, for dispatch_inner to make whole
    uint16_t n_inner_frags = 0;
    for (unsigned i = 0; i < n; ++i) {
      rte_mbuf* m = pkts[i];
      if (tunnel_to(m->port) != kNone) {  // into an IPsec tunnel this worker owns
        esp_.output_handed(m);
        continue;
      }
      ParsedPacket pp = parse_packet(pkt_data(m), m->data_len);
      if (const int tunnel = tunnel_from(m->port); tunnel != kNone) {  // out of one, for a session here
        if (pp.status == ParseStatus::fragment) {  // or to be reassembled here
          inner_frags[n_inner_frags++] = m;
          continue;
        }
        if (pp.status == ParseStatus::not_ipv4) {  // IPv6 for a session here
          route6_.from_tunnel(m, tunnel);
          continue;
        }
        if (pp.status != ParseStatus::ipv4) {
          ctx_.drop(m, DropReason::esp_inner_malformed);
          continue;
        }
        owned[n_owned] = Owned{m, pp, kNone, false, 0, tunnel};
        stage(owned[n_owned++]);
        continue;
      }
      if (pp.status == ParseStatus::fragment) {
        if ((m = fragments_.reassemble(m, pp)) != nullptr) whole[n_whole++] = m;
        continue;
      }
      int iface = ctx_.rm().iface_by_port(m->port);
      if (pp.status == ParseStatus::not_ipv4 && iface != kNone) {
        if (esp_.spi6_of(m, iface)) {  // ESP over IPv6 whose SA this worker owns
          esp_.input6(m);
          continue;
        }
        // A peer's IPv6 fragment to our IPv6 waypoint (its datagram's worker is this one), else
        // NAT64: IPv6 to its binding's worker.
        if (waypoint6_fragment(ctx_, m, iface)) {
          if ((m = fragments_.reassemble6(m)) != nullptr) whole[n_whole++] = m;
          continue;
        }
        ipv6_.input(m, iface);
        continue;
      }
      if (pp.status != ParseStatus::ipv4 || iface == kNone) {
        ctx_.drop(m, DropReason::parse_error);
        continue;
      }
      owned[n_owned] = Owned{m, pp, iface, ctx_.rm().interfaces[iface].wan, 0};
      stage(owned[n_owned++]);
    }
    process_owned(owned.data(), n_owned);
    if (n_whole) dispatch(whole, n_whole);
    if (n_inner_frags) dispatch_inner(inner_frags, n_inner_frags);
  }
  return total;
}

uint32_t Worker::flush() {
  handoff_.send_staged();  // packets routed into tunnels other workers own
  esp_.seal_pending();     // and those this worker owns, sealed in one burst
  crypto_.sign_pending();
  tx_.flush();
  return qos_.flush();
}

void Worker::end_iteration() {
  auto& epoch = ctx_.counters->epoch;
  epoch.store(epoch.load(std::memory_order_relaxed) + 1, std::memory_order_release);
}

}  // namespace wp
