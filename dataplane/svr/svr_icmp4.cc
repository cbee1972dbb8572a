// ICMPv4 errors through IPv4 SVR sessions; see svr_icmp4.h.
#include "dataplane/svr/svr_icmp4.h"

#include <cstring>

#include "dataplane/ip/checksum.h"
#include "dataplane/ip/icmp.h"
#include "dataplane/ip/packet_edit.h"
#include "dataplane/svr/fragments.h"

namespace wp {
namespace {

constexpr uint8_t kIcmp4ParamProblem = 12;
constexpr uint32_t kIcmp4QuoteMax = 60 + 8;  // the longest IPv4 header and 8 bytes of L4 header

bool is_icmp4_error(uint8_t type) {
  return type == kIcmpDestUnreachable || type == kIcmpTimeExceeded || type == kIcmp4ParamProblem;
}

// What an error about the packet at `q` (`avail` bytes) quotes of it: its IPv4 header and 8
// bytes of TCP or UDP header (the ports; TCP's sequence number); 0 when it holds less, or is
// not the first fragment of a TCP or UDP packet.
uint32_t quote4_len(const uint8_t* q, uint32_t avail) {
  if (avail < 28 || q[0] >> 4 != 4) return 0;
  const uint32_t ihl = (q[0] & 0x0fu) * 4u;
  if (ihl < 20 || avail < ihl + 8 || (q[9] != kProtoTcp && q[9] != kProtoUdp) || (load_be16(q + 6) & 0x1fff)) return 0;
  return ihl + 8;
}

FiveTuple quote4_tuple(const uint8_t* q) {
  const uint8_t* l4 = q + (q[0] & 0x0fu) * 4u;
  return {load_be32(q + 12), load_be32(q + 16), load_be16(l4), load_be16(l4 + 2), q[9]};
}

// Writes `t` into the quote at `q` (header + 8 bytes): its header checksum, and a UDP checksum
// (in the 8 bytes), stay valid.
void retuple_quote4(uint8_t* q, const FiveTuple& t) {
  const FiveTuple was = quote4_tuple(q);
  if (was == t) return;
  uint8_t* l4 = q + (q[0] & 0x0fu) * 4u;
  if (t.proto == kProtoUdp && load_be16(l4 + 6) != 0) {
    uint16_t c = csum_update32(load_be16(l4 + 6), was.src, t.src);
    c = csum_update32(c, was.dst, t.dst);
    c = csum_update16(c, was.sport, t.sport);
    store_be16(l4 + 6, csum_update16(c, was.dport, t.dport));
  }
  store_be32(q + 12, t.src);
  store_be32(q + 16, t.dst);
  store_be16(l4, t.sport);
  store_be16(l4 + 2, t.dport);
  store_be16(q + 10, 0);
  store_be16(q + 10, ipv4_header_checksum(q));
}

// Who may be named as an error's source to a host: a unicast address (not 0/8, loopback,
// multicast, reserved or broadcast).
bool unicast4(Ipv4 a) { return (a >> 24) != 0 && (a >> 24) != 127 && a < 0xe0000000u; }

// The tuple of the packets of `s` in direction `d`, as both routers know them (TLV 2's).
FiveTuple tuple_as_sent(const Session& s, Dir d) { return d == Dir::forward ? s.original : s.original.reversed(); }

}  // namespace

std::optional<FiveTuple> SvrIcmp4::quoted_tuple(const uint8_t* d, const ParsedPacket& pp) {
  if (pp.proto != kProtoIcmp || pp.end < pp.l4 + 8u || !is_icmp4_error(d[pp.l4])) return std::nullopt;
  const uint8_t* q = d + pp.l4 + 8;
  if (quote4_len(q, pp.end - pp.l4 - 8u) == 0) return std::nullopt;
  return quote4_tuple(q);
}

void SvrIcmp4::error_from_lan(rte_mbuf* m, const ParsedPacket& pp, const FiveTuple& q, Session& s, Dir about) {
  const SideOut& sent = about == Dir::forward ? s.out_fwd : s.out_rev;
  const SideOut& back = about == Dir::forward ? s.out_rev : s.out_fwd;
  // Errors about routed and breakout sessions' packets are not followed (as before).
  if (back.peer < 0 || sent.peer >= 0 || sent.iface < 0) return ctx_.drop(m, DropReason::unsupported_proto);
  // About the packet we sent that way, and to its source.
  if (sent.tuple != q || pp.dst != q.src) return ctx_.drop(m, DropReason::no_session);
  const uint8_t* e = pkt_data(m) + pp.l4;
  if (carry(carrier_, m->pool, s, about, e + 8, pp.src, e[0], e[1], load_be32(e + 4))) return rte_pktmbuf_free(m);
  ctx_.drop(m, DropReason::svr_icmp4_not_carried);
}

bool SvrIcmp4::carry(IcmpErrorCarrier& via, rte_mempool* pool, Session& s, Dir about, const uint8_t* ip,
                     Ipv4 location, uint8_t type, uint8_t code, uint32_t rest) {
  // Type, code, checksum 0 (the receiver builds its own), bytes 4-7, the quoted headers.
  uint8_t msg[8 + kIcmp4QuoteMax] = {type, code};
  store_be32(msg + 4, rest);
  const uint32_t n = (ip[0] & 0x0fu) * 4u + 8u;  // the caller checked both are there
  std::memcpy(msg + 8, ip, n);
  retuple_quote4(msg + 8, tuple_as_sent(s, about));
  uint8_t at[4];
  store_be32(at, location);
  return via.carry(pool, s, about, {Tlv::icmp_error_location_v4, at, 4}, msg, 8 + n);
}

void SvrIcmp4::error_from_wan(rte_mbuf* m, const ParsedPacket& pp, Session& s, Dir dir, const Metadata& md) {
  const SideOut& lan = dir == Dir::forward ? s.out_fwd : s.out_rev;
  // A transit hop of an IPv4 session sends it on along its other leg; an IPv6 session's carries TLV 21.
  const bool transit = s.side_a_wan() && s.side_b_wan();
  // Else only to a LAN side of ours, a port or an IPsec tunnel; not an IPv6 side.
  const bool lan_side = lan.peer < 0 && (lan.iface >= 0 || lan.iface == kIfaceTunnel);
  if (!md.has_icmp_location4 || (transit ? transit_ipv6(s) : !lan_side))
    return ctx_.drop(m, DropReason::svr_icmp_error_unsupported);
  const Dir about = other_dir(dir);
  const auto [e, len] = carried_error(m, pp, md);
  const uint32_t n = len > 8 ? quote4_len(e + 8, static_cast<uint32_t>(len - 8)) : 0;
  // An error quoting a packet of this session sent the other way (at the end of the
  // session: by our LAN host), from a unicast location.
  if (n == 0 || !is_icmp4_error(e[0]) || quote4_tuple(e + 8) != tuple_as_sent(s, about) ||
      !unicast4(md.icmp_location4))
    return ctx_.drop(m, transit ? DropReason::svr_icmp_transit_invalid : DropReason::svr_icmp4_error_invalid);
  // Transit: the same error on along the other leg, its quote written with the session's tuple
  // that way (TLV 2's, as the next router checks it), re-signed with that leg's key.
  if (transit) {
    if (carry(transit_, m->pool, s, about, e + 8, md.icmp_location4, e[0], e[1], load_be32(e + 4)))
      return rte_pktmbuf_free(m);
    return ctx_.drop(m, DropReason::svr_icmp_not_transited);
  }
  uint8_t quote[kIcmp4QuoteMax];
  std::memcpy(quote, e + 8, n);
  const FiveTuple host = about == Dir::forward ? s.key_a() : s.key_b();  // what our host sent
  retuple_quote4(quote, host);
  const uint8_t type = e[0], code = e[1];
  const uint32_t rest = load_be32(e + 4);  // a Fragmentation Needed's MTU as it is (header comment)
  rte_mempool* pool = m->pool;
  rte_pktmbuf_free(m);  // the carrier is consumed, never forwarded
  if (!relay_rate_.take(ctx_.now_ms, kIcmpErrorRate, kIcmpErrorRateBurst))
    return ctx_.counters->add(Counter::svr_icmp4_rate_limited);
  rte_mbuf* r = build_icmp4_error(pool, quote, static_cast<uint16_t>(n), md.icmp_location4, host.src, type, code, rest);
  if (!r) return ctx_.counters->add(Counter::svr_icmp4_no_mbuf);
  ctx_.counters->add(Counter::svr_icmp4_errors_relayed);
  // The way the session's own packets leave on that side: a tunnel's are sealed by its owner
  // with its outbound Child SA (none up: esp_no_sa there).
  fragments_.transmit(r, parse_packet(pkt_data(r), r->data_len), lan.iface, lan.next_hop);
}

bool SvrIcmp4::refuse_too_big(rte_mbuf* m, const ParsedPacket& pp, Session& s, Dir dir, const LanLink& lan) {
  const uint8_t* ip = pkt_data(m) + pp.l3;
  const SideOut& back = dir == Dir::forward ? s.out_rev : s.out_fwd;
  // Other packets are fragmented as before; a sender on our side learns it from Fragments.
  if (pp.proto != kProtoTcp || !(load_be16(ip + 6) & 0x4000) || back.peer < 0) return false;
  // From our address on that link: the port's, or the tunnel's own (tunnels[].address).
  if (lan.addr == 0)  // a tunnel without an address: nothing to answer from
    ctx_.counters->add(Counter::tunnel_frag_needed_unsent);
  else if (carry(carrier_, m->pool, s, dir, ip, lan.addr, kIcmpDestUnreachable, kIcmpCodeFragNeeded, lan.mtu))
    ctx_.counters->add(Counter::svr_icmp4_frag_needed);
  ctx_.drop(m, DropReason::mtu_exceeded);
  return true;
}

}  // namespace wp
