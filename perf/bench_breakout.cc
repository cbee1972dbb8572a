// wp_bench_breakout: session setup rate of internet breakout (source NAT,
// docs/operations.md § Breakout) against SVR session setup, one worker, in
// process, in the same run.
//
//   wp_bench_breakout [--sessions N] [--rounds R]
//
// One router r1 with two services for the same tenant: `web` (10.2.0.0/24,
// SVR to peer r2: waypoint ports, metadata, HMAC-signed first packet) and
// `internet` (0.0.0.0/0, breakout out of wan0: a NAT port from the worker's
// pool, incremental checksums). Each round builds a fresh worker (untimed),
// copies N distinct LAN UDP first packets (100 B frames) into mbufs
// (untimed), then times Worker::receive over them in bursts of 32 and the
// flush (signing, tx). Transmitted mbufs are freed without copying. Result:
// median sessions/s per kind over the rounds, the ratio, then one JSON line
// (scenario "breakout_setup").
#include <rte_mbuf.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/control/eal.h"
#include "dataplane/control/router_model.h"
#include "dataplane/ip/checksum.h"
#include "dataplane/ip/packet.h"
#include "dataplane/worker/shared.h"
#include "dataplane/worker/worker.h"
#include "mgmt/config_load.h"
#include "perf/report.h"
#include "perf/bench_router.h"
#include "perf/worker_feed.h"

namespace {

const char* kYaml = R"(router:
  name: r1
  lan: {name: lan, device: lan0, address: 10.1.0.1/16}
  wan: [{name: wan0, device: wan0, address: 172.16.0.1/24}]
routes: [{prefix: 0.0.0.0/0, next_hop: 172.16.0.254, interface: wan0}]
tenants: [{name: branch, prefixes: [10.1.0.0/16]}]
services:
  - {name: web, prefixes: [10.2.0.0/24], protocol: udp, next_peer: r2}
  - {name: internet, prefixes: [0.0.0.0/0], breakout: {interface: wan0}}
policies: [{tenant: branch, service: web}, {tenant: branch, service: internet}]
peers: [{name: r2, waypoints: [172.16.0.2], key: "ceadaf24a2966eaf7136022415ce5234925589639ea9b47c3416b22594ee400f"}]
)";

// A 100-byte LAN UDP frame of flow i (distinct source address and port) to `dst`.
std::vector<uint8_t> lan_frame(uint32_t i, wp::Ipv4 dst) {
  std::vector<uint8_t> f(100, 0);
  f[12] = 0x08;
  uint8_t* ip = f.data() + 14;
  ip[0] = 0x45;
  wp::store_be16(ip + 2, static_cast<uint16_t>(f.size() - 14));
  ip[8] = 64;
  ip[9] = wp::kProtoUdp;
  wp::store_be32(ip + 12, wp::parse_ipv4("10.1.0.0").value() + 2 + i % 60000);
  wp::store_be32(ip + 16, dst);
  wp::store_be16(ip + 10, wp::ipv4_header_checksum(ip));
  uint8_t* udp = ip + 20;
  const uint16_t l4 = static_cast<uint16_t>(f.size() - 34);
  wp::store_be16(udp, static_cast<uint16_t>(1024 + i / 60000));
  wp::store_be16(udp + 2, 5201);
  wp::store_be16(udp + 4, l4);
  wp::store_be16(udp + 6, wp::l4_checksum(ip, udp, l4));
  return f;
}

struct Pass {
  double per_s = 0;
  uint64_t created = 0, sent = 0, drops = 0;
};

// One round: a fresh worker sets up a session for every frame.
bool one_round(const wp::RouterModel& model, rte_mempool* pool, const wp::bench::Frames& frames, Pass& out,
               std::string& error) {
  auto r = std::make_unique<wp::bench::SetupRouter>();
  if (!wp::bench::make_setup_router(*r, model, static_cast<uint32_t>(frames.size()) * 2, error)) return false;
  std::vector<rte_mbuf*> m;
  if (!wp::bench::to_mbufs(pool, frames, 0, m, error)) return false;
  const double s = wp::bench::receive_bursts(*r->worker, m);
  const wp::WorkerCounters& c = r->worker->counters();
  out.created = c.get(wp::Counter::sessions_created);
  out.sent = r->sent;
  out.drops = wp::bench::total_drops(c);
  out.per_s = static_cast<double>(out.created) / s;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  uint32_t sessions = 32768;  // <= one worker's 49151 NAT ports per protocol
  int rounds = 9;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--sessions")) sessions = static_cast<uint32_t>(std::atoi(argv[i + 1]));
    if (!std::strcmp(argv[i], "--rounds")) rounds = std::atoi(argv[i + 1]);
  }
  std::string error;
  if (!wp::eal_init(wp::private_eal_args("wpbreakout", 512), error))
    return std::fprintf(stderr, "%s\n", error.c_str()), 1;
  rte_mempool* pool = rte_pktmbuf_pool_create("breakout_pool", sessions + 1024, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
  auto loaded = wp::mgmt::load_config_text(kYaml);
  if (!loaded.ok()) return std::fprintf(stderr, "config: %s\n", loaded.error_text().c_str()), 1;
  wp::HmacEngine hmac;
  auto model = wp::RouterModel::build(loaded.config, nullptr, nullptr, hmac, error);
  if (!pool || !model) return std::fprintf(stderr, "setup: %s\n", error.empty() ? "no mbuf pool" : error.c_str()), 1;

  struct Kind {
    const char* name;
    wp::Ipv4 dst;
    std::vector<double> rates;
    Pass last;
  } kinds[] = {{"svr", wp::parse_ipv4("10.2.0.10").value(), {}, {}},
               {"breakout", wp::parse_ipv4("198.51.100.10").value(), {}, {}}};
  bool ok = true;
  for (Kind& k : kinds) {
    std::vector<std::vector<uint8_t>> frames;
    for (uint32_t i = 0; i < sessions; ++i) frames.push_back(lan_frame(i, k.dst));
    for (int round = 0; round < rounds; ++round) {
      if (!one_round(*model, pool, frames, k.last, error)) return std::fprintf(stderr, "%s\n", error.c_str()), 1;
      k.rates.push_back(k.last.per_s);
      ok = ok && k.last.created == sessions && k.last.sent == sessions && k.last.drops == 0;
    }
  }
  double svr = wp::bench::median(kinds[0].rates), brk = wp::bench::median(kinds[1].rates);
  std::printf("LAN first packets -> new sessions, one worker (%u per round, %d rounds, median)\n", sessions, rounds);
  std::printf("  %-10s %14s %10s %8s\n", "kind", "sessions/s", "sent", "drops");
  for (const Kind& k : kinds)
    std::printf("  %-10s %14.0f %10lu %8lu\n", k.name, wp::bench::median(k.rates),
                static_cast<unsigned long>(k.last.sent), static_cast<unsigned long>(k.last.drops));
  std::printf("  breakout / svr: %.2f; every packet made a session and left: %s\n", brk / svr, ok ? "yes" : "NO");
  std::printf(
      "{\"scenario\": \"breakout_setup\", \"date\": \"%s\", \"sessions\": %u, \"rounds\": %d, \"svr_per_s\": %.0f, "
      "\"breakout_per_s\": %.0f, \"ratio\": %.3f, \"all_created\": %s}\n",
      wp::bench::iso_date_now().c_str(), sessions, rounds, svr, brk, brk / svr, ok ? "true" : "false");
  return ok ? 0 : 1;
}
