// Path table, ranks and path metrics; see path_table.h.
#include "dataplane/paths/path_table.h"

#include <cmath>

#include "dataplane/control/router_model.h"
#include "dataplane/control/waypoint6_addr.h"

namespace wp {

void PathMetrics::sent(uint32_t seq, uint64_t now_us) {
  window_[seq % kWindow] = Slot{seq, now_us, true, false, false};
}

bool PathMetrics::answered(uint32_t seq, uint64_t, uint64_t now_us) {
  Slot& s = window_[seq % kWindow];
  if (!s.used || s.seq != seq || s.answered || now_us < s.sent_us) return false;
  s.answered = true;
  s.final = true;
  // Our own send time, not the echoed one: a peer cannot make the path look faster.
  double rtt = static_cast<double>(now_us - s.sent_us);
  if (!have_rtt_) {
    srtt_us_ = rtt;
    jitter_us_ = 0;
    have_rtt_ = true;
  } else {
    srtt_us_ += (rtt - srtt_us_) / 8;
    jitter_us_ += (std::fabs(rtt - last_rtt_us_) - jitter_us_) / 16;
  }
  last_rtt_us_ = rtt;
  return true;
}

void PathMetrics::expire(uint64_t now_us, uint64_t timeout_us) {
  for (Slot& s : window_)
    if (s.used && !s.final && now_us - s.sent_us > timeout_us) s.final = true;
}

uint32_t PathMetrics::loss_permille() const {
  uint32_t done = 0, lost = 0;
  for (const Slot& s : window_) {
    if (!s.used || !s.final) continue;
    ++done;
    lost += !s.answered;
  }
  return done ? lost * 1000 / done : 0;
}

void PathMetrics::reset() { *this = PathMetrics{}; }

PathTable::PathTable(const RouterModel& rm, const config::Config& cfg, uint32_t workers, bool monitored)
    : n_ifaces_(rm.interfaces.size()), workers_(workers ? workers : 1), monitored_(monitored) {
  revert_ = cfg.path_monitoring().revert();
  flow_period_ms_ = cfg.path_monitoring().flow_period_ms();
  flow_sessions_ =
      flow_period_ms_ ? (cfg.path_monitoring().flow_sessions() ? cfg.path_monitoring().flow_sessions() : 1024) : 0;
  by_peer_iface_.assign(rm.peers.size() * n_ifaces_, -1);
  for (size_t p = 0; p < rm.peers.size(); ++p) {
    for (Ipv4 w : rm.peers[p].waypoints) {
      auto nh = rm.route(w);
      if (!nh || nh->iface < 0 || !rm.interfaces[nh->iface].wan) continue;  // not into a tunnel
      int& slot = by_peer_iface_[p * n_ifaces_ + static_cast<size_t>(nh->iface)];
      if (slot >= 0) continue;  // one path per (peer, interface): the first waypoint
      slot = static_cast<int>(paths_.size());
      const InterfaceModel& itf = rm.interfaces[nh->iface];
      paths_.push_back(PathModel{itf.name, static_cast<int>(p), nh->iface, itf.addr, w, nh->addr});
    }
  }
  // IPv6 waypoints: the same rule by their stand-ins (session_setup's bind_waypoint6 order).
  by_peer_iface6_.assign(rm.peers.size() * n_ifaces_, -1);
  peer_has6_.assign(rm.peers.size(), 0);
  for (size_t p = 0; p < rm.peers.size() && p < kWaypoint6MaxPeers; ++p) {
    for (size_t k = 0; k < rm.peers[p].waypoints6.size() && k < kWaypoint6MaxPerPeer; ++k) {
      const Ipv4 remote = waypoint6_peer_standin(static_cast<int>(p), k);
      auto nh = waypoint6_route(rm, nullptr, remote);
      if (!nh) continue;
      int& slot = by_peer_iface6_[p * n_ifaces_ + static_cast<size_t>(nh->iface)];
      if (slot >= 0) continue;
      slot = static_cast<int>(paths_.size());
      peer_has6_[p] = 1;
      PathModel pm{rm.interfaces[nh->iface].name, static_cast<int>(p), nh->iface, waypoint6_own_standin(nh->iface),
                   remote, remote, true};
      pm.local6 = *waypoint6_own(rm, nh->iface);
      pm.remote6 = rm.peers[p].waypoints6[k];
      if (auto r = waypoint6_route6(rm, nullptr, pm.remote6)) pm.next_hop6 = route6_via(*r, pm.remote6);
      paths_.push_back(std::move(pm));
    }
  }
  live_ = std::make_unique<PathLive[]>(paths_.size() ? paths_.size() : 1);
  counters_ = std::make_unique<PathWorkerCounters[]>(workers_ * (paths_.size() ? paths_.size() : 1));
  for (size_t i = 0; i < paths_.size(); ++i) live_[i].usable.store(!monitored_);

  size_t ns = rm.services.size();
  service_peer_.assign(ns, -1);
  slas_.assign(ns, Sla{});
  preference_.assign(ns * paths_.size(), 126);
  for (size_t s = 0; s < ns; ++s) {
    service_peer_[s] = rm.services[s].next_peer;
    // The model keeps config order; find by name all the same.
    for (const auto& cs : cfg.services()) {
      if (cs.name() != rm.services[s].name) continue;
      slas_[s] = Sla{cs.sla().max_latency_ms() * 1000, cs.sla().max_jitter_ms() * 1000, cs.sla().max_loss_permille()};
      for (int i = 0; i < cs.paths_size() && i < 126; ++i)
        for (size_t p = 0; p < paths_.size(); ++p)
          if (paths_[p].name == cs.paths(i)) preference_[s * paths_.size() + p] = static_cast<uint8_t>(i);
    }
  }
  ranks_ = std::make_unique<std::atomic<uint8_t>[]>(ns * paths_.size() + 1);
  best_ = std::make_unique<std::atomic<uint8_t>[]>(ns * 2 + 1);
  recompute();
}

void PathTable::recompute() {
  const size_t np = paths_.size();
  bool moved = false;
  for (size_t s = 0; s < service_peer_.size(); ++s) {
    uint8_t best[2] = {kRankUnusable, kRankUnusable};  // IPv4 waypoints' paths, IPv6 ones'
    const Sla& sla = slas_[s];
    for (size_t p = 0; p < np; ++p) {
      const PathLive& l = live_[p];
      uint8_t r = kRankUnusable;
      if (paths_[p].peer == service_peer_[s] && l.usable.load(std::memory_order_relaxed)) {
        // No answer yet is no evidence against the path: it counts as within.
        // Probe and live-traffic (TLV 26) figures: the worse of each (PathLive).
        bool within = !sla.any() || !l.sla_measured() ||
                      ((!sla.max_latency_us || l.sla_rtt_us() <= sla.max_latency_us) &&
                       (!sla.max_jitter_us || l.sla_jitter_us() <= sla.max_jitter_us) &&
                       (!sla.max_loss_permille || l.sla_loss_permille() <= sla.max_loss_permille));
        uint8_t pref = preference_[s * np + p];
        r = static_cast<uint8_t>(within ? 1 + pref : kRankOutOfSla + pref);
      }
      if (ranks_[s * np + p].exchange(r, std::memory_order_relaxed) != r) moved = true;
      uint8_t& b = best[paths_[p].v6];
      if (r != kRankUnusable && (b == kRankUnusable || r < b)) b = r;
    }
    best_[s * 2].store(best[0], std::memory_order_relaxed);
    best_[s * 2 + 1].store(best[1], std::memory_order_relaxed);
  }
  if (moved) epoch_.fetch_add(1, std::memory_order_release);
}

int PathTable::pick(size_t service, uint32_t hash, bool v6) const {
  uint8_t b = best(service, v6);
  if (b == kRankUnusable) return -1;
  const size_t np = paths_.size();
  uint32_t ties = 0;
  for (size_t p = 0; p < np; ++p) ties += paths_[p].v6 == v6 && rank(service, p) == b;
  if (ties == 0) return -1;  // ranks moved under us; the next packet retries
  uint32_t k = hash % ties;
  for (size_t p = 0; p < np; ++p)
    if (paths_[p].v6 == v6 && rank(service, p) == b && k-- == 0) return static_cast<int>(p);
  return -1;
}

}  // namespace wp
