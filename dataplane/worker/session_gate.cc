// Admission of new sessions; see session_gate.h.
#include "dataplane/worker/session_gate.h"

namespace wp {
namespace {

// A worker's even share of a router-wide limit; never 0 when the limit is set.
uint32_t share(uint32_t limit, uint32_t workers) {
  if (limit == 0) return 0;
  uint32_t w = workers ? workers : 1;
  return (limit + w - 1) / w;
}

}  // namespace

SessionGate::SessionGate(HashSecret secret)
    : sources_(kSourceCells), tenant_rate_(kTenants), sessions_(kTenants), secret_(secret) {}

bool SessionGate::source_ok(Ipv4 src, uint32_t per_second, uint32_t now_ms) {
  SourceCell& c = sources_[siphash13(secret_, src, 0) & (kSourceCells - 1)];
  if (c.src != src) c = SourceCell{src, {}};  // a new address: a full bucket of its own
  return c.bucket.take(now_ms, per_second, per_second);
}

bool SessionGate::admit(const RouterModel& rm, uint32_t workers, Ipv4 src, int tenant, uint32_t now_ms,
                        DropReason& why) {
  TenantLimits lim = tenant >= 0 && static_cast<size_t>(tenant) < rm.tenant_limits.size()
                         ? rm.tenant_limits[static_cast<size_t>(tenant)]
                         : TenantLimits{};
  if (!counted(tenant)) lim = TenantLimits{};
  // Cheapest first, and nothing spent on a session that is refused anyway.
  if (uint32_t quota = share(lim.max_sessions, workers); quota && sessions_[static_cast<size_t>(tenant)] >= quota) {
    why = DropReason::session_quota_tenant;
    return false;
  }
  if (uint32_t rate = share(rm.new_sessions_per_source, workers); rate && !source_ok(src, rate, now_ms)) {
    why = DropReason::session_rate_source;
    return false;
  }
  if (uint32_t rate = share(lim.new_per_second, workers);
      rate && !tenant_rate_[static_cast<size_t>(tenant)].take(now_ms, rate, rate)) {
    why = DropReason::session_rate_tenant;
    return false;
  }
  return true;
}

}  // namespace wp
