// Encryption packet edits; see crypto_edit.h.
#include "dataplane/crypto_edit.h"

#include <cstring>

#include "dataplane/checksum.h"
#include "dataplane/crypto_engine.h"
#include "dataplane/packet_edit.h"

namespace wp {
namespace {

void set_lengths(uint8_t* d, const ParsedPacket& pp) {
  store_be16(d + pp.l3 + 2, static_cast<uint16_t>(pp.end - pp.l3));
  if (pp.proto == kProtoUdp) store_be16(d + pp.l4 + 4, static_cast<uint16_t>(pp.end - pp.l4));
}

// Opens `len` zeroed bytes at absolute offset `at`; headers move towards the
// headroom when there is room (they are short), else the tail moves.
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

}  // namespace

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

bool clamp_mss(rte_mbuf* m, const ParsedPacket& pp, uint16_t max_mss) {
  if (pp.proto != kProtoTcp || !(pp.tcp_flags & kTcpSyn)) return false;
  uint8_t* d = pkt_data(m);
  uint8_t* opt = d + pp.l4 + 20;
  uint8_t* end = d + pp.payload;
  while (opt < end) {
    uint8_t kind = opt[0];
    if (kind == 0) break;  // end of options
    if (kind == 1) {       // no-op
      ++opt;
      continue;
    }
    if (opt + 1 >= end || opt[1] < 2 || opt + opt[1] > end) break;
    if (kind == 2 && opt[1] == 4) {
      uint16_t mss = load_be16(opt + 2);
      if (mss <= max_mss) return false;
      store_be16(opt + 2, max_mss);
      // A NOP before it can put the value at an odd offset, where an
      // incremental update would be wrong; SYNs are rare, recompute.
      finish_checksums(m, pp);
      return true;
    }
    opt += opt[1];
  }
  return false;
}

}  // namespace wp
