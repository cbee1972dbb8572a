// ICMP errors carried through an SVR session; see icmp_error_carrier.h.
#include "dataplane/svr/icmp_error_carrier.h"

#include "dataplane/crypto/hmac.h"
#include "dataplane/ip/packet_edit.h"
#include "dataplane/svr/crypto_batch.h"
#include "dataplane/svr/metadata_only.h"
#include "dataplane/svr/session_tlvs.h"

namespace wp {

bool IcmpErrorCarrier::carry(rte_mempool* pool, Session& s, Dir about, const IcmpErrorLocation& location,
                             const uint8_t* msg, uint32_t len) {
  const Dir back = other_dir(about);
  const SideOut& out = back == Dir::forward ? s.out_fwd : s.out_rev;
  if (out.peer < 0 || out.iface < 0) return false;  // no WAN leg that way
  if (!rate_.take(ctx_.now_ms, kIcmpErrorRate, kIcmpErrorRateBurst)) {
    ctx_.counters->add(rate_limited_);
    return false;
  }
  const RouterModel& rm = ctx_.rm();
  uint8_t block[kMaxMetadataLen];
  MetadataWriter w(block, sizeof block);
  const PairKey& key = ctx_.md_key(s, CryptoBatch::leaving_side(back), out.peer);
  write_key_tlvs(w, rm.peers[static_cast<size_t>(out.peer)], key.version, rm.security[s.security].encrypt_metadata);
  w.control_message(kControlKeepAlive);  // consumed by a router that does not know TLV 20/21
  w.raw_tlv(location.tlv, location.addr, location.len, true);
  w.uuid(s.uuid);
  const size_t md_len = crypto_.seal_metadata(block, w.finish(), sizeof block, s, back, out);
  if (md_len == 0 || !metadata_only_.send_block(pool, out, key, block, md_len, msg, len)) return false;
  ctx_.counters->add(carried_);
  return true;
}

CarriedError carried_error(rte_mbuf* m, const ParsedPacket& pp, const Metadata& md) {
  return {pkt_data(m) + pp.payload + md.block_len(),
          pp.payload_len() - static_cast<int>(md.block_len()) - static_cast<int>(kHmacTagLen)};
}

}  // namespace wp
