// Metadata-only packets; see metadata_only.h.
#include "dataplane/svr/metadata_only.h"

#include <cstring>

#include "dataplane/control/waypoint6_addr.h"
#include "dataplane/crypto/packet_hmac.h"
#include "dataplane/ip/packet_edit.h"
#include "dataplane/svr/session_tlvs.h"
#include "dataplane/svr/svr6_lan.h"
#include "dataplane/svr/waypoint6.h"
#include "dataplane/worker/qos_tx.h"

namespace wp {
namespace {

// TLV headers and fixed values of the block, HMAC and room for TLVs other
// features add (security id, encryption flags).
constexpr uint32_t kMetadataFixedBytes = kMetadataHeaderLen + 5 + 17 + 20 + 6 * kTlvHeaderLen + kHmacTagLen + 64;

}  // namespace

bool MetadataOnly::due(const ParsedPacket& pp, const Session& s, const SideOut& out) const {
  if (!(s.flags & kReverseSeen)) return false;  // handshake of a new session: metadata rides inline
  const RouterModel& rm = ctx_.rm();
  uint32_t names =
      static_cast<uint32_t>(rm.tenants[s.tenant].size() + rm.services[s.service].name.size() + rm.name.size() +
                            rm.peers[out.peer].name.size() + rm.security[s.security].name.size());
  if (rm.security[s.security].encrypt_metadata) names += kMetadataCryptoOverhead;
  return uint32_t{pp.end} - pp.l3 + kMetadataFixedBytes + names > rm.interfaces[out.iface].mtu;
}

bool MetadataOnly::send_block(rte_mempool* pool, const SideOut& out, const PairKey& key, const uint8_t* block,
                              size_t md_len, const uint8_t* data, size_t data_len) {
  rte_mbuf* c = pool ? rte_pktmbuf_alloc(pool) : nullptr;
  if (!c) {
    ctx_.counters->drop(DropReason::no_buffer_room);
    return false;
  }
  set_qos_class(c, static_cast<uint8_t>(QosClass::network_control));  // signalling, not data
  const bool tcp = out.tuple.proto == kProtoTcp;
  const uint16_t l4_len = tcp ? 20 : 8;
  auto* f = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(c, static_cast<uint16_t>(kEthHdrLen + 20 + l4_len)));
  if (!f) {
    rte_pktmbuf_free(c);
    ctx_.counters->drop(DropReason::no_buffer_room);
    return false;
  }
  std::memset(f, 0, kEthHdrLen + 20 + l4_len);
  store_be16(f + 12, kEtherTypeIpv4);
  uint8_t* ip = f + kEthHdrLen;
  ip[0] = 0x45;
  store_be16(ip + 2, static_cast<uint16_t>(20 + l4_len));
  store_be16(ip + 6, 0x4000);
  ip[8] = 64;
  ip[9] = out.tuple.proto;
  store_be32(ip + 12, out.tuple.src);
  store_be32(ip + 16, out.tuple.dst);
  uint8_t* l4 = ip + 20;
  store_be16(l4, out.tuple.sport);
  store_be16(l4 + 2, out.tuple.dport);
  if (tcp) {
    l4[12] = 5 << 4;
    l4[13] = kTcpAck;
  } else {
    store_be16(l4 + 4, 8);
  }
  ParsedPacket cpp = parse_packet(f, c->data_len);
  uint8_t* gap = cpp.status == ParseStatus::ipv4
                     ? insert_at_payload(c, cpp, static_cast<uint16_t>(md_len + data_len))
                     : nullptr;
  if (gap) {
    std::memcpy(gap, block, md_len);
    if (data_len) std::memcpy(gap + md_len, data, data_len);
  }
  if (!gap || !append_hmac(c, cpp, crypto_.hmac(), key.mac)) {
    rte_pktmbuf_free(c);
    ctx_.counters->drop(DropReason::no_buffer_room);
    return false;
  }
  finish_checksums(c, cpp);
  if (is_waypoint6_standin(out.next_hop)) [[unlikely]] {  // to a peer's IPv6 waypoint (svr/waypoint6.h)
    fragments_.transmit(c, parse_packet(pkt_data(c), c->data_len), out.iface, out.next_hop);
    return true;
  }
  tx_.transmit(c, out.iface, out.next_hop);
  return true;
}

void MetadataOnly::send(rte_mempool* pool, Session& s, Dir dir, const SideOut& out) {
  if (static_cast<uint16_t>(static_cast<uint16_t>(ctx_.now_ms) - s.md_only_ms) < kGapMs) return;
  uint8_t block[kMaxMetadataLen];
  MetadataWriter w(block, sizeof block);
  const PairKey& key = ctx_.md_key(s, CryptoBatch::leaving_side(dir), out.peer);
  write_key_tlvs(w, ctx_.rm().peers[out.peer], key.version, ctx_.rm().security[s.security].encrypt_metadata);
  w.control_message(kControlKeepAlive);
  write_session_tlvs(w, ctx_.rm(), s, dir, out, true, ctx_.svr6 ? ctx_.svr6->context_of(s) : nullptr);  // the same TLVs as add_metadata's block
  write_app_tlv(w, ctx_.apps.get(), s, dir);
  size_t md_len = crypto_.seal_metadata(block, w.finish(), sizeof block, s, dir, out);
  if (md_len == 0) return ctx_.counters->drop(DropReason::no_buffer_room);
  if (!send_block(pool, out, key, block, md_len)) return;
  s.md_only_ms = static_cast<uint16_t>(ctx_.now_ms);
  ctx_.counters->add(Counter::metadata_only_sent);
  ctx_.counters->add(dir == Dir::forward ? Counter::metadata_sent : Counter::reverse_metadata_sent);
}

bool MetadataOnly::send_now(rte_mempool* pool, Session& s) {
  const uint64_t sent = ctx_.counters->get(Counter::metadata_only_sent);
  s.md_only_ms = static_cast<uint16_t>(ctx_.now_ms - kGapMs);
  send(pool, s, Dir::forward, s.out_fwd);
  return ctx_.counters->get(Counter::metadata_only_sent) != sent;
}

void MetadataOnly::consume(rte_mbuf* m, Session& s, Dir dir) {
  ctx_.counters->add(Counter::metadata_only_received);
  // The ingress router waits for TLV 18 on the new path: answer now.
  if (dir == Dir::forward && s.side_a_wan()) {
    s.md_only_ms = static_cast<uint16_t>(ctx_.now_ms - kGapMs);
    send(m->pool, s, Dir::reverse, s.out_rev);
  }
  rte_pktmbuf_free(m);
}

}  // namespace wp
