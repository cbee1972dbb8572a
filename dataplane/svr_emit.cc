// Emitting a session packet on its way out (SVR.md § First packet steps 1-4,
// § Handshake, cookie false positive).
//
// Forward packets leave on side B, reverse packets on side A. Leaving on a
// WAN leg, a packet carries metadata while that leg's handshake is open:
// forward metadata until the peer's reverse metadata brought TLV 18, reverse
// metadata (with TLV 18) until a forward packet arrived without metadata.
// Otherwise it carries only the NAT rewrite (incremental checksums), except
// that data which itself begins with the cookie gets the bare 12-byte marker
// so the next hop does not mistake it for metadata. Metadata packets are
// signed at the end of the burst, all together (sign_pending), so IPsec-MB's
// multi-buffer lanes run full instead of flushing one job at a time.
#include <cstring>

#include "dataplane/packet_edit.h"
#include "dataplane/worker.h"

namespace wp {

void Worker::emit(rte_mbuf* m, ParsedPacket& pp, Session& s, Dir dir) {
  const SideOut& out = dir == Dir::forward ? s.out_fwd : s.out_rev;
  if (pp.ttl <= 1) return drop(m, DropReason::ttl_expired);
  size_t d = static_cast<size_t>(dir);
  s.packets[d]++;
  s.bytes[d] += pp.end - pp.l3;
  s.last_ms = now_ms_;
  if (dir == Dir::reverse) s.flags |= kReverseSeen;
  if (pp.proto == kProtoTcp) {
    if (pp.tcp_flags & kTcpRst) s.flags |= kRst;
    if (pp.tcp_flags & kTcpFin) s.flags |= dir == Dir::forward ? kFinFwd : kFinRev;
  }
  if (!(s.flags & kEstablished)) [[unlikely]]
    note_established(s);

  rewrite_tuple(m, pp, out.tuple);
  bool need_md = false;
  if (out.peer >= 0) {
    need_md = dir == Dir::forward ? !(s.flags & kFwdMdAcked) : (s.flags & kRevMdPending) != 0;
    if (need_md && metadata_only_due(pp, s, out)) {  // #9 paths: no room after a migration
      send_metadata_only(m->pool, s, dir, out);
      need_md = false;
    } else if (need_md) {
      if (!add_metadata(m, pp, s, dir, out)) return drop(m, DropReason::no_buffer_room);
    } else if (has_cookie(pkt_data(m) + pp.payload, pp.payload_len())) {
      uint8_t* gap = insert_at_payload(m, pp, kMetadataHeaderLen);
      if (!gap) return drop(m, DropReason::no_buffer_room);
      MetadataWriter::write_bare(gap, kMetadataHeaderLen);
      finish_checksums(m, pp);
      counters_->add(Counter::cookie_marker_added);
    }
  }
  if (pp.end - pp.l3 > model().interfaces[out.iface].mtu) return drop(m, DropReason::mtu_exceeded);
  counters_->add(Counter::fast_path_packets);
  counters_->add(Counter::fast_path_bytes, pp.end - pp.l3);
  if (need_md) return queue_for_signing(m, pp, model().peers[out.peer].key, out.iface, out.next_hop);
  transmit(m, out.iface, out.next_hop);
}

void Worker::queue_for_signing(rte_mbuf* m, const ParsedPacket& pp, const HmacKey& key, int iface, Ipv4 next_hop) {
  if (sign_count_ == HmacEngine::kMaxSignBurst) sign_pending();
  sign_queue_[sign_count_++] = PendingSign{m, pp, &key, iface, next_hop};
}

void Worker::sign_pending() {
  // Take the whole queue first: transmit() may flush, and flush signs.
  uint32_t n = sign_count_;
  sign_count_ = 0;
  if (n == 0) return;
  HmacEngine::SignRequest reqs[HmacEngine::kMaxSignBurst];
  for (uint32_t i = 0; i < n; ++i) {
    const PendingSign& p = sign_queue_[i];
    uint8_t* d = pkt_data(p.m);
    reqs[i] = {p.key, d + p.pp.l4, static_cast<size_t>(p.pp.end - kHmacTagLen - p.pp.l4), d + p.pp.end - kHmacTagLen,
               false};
  }
  hmac_.sign_burst(reqs, n);
  for (uint32_t i = 0; i < n; ++i) {
    PendingSign& p = sign_queue_[i];
    if (!reqs[i].ok) {
      drop(p.m, DropReason::crypto_error);
      continue;
    }
    finish_checksums(p.m, p.pp);
    transmit(p.m, p.iface, p.next_hop);
  }
}

bool Worker::add_metadata(rte_mbuf* m, ParsedPacket& pp, const Session& s, Dir dir, const SideOut& out) {
  const RouterModel& rm = model();
  uint8_t block[kMaxMetadataLen];
  MetadataWriter w(block, sizeof block);
  if (dir == Dir::forward) {
    w.forward_context(s.original);
    w.uuid(s.uuid);
    w.tenant(rm.tenants[s.tenant]);
    w.service(rm.services[s.service].name);
    w.source_router(rm.name);
    w.destination_router(rm.peers[out.peer].name);
    w.security_policy(rm.security[s.security].name);
  } else {
    w.reverse_context(s.original.reversed());
    w.uuid(s.uuid);
    w.source_router(rm.name);
    w.disable_forward_metadata();
  }
  size_t len = w.finish();
  if (len == 0) return false;
  uint8_t* gap = insert_at_payload(m, pp, static_cast<uint16_t>(len));
  if (!gap) return false;
  std::memcpy(gap, block, len);
  if (!reserve_hmac(m, pp)) return false;  // signed with the rest of the burst: sign_pending()
  counters_->add(dir == Dir::forward ? Counter::metadata_sent : Counter::reverse_metadata_sent);
  return true;
}

}  // namespace wp
