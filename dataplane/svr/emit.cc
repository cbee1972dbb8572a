// Emitting a session packet on its way out (docs/svr-wire-format.md § First packet steps 1-4,
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

#include "dataplane/ip/packet_edit.h"
#include "dataplane/worker/worker.h"

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
  if (flow_period_ms_) flow_count_rx(s, dir);  // TLV 26 counting
  // While the original header is intact (it is quoted back to the sender).
  if (out.peer >= 0 && pp.proto == kProtoTcp &&
      refuse_oversize_tcp(m, pp, s, dir, out,
                          dir == Dir::forward ? !(s.flags & kFwdMdAcked) : (s.flags & kRevMdPending) != 0))
    return;

  rewrite_tuple(m, pp, out.tuple);
  // Segments must still fit the WAN MTU once encrypted.
  if (s.crypto && pp.proto == kProtoTcp && (pp.tcp_flags & kTcpSyn)) clamp_session_mss(m, pp, s);
  bool need_md = false;
  bool encrypt = false;
  bool frag_id_reserved = false;
  size_t md_len = 0;
  if (out.peer >= 0) {
    // The ingress router settles an adaptive session on its first data.
    if ((s.crypto & kCryptoPending) && dir == Dir::forward && !s.side_a_wan() && pp.payload_len() > 0)
      decide_adaptive(s, pp, pkt_data(m) + pp.payload, pp.payload_len());
    encrypt = encrypts_now(s, pp, dir);
    need_md = dir == Dir::forward ? !(s.flags & kFwdMdAcked) : (s.flags & kRevMdPending) != 0;
    size_t marker = flow_period_ms_ ? flow_out(m, pp, s, dir, out, !need_md) : 0;  // TLV 26
    if (need_md && metadata_only_due(pp, s, out)) {                                // no room after a migration
      send_metadata_only(m->pool, s, dir, out);
      need_md = false;
    } else if (need_md) {
      md_len = add_metadata(m, pp, s, dir, out, encrypt, &frag_id_reserved);
      if (md_len == 0) return drop(m, DropReason::no_buffer_room);
    } else if (marker) {  // signed with the pair key like any metadata packet
      md_len = marker;
      need_md = true;
    } else if (!encrypt && has_cookie(pkt_data(m) + pp.payload, pp.payload_len())) {
      // Encrypted data starts with the IV, never with the plaintext's cookie.
      uint8_t* gap = insert_at_payload(m, pp, kMetadataHeaderLen);
      if (!gap) return drop(m, DropReason::no_buffer_room);
      MetadataWriter::write_bare(gap, kMetadataHeaderLen);
      finish_checksums(m, pp);
      counters_->add(Counter::cookie_marker_added);
      md_len = kMetadataHeaderLen;
    }
    // Metadata packets (pair key) and, for sessions that HMAC
    // every packet, all others (session key) are sealed at the end of the burst.
    if (need_md || ((s.crypto & kCryptoHmacAll) && keys_of(s, dir == Dir::forward ? 1 : 0))) {
      seal_session_packet(m, pp, s, dir, out, md_len, need_md, encrypt, frag_id_reserved);
      return;
    }
  }
  counters_->add(Counter::fast_path_packets);
  counters_->add(Counter::fast_path_bytes, pp.end - pp.l3);
  transmit_sized(m, pp, out.iface, out.next_hop);  // fragments what exceeds the MTU
}

void Worker::queue_for_signing(rte_mbuf* m, const ParsedPacket& pp, const HmacKey& key, int iface, Ipv4 next_hop,
                               const AesKey* aes, const SealLayout& layout, bool frag_id_reserved) {
  if (sign_count_ == HmacEngine::kMaxSignBurst) sign_pending();
  sign_queue_[sign_count_++] = PendingSign{m, pp, &key, iface, next_hop, aes, layout, frag_id_reserved};
}

void Worker::sign_pending() {
  // Take the whole queue first: transmit() may flush, and flush signs.
  uint32_t n = sign_count_;
  sign_count_ = 0;
  if (n == 0) return;
  // AES-CBC and HMAC chained per job, the whole burst in the lanes.
  CryptoOp ops[HmacEngine::kMaxSignBurst];
  for (uint32_t i = 0; i < n; ++i) {
    const PendingSign& p = sign_queue_[i];
    uint8_t* d = pkt_data(p.m);
    CryptoOp& op = ops[i];
    op.msg = d + p.pp.l4;
    op.hash_len = static_cast<uint32_t>(p.pp.end - kHmacTagLen - p.pp.l4);
    op.mac = p.key;
    op.tag = d + p.pp.end - kHmacTagLen;
    op.aes = p.aes;
    op.cipher_off = p.layout.cipher_off;
    op.cipher_len = p.layout.cipher_len;
    op.iv = p.layout.iv;
  }
  crypto_.seal_burst(ops, n);
  for (uint32_t i = 0; i < n; ++i) {
    PendingSign& p = sign_queue_[i];
    if (!ops[i].ok) {
      drop(p.m, DropReason::crypto_error);
      continue;
    }
    finish_checksums(p.m, p.pp);
    transmit_sized(p.m, p.pp, p.iface, p.next_hop, p.frag_id_reserved);  // after sealing
  }
}

void Worker::write_session_tlvs(MetadataWriter& w, const Session& s, Dir dir, const SideOut& out, bool ack) const {
  const RouterModel& rm = model();
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
    if (ack) w.disable_forward_metadata();
  }
}

size_t Worker::add_metadata(rte_mbuf* m, ParsedPacket& pp, const Session& s, Dir dir, const SideOut& out,
                            bool data_encrypted, bool* fragment_tlv) {
  uint8_t block[kMaxMetadataLen];
  auto build = [&](const FragmentInfo* frag) {
    MetadataWriter w(block, sizeof block);
    if (frag) w.fragment(*frag);  // a header TLV, so first
    // No ack while the adaptive decision is unknown here (svr_crypto.cc).
    write_session_tlvs(w, s, dir, out, !(s.crypto & kCryptoPending));
    // TLV 11 = this packet's data (and the session's) is encrypted.
    if (data_encrypted || (s.crypto & kCryptoEncrypt)) w.raw_tlv(Tlv::session_data_encrypted, nullptr, 0, false);
    return seal_metadata(block, w.finish(), sizeof block, s, out);
  };
  size_t len = build(nullptr);
  if (len == 0) return 0;
  // A first packet that will leave in fragments says so (TLV 1), with the
  // IP id its fragments get and the host's own id and flags.
  if (fragment_tlv && fragment_tlv_due(pp, out, len, data_encrypted || (s.crypto & kCryptoEncrypt))) {
    FragmentInfo f = reserve_fragment_id(m, pp);
    len = build(&f);
    if (len == 0) return 0;
    *fragment_tlv = true;
  }
  uint8_t* gap = insert_at_payload(m, pp, static_cast<uint16_t>(len));
  if (!gap) return 0;
  std::memcpy(gap, block, len);
  // Sealed (trailer, IV, signing) with the rest of the burst: seal_session_packet().
  counters_->add(dir == Dir::forward ? Counter::metadata_sent : Counter::reverse_metadata_sent);
  return len;
}

}  // namespace wp
