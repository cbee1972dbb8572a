// The REST session snapshot as it was before the compact one (mgmt/session_feed.h,
// up to commit 3faca6e): a std::map of full SessionView copies with three
// std::strings each. Kept verbatim for perf/bench_snapshot.cc's before/after
// comparison in the same run; nothing else uses it.
#pragma once

#include <atomic>
#include <cstdint>
#include <ctime>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "dataplane/control/router_model.h"
#include "dataplane/session/events.h"
#include "mgmt/session_feed.h"

namespace wp::bench::legacy {

using mgmt::AppTotals;
using mgmt::SessionQuery;

struct SessionView {
  Session session;  // copy as of the last event
  uint16_t worker = 0;
  bool established = false;
  uint64_t created_epoch_ms = 0;
  uint64_t last_epoch_ms = 0;  // last packet
  std::string tenant, service, security;
};

class SessionSnapshot {
 public:
  explicit SessionSnapshot(size_t capacity) : capacity_(capacity) {}
  void apply(const SessionEvent& ev, const RouterModel& model, const DataplaneClock& clock);
  std::vector<SessionView> page(const SessionQuery& q, bool& more) const;
  std::optional<SessionView> find(const SessionUuid& id) const;
  size_t size() const;
  std::map<uint16_t, AppTotals> app_totals() const;
  uint64_t overflow() const { return overflow_.load(std::memory_order_relaxed); }

 private:
  mutable std::mutex mu_;
  void count_app(const Session& s, const Session* before);
  std::map<SessionUuid, SessionView> sessions_;
  std::map<uint16_t, AppTotals> app_totals_;
  size_t capacity_;
  std::atomic<uint64_t> overflow_{0};
};

namespace detail {

inline std::string name_of(const std::vector<std::string>& names, int idx) {
  return idx >= 0 && static_cast<size_t>(idx) < names.size() ? names[static_cast<size_t>(idx)] : std::string();
}
inline std::string service_name(const RouterModel& m, int idx) {
  return idx >= 0 && static_cast<size_t>(idx) < m.services.size() ? m.services[static_cast<size_t>(idx)].name
                                                                  : std::string();
}
inline std::string security_name(const RouterModel& m, int idx) {
  return idx >= 0 && static_cast<size_t>(idx) < m.security.size() ? m.security[static_cast<size_t>(idx)].name
                                                                  : std::string();
}

inline bool touches(const Session& s, Ipv4 a) {
  const FiveTuple* ts[] = {&s.original, &s.out_fwd.tuple, &s.out_rev.tuple};
  for (const FiveTuple* t : ts)
    if (t->src == a || t->dst == a) return true;
  return false;
}

}  // namespace detail

inline void SessionSnapshot::apply(const SessionEvent& ev, const RouterModel& model, const DataplaneClock& clock) {
  const Session& s = ev.session;
  std::lock_guard lock(mu_);
  auto it = sessions_.find(s.uuid);
  count_app(s, it == sessions_.end() ? nullptr : &it->second.session);
  if (ev.kind == SessionEventKind::closed) {
    if (it != sessions_.end()) sessions_.erase(it);
    return;
  }
  if (it == sessions_.end()) {
    if (sessions_.size() >= capacity_) {
      overflow_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    it = sessions_.emplace(s.uuid, SessionView{}).first;
    it->second.tenant = detail::name_of(model.tenants, s.tenant);
    it->second.service = detail::service_name(model, s.service);
    it->second.security = detail::security_name(model, s.security);
  }
  SessionView& v = it->second;
  v.session = s;
  v.worker = ev.worker;
  v.established = (s.flags & kEstablished) != 0;
  v.created_epoch_ms = clock.epoch_ms(s.created_ms);
  v.last_epoch_ms = clock.epoch_ms(s.last_ms);
}

inline void SessionSnapshot::count_app(const Session& s, const Session* before) {
  uint64_t packets = s.packets[0] + s.packets[1], bytes = s.bytes[0] + s.bytes[1];
  if (before && before->app != s.app) {  // classified since: its totals so far move with it
    AppTotals& from = app_totals_[before->app];
    const uint64_t p = before->packets[0] + before->packets[1], b = before->bytes[0] + before->bytes[1];
    from.sessions -= std::min<uint64_t>(from.sessions, 1);
    from.packets -= std::min(from.packets, p);
    from.bytes -= std::min(from.bytes, b);
    before = nullptr;
  }
  AppTotals& to = app_totals_[s.app];
  if (!before) {
    to.sessions += 1;
  } else {
    packets -= std::min(packets, before->packets[0] + before->packets[1]);
    bytes -= std::min(bytes, before->bytes[0] + before->bytes[1]);
  }
  to.packets += packets;
  to.bytes += bytes;
}

inline std::map<uint16_t, AppTotals> SessionSnapshot::app_totals() const {
  std::lock_guard lock(mu_);
  return app_totals_;
}

inline std::vector<SessionView> SessionSnapshot::page(const SessionQuery& q, bool& more) const {
  std::vector<SessionView> out;
  more = false;
  std::lock_guard lock(mu_);
  auto it = q.after ? sessions_.upper_bound(*q.after) : sessions_.begin();
  for (; it != sessions_.end(); ++it) {
    const SessionView& v = it->second;
    if (!q.tenant.empty() && v.tenant != q.tenant) continue;
    if (!q.service.empty() && v.service != q.service) continue;
    if (q.addr && !detail::touches(v.session, *q.addr)) continue;
    if (out.size() == q.limit) {
      more = true;
      break;
    }
    out.push_back(v);
  }
  return out;
}

inline std::optional<SessionView> SessionSnapshot::find(const SessionUuid& id) const {
  std::lock_guard lock(mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return std::nullopt;
  return it->second;
}

inline size_t SessionSnapshot::size() const {
  std::lock_guard lock(mu_);
  return sessions_.size();
}

}  // namespace wp::bench::legacy
