// Fragments in and out of a worker; see fragments.h.
#include "dataplane/svr/fragments.h"

#include "dataplane/control/waypoint6_addr.h"
#include "dataplane/svr/waypoint6.h"

#include <cstring>

#include "dataplane/crypto/hmac.h"
#include "dataplane/crypto/session_data.h"
#include "dataplane/ip/checksum.h"
#include "dataplane/ip/fragment.h"
#include "dataplane/worker/esp_step.h"
#include "dataplane/worker/qos_tx.h"
#include "dataplane/ip/icmp.h"
#include "dataplane/ip/packet_edit.h"
#include "dataplane/session/owner.h"
#include "dataplane/worker/fragment_intake.h"

namespace wp {
namespace {

constexpr uint32_t kSweepBudget = 32;  // slots per table and aging call

// The DF policy's one refusal (fragments.h): a TCP segment with DF is the host's PMTUD to do.
bool tcp_with_df(const uint8_t* ip, const ParsedPacket& pp) {
  return pp.proto == kProtoTcp && (load_be16(ip + 6) & 0x4000);
}

}  // namespace

uint16_t sealed_overhead(uint8_t crypto) {
  if (crypto & (kCryptoEncrypt | kCryptoPending)) return kCryptoOverhead;
  return (crypto & kCryptoHmacAll) ? kSeqLen + kHmacTagLen : 0;
}

Fragments::Fragments(WorkerContext& ctx, Handoff& handoff, Tx& tx)
    : ctx_(ctx), handoff_(handoff), tx_(tx), seq_(ctx.id) {}

uint32_t Fragments::next_id() {
  seq_ += ctx_.shared.workers ? ctx_.shared.workers : 1;
  return seq_;
}

bool Fragments::take(rte_mbuf*& m, ParsedPacket& pp) {
  uint32_t owner = owner_of_class(fragment_class(fragment_key(pkt_data(m) + pp.l3)), ctx_.shared.workers);
  if (owner != ctx_.id) {
    handoff_.stage(m, owner);  // the same backpressure and order as every other handoff
    return false;
  }
  m = reassemble(m, pp);
  return m != nullptr;
}

rte_mbuf* Fragments::reassemble(rte_mbuf* m, ParsedPacket& pp) {
  uint8_t* d = pkt_data(m);
  const ReassemblyResult res = table_.add(d + pp.l3, d + pp.l4, static_cast<uint16_t>(pp.end - pp.l4), ctx_.now_ms);
  if (!fragment_completes(ctx_, table_, res, m, Counter::fragments_received)) return nullptr;
  if (take_datagram(table_, m) == 0) {
    ctx_.drop(m, DropReason::frag_too_big);
    return nullptr;
  }
  pp = parse_packet(pkt_data(m), m->data_len);
  if (pp.status != ParseStatus::ipv4) {
    ctx_.drop(m, DropReason::parse_error);
    return nullptr;
  }
  ctx_.counters->add(Counter::datagrams_reassembled);
  return m;
}

void Fragments::age() {
  expire_fragments(ctx_, table_, kSweepBudget);
  expire_fragments(ctx_, table6_, kSweepBudget);
}

bool Fragments::take6(rte_mbuf*& m) {
  const Ipv6View v = parse_ipv6_packet(pkt_data(m), m->data_len, kEthHdrLen);
  const uint32_t owner = owner_of_class(fragment_class6(v), ctx_.shared.workers);
  if (owner != ctx_.id) {
    handoff_.stage(m, owner);
    return false;
  }
  m = hold6(m, v);
  return m != nullptr;
}

rte_mbuf* Fragments::reassemble6(rte_mbuf* m) {
  const Ipv6View v = parse_ipv6_packet(pkt_data(m), m->data_len, kEthHdrLen);
  if (v.status != Ipv6Status::fragment) {  // handed here as one: never anything else
    ctx_.drop(m, DropReason::ipv6_frag_malformed);
    return nullptr;
  }
  return hold6(m, v);
}

rte_mbuf* Fragments::hold6(rte_mbuf* m, const Ipv6View& v) {
  if (!fragment_completes(ctx_, table6_, table6_.add(pkt_data(m), v, ctx_.now_ms), m,
                          Counter::waypoint6_fragments_received))
    return nullptr;
  if (take_datagram(table6_, m) == 0) {
    ctx_.drop(m, DropReason::ipv6_frag_too_big);
    return nullptr;
  }
  ctx_.counters->add(Counter::waypoint6_reassembled);
  return m;
}

bool Fragments::tlv_due(const ParsedPacket& pp, const SideOut& out, size_t block_len, bool encrypt) const {
  // Between IPv6 waypoints the WAN header is IPv6: its fragments carry no IPv4 id (fragments.h).
  if (is_waypoint6_standin(out.next_hop)) return false;
  // What sealing adds (crypto/session_data.h): IV and up to a block of
  // padding when encrypted, and the HMAC trailer. Erring large only costs a TLV.
  size_t sealed = size_t{pp.end} - pp.l3 + block_len + kFragmentTlvLen + kHmacTagLen + (encrypt ? 32 : 0);
  return sealed > ctx_.rm().interfaces[out.iface].mtu;
}

FragmentInfo Fragments::reserve_id(rte_mbuf* m, const ParsedPacket& pp) {
  uint8_t* ip = pkt_data(m) + pp.l3;
  FragmentInfo f;
  f.extended_id = next_id();
  f.original_ip_id = load_be16(ip + 4);
  f.flags_offset = load_be16(ip + 6);
  f.largest_fragment = static_cast<uint16_t>(pp.end - pp.l3);
  store_be16(ip + 4, static_cast<uint16_t>(f.extended_id));  // the header checksum is redone at signing
  ctx_.counters->add(Counter::fragment_tlv_sent);
  return f;
}

void Fragments::restore_header(rte_mbuf* m, const ParsedPacket& pp, const FragmentInfo& f) {
  uint8_t* ip = pkt_data(m) + pp.l3;
  uint16_t id = load_be16(ip + 4), fo = load_be16(ip + 6);
  // A whole datagram by now: only the id and DF come back, never MF/offset.
  uint16_t new_fo = static_cast<uint16_t>((fo & ~0x4000) | (f.flags_offset & 0x4000));
  uint16_t check = load_be16(ip + 10);
  check = csum_update16(check, id, f.original_ip_id);
  check = csum_update16(check, fo, new_fo);
  store_be16(ip + 4, f.original_ip_id);
  store_be16(ip + 6, new_fo);
  store_be16(ip + 10, check);
  ctx_.counters->add(Counter::fragment_tlv_restored);
}

void Fragments::transmit(rte_mbuf* m, const ParsedPacket& pp, int iface, Ipv4 next_hop, bool id_reserved) {
  if (iface == kIfaceTunnel) [[unlikely]] {
    if (!tunnels_) return ctx_.drop(m, DropReason::esp_no_sa);
    return into_tunnel(m, pp, next_hop);
  }
  if (is_waypoint6_standin(next_hop)) [[unlikely]]
    return to_waypoint6(m, pp, iface, next_hop);
  uint16_t mtu = ctx_.rm().interfaces[iface].mtu;
  if (pp.end - pp.l3 <= mtu) [[likely]]
    return tx_.transmit(m, iface, next_hop);
  uint8_t* ip = pkt_data(m) + pp.l3;
  if (tcp_with_df(ip, pp)) return ctx_.drop(m, DropReason::mtu_exceeded);
  if (load_be16(ip + 6) & 0x4000) ctx_.counters->add(Counter::frag_df_cleared);
  const uint16_t id = id_reserved ? load_be16(ip + 4) : static_cast<uint16_t>(next_id());
  cut(m, pp, mtu, id, Counter::packets_fragmented, Counter::fragments_sent,
      [&](rte_mbuf* f) { tx_.transmit(f, iface, next_hop); });
}

// Cuts `m` into fragments of at most `mtu` IP bytes with IP id `id` (DF
// clear), counts the datagram and its fragments, and hands each fragment,
// with the datagram's QoS class, to `send`.
template <class Send>
void Fragments::cut(rte_mbuf* m, const ParsedPacket& pp, uint16_t mtu, uint16_t id, Counter datagrams,
                    Counter fragments, Send&& send) {
  rte_mbuf* out[kMaxTxFragments];
  const uint32_t n = fragment_ipv4(m, pp, mtu, id, out, kMaxTxFragments);
  if (n == 0) return ctx_.drop(m, DropReason::frag_no_mbuf);
  send_all(out, n, datagrams, fragments, send);
}

// Counts a datagram cut into `n` fragments and hands each, with the
// datagram's QoS class (out[0] is its own mbuf), to `send`.
template <class Send>
void Fragments::send_all(rte_mbuf** out, uint32_t n, Counter datagrams, Counter fragments, Send&& send) {
  ctx_.counters->add(datagrams);
  ctx_.counters->add(fragments, n);
  for (uint32_t i = 0; i < n; ++i) {
    copy_qos_class(out[i], out[0]);
    send(out[i]);
  }
}

// To a peer's IPv6 waypoint (svr/waypoint6.h): the IPv6 outer header, and
// IPv6 fragments when the packet then exceeds the WAN MTU (fragments.h),
// their identification from this worker's sequence (only the low 16 bits of
// it are IPv4's ids: the two never meet in one table).
void Fragments::to_waypoint6(rte_mbuf* m, const ParsedPacket& pp, int iface, Ipv4 standin) {
  const bool refused = tcp_with_df(pkt_data(m) + pp.l3, pp);  // read while the header is IPv4
  Ipv6 next_hop;
  if (!waypoint6_encap(ctx_, m, pp, iface, standin, next_hop)) return;  // counted
  const uint16_t mtu = ctx_.rm().interfaces[static_cast<size_t>(iface)].mtu;
  if (m->data_len - kEthHdrLen <= mtu) [[likely]] {
    ctx_.counters->add(Counter::waypoint6_sent);
    return tx_.transmit6(m, iface, next_hop);
  }
  if (refused) return ctx_.drop(m, DropReason::waypoint6_too_big);
  rte_mbuf* out[kMaxTxFragments];
  const Fragment6Result r = fragment_ipv6(m, mtu, next_id(), out, kMaxTxFragments);
  switch (r.status) {
    case Fragment6Status::ok: break;
    case Fragment6Status::too_big: return ctx_.drop(m, DropReason::waypoint6_too_big);
    case Fragment6Status::no_room: return ctx_.drop(m, DropReason::no_buffer_room);
    case Fragment6Status::no_mbuf: return ctx_.drop(m, DropReason::frag_no_mbuf);
  }
  ctx_.counters->add(Counter::waypoint6_sent);
  send_all(out, r.count, Counter::waypoint6_fragmented, Counter::waypoint6_fragments_sent,
           [&](rte_mbuf* f) { tx_.transmit6(f, iface, next_hop); });
}

// Into IPsec tunnel `tunnel`: a packet above the tunnel's MTU (inner bytes,
// tunnels[].mtu) is fragmented first when DF allows it (RFC 4459 § 3:
// before encapsulation, so the site reassembles the inner datagram, never
// the ESP packets), each fragment sealed on its own with the datagram's IP
// id; with DF the sender learns the tunnel MTU (ICMP type 3 code 4) and the
// packet is dropped as esp_too_big.
void Fragments::into_tunnel(rte_mbuf* m, const ParsedPacket& pp, Ipv4 tunnel) {
  const uint16_t mtu = ctx_.tunnel_mtu(tunnel);  // less while a learned path MTU holds
  if (pp.end - pp.l3 <= mtu || mtu == 0) [[likely]]
    return tunnels_->output(m, pp, tunnel);  // no such tunnel: the ESP step counts it
  const uint8_t* ip = pkt_data(m) + pp.l3;
  if (load_be16(ip + 6) & 0x4000) {
    frag_needed_to_sender(m, pp, mtu);
    return ctx_.drop(m, DropReason::esp_too_big);
  }
  cut(m, pp, mtu, load_be16(ip + 4), Counter::tunnel_packets_fragmented, Counter::tunnel_fragments_sent,
      [&](rte_mbuf* f) { tunnels_->output(f, parse_packet(pkt_data(f), f->data_len), tunnel); });
}

// Side `iface`/`next_hop` (svr/lan_link.h) when an error can go there from an address of ours: a
// port, or a tunnel we have an address on and an ESP step to seal with; else nullopt, and a
// tunnel's is counted as tunnel_frag_needed_unsent.
std::optional<LanLink> Fragments::answerable(int iface, Ipv4 next_hop) {
  const std::optional<LanLink> link = lan_link(ctx_, iface, next_hop);
  if (iface != kIfaceTunnel || (link && link->addr != 0 && tunnels_)) return link;
  ctx_.counters->add(Counter::tunnel_frag_needed_unsent);
  return std::nullopt;
}

// ICMP type 3 code 4 (RFC 1191) for the packet at `ip`, telling its sender
// `mtu`, out of `iface` from that interface's address, or into IPsec tunnel
// `next_hop` (iface kIfaceTunnel) from our address on it, sealed as any
// packet into it; at most kIcmpErrorsPerSecond per worker.
bool Fragments::frag_needed_to(const ParsedPacket& pp, const uint8_t* ip, int iface, Ipv4 next_hop, uint16_t mtu,
                               rte_mempool* pool) {
  const std::optional<LanLink> link = answerable(iface, next_hop);
  if (!link) return false;
  if (!icmp_rate_.take(ctx_.now_ms, kIcmpErrorsPerSecond, kIcmpErrorBurst)) {
    ctx_.counters->add(Counter::icmp_frag_needed_rate_limited);
    return false;
  }
  const uint16_t quote = static_cast<uint16_t>(pp.l4 - pp.l3 + 8);  // RFC 792: IP header + 64 bits
  rte_mbuf* c = build_icmp_frag_needed(pool, ip, quote, link->addr, pp.src, mtu);
  if (!c) return false;
  ctx_.counters->add(Counter::icmp_frag_needed_sent);
  if (iface == kIfaceTunnel) return into_tunnel(c, parse_packet(pkt_data(c), c->data_len), next_hop), true;
  tx_.transmit(c, iface, next_hop);
  return true;
}

// Only when the route back to the sender is a LAN interface, or a tunnel we
// have an address on (tunnels[].address): one reached over the WAN (a site
// behind another waypoint, the internet) or through a tunnel without one would
// get the error from an address it never talked to.
void Fragments::frag_needed_to_sender(rte_mbuf* m, const ParsedPacket& pp, uint16_t mtu) {
  const auto back = ctx_.route(pp.src, 0);
  const auto& ifs = ctx_.rm().interfaces;
  const bool lan_port = back && back->iface >= 0 && static_cast<size_t>(back->iface) < ifs.size() &&
                        !ifs[static_cast<size_t>(back->iface)].wan;
  if (lan_port || (back && back->tunnel()))  // one without an address is counted there
    frag_needed_to(pp, pkt_data(m) + pp.l3, back->iface, back->addr, mtu, m->pool);
  else
    ctx_.counters->add(Counter::tunnel_frag_needed_unsent);
}

// A TCP segment with DF that will not fit the WAN leg once sealed: the
// sender learns the MTU it may use (ICMP type 3 code 4, RFC 1191: the
// next-hop MTU less our worst-case per-packet overhead) instead of a silent
// drop. Only towards a sender on a LAN leg (a port, or a tunnel we have an
// address on): one behind another waypoint would get it from the wrong
// addresses, so that case stays a counted drop.
// At most kIcmpErrorsPerSecond (burst kIcmpErrorBurst) per worker.
bool Fragments::refuse_oversize_tcp(rte_mbuf* m, const ParsedPacket& pp, const Session& s, Dir dir, const SideOut& out,
                                    bool need_md) {
  const uint8_t* ip = pkt_data(m) + pp.l3;
  if (pp.proto != kProtoTcp || need_md || !(load_be16(ip + 6) & 0x4000) || !(s.crypto & kCryptoHmacAll)) return false;
  const uint16_t mtu = ctx_.rm().interfaces[out.iface].mtu;
  // Sealing's overhead, and the 20 bytes more of an IPv6 outer header to a peer's IPv6 waypoint.
  const uint16_t extra =
      static_cast<uint16_t>(sealed_overhead(s.crypto) + (is_waypoint6_standin(out.next_hop) ? 20 : 0));
  if (pp.end - pp.l3 + extra <= mtu) return false;
  const SideOut& back = dir == Dir::forward ? s.out_rev : s.out_fwd;
  if (back.peer < 0) frag_needed_to(pp, ip, back.iface, back.next_hop, static_cast<uint16_t>(mtu - extra), m->pool);
  ctx_.drop(m, DropReason::mtu_exceeded);
  return true;
}

}  // namespace wp
