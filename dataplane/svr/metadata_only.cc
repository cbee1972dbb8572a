// Metadata in a packet of its own (docs/svr-wire-format.md § Handshake, TLV 24).
//
// After a migration the handshake starts over on the new path, but the
// session is in full flow: a full-size segment has no room left for ~150
// bytes of metadata and its HMAC under the MTU. Such a packet goes out bare
// on the new path, preceded by a metadata-only packet of the same 5-tuple:
// L4 header, the block with control message TLV 24 = keep-alive (header
// section), the HMAC trailer, no data. It is signed and queued before the
// data packet, so on one path it arrives first. The receiving router acts on
// its metadata like on any other (re-bind, TLV 18 ack) and consumes it: a
// keep-alive is never forwarded to a host. The egress router answers a
// forward keep-alive at once with a reverse one carrying TLV 18, which ends
// the ingress router's forward metadata without waiting for reverse traffic.
// Per session at most one every kMetadataOnlyGapMs while the handshake is
// open, so a bulk flow does not double its packet rate.
#include <cstring>

#include "dataplane/ip/packet_edit.h"
#include "dataplane/worker/worker.h"

namespace wp {
namespace {

constexpr uint16_t kMetadataOnlyGapMs = 10;
// TLV headers and fixed values of the block, HMAC and room for TLVs other
// features add (security id, encryption flags).
constexpr uint32_t kMetadataFixedBytes = kMetadataHeaderLen + 5 + 17 + 20 + 6 * kTlvHeaderLen + kHmacTagLen + 64;

}  // namespace

bool Worker::metadata_only_due(const ParsedPacket& pp, const Session& s, const SideOut& out) const {
  if (!(s.flags & kReverseSeen)) return false;  // handshake of a new session: metadata rides inline
  const RouterModel& rm = model();
  uint32_t names =
      static_cast<uint32_t>(rm.tenants[s.tenant].size() + rm.services[s.service].name.size() + rm.name.size() +
                            rm.peers[out.peer].name.size() + rm.security[s.security].name.size());
  if (rm.security[s.security].encrypt_metadata) names += kMetadataCryptoOverhead;
  return uint32_t{pp.end} - pp.l3 + kMetadataFixedBytes + names > rm.interfaces[out.iface].mtu;
}

bool Worker::send_control_block(rte_mempool* pool, const SideOut& out, const uint8_t* block, size_t md_len) {
  const RouterModel& rm = model();
  rte_mbuf* c = pool ? rte_pktmbuf_alloc(pool) : nullptr;
  if (!c) {
    counters_->drop(DropReason::no_buffer_room);
    return false;
  }
  const bool tcp = out.tuple.proto == kProtoTcp;
  const uint16_t l4_len = tcp ? 20 : 8;
  auto* f = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(c, static_cast<uint16_t>(kEthHdrLen + 20 + l4_len)));
  if (!f) {
    rte_pktmbuf_free(c);
    counters_->drop(DropReason::no_buffer_room);
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
  uint8_t* gap = cpp.status == ParseStatus::ipv4 ? insert_at_payload(c, cpp, static_cast<uint16_t>(md_len)) : nullptr;
  if (gap) std::memcpy(gap, block, md_len);
  if (!gap || !append_hmac(c, cpp, hmac_, rm.peers[out.peer].key)) {
    rte_pktmbuf_free(c);
    counters_->drop(DropReason::no_buffer_room);
    return false;
  }
  finish_checksums(c, cpp);
  transmit(c, out.iface, out.next_hop);
  return true;
}

void Worker::send_metadata_only(rte_mempool* pool, Session& s, Dir dir, const SideOut& out) {
  if (static_cast<uint16_t>(static_cast<uint16_t>(now_ms_) - s.md_only_ms) < kMetadataOnlyGapMs) return;
  uint8_t block[kMaxMetadataLen];
  MetadataWriter w(block, sizeof block);
  w.control_message(kControlKeepAlive);
  write_session_tlvs(w, s, dir, out, true);  // the same TLVs as add_metadata's block
  size_t md_len = seal_metadata(block, w.finish(), sizeof block, s, out);
  if (md_len == 0) return counters_->drop(DropReason::no_buffer_room);
  if (!send_control_block(pool, out, block, md_len)) return;
  s.md_only_ms = static_cast<uint16_t>(now_ms_);
  counters_->add(Counter::metadata_only_sent);
  counters_->add(dir == Dir::forward ? Counter::metadata_sent : Counter::reverse_metadata_sent);
}

void Worker::consume_metadata_only(rte_mbuf* m, Session& s, Dir dir) {
  counters_->add(Counter::metadata_only_received);
  // The ingress router waits for TLV 18 on the new path: answer now.
  if (dir == Dir::forward && s.side_a_wan()) {
    s.md_only_ms = static_cast<uint16_t>(now_ms_ - kMetadataOnlyGapMs);
    send_metadata_only(m->pool, s, Dir::reverse, s.out_rev);
  }
  rte_pktmbuf_free(m);
}

}  // namespace wp
