// Aging; see aging.h.
#include "dataplane/worker/aging.h"

#include <algorithm>

namespace wp {

uint32_t Aging::period_ms(const Timeouts& t, uint32_t update_ms) {
  uint32_t p = std::min({t.tcp_established_ms, t.tcp_transitory_ms, t.udp_ms}) / 4;
  if (update_ms) p = std::min(p, update_ms / 2);
  return std::clamp(p, kMinPeriodMs, kMaxPeriodMs);
}

void Aging::age() {
  uint32_t elapsed = ctx_.now_ms - last_ms_;
  if (elapsed == 0) return;
  last_ms_ = ctx_.now_ms;
  uint64_t budget =
      uint64_t{ctx_.table.capacity()} * elapsed / period_ms(ctx_.shared.timeouts, ctx_.shared.session_update_ms) + 1;
  expire(static_cast<uint32_t>(std::min<uint64_t>(budget, kMaxSlice)));
}

void Aging::on_expire(void* p, Session& s) {
  auto* ctx = static_cast<WorkerContext*>(p);
  bool ended = (s.flags & kRst) || ((s.flags & kFinFwd) && (s.flags & kFinRev));
  ctx->post_event(SessionEventKind::closed, s, ended ? SessionEndReason::end_of_flow : SessionEndReason::idle_timeout);
  ctx->release_keys(s);
  ctx->release_nat_port(s);
  ctx->gate.ended(s.tenant);
}

void Aging::on_live(void* p, Session& s) {
  auto* ctx = static_cast<WorkerContext*>(p);
  uint32_t period = ctx->shared.session_update_ms;
  uint32_t since = s.updated_ms ? s.updated_ms : s.created_ms;
  if (period == 0 || ctx->now_ms - since < period) return;
  s.updated_ms = ctx->now_ms;
  ctx->post_event(SessionEventKind::update, s);
}

uint32_t Aging::expire(uint32_t budget) {
  uint32_t n = ctx_.table.expire_some(ctx_.now_ms, budget, ctx_.shared.timeouts, on_expire, &ctx_,
                                      ctx_.shared.session_update_ms ? &on_live : nullptr);
  if (n) {
    ctx_.counters->add(Counter::sessions_expired, n);
    ctx_.count_active();
  }
  return n;
}

}  // namespace wp
