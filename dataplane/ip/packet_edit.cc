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

void rewrite_tuple(rte_mbuf* m, ParsedPacket& pp, const FiveTuple& to) {
  uint8_t* d = pkt_data(m);
  if (pp.proto == kProtoIcmp) return rewrite_icmp_echo(d + pp.l3, d + pp.l4, pp, to);
  uint8_t* ip = d + pp.l3;
  uint8_t* l4 = d + pp.l4;
  uint16_t ipcheck = load_be16(ip + 10);
  uint16_t l4off = l4_check_offset(pp.proto);
  uint16_t l4check = load_be16(l4 + l4off);
  bool l4_has_check = !(pp.proto == kProtoUdp && l4check == 0);  // UDP checksum 0 = none

  // TTL shares a word with the protocol byte.
  uint16_t old_ttl_word = load_be16(ip + 8);
  ip[8] = static_cast<uint8_t>(ip[8] - 1);
  ipcheck = csum_update16(ipcheck, old_ttl_word, load_be16(ip + 8));
  if (pp.src != to.src) {
    ipcheck = csum_update32(ipcheck, pp.src, to.src);
    l4check = csum_update32(l4check, pp.src, to.src);
    store_be32(ip + 12, to.src);
  }
  if (pp.dst != to.dst) {
    ipcheck = csum_update32(ipcheck, pp.dst, to.dst);
    l4check = csum_update32(l4check, pp.dst, to.dst);
    store_be32(ip + 16, to.dst);
  }
  if (pp.sport != to.sport) {
    l4check = csum_update16(l4check, pp.sport, to.sport);
    store_be16(l4, to.sport);
  }
  if (pp.dport != to.dport) {
    l4check = csum_update16(l4check, pp.dport, to.dport);
    store_be16(l4 + 2, to.dport);
  }
  store_be16(ip + 10, ipcheck);
  if (l4_has_check) store_be16(l4 + l4off, pp.proto == kProtoUdp && l4check == 0 ? 0xffff : l4check);
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
