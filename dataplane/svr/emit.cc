// Emitting session packets; see emit.h.
#include "dataplane/svr/emit.h"

#include <cstring>

#include "dataplane/ip/checksum.h"
#include "dataplane/ip/packet_edit.h"
#include "dataplane/svr/lan_link.h"
#include "dataplane/svr/session_tlvs.h"
#include "dataplane/svr/svr6_lan.h"
#include "dataplane/svr/svr_icmp4.h"
#include "dataplane/svr/waypoint6.h"
#include "dataplane/worker/qos_tx.h"

namespace wp {
namespace {

// DF off (the header checksum updated), counted as a port's restored packet is (frag_df_cleared).
void clear_df(rte_mbuf* m, const ParsedPacket& pp, WorkerCounters& counters) {
  uint8_t* ip = pkt_data(m) + pp.l3;
  const uint16_t fo = load_be16(ip + 6);
  if (!(fo & 0x4000)) return;
  const uint16_t cleared = static_cast<uint16_t>(fo & ~0x4000);
  store_be16(ip + 6, cleared);
  store_be16(ip + 10, csum_update16(load_be16(ip + 10), fo, cleared));
  counters.add(Counter::frag_df_cleared);
}

}  // namespace

inline void Emit::account(const ParsedPacket& pp, Session& s, Dir dir) {
  size_t d = static_cast<size_t>(dir);
  s.packets[d]++;
  s.bytes[d] += pp.end - pp.l3;
  s.last_ms = ctx_.now_ms;
  if (dir == Dir::reverse) s.flags |= kReverseSeen;
  if (pp.proto == kProtoTcp) {
    if (pp.tcp_flags & kTcpRst) s.flags |= kRst;
    if (pp.tcp_flags & kTcpFin) s.flags |= dir == Dir::forward ? kFinFwd : kFinRev;
  }
  if (!(s.flags & kEstablished)) [[unlikely]]
    note_established(s);
  if (flow_.enabled()) flow_.count_rx(s, dir);
}

void Emit::send(rte_mbuf* m, ParsedPacket& pp, Session& s, Dir dir) {
  const SideOut& out = dir == Dir::forward ? s.out_fwd : s.out_rev;
  if (pp.ttl <= 1) return ctx_.drop(m, DropReason::ttl_expired);
  // Classifying (the ingress, with LAN-side addresses: forward packets before the
  // rewrite), or refused for its application.
  if (s.app_slot != kAppDone && !apps_.before_send(m, pp, s, dir)) [[unlikely]]
    return;
  account(pp, s, dir);
  // An IPv6 session between IPv4 waypoints leaving on its IPv6 side (svr/svr6_lan.h).
  if (out.iface == kIfaceSvr6) [[unlikely]]
    return ctx_.svr6->to_lan(m, pp, s, dir, out);
  // While the original header is intact (it is quoted back to the sender).
  if (out.peer >= 0 && pp.proto == kProtoTcp &&
      fragments_.refuse_oversize_tcp(m, pp, s, dir, out,
                                     dir == Dir::forward ? !(s.flags & kFwdMdAcked) : (s.flags & kRevMdPending) != 0))
    return;
  rewrite_tuple(m, pp, out.tuple);
  if (s.app_slot < kAppDenied && dir == Dir::reverse && !apps_.inspect(m, pp, s, dir)) [[unlikely]]
    return;  // reverse packets after it
  // After the classifier saw it: the packet that makes the application known already has
  // its class (qos.applications). Read by the QoS step on shaped WAN ports (worker/qos_tx.h).
  set_qos_class(m, s.qos_class());
  // Segments must still fit the WAN MTU once encrypted, or once an IPv4
  // session's header is IPv6 between IPv6 waypoints (20 bytes more, svr/waypoint6.h).
  if (pp.proto == kProtoTcp && (pp.tcp_flags & kTcpSyn) && (s.crypto || waypoint6_grows(s)))
    crypto_.clamp_mss(m, pp, s);
  if (out.peer >= 0 && !prepare_wan(m, pp, s, dir, out)) return;
  // A restored DF segment above the LAN side's MTU (its port's or its IPsec tunnel's; none known,
  // a tunnel a commit removed: the ESP step counts it): its sender is across the WAN (svr/svr_icmp4.h).
  const std::optional<LanLink> lan = out.peer < 0 ? lan_link(ctx_, out.iface, out.next_hop) : std::nullopt;
  if (lan && lan->mtu && uint32_t{pp.end} - pp.l3 > lan->mtu) [[unlikely]] {
    if (icmp4_ && icmp4_->refuse_too_big(m, pp, s, dir, *lan)) return;
    // Restored into a tunnel, from a sender across the WAN: as toward a port, DF is cleared
    // and the datagram cut before sealing. Into_tunnel would ask the routes who sent it, and
    // a route into a tunnel would send the error to another host.
    if (out.iface == kIfaceTunnel && (dir == Dir::forward ? s.side_a_wan() : s.side_b_wan()))
      clear_df(m, pp, *ctx_.counters);
  }
  ctx_.counters->add(Counter::fast_path_packets);
  ctx_.counters->add(Counter::fast_path_bytes, pp.end - pp.l3);
  fragments_.transmit(m, pp, out.iface, out.next_hop);
}

bool Emit::prepare_wan(rte_mbuf* m, ParsedPacket& pp, Session& s, Dir dir, const SideOut& out) {
  // The ingress router settles an adaptive session on its first data.
  if ((s.crypto & kCryptoPending) && dir == Dir::forward && !s.side_a_wan() && pp.payload_len() > 0)
    crypto_.decide_adaptive(s, pp, pkt_data(m) + pp.payload, pp.payload_len());
  bool encrypt = crypto_.encrypts_now(s, pp, dir);
  bool need_md = dir == Dir::forward ? !(s.flags & kFwdMdAcked) : (s.flags & kRevMdPending) != 0;
  bool frag_id_reserved = false;
  size_t md_len = 0;
  size_t marker = flow_.enabled() ? flow_.count_tx(m, pp, s, dir, out, !need_md) : 0;
  if (need_md && metadata_only_.due(pp, s, out)) {  // no room after a migration: ahead, alone
    metadata_only_.send(m->pool, s, dir, out);
    need_md = false;
  } else if (need_md) {
    md_len = add_metadata(m, pp, s, dir, out, encrypt, &frag_id_reserved);
    if (md_len == 0) {
      ctx_.drop(m, DropReason::no_buffer_room);
      return false;
    }
  } else if (marker) {  // signed with the pair key like any metadata packet
    md_len = marker;
    need_md = true;
  } else if (!encrypt && has_cookie(pkt_data(m) + pp.payload, pp.payload_len())) {
    // Encrypted data starts with the IV, never with the plaintext's cookie.
    uint8_t* gap = insert_at_payload(m, pp, kMetadataHeaderLen);
    if (!gap) {
      ctx_.drop(m, DropReason::no_buffer_room);
      return false;
    }
    MetadataWriter::write_bare(gap, kMetadataHeaderLen);
    finish_checksums(m, pp);
    ctx_.counters->add(Counter::cookie_marker_added);
    md_len = kMetadataHeaderLen;
  }
  // A duplicated session (svr/duplication.h): a packet without a block gets
  // its sequence number, and a copy leaves on the second path.
  rte_mbuf* copy = nullptr;
  SideOut copy_out;
  ParsedPacket copy_pp;
  if (!need_md && dir == Dir::forward && s.duplicated()) [[unlikely]] {
    if (!dup_.tag(m, pp, s)) {
      ctx_.drop(m, DropReason::no_buffer_room);
      return false;
    }
    copy = dup_.copy(m, pp, s, out, copy_out);
    copy_pp = pp;
    copy_pp.src = copy_out.tuple.src;
    copy_pp.dst = copy_out.tuple.dst;
  }
  // Metadata packets (pair key) and, for sessions that HMAC every packet,
  // all others (session key) are sealed at the end of the burst.
  if (!need_md && !crypto_.hmacs_every_packet(s, dir)) {
    if (copy) {
      ctx_.counters->add(Counter::fast_path_packets);
      ctx_.counters->add(Counter::fast_path_bytes, copy_pp.end - copy_pp.l3);
      fragments_.transmit(copy, copy_pp, copy_out.iface, copy_out.next_hop);
    }
    return true;
  }
  crypto_.seal(m, pp, s, dir, out, md_len, need_md, encrypt, frag_id_reserved);
  if (copy) crypto_.seal(copy, copy_pp, s, dir, copy_out, md_len, false, encrypt);
  return false;
}

// A session is established when every WAN leg finished its handshake (our
// forward metadata acked on leg B, the peer stopped needing reverse metadata
// on leg A) and a reverse packet was seen: only then is it steady state that
// offload may take over.
void Emit::note_established(Session& s) {
  bool leg_b_done = !s.side_b_wan() || (s.flags & kFwdMdAcked);
  bool leg_a_done = !s.side_a_wan() || !(s.flags & kRevMdPending);
  if (!leg_a_done || !leg_b_done || !(s.flags & kReverseSeen)) return;
  s.flags |= kEstablished;
  ctx_.post_event(SessionEventKind::established, s);
}

size_t Emit::build_block(uint8_t* block, size_t cap, const Session& s, Dir dir, const SideOut& out, bool data_encrypted,
                         const FragmentInfo* frag) {
  MetadataWriter w(block, cap);
  if (frag) w.fragment(*frag);  // TLV 1: a header TLV, so first
  write_key_tlvs(w, ctx_.rm().peers[out.peer], ctx_.md_key(s, CryptoBatch::leaving_side(dir), out.peer).version,
                 ctx_.rm().security[s.security].encrypt_metadata);
  // No ack while the adaptive decision is unknown here (crypto_batch.h).
  write_session_tlvs(w, ctx_.rm(), s, dir, out, !(s.crypto & kCryptoPending), ctx_.svr6 ? ctx_.svr6->context_of(s) : nullptr);
  write_app_tlv(w, ctx_.apps.get(), s, dir);
  // TLV 11: this packet's data (and the session's) is encrypted.
  if (data_encrypted || (s.crypto & kCryptoEncrypt)) w.raw_tlv(Tlv::session_data_encrypted, nullptr, 0, false);
  return crypto_.seal_metadata(block, w.finish(), cap, s, dir, out);  // TLV 16 when the policy asks
}

size_t Emit::add_metadata(rte_mbuf* m, ParsedPacket& pp, const Session& s, Dir dir, const SideOut& out,
                          bool data_encrypted, bool* fragment_tlv) {
  uint8_t block[kMaxMetadataLen];
  size_t len = build_block(block, sizeof block, s, dir, out, data_encrypted, nullptr);
  if (len == 0) return 0;
  // A first packet that will leave in fragments says so (TLV 1), with the
  // IP id its fragments get and the host's own id and flags.
  bool encrypted = data_encrypted || (s.crypto & kCryptoEncrypt);
  if (fragment_tlv && fragments_.tlv_due(pp, out, len, encrypted)) {
    FragmentInfo f = fragments_.reserve_id(m, pp);
    len = build_block(block, sizeof block, s, dir, out, data_encrypted, &f);
    if (len == 0) return 0;
    *fragment_tlv = true;
  }
  uint8_t* gap = insert_at_payload(m, pp, static_cast<uint16_t>(len));
  if (!gap) return 0;
  std::memcpy(gap, block, len);
  // Sealed (trailer, IV, signing) with the rest of the burst: CryptoBatch::seal.
  ctx_.counters->add(dir == Dir::forward ? Counter::metadata_sent : Counter::reverse_metadata_sent);
  return len;
}

}  // namespace wp
