// Path stats JSON; see path_stats.h.
#include "mgmt/path_stats.h"

#include <optional>

#include "dataplane/control/router_model.h"
#include "dataplane/control/waypoint6_addr.h"
#include "dataplane/ip/ipv4.h"
#include "mgmt/prom_text.h"
#include "mgmt/session_feed.h"

namespace wp::mgmt {

namespace {

using Json = nlohmann::ordered_json;

uint64_t get(const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); }

// Live sessions per path, from the snapshot the session feed keeps (never the workers' tables).
std::vector<uint64_t> live_sessions(const PathTable& pt, const SessionSnapshot& sessions) {
  std::vector<uint64_t> live(pt.size(), 0);
  sessions.for_each([&](const SessionEntry& e) {
    // A leg on IPv6 waypoints holds stand-ins: its path is the IPv6 waypoints' one.
    for (int p : {pt.find(e.left_peer, e.left_iface, is_waypoint6_standin(e.left.dst)),
                  pt.find(e.back_peer, e.back_iface, is_waypoint6_standin(e.back.dst))})
      if (p >= 0) ++live[static_cast<size_t>(p)];
  });
  return live;
}

// One path's worker counters summed over the workers.
struct PathTotals {
  uint64_t started = 0, migrated_in = 0, migrated_out = 0, migration_failed = 0;
  uint64_t markers_tx = 0, markers_rx = 0, blocks = 0, sent = 0, received = 0;
};

PathTotals path_totals(const PathTable& pt, size_t path) {
  PathTotals t;
  for (uint32_t w = 0; w < pt.workers(); ++w) {
    const PathWorkerCounters& c = pt.counters(w, path);
    t.started += get(c.sessions_started), t.migrated_in += get(c.migrated_in);
    t.migrated_out += get(c.migrated_out), t.migration_failed += get(c.migration_failed);
    t.markers_tx += get(c.flow_markers_tx), t.markers_rx += get(c.flow_markers_rx), t.blocks += get(c.flow_blocks);
    t.sent += get(c.flow_sent), t.received += get(c.flow_received);
  }
  return t;
}

// In-line flow monitoring (TLV 26): the last window's figures, and totals.
Json flow_json(const PathTable& pt, const PathLive& l, const PathTotals& t) {
  return {{"enabled", pt.flow_period_ms() != 0},
          {"period_ms", pt.flow_period_ms()},
          {"measured", l.flow_measured.load(std::memory_order_relaxed)},
          {"loss_permille", l.flow_loss_permille.load(std::memory_order_relaxed)},
          {"rtt_ms", l.flow_rtt_us.load(std::memory_order_relaxed) / 1000.0},
          {"jitter_ms", l.flow_jitter_us.load(std::memory_order_relaxed) / 1000.0},
          {"window_sent", l.flow_window_sent.load(std::memory_order_relaxed)},
          {"window_received", l.flow_window_received.load(std::memory_order_relaxed)},
          {"markers_tx", t.markers_tx},
          {"markers_rx", t.markers_rx},
          {"blocks", t.blocks},
          {"packets_sent", t.sent},
          {"packets_received", t.received}};
}

// The probes' last figures; null before the first measurement.
Json probe_metrics_json(const PathLive& l) {
  if (!l.measured.load(std::memory_order_relaxed)) return nullptr;
  return {{"rtt_ms", l.rtt_us.load(std::memory_order_relaxed) / 1000.0},
          {"jitter_ms", l.jitter_us.load(std::memory_order_relaxed) / 1000.0},
          {"loss_permille", l.loss_permille.load(std::memory_order_relaxed)}};
}

// What the SLA check compares: the worse of probe and flow per metric.
Json sla_json(const PathLive& l) {
  if (!l.sla_measured()) return nullptr;
  return {{"rtt_ms", l.sla_rtt_us() / 1000.0},
          {"jitter_ms", l.sla_jitter_us() / 1000.0},
          {"loss_permille", l.sla_loss_permille()}};
}

Json bfd_json(const PathLive& l) {
  return {{"tx", get(l.bfd_tx)},
          {"rx", get(l.bfd_rx)},
          {"discarded", get(l.bfd_discards)},
          {"auth_seq_gaps", get(l.bfd_seq_gaps)},
          {"went_up", get(l.went_up)},
          {"went_down", get(l.went_down)}};
}

// `live`: sessions with a WAN leg on the path, null without the snapshot.
Json path_json(const PathTable& pt, const RouterModel& rm, size_t i, Json live) {
  const PathModel& p = pt.path(i);
  const PathLive& l = pt.live(i);
  const PathTotals t = path_totals(pt, i);
  return {
      {"name", p.name},
      {"peer", rm.peers[p.peer].name},
      {"local", p.v6 ? format_ipv6(p.local6) : format_ipv4(p.local)},
      {"remote", p.v6 ? format_ipv6(p.remote6) : format_ipv4(p.remote)},
      {"family", p.v6 ? "ipv6" : "ipv4"},
      {"monitored", pt.monitored()},
      {"bfd_state", to_string(static_cast<BfdState>(l.bfd_state.load(std::memory_order_relaxed)))},
      {"usable", l.usable.load(std::memory_order_relaxed)},
      {"last_change_ms", get(l.last_change_ms)},
      {"metrics", probe_metrics_json(l)},
      {"flow", flow_json(pt, l, t)},
      {"sla_metrics", sla_json(l)},
      {"sessions", std::move(live)},
      {"sessions_started", t.started},
      {"migrated_in", t.migrated_in},
      {"migrated_out", t.migrated_out},
      {"migration_failed", t.migration_failed},
      {"bfd", bfd_json(l)},
      {"probes", {{"tx", get(l.probes_tx)}, {"rx", get(l.probes_rx)}}},
  };
}

// One gauge or counter family with a sample per path.
template <typename Value>
void per_path(PromText& out, const std::vector<std::string>& labels, const char* name, const char* type,
              const char* help, Value value) {
  out.family(name, type, help);
  for (size_t i = 0; i < labels.size(); ++i)
    if (auto v = value(i)) out.sample_double(name, *v, labels[i]);
}

}  // namespace

void path_metrics(PromText& out, const DataplaneShared& shared) {
  const PathTable* pt = shared.paths;
  const RouterModel* rm = shared.model.load(std::memory_order_acquire);
  if (!pt || !rm || pt->size() == 0) return;
  std::vector<std::string> labels;
  std::vector<PathTotals> totals;
  for (size_t i = 0; i < pt->size(); ++i) {
    labels.push_back(prom_label("path", pt->path(i).name) + "," + prom_label("peer", rm->peers[pt->path(i).peer].name) +
                     (pt->path(i).v6 ? "," + prom_label("family", "ipv6") : ""));
    totals.push_back(path_totals(*pt, i));
  }
  using V = std::optional<double>;
  auto live = [pt](size_t i) -> const PathLive& { return pt->live(i); };
  // Microseconds or permille scaled to base units, once measured.
  auto sla = [&](size_t i, uint32_t v, double scale) { return live(i).sla_measured() ? V(v / scale) : V(); };
  per_path(out, labels, "waypoint_path_usable", "gauge", "1 while sessions may use the path.",
           [&](size_t i) { return V(live(i).usable.load(std::memory_order_relaxed) ? 1 : 0); });
  per_path(out, labels, "waypoint_path_bfd_up", "gauge", "1 while the path's BFD session is Up.", [&](size_t i) {
    return V(live(i).bfd_state.load(std::memory_order_relaxed) == static_cast<uint8_t>(BfdState::up) ? 1 : 0);
  });
  per_path(out, labels, "waypoint_path_rtt_seconds", "gauge", "Round-trip time (worse of probe and flow).",
           [&](size_t i) { return sla(i, live(i).sla_rtt_us(), 1e6); });
  per_path(out, labels, "waypoint_path_jitter_seconds", "gauge", "Jitter (worse of probe and flow).",
           [&](size_t i) { return sla(i, live(i).sla_jitter_us(), 1e6); });
  per_path(out, labels, "waypoint_path_loss_ratio", "gauge", "Packet loss 0..1 (worse of probe and flow).",
           [&](size_t i) { return sla(i, live(i).sla_loss_permille(), 1e3); });
  per_path(out, labels, "waypoint_path_sessions_started_total", "counter", "Sessions started on the path.",
           [&](size_t i) { return V(static_cast<double>(totals[i].started)); });
  per_path(out, labels, "waypoint_path_migrated_in_total", "counter", "Sessions migrated onto the path.",
           [&](size_t i) { return V(static_cast<double>(totals[i].migrated_in)); });
  per_path(out, labels, "waypoint_path_migrated_out_total", "counter", "Sessions migrated off the path.",
           [&](size_t i) { return V(static_cast<double>(totals[i].migrated_out)); });
}

nlohmann::ordered_json paths_json(const DataplaneShared& shared, const SessionSnapshot* sessions) {
  Json out = Json::array();
  const PathTable* pt = shared.paths;
  const RouterModel* rm = shared.model.load(std::memory_order_acquire);
  if (!pt || !rm) return out;
  std::vector<uint64_t> live = sessions ? live_sessions(*pt, *sessions) : std::vector<uint64_t>();
  for (size_t i = 0; i < pt->size(); ++i)
    out.push_back(path_json(*pt, *rm, i, sessions ? Json(live[i]) : Json(nullptr)));
  return out;
}

}  // namespace wp::mgmt
