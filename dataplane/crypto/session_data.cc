// Encryption packet edits; see crypto/session_data.h.
#include "dataplane/crypto/session_data.h"

#include <cstring>

#include "dataplane/crypto/engine.h"
#include "dataplane/crypto/packet_hmac.h"
#include "dataplane/ip/checksum.h"
#include "dataplane/ip/packet_edit.h"

namespace wp {

bool prepare_seal(rte_mbuf* m, ParsedPacket& pp, uint16_t md_len, bool encrypt, uint16_t seq_len, SealLayout& out) {
  trim_padding(m, pp);
  out = SealLayout{};
  uint16_t data_at = static_cast<uint16_t>(pp.payload + md_len);
  uint16_t data_len = static_cast<uint16_t>(pp.end - data_at);
  if (encrypt && data_len > 0) {
    uint16_t pad = static_cast<uint16_t>(kAesBlock - data_len % kAesBlock);  // 1..16, PKCS#7
    if (rte_pktmbuf_tailroom(m) < pad + kHmacTagLen + (rte_pktmbuf_headroom(m) >= kAesBlock ? 0 : kAesBlock))
      return false;
    uint8_t* iv = open_gap(m, pp, data_at, kAesBlock);
    if (!iv) return false;
    uint8_t* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, pad));
    std::memset(p, pad, pad);
    pp.end = static_cast<uint16_t>(pp.end + pad);
    out.iv = pkt_data(m) + data_at;
    out.cipher_off = static_cast<uint16_t>(data_at + kAesBlock - pp.l4);
    out.cipher_len = static_cast<uint16_t>(data_len + pad);
  }
  if (seq_len) {
    if (rte_pktmbuf_tailroom(m) < seq_len + kHmacTagLen) return false;
    out.seq = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, seq_len));
    pp.end = static_cast<uint16_t>(pp.end + seq_len);
  }
  return reserve_hmac(m, pp) != nullptr;  // fixes the lengths
}

bool open_layout(rte_mbuf* m, const ParsedPacket& pp, uint16_t md_len, uint16_t trailer, uint16_t seq_len,
                 bool encrypted, SealLayout& out) {
  out = SealLayout{};
  int data_len = pp.end - pp.payload - md_len - trailer;
  if (data_len < 0) return false;
  if (seq_len) out.seq = pkt_data(m) + pp.end - trailer;
  if (!encrypted || data_len == 0) return true;
  if (data_len < static_cast<int>(2 * kAesBlock) || data_len % kAesBlock != 0) return false;
  uint16_t data_at = static_cast<uint16_t>(pp.payload + md_len);
  out.iv = pkt_data(m) + data_at;
  out.cipher_off = static_cast<uint16_t>(data_at + kAesBlock - pp.l4);
  out.cipher_len = static_cast<uint16_t>(data_len - kAesBlock);
  return true;
}

bool finish_open(rte_mbuf* m, ParsedPacket& pp, uint16_t md_len, uint16_t trailer, const SealLayout& l) {
  trim_padding(m, pp);
  uint16_t pad = 0;
  if (l.cipher_len != 0) {
    pad = pkcs7_pad_len(pkt_data(m) + pp.end - trailer - 1);
    if (pad == 0) return false;
  }
  uint16_t cut = static_cast<uint16_t>(trailer + pad);
  if (cut) {
    rte_pktmbuf_trim(m, cut);
    pp.end = static_cast<uint16_t>(pp.end - cut);
  }
  if (l.cipher_len != 0) {
    uint16_t iv_at = static_cast<uint16_t>(pp.payload + md_len);
    uint8_t* old = pkt_data(m);
    std::memmove(old + kAesBlock, old, iv_at);
    rte_pktmbuf_adj(m, kAesBlock);
    pp.end = static_cast<uint16_t>(pp.end - kAesBlock);
  }
  set_lengths(pkt_data(m), pp);
  finish_checksums(m, pp);
  return true;
}

namespace {

// The MSS option (kind 2, length 4) among the TCP options in [opt, end), null when there is none.
uint8_t* find_mss_option(uint8_t* opt, const uint8_t* end) {
  while (opt < end) {
    uint8_t kind = opt[0];
    if (kind == 0) break;  // end of options
    if (kind == 1) {       // no-op
      ++opt;
      continue;
    }
    if (opt + 1 >= end || opt[1] < 2 || opt + opt[1] > end) break;
    if (kind == 2 && opt[1] == 4) return opt;
    opt += opt[1];
  }
  return nullptr;
}

}  // namespace

bool clamp_mss(rte_mbuf* m, const ParsedPacket& pp, uint16_t max_mss) {
  if (pp.proto != kProtoTcp || !(pp.tcp_flags & kTcpSyn)) return false;
  uint8_t* d = pkt_data(m);
  uint8_t* opt = find_mss_option(d + pp.l4 + 20, d + pp.payload);
  if (!opt || load_be16(opt + 2) <= max_mss) return false;
  store_be16(opt + 2, max_mss);
  // A NOP before it can put the value at an odd offset, where an
  // incremental update would be wrong; SYNs are rare, recompute.
  finish_checksums(m, pp);
  return true;
}

bool clamp_mss6(rte_mbuf* m, const Ipv6View& v, uint16_t max_mss) {
  if (v.proto != kProtoTcp || !(v.tcp_flags & kTcpSyn)) return false;
  uint8_t* d = pkt_data(m);
  uint8_t* opt = find_mss_option(d + v.l4 + 20, d + v.payload);
  if (!opt) return false;
  const uint16_t old = load_be16(opt + 2);
  if (old <= max_mss) return false;
  store_be16(opt + 2, max_mss);
  // RFC 1624 update of the TCP checksum (the IPv6 pseudo-header does not
  // change). A value at an odd offset from the TCP header straddles two
  // checksum words: its bytes count swapped there, so swap both values.
  const bool odd = (opt + 2 - (d + v.l4)) & 1;
  auto swap = [](uint16_t x) { return static_cast<uint16_t>(x << 8 | x >> 8); };
  uint8_t* check = d + v.l4 + 16;
  store_be16(check, csum_update16(load_be16(check), odd ? swap(old) : old, odd ? swap(max_mss) : max_mss));
  return true;
}

}  // namespace wp
