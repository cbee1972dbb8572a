// IPv6 sessions of the REST snapshot; see session_snapshot6.h.
#include "mgmt/session_snapshot6.h"

#include "mgmt/model_names.h"

namespace wp::mgmt {
namespace {

static_assert(sizeof(FiveTuple6) + sizeof(Ipv6) + 4 * 8 + 2 * 8 + 3 * 2 + 2 * 2 + 1 <= 120,
              "Entry6 grew: update docs/operations.md § Session snapshot memory");


}  // namespace

uint16_t SessionSnapshot6::name_id(std::string_view name) {
  if (auto id = names_.intern(name)) return *id;
  // Full (config churn over a long uptime): forget the names no session holds any more.
  std::vector<bool> used(names_.size(), false);
  for (const auto& [id, e] : entries_) used[e.tenant] = used[e.service] = true;
  for (const auto& [id, x] : svr_) used[x.peer] = true;
  const std::vector<uint16_t> remap = names_.compact(used);
  for (auto& [id, e] : entries_) e.tenant = remap[e.tenant], e.service = remap[e.service];
  for (auto& [id, x] : svr_) x.peer = remap[x.peer];
  return names_.intern(name).value_or(0);
}

void SessionSnapshot6::apply(const Session6Event& ev, const RouterModel& model, const DataplaneClock& clock) {
  const Session6& s = ev.session;
  std::lock_guard lock(mu_);
  auto it = entries_.find(s.uuid);
  if (ev.kind == SessionEventKind::closed) {
    if (it != entries_.end()) entries_.erase(it);
    svr_.erase(s.uuid);
    return;
  }
  if (it == entries_.end()) {
    if (entries_.size() >= capacity_) {
      overflow_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    Entry6 e;
    e.tenant = name_id(name_at(model.tenants, s.tenant));
    e.service = name_id(model_name(model.services, s.service));
    if (ev.svr.role != Svr6Role::none) {
      // Once: the waypoint leg of a session does not move (docs/ipv6.md).
      Svr6Entry x{ev.svr.role, 0, svr6_waypoints(model, ev.svr), {}};
      const bool transit = ev.svr.role == Svr6Role::transit;
      // At a transit router the peer is the next one, as for IPv4 transit sessions (rest_api.cc).
      x.peer = name_id(model_name(model.peers, transit ? ev.svr.onward_peer : ev.svr.peer));
      if (transit) x.onward = svr6_waypoints(model, onward_leg(ev.svr));
      svr_[s.uuid] = x;
    }
    it = entries_.emplace(s.uuid, e).first;
  }
  Entry6& e = it->second;
  const auto fw = static_cast<size_t>(Dir::forward), rv = static_cast<size_t>(Dir::reverse);
  e.original = s.original;
  e.next_hop = s.iface[fw] == kRoute6Tunnel ? Ipv6{} : s.next_hop[fw];  // into a tunnel: no gateway (as IPv4's)
  e.egress = static_cast<int16_t>(side6(s, fw)), e.ingress = static_cast<int16_t>(side6(s, rv));
  // SVR: the WAN interface is the egress at the ingress router, the ingress at the egress.
  if (ev.svr.role == Svr6Role::ingress) e.egress = ev.svr.iface;
  if (ev.svr.role == Svr6Role::egress) e.ingress = ev.svr.iface;
  if (ev.svr.role == Svr6Role::transit) e.ingress = ev.svr.iface, e.egress = ev.svr.onward_iface;
  e.packets[0] = s.packets[0], e.packets[1] = s.packets[1];
  e.bytes[0] = s.bytes[0], e.bytes[1] = s.bytes[1];
  e.created_epoch_ms = clock.epoch_ms(s.created_ms);
  e.last_epoch_ms = clock.epoch_ms(s.last_ms);
  e.worker = ev.worker;
  e.established = (s.flags & kReverseSeen) != 0;
}

Session6View SessionSnapshot6::view(const SessionUuid& id, const Entry6& e) const {
  Session6View v;
  v.uuid = id;
  v.original = e.original;
  v.next_hop = e.next_hop;
  v.ingress = e.ingress, v.egress = e.egress;
  v.packets[0] = e.packets[0], v.packets[1] = e.packets[1];
  v.bytes[0] = e.bytes[0], v.bytes[1] = e.bytes[1];
  v.worker = e.worker;
  v.established = e.established != 0;
  v.created_epoch_ms = e.created_epoch_ms, v.last_epoch_ms = e.last_epoch_ms;
  v.tenant = names_.name(e.tenant);
  v.service = names_.name(e.service);
  if (auto x = svr_.find(id); x != svr_.end()) {
    v.role = x->second.role;
    v.peer = names_.name(x->second.peer);
    v.waypoints = x->second.waypoints;
    v.onward = x->second.onward;
  }
  return v;
}

std::vector<Session6View> SessionSnapshot6::page(const SessionQuery& q, bool& more) const {
  std::vector<Session6View> out;
  more = false;
  std::lock_guard lock(mu_);
  if (q.addr && svr_.empty()) return out;  // an IPv4 address is in no IPv6 session but for their IPv4 waypoints
  std::optional<uint16_t> tenant, service;
  if (!q.tenant.empty() && !(tenant = names_.find(q.tenant))) return out;
  if (!q.service.empty() && !(service = names_.find(q.service))) return out;
  for (auto it = q.after ? entries_.upper_bound(*q.after) : entries_.begin(); it != entries_.end(); ++it) {
    const Entry6& e = it->second;
    if (tenant && e.tenant != *tenant) continue;
    if (service && e.service != *service) continue;
    // An address of the IPv6 tuple or a waypoint (IPv4 ones too: IPv6 sessions between IPv4 waypoints).
    if (q.addr || q.addr6) {
      const auto x = svr_.find(it->first);
      const bool svr = x != svr_.end();
      if (q.addr && !(svr && (x->second.waypoints.touches(*q.addr) || x->second.onward.touches(*q.addr)))) continue;
      if (q.addr6 && e.original.src != *q.addr6 && e.original.dst != *q.addr6 &&
          !(svr && (x->second.waypoints.touches(*q.addr6) || x->second.onward.touches(*q.addr6))))
        continue;
    }
    if (out.size() == q.limit) {
      more = true;
      break;
    }
    out.push_back(view(it->first, e));
  }
  return out;
}

std::optional<Session6View> SessionSnapshot6::find(const SessionUuid& id) const {
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return std::nullopt;
  return view(it->first, it->second);
}

size_t SessionSnapshot6::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

}  // namespace wp::mgmt
