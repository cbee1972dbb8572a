// Path stats JSON; see path_stats.h.
#include "mgmt/path_stats.h"

#include "dataplane/ip/ipv4.h"
#include "dataplane/control/router_model.h"
#include "mgmt/session_feed.h"

namespace wp::mgmt {

nlohmann::ordered_json paths_json(const DataplaneShared& shared, const SessionSnapshot* sessions) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  const PathTable* pt = shared.paths;
  const RouterModel* rm = shared.model.load(std::memory_order_acquire);
  if (!pt || !rm) return out;
  // Live sessions per path, from the snapshot the session feed keeps (never the workers' tables).
  std::vector<uint64_t> live(pt->size(), 0);
  if (sessions) {
    SessionQuery q;
    q.limit = UINT32_MAX;
    bool more = false;
    for (const SessionView& v : sessions->page(q, more))
      for (const SideOut* side : {&v.session.out_fwd, &v.session.out_rev}) {
        int p = pt->find(side->peer, side->iface);
        if (p >= 0) ++live[static_cast<size_t>(p)];
      }
  }
  for (size_t i = 0; i < pt->size(); ++i) {
    const PathModel& p = pt->path(i);
    const PathLive& l = pt->live(i);
    auto get = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
    uint64_t started = 0, in = 0, out_n = 0, failed = 0;
    uint64_t mk_tx = 0, mk_rx = 0, blocks = 0, sent = 0, received = 0;
    for (uint32_t w = 0; w < pt->workers(); ++w) {
      const PathWorkerCounters& c = pt->counters(w, i);
      started += get(c.sessions_started), in += get(c.migrated_in), out_n += get(c.migrated_out);
      failed += get(c.migration_failed);
      mk_tx += get(c.flow_markers_tx), mk_rx += get(c.flow_markers_rx), blocks += get(c.flow_blocks);
      sent += get(c.flow_sent), received += get(c.flow_received);
    }
    // In-line flow monitoring (TLV 26): the last window's figures, and totals.
    bool flow_measured = l.flow_measured.load(std::memory_order_relaxed);
    nlohmann::ordered_json flow = {{"enabled", pt->flow_period_ms() != 0},
                                   {"period_ms", pt->flow_period_ms()},
                                   {"measured", flow_measured},
                                   {"loss_permille", l.flow_loss_permille.load(std::memory_order_relaxed)},
                                   {"rtt_ms", l.flow_rtt_us.load(std::memory_order_relaxed) / 1000.0},
                                   {"jitter_ms", l.flow_jitter_us.load(std::memory_order_relaxed) / 1000.0},
                                   {"window_sent", l.flow_window_sent.load(std::memory_order_relaxed)},
                                   {"window_received", l.flow_window_received.load(std::memory_order_relaxed)},
                                   {"markers_tx", mk_tx},
                                   {"markers_rx", mk_rx},
                                   {"blocks", blocks},
                                   {"packets_sent", sent},
                                   {"packets_received", received}};
    // What the SLA check compares: the worse of probe and flow per metric.
    nlohmann::ordered_json sla = nullptr;
    if (l.sla_measured())
      sla = {{"rtt_ms", l.sla_rtt_us() / 1000.0},
             {"jitter_ms", l.sla_jitter_us() / 1000.0},
             {"loss_permille", l.sla_loss_permille()}};
    bool measured = l.measured.load(std::memory_order_relaxed);
    nlohmann::ordered_json metrics = nullptr;
    if (measured)
      metrics = {{"rtt_ms", l.rtt_us.load(std::memory_order_relaxed) / 1000.0},
                 {"jitter_ms", l.jitter_us.load(std::memory_order_relaxed) / 1000.0},
                 {"loss_permille", l.loss_permille.load(std::memory_order_relaxed)}};
    out.push_back({
        {"name", p.name},
        {"peer", rm->peers[p.peer].name},
        {"local", format_ipv4(p.local)},
        {"remote", format_ipv4(p.remote)},
        {"monitored", pt->monitored()},
        {"bfd_state", to_string(static_cast<BfdState>(l.bfd_state.load(std::memory_order_relaxed)))},
        {"usable", l.usable.load(std::memory_order_relaxed)},
        {"last_change_ms", get(l.last_change_ms)},
        {"metrics", metrics},
        {"flow", flow},
        {"sla_metrics", sla},
        {"sessions", sessions ? nlohmann::ordered_json(live[i]) : nlohmann::ordered_json(nullptr)},
        {"sessions_started", started},
        {"migrated_in", in},
        {"migrated_out", out_n},
        {"migration_failed", failed},
        {"bfd",
         {{"tx", get(l.bfd_tx)},
          {"rx", get(l.bfd_rx)},
          {"discarded", get(l.bfd_discards)},
          {"auth_seq_gaps", get(l.bfd_seq_gaps)},
          {"went_up", get(l.went_up)},
          {"went_down", get(l.went_down)}}},
        {"probes", {{"tx", get(l.probes_tx)}, {"rx", get(l.probes_rx)}}},
    });
  }
  return out;
}

}  // namespace wp::mgmt
