// NAT46 in a worker; see nat46_step.h.
#include "dataplane/worker/nat46_step.h"

#include <algorithm>

#include "dataplane/ip/fragment.h"
#include "dataplane/worker/frag6_tx.h"
#include "dataplane/ip/icmp.h"
#include "dataplane/ip/nat64.h"
#include "dataplane/ip/nat64_packet.h"
#include "dataplane/ip/ndp.h"  // kIcmp6EchoRequest, kIcmp6EchoReply
#include "dataplane/ip/packet_edit.h"
#include "dataplane/ip/tuple.h"
#include "dataplane/session/owner.h"

namespace wp {
namespace {

constexpr uint16_t kNat46Ipv4Hdr = 20;
constexpr uint16_t kNat46Grow = kIpv6HdrLen - kNat46Ipv4Hdr;  // what IPv6 adds to a translated packet

// The translated frame (at frame + r.shift, r.len bytes) becomes the mbuf's data.
void nat46_take_frame(rte_mbuf* m, const Nat64Result& r) {
  if (r.shift < 0)
    rte_pktmbuf_prepend(m, static_cast<uint16_t>(-r.shift));  // the caller made the headroom
  else
    rte_pktmbuf_adj(m, static_cast<uint16_t>(r.shift));
  rte_pktmbuf_trim(m, static_cast<uint16_t>(m->data_len - r.len));
}

}  // namespace

Nat46Step::Nat46Step(WorkerContext& ctx, Tx& tx, Handoff& handoff)
    : ctx_(ctx),
      tx_(tx),
      handoff_(handoff),
      icmp6_errors_(ctx, tx, Counter::nat46_icmp6_rate_limited, Counter::nat46_icmp6_no_mbuf) {
  const RouterModel* start = ctx.shared.model.load(std::memory_order_acquire);
  if (start && start->nat46) {  // a table only when a service uses NAT46 at start
    table_ = std::make_unique<SessionTable6>(kSessions);
    frag6_id_ = ctx.id;
  }
}

int Nat46Step::source_service(const Ipv6& dst, Ipv4& client4) const {
  const RouterModel& rm = ctx_.rm();
  Ipv6Bytes d;
  store_ipv6(d.data(), dst);
  for (size_t s = 0; s < rm.services.size(); ++s) {
    if (rm.services[s].nat46_iface == kNone) continue;
    if (auto c = rm.services[s].nat46_client(d)) {
      client4 = *c;
      return static_cast<int>(s);
    }
  }
  return kNone;
}

bool Nat46Step::owned(rte_mbuf* m, const FiveTuple& t) {
  const uint32_t owner = owner_of_class(affinity_class(t), ctx_.shared.workers);
  if (owner == ctx_.id) return true;
  handoff_.stage(m, owner);  // sent after the burst (Worker::dispatch); a full ring counts handoff_full
  return false;
}

void Nat46Step::note(Session6& s, Dir dir, uint32_t bytes, uint8_t proto, uint8_t tcp_flags, uint32_t now_ms) {
  const auto k = static_cast<size_t>(dir);
  s.last_ms = now_ms;
  ++s.packets[k];
  s.bytes[k] += bytes;
  if (dir == Dir::reverse) s.flags |= kReverseSeen;
  if (proto == kProtoTcp) {
    if (tcp_flags & kTcpRst) s.flags |= kRst;
    if (tcp_flags & kTcpFin) s.flags |= dir == Dir::forward ? kFinFwd : kFinRev;
  }
}

void Nat46Step::count_sessions() {
  ctx_.counters->nat46_sessions.store(table_->size(), std::memory_order_relaxed);
}

bool Nat46Step::input4(rte_mbuf* m, const ParsedPacket& pp, int iface) {
  const RouterModel& rm = ctx_.rm();
  if (!rm.nat46 || !table_) return false;
  const int svc = rm.nat46_service_for(pp.dst, pp.proto, pp.dport);
  if (svc == kNone) return false;
  uint8_t* d = pkt_data(m);
  const bool echo = pp.proto == kProtoIcmp && d[pp.l4] == kIcmpEchoRequest;
  if (pp.proto != kProtoTcp && pp.proto != kProtoUdp && !echo)
    return ctx_.drop(m, DropReason::nat46_untranslatable), true;
  const int tenant = rm.tenant_for(pp.src, iface);
  if (tenant == kNone) return ctx_.drop(m, DropReason::nat46_no_tenant), true;
  if (rm.policy(tenant, svc) == kNone) return ctx_.drop(m, DropReason::nat46_policy_deny), true;
  const ServiceModel& s = rm.services[static_cast<size_t>(svc)];
  const std::optional<Ipv6Bytes> server = s.nat46_server(pp.dst);
  if (!server) return ctx_.drop(m, DropReason::nat46_no_server), true;
  if ((load_be16(d + pp.l3 + 6) & 0x3fff) != 0) return ctx_.drop(m, DropReason::nat46_fragment), true;
  if (pp.ttl <= 1) {  // RFC 1812 § 5.3.1, as any IPv4 router: Time Exceeded to the client
    icmp4_error(m, pp, iface, kIcmpTimeExceeded, 0, 0, Counter::nat46_icmp4_time_exceeded);
    return ctx_.drop(m, DropReason::nat46_hop_limit), true;
  }
  const int out = s.nat46_iface;
  const uint32_t mtu6 = rm.interfaces[static_cast<size_t>(out)].mtu;
  const uint32_t len6 = kIpv6HdrLen + (pp.end - pp.l4);  // IPv4 options are not carried over
  const bool too_big = len6 > mtu6;
  if (too_big && (load_be16(d + pp.l3 + 6) & 0x4000)) {
    // DF: Fragmentation Needed with the server link's MTU less what IPv6 adds (RFC 7915 § 4, RFC 1191).
    icmp4_error(m, pp, iface, kIcmpDestUnreachable, kIcmpCodeFragNeeded, mtu6 - kNat46Grow,
                Counter::nat46_icmp4_frag_needed);
    return ctx_.drop(m, DropReason::nat46_too_big), true;
  }
  const Ipv6 client6 = load_ipv6(s.nat46_source(pp.src).data()), server6 = load_ipv6(server->data());
  const uint8_t proto6 = pp.proto == kProtoIcmp ? kProtoIcmpv6 : pp.proto;
  const FiveTuple6 t{client6, server6, pp.sport, pp.dport, proto6};
  Session6Ref ref = table_->lookup(t);
  if (ref && ref.dir != Dir::forward) return ctx_.drop(m, DropReason::nat46_no_session), true;
  if (rte_pktmbuf_headroom(m) < kNat46Grow && !make_headroom(m, kNat46Grow)) return ctx_.drop(m, DropReason::nat46_no_room), true;
  d = pkt_data(m);
  if (!ref) {
    SessionTable6::Refused why;
    Session6* n = table_->insert(t, why);
    if (!n) return ctx_.drop(m, DropReason::nat46_table_full), true;
    n->tenant = static_cast<int16_t>(tenant);
    n->service = static_cast<int16_t>(svc);
    n->iface[static_cast<size_t>(Dir::forward)] = static_cast<int8_t>(out);
    n->iface[static_cast<size_t>(Dir::reverse)] = static_cast<int8_t>(iface);
    n->next_hop[static_cast<size_t>(Dir::forward)] = server_hop(server6, out, t);
    n->created_ms = ctx_.now_ms;
    ref = {n, Dir::forward};
    ctx_.counters->add(Counter::nat46_sessions_created);
    count_sessions();
  }
  const Nat64Result r = nat64_4to6(d, pp, client6, server6, pp.dport);  // ports as they are
  if (r.verdict != Nat64Verdict::ok) return ctx_.drop(m, DropReason::nat46_untranslatable), true;
  nat46_take_frame(m, r);
  note(*ref.session, Dir::forward, len6, pp.proto, pp.tcp_flags, ctx_.now_ms);
  // The service's class for a shaped WAN port (docs/qos.md); IPv6 fragments copy it with the mbuf's hash.
  set_qos_class(m, static_cast<uint8_t>(rm.service_qos_class(svc)));
  const Ipv6& hop = ref.session->next_hop[static_cast<size_t>(Dir::forward)];
  if (too_big) return send6_fragments(m, out, hop, mtu6), true;  // no DF: the client lets the path fragment it
  ctx_.counters->add(Counter::nat46_out);
  tx_.transmit6(m, out, hop);  // to the server, or the router before it: Neighbor Discovery
  return true;
}

bool Nat46Step::input6(rte_mbuf* m, const Ipv6View& v) {
  if (!ctx_.rm().nat46 || !table_) return false;
  Ipv4 client4 = 0;
  if (source_service(v.dst, client4) == kNone) return false;
  const RouterModel& rm = ctx_.rm();
  uint8_t* d = pkt_data(m);
  if (v.proto == kProtoIcmpv6 && d[v.l4] < 128) return icmp6_error(m, v), true;  // RFC 4443 § 2.1: errors
  const bool echo = v.proto == kProtoIcmpv6 && d[v.l4] == kIcmp6EchoReply;
  if (v.proto != kProtoTcp && v.proto != kProtoUdp && !echo)
    return ctx_.drop(m, DropReason::nat46_untranslatable), true;
  const uint8_t proto4 = echo ? kProtoIcmp : v.proto;
  Ipv4 server4 = 0;
  const int svc = rm.nat46_service_for6(v.src, v.dst, proto4, v.sport, server4, client4);
  if (svc == kNone) return ctx_.drop(m, DropReason::nat46_no_session), true;
  if (!owned(m, FiveTuple{server4, client4, v.sport, v.dport, proto4})) return true;
  const Session6Ref ref = table_->lookup(FiveTuple6{v.src, v.dst, v.sport, v.dport, v.proto});
  if (!ref || ref.dir != Dir::reverse) return ctx_.drop(m, DropReason::nat46_no_session), true;
  Session6& s = *ref.session;
  // A commit since may have taken the tenant's permission away: the reply meets the policy of now.
  const int lan = s.iface[static_cast<size_t>(Dir::reverse)];
  if (rm.policy(rm.tenant_for(client4, lan), svc) == kNone) return ctx_.drop(m, DropReason::nat46_policy_deny), true;
  const int server_link = s.iface[static_cast<size_t>(Dir::forward)];
  const Ipv6& server_hop = s.next_hop[static_cast<size_t>(Dir::forward)];  // the server or its router
  if (v.hop_limit <= 1) {  // RFC 7915 § 5.1: Time Exceeded (code 0, hop limit exceeded in transit)
    icmp6_errors_.send(m, v, server_link, server_hop, kIcmp6TimeExceeded, 0, 0, Counter::nat46_icmp6_time_exceeded);
    return ctx_.drop(m, DropReason::nat46_hop_limit), true;
  }
  const FiveTuple back{server4, client4, v.sport, v.dport, proto4};
  const auto nh = ctx_.route(client4, symmetric_hash(back));
  if (!nh || rm.interfaces[static_cast<size_t>(nh->iface)].wan) return ctx_.drop(m, DropReason::nat46_no_route), true;
  const uint32_t len4 = kNat46Ipv4Hdr + (v.end - v.l4);
  if (const uint32_t mtu4 = rm.interfaces[static_cast<size_t>(nh->iface)].mtu; len4 > mtu4) {
    // RFC 7915 § 5.1 (and § 6): Packet Too Big, unless the reply is already within what it would say.
    if (const uint32_t report = nat64_too_big_report(mtu4, static_cast<uint32_t>(v.end - v.l3)))
      icmp6_errors_.send(m, v, server_link, server_hop, kIcmp6PacketTooBig, 0, report, Counter::nat46_icmp6_too_big);
    return ctx_.drop(m, DropReason::nat46_too_big), true;
  }
  const uint8_t tcp_flags = v.tcp_flags;
  const Nat64Result r = nat64_6to4(d, v, server4, client4, v.sport, ip_id_++);
  switch (r.verdict) {
    case Nat64Verdict::ok: break;
    case Nat64Verdict::fragment: return ctx_.drop(m, DropReason::nat46_fragment), true;
    case Nat64Verdict::hop_limit_exceeded: return ctx_.drop(m, DropReason::nat46_hop_limit), true;
    case Nat64Verdict::unsupported: return ctx_.drop(m, DropReason::nat46_untranslatable), true;
  }
  nat46_take_frame(m, r);
  note(s, Dir::reverse, len4, proto4, tcp_flags, ctx_.now_ms);
  set_qos_class(m, static_cast<uint8_t>(rm.service_qos_class(svc)));  // as the way out
  ctx_.counters->add(Counter::nat46_in);
  tx_.transmit(m, nh->iface, nh->addr);
  return true;
}

// RFC 7915 § 5.2-5.3: an ICMPv6 error about a packet we translated (its
// inner packet went from a client's IPv6 source to a server) becomes the
// ICMPv4 error about the client's packet. From the server's IPv4 address
// when the error's sender is a server of the service, else from our address
// on the client's link (a hop between us and the server has no IPv4 form).
void Nat46Step::icmp6_error(rte_mbuf* m, const Ipv6View& v) {
  const RouterModel& rm = ctx_.rm();
  const uint8_t* d = pkt_data(m);
  const uint32_t in = v.l4 + 8u, il4 = in + kIpv6HdrLen;
  if (v.end < il4 + 8u || (d[in] >> 4) != 6) return ctx_.drop(m, DropReason::nat46_untranslatable);
  const uint8_t inner6 = d[in + 6];
  const Ipv6 client6 = load_ipv6(d + in + 8), server6 = load_ipv6(d + in + 24);
  uint16_t cport = 0, sport = 0;
  if (inner6 == kProtoTcp || inner6 == kProtoUdp) {
    cport = load_be16(d + il4);
    sport = load_be16(d + il4 + 2);
  } else if (inner6 == kProtoIcmpv6 && d[il4] == kIcmp6EchoRequest) {
    cport = sport = load_be16(d + il4 + 4);
  } else {
    return ctx_.drop(m, DropReason::nat46_untranslatable);
  }
  const uint8_t proto4 = inner6 == kProtoIcmpv6 ? kProtoIcmp : inner6;
  Ipv4 server4 = 0, client4 = 0;
  const int svc = rm.nat46_service_for6(server6, client6, proto4, sport, server4, client4);
  if (svc == kNone) return ctx_.drop(m, DropReason::nat46_no_session);
  if (!owned(m, FiveTuple{client4, server4, cport, sport, proto4})) return;
  const Session6Ref ref = table_->lookup(FiveTuple6{client6, server6, cport, sport, inner6});
  if (!ref || ref.dir != Dir::forward) return ctx_.drop(m, DropReason::nat46_no_session);
  const FiveTuple back{server4, client4, sport, cport, proto4};
  const auto nh = ctx_.route(client4, symmetric_hash(back));
  if (!nh || rm.interfaces[static_cast<size_t>(nh->iface)].wan) return ctx_.drop(m, DropReason::nat46_no_route);
  const InterfaceModel& lan = rm.interfaces[static_cast<size_t>(nh->iface)];
  Ipv6Bytes from6;
  store_ipv6(from6.data(), v.src);
  const ServiceModel& s = rm.services[static_cast<size_t>(svc)];
  std::optional<Ipv4> from4 = s.nat46_server4(from6);  // an RFC 6052 extraction: one of the service's addresses?
  if (from4 && std::none_of(s.prefixes.begin(), s.prefixes.end(), [&](const Ipv4Prefix& p) { return p.contains(*from4); }))
    from4.reset();
  const Nat64Result r =
      nat46_icmp6_error_to4(pkt_data(m), v, from4 ? *from4 : lan.addr, client4, server4, lan.mtu, ip_id_++);
  switch (r.verdict) {
    case Nat64Verdict::ok: break;
    case Nat64Verdict::fragment: return ctx_.drop(m, DropReason::nat46_fragment);
    case Nat64Verdict::hop_limit_exceeded: return ctx_.drop(m, DropReason::nat46_hop_limit);
    case Nat64Verdict::unsupported: return ctx_.drop(m, DropReason::nat46_untranslatable);
  }
  nat46_take_frame(m, r);
  ctx_.counters->add(Counter::nat46_icmp_errors);
  tx_.transmit(m, nh->iface, nh->addr);
}

bool Nat46Step::fragment6(rte_mbuf* m, const Ipv6View& v) {
  if (!ctx_.rm().nat46 || !table_) return false;
  Ipv4 client4 = 0;
  if (source_service(v.dst, client4) == kNone) return false;
  ctx_.drop(m, DropReason::nat46_fragment);  // replies are not reassembled (docs/ipv6.md § NAT46)
  return true;
}

// The on-link neighbor toward `server` out of `out` (nat46.interface): the
// server itself, unless the FIB has a route to it by a router on that link
// (config `routes` or FRR's), whose gateway it then is. Chosen when the
// session is made, as the reverse side's route is.
Ipv6 Nat46Step::server_hop(const Ipv6& server, int out, const FiveTuple6& t) const {
  const std::optional<Route6> r = ctx_.route6(server, symmetric_hash(t));
  return r && r->iface == out ? route6_via(*r, server) : server;
}

void Nat46Step::send6_fragments(rte_mbuf* m, int iface, const Ipv6& hop, uint32_t mtu) {
  const uint32_t id = frag6_id_ += ctx_.shared.workers;
  const Fragment6Result r = transmit6_fragments(tx_, m, iface, hop, mtu, id);
  switch (r.status) {
    case Fragment6Status::ok: break;
    case Fragment6Status::too_big: return ctx_.drop(m, DropReason::nat46_too_big);
    case Fragment6Status::no_room: return ctx_.drop(m, DropReason::nat46_no_room);
    case Fragment6Status::no_mbuf: return ctx_.drop(m, DropReason::nat46_frag6_no_mbuf);
  }
  ctx_.counters->add(Counter::nat46_out);
  ctx_.counters->add(Counter::nat46_fragments6_sent, r.count);
}

// RFC 1812 § 4.3.2: from our address on the client's link, the IP header and
// the first 8 bytes of data quoted (RFC 792), never to a broadcast or
// multicast source, at kIcmp4ErrorsPerSecond. The client's packet stays in
// `m` for the caller to drop by its reason.
void Nat46Step::icmp4_error(rte_mbuf* m, const ParsedPacket& pp, int iface, uint8_t type, uint8_t code,
                            uint32_t rest, Counter sent) {
  if (pp.src == 0 || (pp.src >> 28) >= 0xe) return;  // multicast, class E, broadcast
  const InterfaceModel& in = ctx_.rm().interfaces[static_cast<size_t>(iface)];
  const FiveTuple back{pp.dst, pp.src, pp.dport, pp.sport, pp.proto};
  const auto nh = ctx_.route(pp.src, symmetric_hash(back));
  if (!nh || in.addr == 0) return;
  if (!icmp4_rate_.take(ctx_.now_ms, kIcmp4ErrorsPerSecond, kIcmp4ErrorBurst))
    return ctx_.counters->add(Counter::nat46_icmp4_rate_limited);
  const uint16_t quote = static_cast<uint16_t>(std::min<uint32_t>(pp.l4 - pp.l3 + 8u, pp.end - pp.l3));
  rte_mbuf* e = build_icmp4_error(m->pool, pkt_data(m) + pp.l3, quote, in.addr, pp.src, type, code, rest);
  if (!e) return ctx_.counters->add(Counter::nat46_icmp4_no_mbuf);
  ctx_.counters->add(sent);
  tx_.transmit(e, nh->iface, nh->addr);
}

void Nat46Step::age() {
  if (!table_ || table_->size() == 0) return;
  if (uint32_t gone = table_->expire_some(ctx_.now_ms, kExpireBudget, ctx_.shared.timeouts)) {
    ctx_.counters->add(Counter::nat46_sessions_expired, gone);
    count_sessions();
  }
}

}  // namespace wp
