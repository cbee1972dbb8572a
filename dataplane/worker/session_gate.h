// Admission of new sessions: the flood protection both first-packet paths
// apply before they allocate a session, pick a port pair or build metadata
// (docs/security.md § Dataplane). A SYN flood costs the worker a table
// lookup and these checks per packet, not a session.
//
// Three limits, from the model (router-wide, each worker enforcing its even
// share, as with dataplane.max_sessions), all 0 = off:
//   - a tenant's sessions at once (max_sessions): a flood fills its own
//     tenant's quota, never the table other tenants need;
//   - new sessions per source address per second (token bucket per source,
//     in kSourceCells cells picked by a keyed hash; a cell that meets a new
//     address starts it with a full bucket, so sources that share a cell
//     never starve each other for long). An IPv6 source is its prefix
//     (RouterModel::source6_prefix, /64 unless configured), in cells of its
//     own: one host picks any address of its /64 (RFC 8981 temporary
//     addresses, or none spoofed at all), so a per-/128 bucket would bound
//     nothing (docs/security.md § Dataplane);
//   - new sessions per tenant per second: what bounds a flood of spoofed
//     sources, each of which only ever sends one packet.
// Existing sessions are never evicted. Counts follow the tenant's index; a
// config commit that renumbers tenants leaves counts approximate until the
// sessions counted end (a count never goes below zero).
#pragma once

#include <cstdint>
#include <vector>

#include "dataplane/control/router_model.h"
#include "dataplane/ip/ipv6.h"
#include "dataplane/ip/keyed_hash.h"
#include "dataplane/worker/drop_reason.h"
#include "dataplane/worker/rate_limit.h"

namespace wp {

class SessionGate {
 public:
  static constexpr uint32_t kSourceCells = 4096;
  static constexpr uint32_t kTenants = 1024;  // the validator refuses limits on tenants past this index

  explicit SessionGate(HashSecret secret = boot_secret());

  // Whether a new session of `tenant` from `src` may start now; `why` says why not.
  bool admit(const RouterModel& rm, uint32_t workers, Ipv4 src, int tenant, uint32_t now_ms, DropReason& why);
  // The same for an IPv6 source, counted by its prefix (ipv6_session_rate_source).
  bool admit(const RouterModel& rm, uint32_t workers, const Ipv6& src, int tenant, uint32_t now_ms, DropReason& why);
  void created(int tenant) {
    if (counted(tenant)) ++sessions_[static_cast<size_t>(tenant)];
  }
  void ended(int tenant) {
    if (counted(tenant) && sessions_[static_cast<size_t>(tenant)] > 0) --sessions_[static_cast<size_t>(tenant)];
  }
  uint32_t sessions(int tenant) const { return counted(tenant) ? sessions_[static_cast<size_t>(tenant)] : 0; }

 private:
  template <typename Source>
  struct SourceCell {
    Source src{};
    TokenBucket bucket;
  };
  static bool counted(int tenant) { return tenant >= 0 && static_cast<uint32_t>(tenant) < kTenants; }
  template <typename Source>
  bool source_ok(std::vector<SourceCell<Source>>& cells, const Source& src, uint64_t hash, uint32_t per_second,
                 uint32_t now_ms);
  // The tenant's quota, then `source_admits(rate)` when a per-source rate is set, then the tenant's rate.
  template <typename SourceAdmits>
  bool admit_as(const RouterModel& rm, uint32_t workers, int tenant, uint32_t now_ms, DropReason source_why,
                SourceAdmits source_admits, DropReason& why);

  std::vector<SourceCell<Ipv4>> sources_;
  std::vector<SourceCell<Ipv6>> sources6_;  // by the source's prefix
  std::vector<TokenBucket> tenant_rate_;
  std::vector<uint32_t> sessions_;
  HashSecret secret_;
};

}  // namespace wp
