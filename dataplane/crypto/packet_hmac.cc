// The HMAC trailer on a packet; see packet_hmac.h.
#include "dataplane/crypto/packet_hmac.h"

#include "dataplane/ip/packet.h"

namespace wp {

uint8_t* reserve_hmac(rte_mbuf* m, ParsedPacket& pp) {
  trim_padding(m, pp);
  if (rte_pktmbuf_tailroom(m) < kHmacTagLen) return nullptr;
  uint8_t* d = pkt_data(m);
  store_be16(d + pp.l4 + l4_check_offset(pp.proto), 0);
  uint8_t* tag = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, kHmacTagLen));
  pp.end = static_cast<uint16_t>(pp.end + kHmacTagLen);
  set_lengths(d, pp);
  return tag;
}

bool append_hmac(rte_mbuf* m, ParsedPacket& pp, HmacEngine& hmac, const HmacKey& key) {
  uint8_t* tag = reserve_hmac(m, pp);
  if (!tag) return false;
  uint8_t* d = pkt_data(m);
  hmac.sign(key, d + pp.l4, pp.end - kHmacTagLen - pp.l4, tag);
  return true;
}

bool verify_hmac(rte_mbuf* m, const ParsedPacket& pp, HmacEngine& hmac, const HmacKey& key) {
  if (pp.end - pp.payload < static_cast<int>(kHmacTagLen)) return false;
  uint8_t* d = pkt_data(m);
  uint8_t* check = d + pp.l4 + l4_check_offset(pp.proto);
  uint8_t saved[2] = {check[0], check[1]};
  check[0] = check[1] = 0;
  bool ok = hmac.verify(key, d + pp.l4, pp.end - pp.l4 - kHmacTagLen, d + pp.end - kHmacTagLen);
  check[0] = saved[0];
  check[1] = saved[1];
  return ok;
}

}  // namespace wp
