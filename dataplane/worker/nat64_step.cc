// Stateful NAT64 in a worker; see nat64_step.h.
#include "dataplane/worker/nat64_step.h"

#include <algorithm>
#include <cstring>

#include "dataplane/ip/checksum.h"
#include "dataplane/ip/fragment.h"
#include "dataplane/worker/frag6_tx.h"
#include "dataplane/ip/icmp.h"
#include "dataplane/ip/ipv4_cut.h"
#include "dataplane/ip/nat64.h"
#include "dataplane/ip/nat64_packet.h"
#include "dataplane/ip/ndp.h"  // kIcmp6EchoRequest
#include "dataplane/ip/packet_edit.h"
#include "dataplane/ip/tuple.h"
#include "dataplane/session/owner.h"
#include "dataplane/worker/fragment_intake.h"
#include "dataplane/worker/ipv6_drops.h"

namespace wp {
namespace {

constexpr uint16_t kIpv4HdrLen = 20;

Ipv6 embed(const ServiceModel& s, Ipv4 v4) {
  const Ipv6Bytes b = nat64_embed(s.nat64_prefix, s.nat64_len, v4);
  return load_ipv6(b.data());
}

// The one's-complement sum (not complemented) of `n` bytes, as a 16-bit word.
uint16_t sum16(const uint8_t* p, size_t n, uint32_t sum = 0) {
  return static_cast<uint16_t>(~csum_fold(csum_partial(p, n, sum)));
}

// Where the port (or echo identifier) a binding is keyed by sits in an
// inner packet's upper-layer header, and that header's checksum; -1: none.
struct InnerL4 {
  int port = -1, check = -1;
};
InnerL4 inner_l4(uint8_t proto, const uint8_t* l4) {
  if (proto == kProtoTcp) return {0, 16};
  if (proto == kProtoUdp) return {0, 6};
  if (proto == kProtoIcmp && l4[0] == kIcmpEchoRequest) return {4, 2};
  return {};
}

}  // namespace

Nat64Step::Nat64Step(WorkerContext& ctx, Tx& tx, Handoff& handoff)
    : ctx_(ctx),
      tx_(tx),
      handoff_(handoff),
      icmp6_errors_(ctx, tx, Counter::nat64_icmp6_rate_limited, Counter::nat64_icmp6_no_mbuf) {
  const RouterModel* start = ctx.shared.model.load(std::memory_order_acquire);
  if (start && !start->nat64_pool.empty())  // tables only when a service uses NAT64 at start
  {
    bindings_ = std::make_unique<Nat64Bindings>(kBindings, ctx.id, ctx.shared.workers);
    reasm_ = std::make_unique<Ipv6ReassemblyTable>(kReassemblySlots, DatagramStore::kDefaultTimeoutMs,
                                                   kReassemblyPerSource);
    flat_ = std::make_unique<uint8_t[]>(kFlatBytes);
    frag_id_ = ctx.id;
  }
}

void Nat64Step::adopt_model() {
  if (pool_of_ == ctx_.model) return;
  pool_of_ = ctx_.model;
  bindings_->set_pool(ctx_.rm().nat64_pool);  // bindings made from an older pool keep their address
}

int Nat64Step::owner4(const uint8_t* d, const ParsedPacket& pp, uint32_t workers) {
  if (pp.proto == kProtoTcp || pp.proto == kProtoUdp || (pp.proto == kProtoIcmp && d[pp.l4] == kIcmpEchoReply))
    return is_waypoint_port(pp.dport) ? static_cast<int>(owner_of_class(class_of_port(pp.dport), workers)) : kNone;
  if (pp.proto != kProtoIcmp || !icmp4_to_icmp6(d[pp.l4], d[pp.l4 + 1]).inner_packet) return kNone;
  // An error about a packet we sent: its inner header's source port.
  const uint32_t in = pp.l4 + 8u;
  if (pp.end < in + kIpv4HdrLen) return kNone;
  const uint32_t il4 = in + (d[in] & 0xfu) * 4u;
  if (pp.end < il4 + 8) return kNone;
  const InnerL4 at = inner_l4(d[in + 9], d + il4);
  if (at.port < 0) return kNone;
  const uint16_t port = load_be16(d + il4 + at.port);
  return is_waypoint_port(port) ? static_cast<int>(owner_of_class(class_of_port(port), workers)) : kNone;
}

bool Nat64Step::input6(rte_mbuf* m, const Ipv6View& v, int iface) {
  return translate6(m, pkt_data(m), v, iface, false);
}

bool Nat64Step::translate6(rte_mbuf* m, uint8_t* d, const Ipv6View& v, int iface, bool whole) {
  const RouterModel& rm = ctx_.rm();
  if (rm.nat64_pool.empty() || !bindings_) return false;
  const bool l4_ok = v.proto == kProtoTcp || v.proto == kProtoUdp || v.proto == kProtoIcmpv6;
  const uint8_t proto4 = v.proto == kProtoIcmpv6 ? kProtoIcmp : v.proto;
  Ipv4 dst4 = 0;
  bool embedded = false;
  const int svc = rm.nat64_service_for(v.dst, proto4, v.dport, dst4, embedded);
  if (!embedded) return false;
  if (!l4_ok || (v.proto == kProtoIcmpv6 && d[v.l4] != kIcmp6EchoRequest))
    return ctx_.drop(m, DropReason::nat64_untranslatable), true;
  if (svc == kNone) return ctx_.drop(m, DropReason::nat64_no_service), true;
  // The binding's worker: by its key, so every packet of one client port meets the same binding.
  const uint64_t key = (v.src.hi ^ v.src.lo ^ (uint64_t{v.sport} << 8 | proto4)) * 0x9e3779b97f4a7c15ull;
  const uint32_t owner = owner_of_class(static_cast<uint32_t>(key >> 40) & (kAffinityClasses - 1),
                                        ctx_.shared.workers);
  if (owner != ctx_.id) {
    // A reassembled datagram travels as a chain (it may exceed an mbuf; the chain marks it).
    if (whole && !chain(m, d, v.end)) return ctx_.drop(m, DropReason::ipv6_frag_no_mbuf), true;
    return handoff_.stage(m, owner), true;  // sent after the burst (Worker::dispatch)
  }
  const ServiceModel& s = rm.services[static_cast<size_t>(svc)];
  if (s.nat64_len == 96 && s.nat64_prefix == kNat64WellKnownPrefix && !nat64_wkp_allows(dst4))
    return ctx_.drop(m, DropReason::nat64_non_global), true;
  const int tenant = rm.tenant_for6(v.src, iface);
  if (tenant == kNone) return ctx_.drop(m, DropReason::nat64_no_tenant), true;
  if (rm.policy(tenant, svc) == kNone) return ctx_.drop(m, DropReason::nat64_policy_deny), true;
  if (v.frag.present && !v.frag.atomic) return ctx_.drop(m, DropReason::nat64_fragment), true;
  if (v.hop_limit <= 1) {  // RFC 7915 § 5.1: Time Exceeded (code 0, hop limit exceeded in transit)
    icmp6_errors_.send(m, v, iface, v.src, kIcmp6TimeExceeded, 0, 0, Counter::nat64_icmp6_time_exceeded);
    return ctx_.drop(m, DropReason::nat64_hop_limit), true;
  }
  adopt_model();
  Nat64Bindings::Made how = Nat64Bindings::Made::found;
  const Nat64Bindings::Binding* b = bindings_->find(v.src, v.sport, proto4, ctx_.now_ms);
  if (!b) {  // a new binding passes the tenant's flood limits first, as a new session does
    if (DropReason limited{}; !ctx_.admit_session(v.src, tenant, limited)) return ctx_.drop(m, limited), true;
    b = bindings_->outbound(v.src, v.sport, proto4, ctx_.now_ms, how);
  }
  if (!b)
    return ctx_.drop(
               m, how == Nat64Bindings::Made::full ? DropReason::nat64_table_full : DropReason::nat64_pool_exhausted),
           true;
  if (how == Nat64Bindings::Made::created) {
    ctx_.counters->add(Counter::nat64_bindings_created);
    ctx_.counters->nat64_bindings.store(bindings_->size(), std::memory_order_relaxed);
  }
  const FiveTuple out{b->v4, dst4, b->v4_port, proto4 == kProtoIcmp ? b->v4_port : v.dport, proto4};
  const auto nh = ctx_.route(dst4, symmetric_hash(out));
  if (!nh || nh->iface != s.nat64_iface) return ctx_.drop(m, DropReason::nat64_no_route), true;
  const uint32_t mtu4 = rm.interfaces[static_cast<size_t>(nh->iface)].mtu;
  if (!whole && static_cast<uint32_t>(kIpv4HdrLen + (v.end - v.l4)) > mtu4) {
    // RFC 7915 § 5.1 (and § 6): Packet Too Big, unless the packet is already within what it would say.
    if (const uint32_t report = nat64_too_big_report(mtu4, static_cast<uint32_t>(v.end - v.l3)))
      icmp6_errors_.send(m, v, iface, v.src, kIcmp6PacketTooBig, 0, report, Counter::nat64_icmp6_too_big);
    return ctx_.drop(m, DropReason::nat64_too_big), true;
  }
  const uint16_t ip_id = whole ? static_cast<uint16_t>(frag_id_ += ctx_.shared.workers)
                               : ip_id_++;
  const Nat64Result r = nat64_6to4(d, v, b->v4, dst4, b->v4_port, ip_id);
  switch (r.verdict) {
    case Nat64Verdict::ok: break;
    case Nat64Verdict::fragment: return ctx_.drop(m, DropReason::nat64_fragment), true;
    case Nat64Verdict::hop_limit_exceeded: return ctx_.drop(m, DropReason::nat64_hop_limit), true;
    case Nat64Verdict::unsupported: return ctx_.drop(m, DropReason::nat64_untranslatable), true;
  }
  ctx_.counters->add(Counter::nat64_out);
  // The service's class for a shaped WAN port (docs/qos.md); IPv4 fragments copy it with the mbuf's hash.
  set_qos_class(m, static_cast<uint8_t>(rm.service_qos_class(svc)));
  if (whole) return send4_flat(m, static_cast<uint32_t>(r.shift), r.len, nh->iface, nh->addr, mtu4), true;
  rte_pktmbuf_adj(m, static_cast<uint16_t>(r.shift));
  rte_pktmbuf_trim(m, static_cast<uint16_t>(m->data_len - r.len));
  tx_.transmit(m, nh->iface, nh->addr);
  return true;
}

bool Nat64Step::fragment6(rte_mbuf* m, const Ipv6View& v, int iface) {
  const RouterModel& rm = ctx_.rm();
  if (rm.nat64_pool.empty() || !reasm_) return false;
  Ipv4 dst4 = 0;
  bool embedded = false;
  rm.nat64_service_for(v.dst, 0, 0, dst4, embedded);  // only whether it is under a prefix: no ports yet
  if (!embedded) return false;
  // The datagram's worker: every fragment of it has the same key, ports or not.
  const uint32_t owner = owner_of_class(fragment_class6(v), ctx_.shared.workers);
  if (owner != ctx_.id) return handoff_.stage(m, owner), true;
  // No slot for a stranger: the tenant (not the service: later fragments have no ports) first.
  if (rm.tenant_for6(v.src, iface) == kNone) return ctx_.drop(m, DropReason::nat64_no_tenant), true;
  if (!fragment_completes(ctx_, *reasm_, reasm_->add(pkt_data(m), v, ctx_.now_ms), m, Counter::ipv6_fragments_received))
    return true;
  // The whole frame into flat_: the last fragment's Ethernet header, then the datagram.
  uint8_t* f = flat_.get();
  std::memcpy(f, pkt_data(m), kEthHdrLen);
  const size_t n = reasm_->take(f + kEthHdrLen, kFlatBytes - kEthHdrLen);
  if (n == 0) return ctx_.drop(m, DropReason::ipv6_frag_too_big), true;
  ctx_.counters->add(Counter::ipv6_datagrams_reassembled);
  reset(m);  // only carries the datagram from here on
  flat6(m, static_cast<uint32_t>(kEthHdrLen + n), iface);
  return true;
}

void Nat64Step::whole6(rte_mbuf* m, int iface) {
  if (!flat_ || m->pkt_len > kFlatBytes || m->pkt_len < kEthHdrLen)
    return ctx_.drop(m, DropReason::ipv6_frag_too_big);
  const uint32_t len = m->pkt_len;
  const void* p = rte_pktmbuf_read(m, 0, len, flat_.get());
  if (!p) return ctx_.drop(m, DropReason::ipv6_malformed);
  if (p != flat_.get()) std::memmove(flat_.get(), p, len);  // it was contiguous: a pointer into the mbuf
  reset(m);
  flat6(m, len, iface);
}

void Nat64Step::flat6(rte_mbuf* m, uint32_t len, int iface) {
  uint8_t* f = flat_.get();
  const Ipv6View v = parse_ipv6_packet(f, len, kEthHdrLen);
  if (v.status != Ipv6Status::ok) return ctx_.drop(m, ipv6_drop_reason(v.status));
  if (!translate6(m, f, v, iface, true)) ctx_.drop(m, DropReason::not_ipv4);  // the prefix went in a live commit
}

void Nat64Step::reset(rte_mbuf* m) {
  if (m->next) {
    rte_pktmbuf_free(m->next);
    m->next = nullptr;
    m->nb_segs = 1;
  }
  m->data_off = static_cast<uint16_t>(std::min<uint32_t>(RTE_PKTMBUF_HEADROOM, m->buf_len));
  m->data_len = 0;
  m->pkt_len = 0;
}

bool Nat64Step::chain(rte_mbuf* m, const uint8_t* src, uint32_t len) {
  reset(m);
  rte_mbuf* last = m;
  for (uint32_t done = 0;;) {
    // The head never holds it all: two segments at least mark a reassembled datagram (Ipv6Input).
    const uint32_t room = last == m ? std::max<uint32_t>(len / 2, 1) : rte_pktmbuf_tailroom(last);
    const uint32_t n = std::min<uint32_t>({room, rte_pktmbuf_tailroom(last), len - done});
    std::memcpy(rte_pktmbuf_mtod_offset(last, uint8_t*, last->data_len), src + done, n);
    last->data_len = static_cast<uint16_t>(last->data_len + n);
    m->pkt_len += n;
    done += n;
    if (done == len) return true;
    rte_mbuf* seg = rte_pktmbuf_alloc(m->pool);
    if (!seg) return false;
    last->next = seg;
    ++m->nb_segs;
    last = seg;
  }
}

void Nat64Step::send4_flat(rte_mbuf* m, uint32_t at, uint32_t len, int iface, Ipv4 next_hop, uint32_t mtu) {
  const uint8_t* f = flat_.get() + at;  // Ethernet, the IPv4 header (20 bytes, ours), the payload
  uint8_t hdr[kEthHdrLen + kIpv4HdrLen];
  std::memcpy(hdr, f, sizeof hdr);
  uint8_t* ip = hdr + kEthHdrLen;
  const uint32_t room = rte_pktmbuf_tailroom(m);  // m is empty at the headroom: a whole mbuf's room
  const uint32_t ip_len = len - kEthHdrLen;
  if (ip_len <= mtu && len <= room) {
    store_be16(ip + 6, 0);  // DF clear: the client fragmented, so further fragmenting is what it accepts
    store_be16(ip + 10, ipv4_header_checksum(ip));
    uint8_t* o = rte_pktmbuf_mtod(m, uint8_t*);
    std::memcpy(o, hdr, sizeof hdr);
    std::memcpy(o + sizeof hdr, f + sizeof hdr, len - sizeof hdr);
    m->data_len = static_cast<uint16_t>(len);
    m->pkt_len = len;
    return tx_.transmit(m, iface, next_hop);
  }
  // RFC 791 fragments: 8-byte multiples of the payload, each fitting the MTU and an mbuf.
  const uint32_t payload = ip_len - kIpv4HdrLen;
  const Ipv4Cut cut = ipv4_cut(payload, std::min(mtu, room - kEthHdrLen));
  const uint32_t n = cut.count;
  if (n == 0 || n > kMaxFragments4) return ctx_.drop(m, DropReason::nat64_too_big);
  rte_mbuf* out[kMaxFragments4];
  out[0] = m;
  if (n > 1 && rte_pktmbuf_alloc_bulk(m->pool, out + 1, n - 1) != 0)
    return ctx_.drop(m, DropReason::ipv6_frag_no_mbuf);
  for (uint32_t i = 0; i < n; ++i) {
    uint32_t part = 0;
    const uint32_t off = ipv4_cut_header(ip, cut, i, payload, part);
    uint8_t* o = rte_pktmbuf_mtod(out[i], uint8_t*);
    std::memcpy(o, hdr, sizeof hdr);
    std::memcpy(o + sizeof hdr, f + sizeof hdr + off, part);
    out[i]->data_len = static_cast<uint16_t>(sizeof hdr + part);
    out[i]->pkt_len = out[i]->data_len;
    out[i]->port = m->port;
    out[i]->hash = m->hash;
  }
  ctx_.counters->add(Counter::nat64_fragments_sent, n);
  for (uint32_t i = 0; i < n; ++i) tx_.transmit(out[i], iface, next_hop);
}

void Nat64Step::input4(rte_mbuf* m, const ParsedPacket& pp) {
  if (!bindings_) return ctx_.drop(m, DropReason::nat64_no_binding);  // no tables: no binding can exist
  adopt_model();
  const RouterModel& rm = ctx_.rm();
  uint8_t* d = pkt_data(m);
  if (pp.proto == kProtoIcmp && d[pp.l4] != kIcmpEchoReply) return icmp_error4(m, pp);
  if (pp.proto != kProtoTcp && pp.proto != kProtoUdp && pp.proto != kProtoIcmp)
    return ctx_.drop(m, DropReason::nat64_untranslatable);
  const Nat64Bindings::Binding* b = bindings_->inbound(pp.dst, pp.dport, pp.proto, ctx_.now_ms);
  if (!b) return ctx_.drop(m, DropReason::nat64_no_binding);
  const int svc = rm.nat64_service_for4(pp.src, pp.proto, pp.sport);
  if (svc == kNone) return ctx_.drop(m, DropReason::nat64_no_service);
  if (rte_pktmbuf_headroom(m) < kIpv6HdrLen - kIpv4HdrLen) return ctx_.drop(m, DropReason::nat64_no_room);
  const Ipv6 client = b->v6;
  const int lan = client_link(client);
  if (lan == kNone) return ctx_.drop(m, DropReason::nat64_no_route);
  // RFC 7915 § 4 and RFC 792: what the translator refuses, it tells the server about (a fragment
  // is reassembled before it gets here, so pp is always the whole datagram or its first part).
  if (pp.ttl <= 1) {
    icmp4_error(m, pp, kIcmpTimeExceeded, 0, 0, Counter::nat64_icmp4_time_exceeded);
    return ctx_.drop(m, DropReason::nat64_hop_limit);
  }
  const uint32_t mtu6 = rm.interfaces[static_cast<size_t>(lan)].mtu;
  const uint32_t len6 = kIpv6HdrLen + (pp.end - pp.l4);  // IPv4 options are not carried over
  const bool too_big = len6 > mtu6;
  if (too_big && (load_be16(d + pp.l3 + 6) & 0x4000)) {
    // DF: Fragmentation Needed with the client's link MTU less the 20 bytes IPv6 adds (RFC 7915 § 4).
    icmp4_error(m, pp, kIcmpDestUnreachable, kIcmpCodeFragNeeded, mtu6 - (kIpv6HdrLen - kIpv4HdrLen),
                Counter::nat64_icmp4_frag_needed);
    return ctx_.drop(m, DropReason::nat64_too_big);
  }
  const Nat64Result r = nat64_4to6(d, pp, embed(rm.services[static_cast<size_t>(svc)], pp.src), client, b->v6_port);
  switch (r.verdict) {
    case Nat64Verdict::ok: break;
    case Nat64Verdict::fragment: return ctx_.drop(m, DropReason::nat64_fragment);
    case Nat64Verdict::hop_limit_exceeded: return ctx_.drop(m, DropReason::nat64_hop_limit);
    case Nat64Verdict::unsupported: return ctx_.drop(m, DropReason::nat64_untranslatable);
  }
  rte_pktmbuf_prepend(m, static_cast<uint16_t>(-r.shift));
  rte_pktmbuf_trim(m, static_cast<uint16_t>(m->data_len - r.len));
  set_qos_class(m, static_cast<uint8_t>(rm.service_qos_class(svc)));  // as the way out; fragments copy it
  if (too_big) return send6_fragments(m, lan, mtu6);  // no DF: the server lets the path fragment it
  send6(m, client);
}

// RFC 1812 § 4.3.2: from the address of the interface the route to the
// server leaves by, never about a packet to or from a broadcast or
// multicast address, at kIcmp4ErrorsPerSecond. Errors about ICMP errors
// never get here (input4 gives those to icmp_error4).
void Nat64Step::icmp4_error(rte_mbuf* m, const ParsedPacket& pp, uint8_t type, uint8_t code, uint32_t rest,
                            Counter sent) {
  if (pp.src == 0 || (pp.src >> 28) >= 0xe || pp.src == 0xffffffffu) return;  // multicast, class E, broadcast
  const uint8_t* ip = pkt_data(m) + pp.l3;
  const FiveTuple back{pp.dst, pp.src, pp.dport, pp.sport, pp.proto};
  const auto nh = ctx_.route(pp.src, symmetric_hash(back));
  if (!nh) return;
  const InterfaceModel& out = ctx_.rm().interfaces[static_cast<size_t>(nh->iface)];
  if (!out.wan) return;  // the servers are behind the NAT64 interface
  if (!icmp4_rate_.take(ctx_.now_ms, kIcmp4ErrorsPerSecond, kIcmp4ErrorBurst))
    return ctx_.counters->add(Counter::nat64_icmp4_rate_limited);
  // RFC 792: the IP header and the first 64 bits of the datagram's data.
  const uint16_t quote = static_cast<uint16_t>(std::min<uint32_t>(pp.l4 - pp.l3 + 8u, pp.end - pp.l3));
  rte_mbuf* e = build_icmp4_error(m->pool, ip, quote, out.addr, pp.src, type, code, rest);
  if (!e) return ctx_.counters->add(Counter::nat64_icmp4_no_mbuf);
  ctx_.counters->add(sent);
  tx_.transmit(e, nh->iface, nh->addr);
}

void Nat64Step::send6_fragments(rte_mbuf* m, int iface, uint32_t mtu) {
  const uint32_t id = frag6_id_ += ctx_.shared.workers;
  const Fragment6Result r = transmit6_fragments(tx_, m, iface, mtu, id);
  switch (r.status) {
    case Fragment6Status::ok: break;
    case Fragment6Status::too_big: return ctx_.drop(m, DropReason::nat64_too_big);
    case Fragment6Status::no_room: return ctx_.drop(m, DropReason::nat64_no_room);
    case Fragment6Status::no_mbuf: return ctx_.drop(m, DropReason::nat64_frag6_no_mbuf);
  }
  ctx_.counters->add(Counter::nat64_in);
  ctx_.counters->add(Counter::nat64_fragments6_sent, r.count);
}

// RFC 7915 § 4.2-4.3: an ICMPv4 error about a packet of a binding becomes
// the ICMPv6 error about the IPv6 packet it was translated from: outer
// header to the client from the error's sender under the service's prefix,
// the inner IPv4 header rewritten as the client's IPv6 header, the inner
// port back to the client's, the inner checksum adjusted for both, the
// whole at most 1280 bytes.
void Nat64Step::icmp_error4(rte_mbuf* m, const ParsedPacket& pp) {
  const RouterModel& rm = ctx_.rm();
  uint8_t* d = pkt_data(m);
  const uint8_t* icmp = d + pp.l4;
  const IcmpXlat x = icmp4_to_icmp6(icmp[0], icmp[1]);
  if (x.drop || !x.inner_packet) return ctx_.drop(m, DropReason::nat64_untranslatable);
  const uint32_t in = pp.l4 + 8u;
  if (pp.end < in + kIpv4HdrLen || (d[in] >> 4) != 4) return ctx_.drop(m, DropReason::nat64_untranslatable);
  const uint32_t ihl = (d[in] & 0xfu) * 4u;
  const uint32_t il4 = in + ihl;
  if (ihl < kIpv4HdrLen || pp.end < il4 + 8) return ctx_.drop(m, DropReason::nat64_untranslatable);
  const uint8_t inner_proto = d[in + 9];
  const Ipv4 inner_src = load_be32(d + in + 12), inner_dst = load_be32(d + in + 16);
  const InnerL4 at = inner_l4(inner_proto, d + il4);
  if (at.port < 0) return ctx_.drop(m, DropReason::nat64_untranslatable);
  const uint16_t port = load_be16(d + il4 + at.port);
  const Nat64Bindings::Binding* b =
      inner_src == pp.dst ? bindings_->inbound(inner_src, port, inner_proto, ctx_.now_ms) : nullptr;
  if (!b) return ctx_.drop(m, DropReason::nat64_no_binding);
  const uint16_t inner_dport = inner_proto == kProtoIcmp ? port : load_be16(d + il4 + 2);
  const int svc = rm.nat64_service_for4(inner_dst, inner_proto, inner_dport);
  if (svc == kNone) return ctx_.drop(m, DropReason::nat64_no_service);
  if (pp.ttl <= 1) return ctx_.drop(m, DropReason::nat64_hop_limit);
  const ServiceModel& s = rm.services[static_cast<size_t>(svc)];
  const Ipv6 client = b->v6, server6 = embed(s, inner_dst), from6 = embed(s, pp.src);
  const uint16_t client_port = b->v6_port;
  const uint16_t inner_total = load_be16(d + in + 2);
  const uint16_t inner_l4_claimed = inner_total > ihl ? static_cast<uint16_t>(inner_total - ihl) : 0;
  // What of the inner packet's upper layer fits in 1280 bytes of IPv6.
  const uint32_t room = kIpv6MinMtu - kIpv6HdrLen - 8 - kIpv6HdrLen;
  const uint32_t inner_len = std::min<uint32_t>(pp.end - il4, room);
  uint8_t l4[kIpv6MinMtu];
  std::memcpy(l4, d + il4, inner_len);
  uint8_t macs[12];
  std::memcpy(macs, d, sizeof macs);
  const uint8_t tos = d[pp.l3 + 1], ttl = pp.ttl, inner_tos = d[in + 1], inner_ttl = d[in + 8];
  uint32_t rest = 0;  // bytes 4..7 of the ICMPv6 message
  if (x.mtu_adjust) {
    const int lan = client_link(client);  // the client's interface: its MTU bounds the one we report
    if (lan == kNone) return ctx_.drop(m, DropReason::nat64_no_route);
    rest = nat64_mtu_4to6(load_be16(icmp + 6), rm.interfaces[static_cast<size_t>(lan)].mtu);
  } else if (x.pointer_adjust) {
    auto p = nat64_pointer_4to6(icmp[4]);
    if (!p) return ctx_.drop(m, DropReason::nat64_untranslatable);
    rest = *p;
  }

  // The inner upper-layer header: the client's port, the checksum moved
  // from the IPv4 pseudo-header (and ICMP's none) to the IPv6 one.
  const uint8_t proto6 = inner_proto == kProtoIcmp ? kProtoIcmpv6 : inner_proto;
  uint8_t old_words[12], new_words[36 + 4];
  store_be32(old_words, inner_src);
  store_be32(old_words + 4, inner_dst);
  store_be16(old_words + 8, port);
  store_be16(old_words + 10, 0);
  size_t old_n = 12, new_n = 36;
  store_ipv6(new_words, client);
  store_ipv6(new_words + 16, server6);
  store_be16(new_words + 32, client_port);
  store_be16(new_words + 34, 0);
  if (inner_proto == kProtoIcmp) {
    // ICMP's checksum has no pseudo-header; ICMPv6's has (with its length and next header).
    store_be16(old_words, port);
    store_be16(old_words + 2, uint16_t{kIcmpEchoRequest} << 8);
    old_n = 4;
    store_be16(new_words + 34, uint16_t{kIcmp6EchoRequest} << 8);
    store_be16(new_words + 36, inner_l4_claimed);
    store_be16(new_words + 38, proto6);
    new_n = 40;
    l4[0] = kIcmp6EchoRequest;
  } else if (static_cast<uint32_t>(at.check) + 2 <= inner_len && load_be16(l4 + at.check) == 0 &&
             inner_proto == kProtoUdp) {
    old_n = new_n = 0;  // no UDP checksum: none to adjust
  }
  store_be16(l4 + at.port, client_port);
  if (static_cast<uint32_t>(at.check) + 2 <= inner_len && (old_n || new_n))
    store_be16(l4 + at.check,
               csum_update16(load_be16(l4 + at.check), sum16(old_words, old_n), sum16(new_words, new_n)));

  const uint32_t len = kEthHdrLen + kIpv6HdrLen + 8 + kIpv6HdrLen + inner_len;
  const int32_t grow = static_cast<int32_t>(len) - static_cast<int32_t>(m->data_len);
  if (grow > 0 && rte_pktmbuf_prepend(m, static_cast<uint16_t>(grow)) == nullptr)
    return ctx_.drop(m, DropReason::nat64_no_room);
  if (grow < 0) rte_pktmbuf_trim(m, static_cast<uint16_t>(-grow));
  d = pkt_data(m);
  std::memcpy(d, macs, sizeof macs);
  store_be16(d + 12, kEtherTypeIpv6);
  uint8_t* ip = d + kEthHdrLen;
  const uint16_t payload = static_cast<uint16_t>(8 + kIpv6HdrLen + inner_len);
  store_be32(ip, 0x60000000u | uint32_t{tos} << 20);
  store_be16(ip + 4, payload);
  ip[6] = kProtoIcmpv6;
  ip[7] = static_cast<uint8_t>(ttl - 1);
  store_ipv6(ip + 8, from6);
  store_ipv6(ip + 24, client);
  uint8_t* icmp6 = ip + kIpv6HdrLen;
  icmp6[0] = x.type;
  icmp6[1] = x.code;
  store_be16(icmp6 + 2, 0);
  store_be32(icmp6 + 4, rest);
  uint8_t* inner = icmp6 + 8;
  store_be32(inner, 0x60000000u | uint32_t{inner_tos} << 20);
  store_be16(inner + 4, inner_l4_claimed);
  inner[6] = proto6;
  inner[7] = inner_ttl;
  store_ipv6(inner + 8, client);
  store_ipv6(inner + 24, server6);
  std::memcpy(inner + kIpv6HdrLen, l4, inner_len);
  store_be16(icmp6 + 2, l4_checksum6(from6, client, kProtoIcmpv6, icmp6, payload));
  ctx_.counters->add(Counter::nat64_icmp_errors);
  send6(m, client);
}

int Nat64Step::client_link(const Ipv6& client) const {
  const RouterModel& rm = ctx_.rm();
  for (size_t i = 0; i < rm.interfaces.size(); ++i)
    if (!rm.interfaces[i].wan && rm.interfaces[i].on_link6(client)) return static_cast<int>(i);
  return kNone;
}

void Nat64Step::send6(rte_mbuf* m, const Ipv6& client) {
  const int lan = client_link(client);
  if (lan == kNone) return ctx_.drop(m, DropReason::nat64_no_route);
  if (m->data_len - kEthHdrLen > ctx_.rm().interfaces[static_cast<size_t>(lan)].mtu)
    return ctx_.drop(m, DropReason::nat64_too_big);
  ctx_.counters->add(Counter::nat64_in);
  tx_.transmit6(m, lan);
}

void Nat64Step::age() {
  if (reasm_) expire_fragments(ctx_, *reasm_, kReassemblyExpireBudget);
  if (!bindings_ || bindings_->size() == 0) return;
  if (uint32_t gone = bindings_->expire(ctx_.now_ms, kExpireBudget)) {
    ctx_.counters->add(Counter::nat64_bindings_expired, gone);
    ctx_.counters->nat64_bindings.store(bindings_->size(), std::memory_order_relaxed);
  }
}

}  // namespace wp
