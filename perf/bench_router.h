// What the in-process router benches share beyond perf/worker_feed.h: copying frames into
// mbufs, the timed receive loop, a setup-only router (one worker, Tx counts and frees), a
// router of a pair whose Tx captures for the other, and the SVR handshake of a pair.
#pragma once

#include <rte_mbuf.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "dataplane/control/router_model.h"
#include "dataplane/paths/path_table.h"
#include "dataplane/worker/shared.h"
#include "dataplane/worker/worker.h"
#include "mgmt/config_load.h"
#include "perf/worker_feed.h"

namespace wp::bench {

using Frames = std::vector<std::vector<uint8_t>>;

// `frames` copied into mbufs from `pool` that arrived on `port`; false (with the reason)
// when the pool runs out (what was taken is freed).
inline bool to_mbufs(rte_mempool* pool, const Frames& frames, uint16_t port, std::vector<rte_mbuf*>& out,
                     std::string& error) {
  out.assign(frames.size(), nullptr);
  for (size_t i = 0; i < frames.size(); ++i) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool);
    if (!m) {
      out.resize(i);
      free_all(out);
      return error = "mbuf pool exhausted", false;
    }
    const auto& f = frames[i];
    std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(f.size())), f.data(), f.size());
    m->port = port;
    out[i] = m;
  }
  return true;
}

// Worker::receive over `in` in bursts of 32, each flushed; the wall-clock seconds it took.
inline double receive_bursts(Worker& w, std::vector<rte_mbuf*>& in) {
  const auto t0 = std::chrono::steady_clock::now();
  for (size_t i = 0; i < in.size(); i += 32) {
    w.receive(&in[i], static_cast<uint16_t>(std::min<size_t>(32, in.size() - i)));
    w.flush();
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

inline uint64_t total_drops(const WorkerCounters& c) {
  uint64_t n = 0;
  for (size_t d = 0; d < kDropReasonCount; ++d) n += c.get(static_cast<DropReason>(d));
  return n;
}

// One worker that only sets sessions up: the model is the caller's, the WAN next hops
// (172.16.0.2, 172.16.0.254 on port 1) are known, Tx counts into `sent` and frees.
struct SetupRouter {
  DataplaneShared shared;
  std::unique_ptr<Worker> worker;
  uint64_t sent = 0;
  ~SetupRouter() {
    worker.reset();
    shared.free_rings();
  }
};

inline bool make_setup_router(SetupRouter& r, const RouterModel& model, uint32_t capacity, std::string& error) {
  r.shared.model.store(&model);
  if (!r.shared.create_rings(1, 4096, SOCKET_ID_ANY, error)) return false;
  const uint8_t mac[6] = {0x02, 0xbe, 0x0c, 0, 0, 1};
  for (const char* nh : {"172.16.0.2", "172.16.0.254"}) r.shared.neighbors.learn(1, parse_ipv4(nh).value(), mac);
  r.worker = std::make_unique<Worker>(0, r.shared, capacity, SessionTable::kHeapMemory);
  if (!r.worker->ok()) return error = "worker: no table of " + std::to_string(capacity), false;
  r.worker->set_io(no_rx, count_free_tx, &r.sent);
  r.worker->set_now_ms(1000);
  return true;
}

// One router of a pair r1 -> r2 built from its YAML: what it sends is captured (io) to be
// fed to the other.
struct PairRouter {
  DataplaneShared shared;
  std::shared_ptr<const RouterModel> model;
  std::unique_ptr<PathTable> paths;
  std::unique_ptr<Worker> worker;
  CaptureIo io;
};

struct PairOptions {
  bool paths = false;  // a path table (unmonitored, as waypointd builds it)
  bool qos = false;    // QoS schedulers for the model's shaped ports
};

inline bool make_pair_router(PairRouter& r, const std::string& yaml, uint32_t sessions, PairOptions opt,
                             std::string& err) {
  mgmt::ConfigResult cfg = mgmt::load_config_text(yaml);
  if (!cfg.ok()) return err = cfg.error_text(), false;
  HmacEngine hmac;
  r.model = RouterModel::build(cfg.config, nullptr, nullptr, hmac, err);
  if (!r.model || !r.shared.create_rings(1, 1024, SOCKET_ID_ANY, err)) return false;
  r.shared.model.store(r.model.get());
  if (opt.qos && !r.shared.qos.setup(*r.model, 1, 1024, SOCKET_ID_ANY, qos_now_ns(), err)) return false;
  if (opt.paths) {
    r.paths = std::make_unique<PathTable>(*r.model, cfg.config, 1, /*monitored=*/false);
    r.shared.paths = r.paths.get();
  }
  r.worker = std::make_unique<Worker>(0, r.shared, sessions, SOCKET_ID_ANY);
  r.worker->set_io(no_rx, capture_tx, &r.io);
  return r.worker->ok() || (err = "worker not ok", false);
}

// The SVR handshake of a pair for the flows `frames(client)` makes (mbufs: client -> r1's
// LAN, server -> r2's LAN): forward through r1 to r2, the reply back, then one more forward
// pass that must leave r1 without metadata (and as `expect_fwd` frames, when not 0).
// False, with the reason, otherwise.
template <typename MakeFrames>
bool svr_handshake(PairRouter& r1, PairRouter& r2, MakeFrames frames, size_t expect_fwd, std::string& err) {
  auto wan1 = feed(r1, frames(true));
  auto lan2 = feed(r2, std::move(wan1));
  free_all(lan2);
  auto wan2 = feed(r2, frames(false));
  auto lan1 = feed(r1, std::move(wan2));
  free_all(lan1);
  const uint64_t md = r1.worker->counters().get(Counter::metadata_sent);
  wan1 = feed(r1, frames(true));
  const bool plain =
      r1.worker->counters().get(Counter::metadata_sent) == md && (expect_fwd == 0 || wan1.size() == expect_fwd);
  lan2 = feed(r2, std::move(wan1));
  free_all(lan2);
  if (!plain) err = "r1's forward packets still carry metadata after the handshake";
  return plain;
}

}  // namespace wp::bench
