// Packet edits; see packet_edit.h.
#include "dataplane/ip/packet_edit.h"

#include <cstring>

#include "dataplane/ip/checksum.h"

namespace wp {
void set_lengths(uint8_t* d, const ParsedPacket& pp) {
  store_be16(d + pp.l3 + 2, static_cast<uint16_t>(pp.end - pp.l3));
  if (pp.proto == kProtoUdp) store_be16(d + pp.l4 + 4, static_cast<uint16_t>(pp.end - pp.l4));
}

namespace {

// ICMP echo: the checksum covers the ICMP message only (no pseudo-header),
// so addresses change the IP header checksum alone; the identifier (both
// "ports" of the tuple) is the one L4 word that changes.
void rewrite_icmp_echo(uint8_t* ip, uint8_t* icmp, ParsedPacket& pp, const FiveTuple& to) {
  uint16_t ipcheck = load_be16(ip + 10);
  uint16_t old_ttl_word = load_be16(ip + 8);
  ip[8] = static_cast<uint8_t>(ip[8] - 1);
  ipcheck = csum_update16(ipcheck, old_ttl_word, load_be16(ip + 8));
  ipcheck = csum_update32(ipcheck, pp.src, to.src);
  ipcheck = csum_update32(ipcheck, pp.dst, to.dst);
  store_be32(ip + 12, to.src);
  store_be32(ip + 16, to.dst);
  store_be16(ip + 10, ipcheck);
  if (pp.sport != to.sport) {
    store_be16(icmp + 2, csum_update16(load_be16(icmp + 2), pp.sport, to.sport));
    store_be16(icmp + 4, to.sport);
  }
  pp.src = to.src;
  pp.dst = to.dst;
  pp.sport = pp.dport = to.sport;
  pp.ttl = ip[8];
}

}  // namespace

// RFC 1624 eqn. 3 (HC' = ~(~HC + ~m + m')) with every changed word summed
// first and each checksum folded once: the address change is shared by the IP
// header and the L4 pseudo-header. Words that do not change add ~m + m =
// 0xffff, one's-complement zero, so there is no branch per field.
void rewrite_tuple(rte_mbuf* m, ParsedPacket& pp, const FiveTuple& to) {
  uint8_t* d = pkt_data(m);
  if (pp.proto == kProtoIcmp) return rewrite_icmp_echo(d + pp.l3, d + pp.l4, pp, to);
  uint8_t* ip = d + pp.l3;
  uint8_t* l4 = d + pp.l4;
  const uint16_t l4off = l4_check_offset(pp.proto);
  const uint16_t l4check = load_be16(l4 + l4off);
  const bool l4_has_check = !(pp.proto == kProtoUdp && l4check == 0);  // UDP checksum 0 = none

  auto halves = [](uint32_t v) { return (v >> 16) + (v & 0xffff); };
  auto fold = [](uint32_t sum) {
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum);
  };
  const uint32_t addrs = halves(~pp.src) + halves(~pp.dst) + halves(to.src) + halves(to.dst);
  const uint32_t ports = static_cast<uint16_t>(~pp.sport) + static_cast<uint16_t>(~pp.dport) + uint32_t{to.sport} +
                         uint32_t{to.dport};
  // TTL shares a word with the protocol byte.
  const uint16_t old_ttl_word = load_be16(ip + 8);
  ip[8] = static_cast<uint8_t>(ip[8] - 1);
  const uint32_t ttl = static_cast<uint16_t>(~old_ttl_word) + uint32_t{load_be16(ip + 8)};

  store_be16(ip + 10, fold(static_cast<uint16_t>(~load_be16(ip + 10)) + ttl + addrs));
  store_be32(ip + 12, to.src);
  store_be32(ip + 16, to.dst);
  store_be16(l4, to.sport);
  store_be16(l4 + 2, to.dport);
  if (l4_has_check) {
    const uint16_t c = fold(static_cast<uint16_t>(~l4check) + addrs + ports);
    store_be16(l4 + l4off, pp.proto == kProtoUdp && c == 0 ? 0xffff : c);
  }
  pp.src = to.src;
  pp.dst = to.dst;
  pp.sport = to.sport;
  pp.dport = to.dport;
  pp.ttl = ip[8];
}

void trim_padding(rte_mbuf* m, const ParsedPacket& pp) {
  if (m->data_len > pp.end) rte_pktmbuf_trim(m, static_cast<uint16_t>(m->data_len - pp.end));
}

uint8_t* open_gap(rte_mbuf* m, ParsedPacket& pp, uint16_t at, uint16_t len) {
  uint8_t* gap;
  if (rte_pktmbuf_headroom(m) >= len) {
    uint8_t* old = pkt_data(m);
    uint8_t* start = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, len));
    std::memmove(start, old, at);
    gap = start + at;
  } else if (rte_pktmbuf_tailroom(m) >= len) {
    uint16_t tail = static_cast<uint16_t>(pp.end - at);
    rte_pktmbuf_append(m, len);
    uint8_t* d = pkt_data(m);
    std::memmove(d + at + len, d + at, tail);
    gap = d + at;
  } else {
    return nullptr;
  }
  std::memset(gap, 0, len);
  pp.end = static_cast<uint16_t>(pp.end + len);
  return gap;
}

uint8_t* insert_at_payload(rte_mbuf* m, ParsedPacket& pp, uint16_t len) {
  trim_padding(m, pp);
  uint8_t* gap = open_gap(m, pp, pp.payload, len);
  if (gap) set_lengths(pkt_data(m), pp);
  return gap;
}

bool make_headroom(rte_mbuf* m, uint16_t need) {
  const uint16_t have = rte_pktmbuf_headroom(m);
  if (have >= need) [[likely]]
    return true;
  const uint16_t move = static_cast<uint16_t>(need - have), len = m->data_len;
  if (rte_pktmbuf_tailroom(m) < move) return false;
  uint8_t* old = pkt_data(m);
  std::memmove(old + move, old, len);
  m->data_off = static_cast<uint16_t>(m->data_off + move);
  return true;
}

void strip_at_payload(rte_mbuf* m, ParsedPacket& pp, uint16_t len, uint16_t trailer) {
  trim_padding(m, pp);
  if (trailer) {
    rte_pktmbuf_trim(m, trailer);
    pp.end = static_cast<uint16_t>(pp.end - trailer);
  }
  uint8_t* old = pkt_data(m);
  std::memmove(old + len, old, pp.payload);
  rte_pktmbuf_adj(m, len);
  pp.end = static_cast<uint16_t>(pp.end - len);
  set_lengths(pkt_data(m), pp);
  finish_checksums(m, pp);
}

void finish_checksums(rte_mbuf* m, const ParsedPacket& pp) {
  uint8_t* d = pkt_data(m);
  uint8_t* ip = d + pp.l3;
  store_be16(ip + 10, ipv4_header_checksum(ip));
  if (pp.proto == kProtoTcp || pp.proto == kProtoUdp)
    store_be16(d + pp.l4 + l4_check_offset(pp.proto),
               l4_checksum(ip, d + pp.l4, static_cast<uint16_t>(pp.end - pp.l4)));
}

}  // namespace wp
