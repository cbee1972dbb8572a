// Applications on a worker; see app_inspect.h.
#include "dataplane/svr/app_inspect.h"

#include "dataplane/ip/packet_edit.h"

namespace wp {

void AppInspect::start(Session& s) {
  if (!ctx_.apps) return;
  app::AppClassifier::Slot slot = ctx_.apps->acquire();
  if (slot == app::AppClassifier::kNoSlot || slot >= kAppDone) [[unlikely]] {
    ctx_.counters->add(Counter::app_slots_exhausted);
    return;  // stays unclassified: Unknown, never refused for it
  }
  s.app_slot = static_cast<uint16_t>(slot);
}

bool AppInspect::inspect(rte_mbuf* m, const ParsedPacket& pp, Session& s, Dir dir) {
  const uint8_t* l3 = pkt_data(m) + pp.l3;
  const auto dirn = dir == Dir::forward ? app::AppDirection::kClientToServer : app::AppDirection::kServerToClient;
  ctx_.counters->add(Counter::app_packets_inspected);
  app::AppVerdict v = ctx_.apps->feed(s.app_slot, {l3, static_cast<size_t>(pp.end - pp.l3)}, dirn, ctx_.now_ms);
  if (!v.final()) return true;
  s.app_slot = kAppDone;  // the classifier freed the slot with its final verdict
  ctx_.counters->add(v.state == app::AppVerdict::State::kClassified ? Counter::app_sessions_classified
                                                                     : Counter::app_sessions_unknown);
  return settle(m, s, v.app);
}

uint16_t AppInspect::from_metadata(std::string_view name) const {
  return name.empty() || !ctx_.apps ? app::kAppUnknown : ctx_.apps->find_app(name);
}

bool AppInspect::denied(int tenant, int service, uint16_t app, DropReason& why) const {
  const RouterModel& rm = ctx_.rm();
  if (!rm.app_rules) return false;
  const uint16_t category = ctx_.apps ? ctx_.apps->category_of(app) : 0;
  switch (rm.app_decision(tenant, service, app, category)) {
    case AppDecision::allow: return false;
    case AppDecision::policy_deny: why = DropReason::app_policy_deny; return true;
    case AppDecision::not_in_service: why = DropReason::app_not_in_service; return true;
  }
  return false;
}

bool AppInspect::learned_from_peer(rte_mbuf* m, Session& s, uint16_t app) {
  ctx_.counters->add(Counter::app_from_metadata);
  return settle(m, s, app);
}

bool AppInspect::settle(rte_mbuf* m, Session& s, uint16_t app) {
  s.app = app;
  // qos.applications: the application's class wins over the service's from now on (Emit
  // marks this packet and the next ones with it; docs/qos.md § Classes by application).
  s.set_qos_class(static_cast<uint8_t>(ctx_.rm().session_qos_class(s.service, app)));
  DropReason why = DropReason::app_policy_deny;
  if (denied(s.tenant, s.service, app, why)) {
    close(m, s, why);
    return false;
  }
  ctx_.post_event(SessionEventKind::update, s);  // REST and IPFIX see the application now
  // After the handshake no forward metadata rides on data: tell the next router in a
  // packet of its own, ahead of this one (before it, TLV 35 rides on the next forward packet).
  if (app != app::kAppUnknown && s.side_b_wan() && (s.flags & kFwdMdAcked) && metadata_only_.send_now(m->pool, s))
    ctx_.counters->add(Counter::app_updates_sent);
  return true;
}

void AppInspect::close(rte_mbuf* m, Session& s, DropReason why) {
  ctx_.counters->add(Counter::app_sessions_denied);
  if (s.app_slot < kAppDenied && ctx_.apps) ctx_.apps->abandon(s.app_slot);
  s.app_slot = kAppDenied;
  ctx_.post_event(SessionEventKind::update, s);
  ctx_.drop(m, why);
}

}  // namespace wp
