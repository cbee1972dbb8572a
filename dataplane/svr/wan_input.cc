// WAN input: metadata verification, the handshake, and the first packet at
// the egress or transit router (docs/svr-wire-format.md § First packet, § Handshake, § Security).
//
// Every WAN packet that starts with the SVR cookie is a metadata packet: its
// HMAC-SHA256-128 trailer is verified with the pair key of the sending peer
// before anything else is believed, then the TLVs are decoded (malformed ->
// dropped with a counter). With no session, only a verified metadata packet
// whose tenant -> service this router's own policy allows creates one (zero
// trust: every hop decides for itself). The last hop restores the original
// addresses from the forward context; a transit hop binds a new WAN leg
// toward its next peer with ports of the same affinity class. Metadata is
// always stripped here; emit() decides what the next leg carries.
#include <cstring>

#include "dataplane/ip/packet_edit.h"
#include "dataplane/worker/worker.h"

namespace wp {

void Worker::wan_input(rte_mbuf* m, ParsedPacket& pp, int iface) {
  const uint8_t* payload = pkt_data(m) + pp.payload;
  // Steady-state packets carry no cookie: skip building a Metadata for them.
  Metadata md;
  MetadataStatus status =
      has_cookie(payload, pp.payload_len()) ? decode_metadata(payload, pp.payload_len(), md) : MetadataStatus::absent;
  int peer = kNone;
  if (status == MetadataStatus::malformed) return drop(m, DropReason::bad_metadata);
  if (status == MetadataStatus::ok) {
    peer = model().peer_by_waypoint(pp.src);
    if (peer == kNone) return drop(m, DropReason::unknown_peer);
    // The trailer sits after the original data: the block must leave room for it.
    if (md.block_len() + kHmacTagLen > pp.payload_len()) return drop(m, DropReason::bad_metadata);
    if (!verify_hmac(m, pp, hmac_, model().peers[peer].key)) return drop(m, DropReason::bad_hmac);
    counters_->add(Counter::metadata_received);
    if (md.payload_encrypted && !open_metadata(m, pp, md, peer)) return;  // TLV 16, counted
    if (md.has_fragment) restore_fragment_header(m, pp, md.fragment);
  }

  SessionRef ref = table_.lookup({pp.src, pp.dst, pp.sport, pp.dport, pp.proto});
  if (ref && status == MetadataStatus::ok && md.has_uuid && md.uuid != ref.session->uuid) {
    if (ref.dir == Dir::reverse) return drop(m, DropReason::bad_metadata);
    // Same ports, new session id: the sender restarted and reused the pair.
    post_event(SessionEventKind::closed, *ref.session, SessionEndReason::forced_end);
    remove_session(ref.session);
    counters_->add(Counter::sessions_replaced);
    ref = {};
  }
  if (!ref) {
    if (status != MetadataStatus::ok) return drop(m, DropReason::no_session);
    if (rebind_migrated(m, pp, iface, md, peer)) return;  // a session that moved path
    if (md.control_message == kControlKeepAlive) return drop(m, DropReason::no_session);
    first_packet_wan(m, pp, iface, md, peer);
    return;
  }
  Session& s = *ref.session;
  // A transit router moves its onward leg like an ingress router its WAN side.
  if (ref.dir == Dir::forward && s.side_b_wan() && shared_.paths) follow_path(s);
  if (status != MetadataStatus::ok) {
    // Sessions that HMAC every packet are verified (and
    // decrypted) with the rest of the burst, then continue_wan().
    if ((s.crypto & kCryptoHmacAll) && s.key_slot[ref.dir == Dir::forward ? 0 : 1] != kNoKeySlot)
      return queue_for_opening(m, pp, s, ref.dir, status == MetadataStatus::bare);
    return continue_wan(m, pp, s, ref.dir, status == MetadataStatus::bare);
  }
  int data_len = pp.payload_len() - static_cast<int>(md.block_len()) - static_cast<int>(kHmacTagLen);
  if (ref.dir == Dir::forward) {
    if (s.crypto & kCryptoPending) learn_crypto_decision(s, md, data_len);
  } else if (md.disable_forward_metadata && !(s.flags & kFwdMdAcked)) {
    s.flags |= kFwdMdAcked;
    counters_->add(Counter::handshakes_completed);
  }
  if (md.has_path_metrics && flow_period_ms_) flow_marker_in(s, ref.dir, md.path_metrics);  // TLV 26
  strip_at_payload(m, pp, static_cast<uint16_t>(md.block_len()), kHmacTagLen);
  if (md.control_message == kControlKeepAlive) {
    if (!md.has_uuid) return rte_pktmbuf_free(m);  // a TLV 26 marker alone: nothing to answer
    return consume_metadata_only(m, s, ref.dir);
  }
  // TLV 11 says this metadata packet's data is encrypted.
  if (md.session_data_encrypted && data_len > 0 && !decrypt_metadata_data(m, pp, s, ref.dir)) return;
  emit(m, pp, s, ref.dir);
}

void Worker::first_packet_wan(rte_mbuf* m, ParsedPacket& pp, int iface, const Metadata& md, int peer) {
  const RouterModel& rm = model();
  if (!md.has_forward_context || !md.has_uuid || md.tenant.empty() || md.service.empty())
    return drop(m, DropReason::metadata_missing);
  const FiveTuple& orig = md.forward_context;
  int tenant = rm.tenant_by_name(md.tenant);
  if (tenant == kNone) return drop(m, DropReason::no_tenant);
  int service = rm.service_by_name(md.service);
  if (service == kNone || orig.proto != pp.proto || !rm.service_matches(service, orig.dst, orig.proto, orig.dport))
    return drop(m, DropReason::no_service);
  int security = rm.policy(tenant, service);
  if (security == kNone) return drop(m, DropReason::policy_deny);
  // The peer must have encoded the session's class in our port, or LAN
  // packets of this session would reach a different worker than WAN ones.
  uint32_t cls = affinity_class(orig);
  if (class_of_port(pp.dport) != cls) return drop(m, DropReason::bad_metadata);
  auto back = rm.route(pp.src);
  if (!back) return drop(m, DropReason::no_route);

  Session* s = table_.allocate();
  if (!s) return drop(m, DropReason::table_full);
  s->original = orig;
  s->uuid = md.uuid;
  s->tenant = static_cast<int16_t>(tenant);
  s->service = static_cast<int16_t>(service);
  s->security = static_cast<int16_t>(security);
  s->created_ms = s->last_ms = now_ms_;
  s->flags = kRevMdPending;
  s->out_rev = SideOut{FiveTuple{pp.dst, pp.src, pp.dport, pp.sport, pp.proto}, back->addr,
                       static_cast<int8_t>(back->iface), static_cast<int8_t>(peer)};
  const ServiceModel& svc = rm.services[service];
  DropReason why = DropReason::no_route;
  bool bound;
  if (svc.next_peer == kNone) {  // last hop: restore the original addresses
    auto fwd = rm.route(orig.dst);
    bound = fwd.has_value();
    if (bound) s->out_fwd = SideOut{orig, fwd->addr, static_cast<int8_t>(fwd->iface), -1};
    // A stale session for the same original tuple (its client side is gone)
    // would shadow this one's LAN key: the new session wins.
    if (bound) {
      if (SessionRef old = table_.lookup(orig.reversed()); old) {
        post_event(SessionEventKind::closed, *old.session, SessionEndReason::forced_end);
        remove_session(old.session);
        counters_->add(Counter::sessions_replaced);
      }
    }
  } else {
    bound = pick_wan_side(*s, svc.next_peer, cls, why);
  }
  // Keys for each WAN side, and the sender's encryption decision.
  if (bound && !start_session_crypto(*s, pp, &md, why)) {
    table_.release(s);
    return drop(m, why);
  }
  // Side A's key missed in wan_input and side B's was checked (and cleared)
  // above, so index without probing again.
  if (!bound || !table_.insert_unique(s)) {
    end_session_crypto(*s);
    table_.release(s);
    return drop(m, bound ? DropReason::ports_exhausted : why);
  }
  counters_->add(Counter::sessions_created);
  counters_->sessions_active.store(table_.size(), std::memory_order_relaxed);
  int data_len = pp.payload_len() - static_cast<int>(md.block_len()) - static_cast<int>(kHmacTagLen);
  post_event(SessionEventKind::created, *s);
  strip_at_payload(m, pp, static_cast<uint16_t>(md.block_len()), kHmacTagLen);
  if (md.session_data_encrypted && data_len > 0 && !decrypt_metadata_data(m, pp, *s, Dir::forward)) return;
  emit(m, pp, *s, Dir::forward);
}

}  // namespace wp
