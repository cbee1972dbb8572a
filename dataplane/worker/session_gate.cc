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
    : sources_(kSourceCells), sources6_(kSourceCells), tenant_rate_(kTenants), sessions_(kTenants), secret_(secret) {}

template <typename Source>
bool SessionGate::source_ok(std::vector<SourceCell<Source>>& cells, const Source& src, uint64_t hash,
                            uint32_t per_second, uint32_t now_ms) {
  SourceCell<Source>& c = cells[hash & (kSourceCells - 1)];
  if (c.src != src) c = SourceCell<Source>{src, {}};  // a new source: a full bucket of its own
  return c.bucket.take(now_ms, per_second, per_second);
}

template <typename SourceAdmits>
bool SessionGate::admit_as(const RouterModel& rm, uint32_t workers, int tenant, uint32_t now_ms,
                           DropReason source_why, SourceAdmits source_admits, DropReason& why) {
  TenantLimits lim = tenant >= 0 && static_cast<size_t>(tenant) < rm.tenant_limits.size()
                         ? rm.tenant_limits[static_cast<size_t>(tenant)]
                         : TenantLimits{};
  if (!counted(tenant)) lim = TenantLimits{};
  // Cheapest first, and nothing spent on a session that is refused anyway.
  if (uint32_t quota = share(lim.max_sessions, workers); quota && sessions_[static_cast<size_t>(tenant)] >= quota) {
    why = DropReason::session_quota_tenant;
    return false;
  }
  if (uint32_t rate = share(rm.new_sessions_per_source, workers); rate && !source_admits(rate)) {
    why = source_why;
    return false;
  }
  if (uint32_t rate = share(lim.new_per_second, workers);
      rate && !tenant_rate_[static_cast<size_t>(tenant)].take(now_ms, rate, rate)) {
    why = DropReason::session_rate_tenant;
    return false;
  }
  return true;
}

bool SessionGate::admit(const RouterModel& rm, uint32_t workers, Ipv4 src, int tenant, uint32_t now_ms,
                        DropReason& why) {
  return admit_as(
      rm, workers, tenant, now_ms, DropReason::session_rate_source,
      [&](uint32_t rate) { return source_ok(sources_, src, siphash13(secret_, src, 0), rate, now_ms); }, why);
}

bool SessionGate::admit(const RouterModel& rm, uint32_t workers, const Ipv6& src, int tenant, uint32_t now_ms,
                        DropReason& why) {
  return admit_as(
      rm, workers, tenant, now_ms, DropReason::ipv6_session_rate_source,
      [&](uint32_t rate) {
        const Ipv6 mask = Ipv6Prefix::mask_of(rm.source6_prefix);
        const Ipv6 key{src.hi & mask.hi, src.lo & mask.lo};
        return source_ok(sources6_, key, siphash13(secret_, key.hi, key.lo), rate, now_ms);
      },
      why);
}

}  // namespace wp
