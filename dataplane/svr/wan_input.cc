// WAN input; see wan_input.h.
#include "dataplane/svr/wan_input.h"

#include <cstring>

#include "dataplane/crypto/packet_hmac.h"
#include "dataplane/ip/packet_edit.h"
#include "dataplane/session/owner.h"
#include "dataplane/svr/session_setup.h"
#include "dataplane/svr/svr6_echo.h"
#include "dataplane/svr/svr6_lan.h"
#include "dataplane/svr/svr_icmp4.h"

namespace wp {
namespace {

int data_len_of(const ParsedPacket& pp, const Metadata& md) {
  return pp.payload_len() - static_cast<int>(md.block_len()) - static_cast<int>(kHmacTagLen);
}

// The session's identity (UUID, contexts, tenant, service) came in clear.
// Markers and bare cookies carry none, so they pass either way.
bool session_tlvs_in_clear(const Metadata& md) {
  return !md.payload_decrypted && (md.has_uuid || md.has_forward_context || md.has_reverse_context ||
                                   !md.tenant.empty() || !md.service.empty());
}

}  // namespace

void WanInput::input(rte_mbuf* m, ParsedPacket& pp) {
  const uint8_t* payload = pkt_data(m) + pp.payload;
  // Steady-state packets carry no cookie: skip building a Metadata for them.
  Metadata md;
  MetadataStatus status =
      has_cookie(payload, pp.payload_len()) ? decode_metadata(payload, pp.payload_len(), md) : MetadataStatus::absent;
  if (status != MetadataStatus::absent && breakout_reply(pp)) [[unlikely]]
    status = MetadataStatus::absent;
  int peer = kNone;
  if (status == MetadataStatus::malformed) return ctx_.drop(m, DropReason::bad_metadata);
  if (status == MetadataStatus::ok && !read_metadata(m, pp, md, peer)) return;

  SessionRef ref = recheck_.find({pp.src, pp.dst, pp.sport, pp.dport, pp.proto});  // current() included
  if (ref && status == MetadataStatus::ok && md.has_uuid && md.uuid != ref.session->uuid) {
    if (ref.dir == Dir::reverse) return ctx_.drop(m, DropReason::bad_metadata);
    // Same ports, new session id: the sender restarted and reused the pair.
    ctx_.post_event(SessionEventKind::closed, *ref.session, SessionEndReason::forced_end);
    ctx_.remove_session(ref.session);
    ctx_.counters->add(Counter::sessions_replaced);
    ref = {};
  }
  if (ref) return session_input(m, pp, ref, status, md);
  if (status != MetadataStatus::ok) {
    // The other path's copy of a duplicated session's packet (svr/duplication.h).
    if (SessionRef alias = dup_.alias(pp); alias && recheck_.current(*alias.session))
      return session_input(m, pp, alias, status, md);
    return ctx_.drop(m, DropReason::no_session);
  }
  if (migration_.rebind(m, pp, md, peer)) return;  // a session that moved path
  if (md.control_message == kControlKeepAlive) return ctx_.drop(m, DropReason::no_session);
  first_packet(m, pp, md, peer);
}

bool WanInput::breakout_reply(const ParsedPacket& pp) const {
  if (ctx_.rm().peer_by_waypoint(pp.src) != kNone) return false;
  SessionRef ref = ctx_.table.lookup({pp.src, pp.dst, pp.sport, pp.dport, pp.proto});
  return ref && ref.dir == Dir::reverse && ref.session->nat;
}

bool WanInput::read_metadata(rte_mbuf* m, ParsedPacket& pp, Metadata& md, int& peer) {
  peer = ctx_.rm().peer_by_waypoint(pp.src);
  if (peer == kNone) return ctx_.drop(m, DropReason::unknown_peer), false;
  // The trailer sits after the original data: the block must leave room for it.
  if (md.block_len() + kHmacTagLen > pp.payload_len()) return ctx_.drop(m, DropReason::bad_metadata), false;
  // TLV 16 names the pair-key version that signed the block (1 without it).
  const PairKey* key = ctx_.rm().peers[peer].keys.find(md.key_version());
  if (!key) return ctx_.drop(m, DropReason::unknown_key_version), false;
  if (!verify_hmac(m, pp, crypto_.hmac(), key->mac)) return ctx_.drop(m, DropReason::bad_hmac), false;
  ctx_.counters->add(Counter::metadata_received);
  ctx_.heard_key_versions(peer, md);                                                    // TLV 22
  if (md.payload_encrypted && !crypto_.open_metadata(m, pp, md, *key)) return false;  // TLV 16, counted
  if (md.has_fragment) fragments_.restore_header(m, pp, md.fragment);                 // TLV 1
  return true;
}

void WanInput::session_input(rte_mbuf* m, ParsedPacket& pp, SessionRef ref, MetadataStatus status, const Metadata& md) {
  Session& s = *ref.session;
  // A transit router moves its onward leg like an ingress router its WAN side.
  if (ref.dir == Dir::forward && s.side_b_wan() && ctx_.shared.paths) migration_.follow(s);
  if (status != MetadataStatus::ok) {
    // Sessions that HMAC every packet are verified (and decrypted) with the
    // rest of the burst, then continue_wan().
    bool bare = status == MetadataStatus::bare;
    if ((s.crypto & kCryptoHmacAll) && crypto_.keys_of(s, CryptoBatch::arriving_side(ref.dir))) {
      if (crypto_.open_full()) open_pending();
      crypto_.queue_open(m, pp, s, ref.dir, bare);
      return;
    }
    return continue_wan(m, pp, s, ref.dir, bare);
  }
  if (downgraded(m, s.security, md)) return;
  // TLV 20/21: an ICMP error about a packet of the session, for our LAN host, or at a transit
  // hop on along the other leg (svr/svr_icmp4.h for IPv4 sessions, svr/svr6_lan.h for IPv6 ones).
  if (md.has_icmp_location6 || md.has_icmp_location4) [[unlikely]] {
    if (md.has_icmp_location4 && icmp4_) return icmp4_->error_from_wan(m, pp, s, ref.dir, md);
    if (!ctx_.svr6 || md.has_icmp_location4) return ctx_.drop(m, DropReason::svr_icmp_error_unsupported);
    return ctx_.svr6->error_from_wan(m, pp, s, ref.dir, md);
  }
  if (ref.dir == Dir::forward && !dup_.learn(s, md)) return ctx_.drop(m, DropReason::dup_unsupported);
  int data_len = data_len_of(pp, md);
  handshake(s, ref.dir, md, data_len);
  // TLV 35 after set-up (a metadata-only update, or the next forward block): never classified here.
  if (ref.dir == Dir::forward && !md.application.empty()) {
    const uint16_t app = apps_.from_metadata(md.application);
    if (app != s.app && app != app::kAppUnknown && !apps_.learned_from_peer(m, s, app)) return;
  }
  if (md.has_path_metrics && flow_.enabled()) flow_.marker_in(s, ref.dir, md.path_metrics);  // TLV 26
  strip_at_payload(m, pp, static_cast<uint16_t>(md.block_len()), kHmacTagLen);
  if (md.control_message == kControlKeepAlive) {
    if (!md.has_uuid) return rte_pktmbuf_free(m);  // a TLV 26 marker alone: nothing to answer
    return metadata_only_.consume(m, s, ref.dir);
  }
  // TLV 11: this metadata packet's data is encrypted.
  if (md.session_data_encrypted && data_len > 0 && !crypto_.decrypt_metadata_data(m, pp, s, ref.dir)) return;
  emit_.send(m, pp, s, ref.dir);
}

// Downgrade protection: what our own policy says must travel encrypted is
// refused in clear, whatever the sender's policy says (its HMAC verified,
// so this is a misconfigured or downgraded peer, not noise).
bool WanInput::downgraded(rte_mbuf* m, int security, const Metadata& md) {
  if (!ctx_.rm().security[security].encrypt_metadata || !session_tlvs_in_clear(md)) return false;
  ctx_.drop(m, DropReason::metadata_not_encrypted);
  return true;
}

void WanInput::handshake(Session& s, Dir dir, const Metadata& md, int data_len) {
  if (dir == Dir::forward) {
    if (s.crypto & kCryptoPending) crypto_.learn_decision(s, md, data_len);
  } else if (md.disable_forward_metadata && !(s.flags & kFwdMdAcked)) {
    s.flags |= kFwdMdAcked;
    ctx_.counters->add(Counter::handshakes_completed);
  }
}

bool WanInput::bind_onward(Session& s, int service, uint32_t cls, DropReason& why) {
  const RouterModel& rm = ctx_.rm();
  const ServiceModel& svc = rm.services[service];
  // Transit: the onward leg's family by the ingress's rule (IPv4 waypoints when the next peer has one routed,
  // else its IPv6 ones), whichever the session arrived on (docs/ipv6.md § IPv4 sessions between IPv6 waypoints).
  if (svc.next_peer != kNone) return bind_wan_side(ctx_, s, svc.next_peer, cls, false, why);
  auto fwd = ctx_.route(s.original.dst, symmetric_hash(s.original));
  if (!fwd) return false;
  s.out_fwd = SideOut{s.original, fwd->addr, static_cast<int8_t>(fwd->iface), -1};
  // A stale session for the same original tuple (its client side is gone)
  // would shadow this one's LAN key: the new session wins.
  if (SessionRef old = ctx_.table.lookup(s.original.reversed()); old) {
    ctx_.post_event(SessionEventKind::closed, *old.session, SessionEndReason::forced_end);
    ctx_.remove_session(old.session);
    ctx_.counters->add(Counter::sessions_replaced);
  }
  return true;
}

bool WanInput::bind_onward6(Session& s, const FiveTuple6& t, int service, uint32_t cls, DropReason& why) {
  // Transit: the service's route points at another peer (docs/ipv6.md § IPv6 sessions between IPv4 waypoints).
  if (const int next = ctx_.rm().services[static_cast<size_t>(service)].next_peer; next != kNone)
    return ctx_.svr6->bind_transit(s, t, service, next, cls, why);
  if (!ctx_.svr6->bind_lan(s, t, service, why)) return false;
  s.original = s.out_fwd.tuple;  // the internal tuple stands for the IPv6 one
  return true;
}

void WanInput::first_packet(rte_mbuf* m, ParsedPacket& pp, const Metadata& md, int peer) {
  const RouterModel& rm = ctx_.rm();
  // TLV 3 instead of TLV 2: an IPv6 session between IPv4 waypoints (svr/svr6_lan.h).
  const bool v6 = !md.has_forward_context && md.has_forward_context6;
  if ((!md.has_forward_context && !v6) || !md.has_uuid || md.tenant.empty() || md.service.empty())
    return ctx_.drop(m, DropReason::metadata_missing);
  const FiveTuple6& orig6 = md.forward_context6;
  // 0.0.0.0/8 sources are the internal tuples of IPv6 sessions (worker/context.h transit_ipv6), never a client's.
  if (!v6 && (md.forward_context.src >> 24) == 0) return ctx_.drop(m, DropReason::svr6_internal_tuple);
  // An IPv6 session's IPv4 key until bind_onward gives it its internal tuple.
  const FiveTuple orig =
      v6 ? FiveTuple{pp.src, pp.dst, orig6.sport, orig6.dport, svr6_carried_proto(orig6.proto)} : md.forward_context;
  int tenant = rm.tenant_by_name(md.tenant);
  if (tenant == kNone) return ctx_.drop(m, DropReason::no_tenant);
  int service = rm.service_by_name(md.service);
  if (service == kNone || orig.proto != pp.proto ||
      !(v6 ? rm.service_for6(orig6.dst, orig6.proto, orig6.dport) == service
           : rm.service_matches(service, orig.dst, orig.proto, orig.dport)))
    return ctx_.drop(m, DropReason::no_service);
  int security = rm.policy(tenant, service);
  if (security == kNone) return ctx_.drop(m, DropReason::policy_deny);
  if (downgraded(m, security, md)) return;
  if (md.duplicated && !dup_.enabled()) return ctx_.drop(m, DropReason::dup_unsupported);  // TLV 27
  const uint16_t app = apps_.from_metadata(md.application);  // TLV 35: this hop checks it too
  DropReason app_why = DropReason::app_policy_deny;
  if (app != app::kAppUnknown && apps_.denied(tenant, service, app, app_why)) return ctx_.drop(m, app_why);
  // The peer must have encoded the session's class in our port, or LAN
  // packets of this session would reach a different worker than WAN ones.
  uint32_t cls = v6 ? affinity_class6(orig6) : affinity_class(orig);
  if (class_of_port(pp.dport) != cls) return ctx_.drop(m, DropReason::bad_metadata);
  auto back = ctx_.route(pp.src, symmetric_hash(orig));
  if (!back) return ctx_.drop(m, DropReason::no_route);
  DropReason why = DropReason::no_route;
  // At the egress the source is the original one the metadata names (an IPv6 one by its prefix).
  if (!(v6 ? ctx_.admit_session(orig6.src, tenant, why) : ctx_.admit_session(orig.src, tenant, why)))
    return ctx_.drop(m, why);
  if (v6 && !(ctx_.svr6 && ctx_.svr6->enabled())) return ctx_.drop(m, DropReason::svr6_no_table);

  Session* s = ctx_.table.allocate();
  if (!s) return ctx_.drop(m, DropReason::table_full);
  s->original = orig;
  s->uuid = md.uuid;
  s->tenant = static_cast<int16_t>(tenant);
  s->service = static_cast<int16_t>(service);
  s->set_qos_class(static_cast<uint8_t>(ctx_.rm().session_qos_class(service, app)));  // TLV 35's class wins
  s->security = static_cast<int16_t>(security);
  s->app = app;
  if (app != app::kAppUnknown) ctx_.counters->add(Counter::app_from_metadata);
  s->created_ms = s->last_ms = ctx_.now_ms;
  s->flags = kRevMdPending;
  s->out_rev = SideOut{FiveTuple{pp.dst, pp.src, pp.dport, pp.sport, pp.proto}, back->addr,
                       static_cast<int8_t>(back->iface), static_cast<int>(peer)};
  bool bound = v6 ? bind_onward6(*s, orig6, service, cls, why) : bind_onward(*s, service, cls, why);
  // Side A's key missed in input() and side B's was checked (and cleared)
  // above, so index without probing again.
  if (!install_session(ctx_, crypto_, s, bound, why, pp, &md, m)) return;
  dup_.learn(*s, md);  // TLV 27: its forward packets carry a sequence number
  dup_.start(*s);      // transit: our own onward leg duplicates if our class says so
  int data_len = data_len_of(pp, md);
  ctx_.post_event(SessionEventKind::created, *s);
  strip_at_payload(m, pp, static_cast<uint16_t>(md.block_len()), kHmacTagLen);
  if (md.session_data_encrypted && data_len > 0 && !crypto_.decrypt_metadata_data(m, pp, *s, Dir::forward)) return;
  emit_.send(m, pp, *s, Dir::forward);
}

void WanInput::continue_wan(rte_mbuf* m, ParsedPacket& pp, Session& s, Dir dir, bool bare) {
  // A duplicated session's second copy stops here; the first loses its number.
  if (dir == Dir::forward && s.duplicated() && !dup_.accept(m, pp, s)) return;
  // A forward packet without metadata ends reverse metadata on this leg.
  if (dir == Dir::forward) s.flags &= static_cast<uint8_t>(~kRevMdPending);
  if (bare) {
    strip_at_payload(m, pp, kMetadataHeaderLen, 0);
    ctx_.counters->add(Counter::cookie_marker_stripped);
  }
  emit_.send(m, pp, s, dir);
}

void WanInput::open_pending() {
  if (crypto_.open_empty()) return;  // the common case: no array of results to set up
  CryptoBatch::Opened opened[kMaxBurst];
  uint32_t n = crypto_.open_pending(opened);
  for (uint32_t i = 0; i < n; ++i) continue_wan(opened[i].m, opened[i].pp, *opened[i].s, opened[i].dir, opened[i].bare);
}

}  // namespace wp
