// Emitting a session packet on its way out (SVR.md § First packet steps 1-4,
// § Handshake, cookie false positive).
//
// Forward packets leave on side B, reverse packets on side A. Leaving on a
// WAN leg, a packet carries metadata while that leg's handshake is open:
// forward metadata until the peer's reverse metadata brought TLV 18, reverse
// metadata (with TLV 18) until a forward packet arrived without metadata.
// Otherwise it carries only the NAT rewrite (incremental checksums), except
// that data which itself begins with the cookie gets the bare 12-byte marker
// so the next hop does not mistake it for metadata.
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

  rewrite_tuple(m, pp, out.tuple);
  if (out.peer >= 0) {
    bool need_md = dir == Dir::forward ? !(s.flags & kFwdMdAcked) : (s.flags & kRevMdPending) != 0;
    if (need_md) {
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
  transmit(m, out.iface, out.next_hop);
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
  if (!append_hmac(m, pp, hmac_, rm.peers[out.peer].key)) return false;
  finish_checksums(m, pp);
  counters_->add(dir == Dir::forward ? Counter::metadata_sent : Counter::reverse_metadata_sent);
  return true;
}

}  // namespace wp
