// ESP input; see esp_input.h.
#include "dataplane/ipsec/esp_input.h"

#include <rte_byteorder.h>

#include <cstring>

#include "dataplane/ip/nat64_packet.h"  // l4_checksum6
#include "dataplane/ip/packet.h"        // kProtoUdp

namespace wp {
namespace {

constexpr size_t kUdpLen = 8;
constexpr size_t kIpv6HeaderLen = 40;

uint32_t load32(const uint8_t* p) { return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3]; }
uint16_t load16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

// Where ESP starts in the outer packet (0 when it is not ESP) and how long
// the outer header says the packet is.
struct Outer {
  size_t esp_off = 0;
  size_t len = 0;
  bool v6 = false;
};

// An IPv6 outer header (docs/ipsec.md § IPv6 outer addresses): ESP or UDP
// 4500 right after the fixed header; behind an extension header (a fragment
// included: never opened as is) it is not ESP to us.
Outer outer6_of(const uint8_t* ip, size_t len) {
  Outer o{0, kIpv6HeaderLen + load16(ip + 4), true};
  if (len < kIpv6HeaderLen + kEspHeaderLen) return o;
  if (ip[6] == kIpProtoEsp) return o.esp_off = kIpv6HeaderLen, o;
  if (ip[6] != kProtoUdp || len < kIpv6HeaderLen + kUdpLen + kEspHeaderLen) return o;
  if (load16(ip + kIpv6HeaderLen + 2) == kIkeNattPort) o.esp_off = kIpv6HeaderLen + kUdpLen;
  return o;
}

Outer outer_of(const uint8_t* ip, size_t len) {
  if (len >= kIpv6HeaderLen && (ip[0] >> 4) == 6) return outer6_of(ip, len);
  if (len < 20 || (ip[0] >> 4) != 4) return {};
  Outer o{0, load16(ip + 2), false};
  const size_t ihl = size_t{ip[0] & 0x0fu} * 4;
  if (ihl < 20 || len < ihl + kEspHeaderLen) return o;
  if (load16(ip + 6) & 0x3fff) return o;  // a fragment: reassembled before dispatch, never opened as is
  if (ip[9] == kIpProtoEsp) return o.esp_off = ihl, o;
  if (ip[9] != kProtoUdp || len < ihl + kUdpLen + kEspHeaderLen) return o;
  if (load16(ip + ihl + 2) == kIkeNattPort) o.esp_off = ihl + kUdpLen;
  return o;
}

// The outer addresses against the SA's: from its peer, to its local address
// (any of ours when it has none), in its family. False: `why` set.
bool outer_matches(const uint8_t* ip, bool v6, const EspSa& sa, DropReason& why) {
  why = DropReason::esp_wrong_peer;
  if (v6 != sa.outer6) return false;
  if (v6) {
    if (load_ipv6(ip + 8) != sa.peer6) return false;
    why = DropReason::esp_wrong_local;
    return sa.local6.is_unspecified() || load_ipv6(ip + 24) == sa.local6;
  }
  if (load32(ip + 12) != sa.peer) return false;
  // Bound to the address its IKE SA was negotiated on (a site with a tunnel
  // to each of two headend addresses: docs/ipsec.md § Dynamic routing over tunnels).
  why = DropReason::esp_wrong_local;
  return sa.local == 0 || load32(ip + 16) == sa.local;
}

// UDP over IPv6 carries a checksum that verifies (RFC 8200 § 8.1; we take no
// zero checksum, RFC 6935/6936 being for tunnels that agreed on it).
bool udp6_checksum_ok(const uint8_t* ip, size_t ip_len) {
  const uint8_t* udp = ip + kIpv6HeaderLen;
  const uint16_t stored = load16(udp + 6);
  const auto len = static_cast<uint32_t>(ip_len - kIpv6HeaderLen);
  return stored != 0 && load16(udp + 4) == len &&
         l4_checksum6(load_ipv6(ip + 8), load_ipv6(ip + 24), kProtoUdp, udp, len) == stored;
}

// Per packet between the checks before and after the crypto burst.
struct Pending {
  uint16_t index;  // in pkts
  uint16_t esp_off;
  const EspSa* sa;
  EspSaState* st;
};

// Length rules of § 2.4: at least one block of payload+trailer, whole blocks.
bool esp_length_ok(EspCipher c, size_t esp_len) {
  const size_t fixed = kEspHeaderLen + esp_iv_len(c) + kEspIcvLen;
  if (esp_len < fixed + esp_block(c)) return false;
  return (esp_len - fixed) % esp_block(c) == 0;
}

DropReason replay_drop(EspReplay r) { return r == EspReplay::replayed ? DropReason::esp_replayed : DropReason::esp_too_old; }

// Lookup, peer and replay checks; fills the crypto op. False: out.drop set.
bool check_before_open(const EspSaTable& table, EspWorkerState& state, rte_mbuf* m, EspResult& out, Pending& p,
                       EspOp& op) {
  if (!rte_pktmbuf_is_contiguous(m)) return false;  // esp_malformed
  uint8_t* ip = rte_pktmbuf_mtod(m, uint8_t*);
  const Outer o = outer_of(ip, m->data_len);
  const size_t off = o.esp_off, ip_len = o.len;
  if (off == 0 || ip_len > m->data_len || ip_len < off + kEspHeaderLen) return false;
  const EspSa* sa = table.inbound(load32(ip + off));
  if (!sa) return out.drop = DropReason::esp_unknown_spi, false;
  EspSaState& st = state.of(table, *sa);
  p = {0, static_cast<uint16_t>(off), sa, &st};
  if (DropReason why; !outer_matches(ip, o.v6, *sa, why)) return out.drop = why, false;
  if (o.v6 && off == kIpv6HeaderLen + kUdpLen && !udp6_checksum_ok(ip, ip_len))
    return out.drop = DropReason::esp_udp6_checksum, false;
  if (!esp_length_ok(sa->keys.cipher, ip_len - off)) return false;
  const uint64_t seq = esn_infer(st.replay, load32(ip + off + 4), sa->keys.esn);
  if (EspReplay r = esn_check(st.replay, seq); r != EspReplay::fresh) return out.drop = replay_drop(r), false;
  if (ip_len < m->data_len) rte_pktmbuf_trim(m, static_cast<uint16_t>(m->data_len - ip_len));  // Ethernet padding
  op.pkt = ip + off;
  op.len = static_cast<uint32_t>(ip_len - off);
  op.seq = seq;
  op.keys = &sa->keys;
  return true;
}

// The inner packet's length by its own header, 0 when the header does not
// match the next header (4: IPv4, 41: IPv6, RFC 4303 § 2.5) or claims more
// than the payload holds.
size_t inner_length(const uint8_t* plain, const EspTrailerInfo& t) {
  if (t.next_header == kEspNextIpv6) {
    if (t.payload_len < kIpv6HeaderLen || (plain[0] >> 4) != 6) return 0;
    const size_t len = kIpv6HeaderLen + load16(plain + 4);  // RFC 8200 § 3: payload length
    return len <= t.payload_len ? len : 0;
  }
  const size_t len = t.payload_len >= 20 ? load16(plain + 2) : 0;
  if ((plain[0] >> 4) != 4 || (plain[0] & 0x0f) < 5 || len < size_t{plain[0] & 0x0fu} * 4 || len > t.payload_len)
    return 0;
  return len;
}

// After the ICV verified: window, trailer, inner header, strip.
bool check_after_open(const EspSaTable& table, EspWorkerState& state, rte_mbuf* m, const Pending& p, const EspOp& op,
                      EspResult& out) {
  if (EspReplay r = esn_check(p.st->replay, op.seq); r != EspReplay::fresh)  // twice in one burst
    return out.drop = replay_drop(r), false;
  esn_update(p.st->replay, op.seq);
  state.mark(table, *p.sa, p.st->replay.top);
  const size_t head = p.esp_off + kEspHeaderLen + esp_iv_len(p.sa->keys.cipher);
  uint8_t* plain = rte_pktmbuf_mtod(m, uint8_t*) + head;
  EspTrailerInfo t;
  switch (esp_read_trailer(plain, op.len - (head - p.esp_off) - kEspIcvLen, t)) {
    case EspTrailer::ok: break;
    case EspTrailer::dummy: return out.drop = DropReason::esp_dummy, false;
    case EspTrailer::bad_next_header: return out.drop = DropReason::esp_bad_next_header, false;
    default: return out.drop = DropReason::esp_bad_padding, false;
  }
  const size_t inner_len = inner_length(plain, t);
  if (inner_len == 0) return out.drop = DropReason::esp_inner_malformed, false;
  rte_pktmbuf_adj(m, static_cast<uint16_t>(head));
  rte_pktmbuf_trim(m, static_cast<uint16_t>(m->data_len - inner_len));
  p.st->count(inner_len);
  out = {true, DropReason::esp_malformed, p.sa->tunnel, t.next_header == kEspNextIpv6};
  return true;
}

}  // namespace

uint32_t esp_spi(const uint8_t* ip, size_t len) {
  const size_t off = outer_of(ip, len).esp_off;
  return off ? load32(ip + off) : 0;
}

void esp_input_burst(CryptoEngine& eng, const EspSaTable& table, EspWorkerState& state, rte_mbuf** pkts,
                     uint16_t n, EspResult* out) {
  constexpr uint16_t kBurst = CryptoEngine::kMaxBurst;
  for (; n > kBurst; pkts += kBurst, out += kBurst, n = static_cast<uint16_t>(n - kBurst))
    esp_input_burst(eng, table, state, pkts, kBurst, out);
  EspOp ops[CryptoEngine::kMaxBurst];
  Pending pending[CryptoEngine::kMaxBurst];
  uint16_t k = 0;
  for (uint16_t i = 0; i < n; ++i) {
    out[i] = EspResult{};
    Pending p{};
    if (check_before_open(table, state, pkts[i], out[i], p, ops[k])) {
      p.index = i;
      pending[k++] = p;
    } else if (p.st) {
      p.st->count_drop(out[i].drop);
    }
  }
  if (k) esp_open_burst(eng, ops, k);
  for (uint16_t j = 0; j < k; ++j) {
    const Pending& p = pending[j];
    if (!ops[j].ok) out[p.index].drop = DropReason::esp_auth_failed;
    if (!ops[j].ok || !check_after_open(table, state, pkts[p.index], p, ops[j], out[p.index]))
      p.st->count_drop(out[p.index].drop);
  }
}

}  // namespace wp
