// ESP output; see esp_output.h.
#include "dataplane/ipsec/esp_output.h"

#include "dataplane/ip/checksum.h"
#include "dataplane/ip/icmp.h"  // kIpv6MinMtu
#include "dataplane/ip/nat64_packet.h"  // l4_checksum6
#include "dataplane/ip/packet.h"        // kProtoUdp

namespace wp {
namespace {

void store16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
void store32(uint8_t* p, uint32_t v) {
  store16(p, static_cast<uint16_t>(v >> 16));
  store16(p + 2, static_cast<uint16_t>(v));
}

void write_udp(uint8_t* udp, const EspSa& sa, size_t len) {
  store16(udp, sa.local_port);
  store16(udp + 2, sa.peer_port);
  store16(udp + 4, static_cast<uint16_t>(len));
  store16(udp + 6, 0);  // RFC 3948 § 2.1: zero checksum over IPv4; over IPv6 filled in after sealing
}

void write_outer6(uint8_t* ip, const EspSa& sa, size_t total) {
  store32(ip, 0x60000000u);  // version 6, traffic class 0, no flow label
  store16(ip + 4, static_cast<uint16_t>(total - 40));
  ip[6] = sa.udp_encap ? kProtoUdp : kIpProtoEsp;
  ip[7] = 64;
  store_ipv6(ip + 8, sa.local6);
  store_ipv6(ip + 24, sa.peer6);
  if (sa.udp_encap) write_udp(ip + 40, sa, total - 40);
}

// The UDP checksum of a sealed IPv6 outer packet (the ciphertext is in it now).
void checksum_udp6(uint8_t* ip, const EspSa& sa) {
  const uint32_t len = uint32_t{ip[4]} << 8 | ip[5];
  store16(ip + 46, l4_checksum6(sa.local6, sa.peer6, kProtoUdp, ip + 40, len));
}

// The outer IPv4 header's DF (RFC 4301 § 8.1, "copy"; as Linux's XFRM by default): an inner
// IPv4 packet's own DF, so that a router that cannot forward a DF one answers Fragmentation
// Needed (the tunnel's path MTU, esp_ptb.h) and one without DF is fragmented on the way
// (the peer reassembles before opening it); an inner IPv6 packet's is set above 1280 bytes
// and clear at or below (RFC 4213 § 3.2: IPv6 is never fragmented on its path, but the
// 1280 bytes every IPv6 link carries must cross the tunnel even when sealed they do not fit).
bool outer_df(const uint8_t* inner, size_t len) {
  if ((inner[0] >> 4) == 6) return len > kIpv6MinMtu;
  return (inner[6] & 0x40) != 0;
}

void write_outer(uint8_t* ip, const EspSa& sa, size_t total, bool df, uint64_t seq) {
  if (sa.outer6) return write_outer6(ip, sa, total);
  ip[0] = 0x45;
  ip[1] = 0;
  store16(ip + 2, static_cast<uint16_t>(total));
  // The id: the sequence number's low 16 bits, different for each of an SA's packets in a row,
  // so that fragments a router makes of one without DF are told apart (RFC 6864 § 4.1).
  store16(ip + 4, static_cast<uint16_t>(seq));
  store16(ip + 6, df ? 0x4000 : 0);
  ip[8] = 64;
  ip[9] = sa.udp_encap ? kProtoUdp : kIpProtoEsp;
  store16(ip + 10, 0);
  store32(ip + 12, sa.local);
  store32(ip + 16, sa.peer);
  store16(ip + 10, ipv4_header_checksum(ip));
  if (sa.udp_encap) write_udp(ip + 20, sa, total - 20);
}

// SA, MTU, sequence number, then the layout around the inner packet. False:
// out.drop set (and the SA's drop counted when there was one).
bool prepare(IvSource& ivs, const EspSaTable& table, EspWorkerState& state, rte_mbuf* m, uint16_t tunnel,
             EspResult& out, EspOp& op, EspSaState*& st, const EspSa*& chosen) {
  const EspSa* sa = chosen = state.sealing(table, tunnel);
  if (!sa) return out.drop = DropReason::esp_no_sa, false;
  st = &state.of(table, *sa);
  const EspCipher c = sa->keys.cipher;
  const size_t inner = rte_pktmbuf_pkt_len(m);
  if (inner > table.tunnel(uint32_t{tunnel})->mtu) return out.drop = DropReason::esp_too_big, false;
  const size_t front = esp_overhead_front(*sa), pad = esp_pad_len(c, inner);
  const size_t back = pad + kEspTrailerMin + kEspIcvLen;
  if (!rte_pktmbuf_is_contiguous(m) || rte_pktmbuf_headroom(m) < front || rte_pktmbuf_tailroom(m) < back)
    return out.drop = DropReason::esp_no_room, false;
  uint64_t seq = 0;
  if (!esp_seq_next(st->seq_out, sa->keys.esn, seq)) return out.drop = DropReason::esp_seq_exhausted, false;
  state.mark(table, *sa, seq);
  uint8_t* tail = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, static_cast<uint16_t>(back)));
  // Tunnel mode carries either family (RFC 4303 § 2.5): the inner header's version says which.
  const uint8_t* in = rte_pktmbuf_mtod(m, const uint8_t*);
  const bool inner6 = (in[0] >> 4) == 6;
  const bool df = outer_df(in, inner);
  esp_write_trailer(tail, pad, inner6 ? kEspNextIpv6 : kEspNextIpv4);
  uint8_t* ip = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, static_cast<uint16_t>(front)));
  write_outer(ip, *sa, rte_pktmbuf_pkt_len(m), df, seq);
  uint8_t* esp = ip + esp_outer_header_len(*sa) + (sa->udp_encap ? 8 : 0);
  store32(esp, sa->spi);
  store32(esp + 4, static_cast<uint32_t>(seq));
  if (c == EspCipher::aes256_gcm16) {
    store32(esp + 8, static_cast<uint32_t>(seq >> 32));
    store32(esp + 12, static_cast<uint32_t>(seq));
  } else {
    ivs.next(esp + 8);
  }
  op.pkt = esp;
  op.len = static_cast<uint32_t>(rte_pktmbuf_pkt_len(m) - (esp - ip));
  op.seq = seq;
  op.keys = &sa->keys;
  out.tunnel = tunnel;
  return true;
}

}  // namespace

void esp_output_burst(CryptoEngine& eng, IvSource& ivs, const EspSaTable& table, EspWorkerState& state,
                      rte_mbuf** pkts, const uint16_t* tunnels, uint16_t n, EspResult* out) {
  constexpr uint16_t kBurst = CryptoEngine::kMaxBurst;
  for (; n > kBurst; pkts += kBurst, tunnels += kBurst, out += kBurst, n = static_cast<uint16_t>(n - kBurst))
    esp_output_burst(eng, ivs, table, state, pkts, tunnels, kBurst, out);
  EspOp ops[CryptoEngine::kMaxBurst];
  EspSaState* sts[CryptoEngine::kMaxBurst];
  const EspSa* sas[CryptoEngine::kMaxBurst];
  uint16_t index[CryptoEngine::kMaxBurst];
  uint32_t inner_len[CryptoEngine::kMaxBurst];
  uint16_t k = 0;
  for (uint16_t i = 0; i < n; ++i) {
    out[i] = EspResult{};
    EspSaState* st = nullptr;
    inner_len[k] = rte_pktmbuf_pkt_len(pkts[i]);
    if (prepare(ivs, table, state, pkts[i], tunnels[i], out[i], ops[k], st, sas[k])) {
      sts[k] = st;
      index[k++] = i;
    } else if (st) {
      st->count_drop(out[i].drop);
    }
  }
  if (k) esp_seal_burst(eng, ops, k);
  for (uint16_t j = 0; j < k; ++j) {
    if (ops[j].ok) {
      if (sas[j]->outer6 && sas[j]->udp_encap) checksum_udp6(rte_pktmbuf_mtod(pkts[index[j]], uint8_t*), *sas[j]);
      out[index[j]].ok = true;
      sts[j]->count(inner_len[j]);
    } else {
      out[index[j]].drop = DropReason::esp_seal_failed;
      sts[j]->count_drop(out[index[j]].drop);
    }
  }
}

}  // namespace wp
