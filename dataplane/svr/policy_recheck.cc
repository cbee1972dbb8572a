// The re-check after a config commit; see policy_recheck.h.
#include "dataplane/svr/policy_recheck.h"

#include <algorithm>

namespace wp {
namespace {

int remap_peer(int idx, const RouterModel& from, const RouterModel& to) {
  if (idx < 0) return idx;
  for (size_t i = 0; i < to.peers.size(); ++i)
    if (to.peers[i].name == from.peers[static_cast<size_t>(idx)].name) return static_cast<int>(i);
  return kNone - 1;  // gone
}

}  // namespace

PolicyRecheck::PolicyRecheck(WorkerContext& ctx) : ctx_(ctx) {
  ctx.counters->model_settled.store(reinterpret_cast<uintptr_t>(ctx.model), std::memory_order_release);
}

uint32_t PolicyRecheck::poll() {
  const RouterModel* published = ctx_.shared.model.load(std::memory_order_acquire);
  if (published != ctx_.model && !running()) adopt(published);
  if (!running()) return 0;
  uint32_t end = std::min(hand_ + kSlice, ctx_.table.capacity());
  uint32_t visited = end - hand_;
  for (; hand_ < end; ++hand_) {
    Session& s = *ctx_.table.at(hand_);
    if (s.in_use) current(s);
  }
  if (hand_ >= ctx_.table.capacity()) {
    previous_ = nullptr;
    ctx_.counters->model_settled.store(reinterpret_cast<uintptr_t>(ctx_.model), std::memory_order_release);
  }
  return visited;
}

void PolicyRecheck::adopt(const RouterModel* published) {
  previous_ = ctx_.model;
  ctx_.model = published;
  ++ctx_.model_gen;
  hand_ = 0;
  if (previous_ == nullptr || published == nullptr) {  // nothing to re-map from or to
    previous_ = nullptr;
    ctx_.counters->model_settled.store(reinterpret_cast<uintptr_t>(published), std::memory_order_release);
  }
}

bool PolicyRecheck::recheck(Session& s) {
  s.model_gen = ctx_.model_gen;
  if (previous_ == nullptr) return true;  // created from a peer's copy, already in our terms
  const RouterModel& from = *previous_;
  const RouterModel& to = ctx_.rm();
  ctx_.counters->add(Counter::sessions_rechecked);
  int tenant = s.tenant >= 0 ? to.tenant_by_name(from.tenants[static_cast<size_t>(s.tenant)]) : kNone;
  int service = s.service >= 0 ? to.service_by_name(from.services[static_cast<size_t>(s.service)].name) : kNone;
  int security = to.policy(tenant, service);
  int peer_fwd = remap_peer(s.out_fwd.peer, from, to);
  int peer_rev = remap_peer(s.out_rev.peer, from, to);
  // A breakout session keeps its source address only while its service still translates to it.
  bool nat_gone = s.out_fwd.nat &&
                  (service == kNone || to.services[static_cast<size_t>(service)].breakout_addr != s.out_fwd.tuple.src);
  if (security == kNone || peer_fwd < kNone || peer_rev < kNone || nat_gone) {
    ctx_.post_event(SessionEventKind::closed, s, SessionEndReason::forced_end);
    ctx_.remove_session(&s);
    ctx_.counters->add(Counter::sessions_policy_closed);
    ctx_.count_active();
    return false;
  }
  s.tenant = static_cast<int16_t>(tenant);
  s.service = static_cast<int16_t>(service);
  s.set_qos_class(static_cast<uint8_t>(to.session_qos_class(service, s.app)));  // the application's class first
  s.security = static_cast<int16_t>(security);
  s.out_fwd.peer = static_cast<int8_t>(peer_fwd);
  s.out_rev.peer = static_cast<int8_t>(peer_rev);
  return true;
}

}  // namespace wp
