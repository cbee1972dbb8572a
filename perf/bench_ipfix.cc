// IPFIX benchmark: export rate from one thread and the dataplane cost of
// having export on, measured in the same run.
//
// 1. Dataplane cost: one Worker (no NIC: frames injected with receive(), tx
//    discarded) sets up N UDP sessions from LAN first packets and ages them
//    out (expire), i.e. the whole lifecycle that produces IPFIX events
//    (closed; created too when REST's snapshot reads the same ring). Passes
//    alternate export off / IPFIX only / IPFIX + REST (the ipfix event ring
//    enabled with the kinds each wants, drained between passes off the clock,
//    as the mgmt thread does on its own core); cost = median(on) /
//    median(off) - 1, by wall time and by thread CPU time. The established fast
//    path is untouched by export (no event per packet), so this is the worst
//    case: every packet is a first packet.
// 2. Export rate: the mgmt thread's work per record (SessionEvent ->
//    IpfixRecord -> queue -> encode -> sendto a loopback collector), one
//    thread, records/s.
// Prints a table and one JSON line (perf/results/ipfix.json).
#include <arpa/inet.h>
#include <rte_eal.h>
#include <rte_ring.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <cstdio>
#include <string>
#include <vector>

#include "dataplane/control/eal.h"
#include "dataplane/worker/worker.h"
#include "mgmt/config_load.h"
#include "mgmt/session_feed.h"
#include "perf/report.h"
#include "tests/unit/pkt_builder.h"

namespace {

using Clock = std::chrono::steady_clock;
using wp::bench::median;
using wp::bench::thread_cpu_s;
constexpr uint32_t kSessions = 65536;

const char* kConfig = R"(
router: {name: r1, lan: {name: lan, device: lan0, address: 10.1.0.1/16}, wan: [{name: wan0, device: wan0, address: 172.16.0.1/24}]}
tenants: [{name: branch, prefixes: [10.1.0.0/16]}]
services: [{name: bulk, prefixes: [10.2.0.0/16], protocol: udp, next_peer: r2}]
policies: [{tenant: branch, service: bulk}]
peers: [{name: r2, waypoints: [172.16.0.2], key: "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"}]
)";

uint16_t no_rx(void*, uint16_t, uint16_t, rte_mbuf**, uint16_t) { return 0; }
uint16_t discard_tx(void*, uint16_t, uint16_t, rte_mbuf** pkts, uint16_t n) {
  rte_pktmbuf_free_bulk(pkts, n);
  return n;
}

}  // namespace

// wp_bench_ipfix [ROUNDS]: export off/on passes each (default 11; medians).
int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::max(1, std::atoi(argv[1])) : 11;
  if (std::string error; !wp::eal_init(wp::private_eal_args("wp_bench_ipfix", 1024), error))
    return std::fprintf(stderr, "%s\n", error.c_str()), 2;
  rte_mempool* pool =
      rte_pktmbuf_pool_create("bench_ipfix", kSessions + 4096, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  wp::mgmt::ConfigResult cfg = wp::mgmt::load_config_text(kConfig);
  if (!pool || !cfg.ok()) return std::fprintf(stderr, "setup: %s\n", cfg.error_text().c_str()), 2;
  wp::HmacEngine hmac;
  std::string err;
  auto model = wp::RouterModel::build(cfg.config, nullptr, nullptr, hmac, err);
  wp::DataplaneShared shared;
  if (!model || !shared.create_rings(1, 1024, SOCKET_ID_ANY, err)) return std::fprintf(stderr, "%s\n", err.c_str()), 2;
  shared.model.store(model.get());
  wp::Worker worker(0, shared, kSessions * 2, SOCKET_ID_ANY);
  worker.set_io(no_rx, discard_tx, nullptr);
  const uint8_t peer_mac[6] = {2, 0, 0, 0, 0, 2};
  shared.neighbors.learn(1, wp::parse_ipv4("172.16.0.2").value(), peer_mac);

  std::vector<std::vector<uint8_t>> frames;
  for (uint32_t i = 0; i < kSessions; ++i)
    frames.push_back(wp::test::Pkt()
                         .eth({2, 0, 0, 0, 0, 1}, {2, 0, 0, 0, 0, 5})
                         .ipv4(0x0a010000u + 2 + (i >> 8), 0x0a020000u + 10 + (i & 0xff))
                         .udp(static_cast<uint16_t>(10000 + (i % 50000)), 5000)
                         .payload("0123456789012345678901234567890123456789012345678901234567")
                         .bytes());
  uint32_t now = 1000;
  std::vector<wp::SessionEvent> captured;
  double cpu_s = 0;  // thread CPU time of the last pass (descheduled time excluded)
  auto pass = [&](bool on) {
    std::vector<rte_mbuf*> mb(kSessions);
    for (uint32_t i = 0; i < kSessions; ++i) mb[i] = wp::test::Pkt::to_mbuf(pool, frames[i], 0);
    worker.set_now_ms(now);
    const double c0 = thread_cpu_s();
    auto t0 = Clock::now();
    for (uint32_t i = 0; i < kSessions; i += 32) {
      worker.receive(&mb[i], 32);
      worker.flush();
    }
    now += 120000;  // past the UDP idle timeout
    worker.set_now_ms(now);
    worker.expire(kSessions * 2);  // one sweep over the whole table
    double s = std::chrono::duration<double>(Clock::now() - t0).count();
    cpu_s = thread_cpu_s() - c0;
    if (on) {  // the mgmt thread's share, off the clock
      wp::SessionEvent ev[64];
      unsigned n;
      while ((n = rte_ring_sc_dequeue_burst_elem(shared.event_ring(wp::EventConsumer::ipfix, 0), ev, sizeof ev[0], 64,
                                                 nullptr)) > 0)
        for (unsigned k = 0; k < n; ++k)
          if (ev[k].kind == wp::SessionEventKind::closed && captured.size() < kSessions) captured.push_back(ev[k]);
    }
    return s;
  };
  pass(false);  // warm the table and caches
  // As waypointd enables it for IPFIX without REST: closed and update only.
  const uint8_t ipfix_kinds =
      wp::event_bit(wp::SessionEventKind::closed) | wp::event_bit(wp::SessionEventKind::update);
  if (!shared.enable_events(wp::EventConsumer::ipfix, 1u << 18, SOCKET_ID_ANY, err, ipfix_kinds))
    return std::fprintf(stderr, "%s\n", err.c_str()), 2;
  auto& rings = shared.events[static_cast<size_t>(wp::EventConsumer::ipfix)];
  const std::vector<rte_ring*> ipfix_rings = rings;
  // Rounds alternate off / IPFIX only / IPFIX + REST snapshot (every event
  // kind, as waypointd with mgmt.listen set).
  std::vector<double> off, on, off_cpu, on_cpu, rest, rest_cpu;
  auto& kinds = shared.event_kinds[static_cast<size_t>(wp::EventConsumer::ipfix)];
  for (int round = 0; round < rounds; ++round) {
    rings.clear();  // export off: the consumer's rings are not there
    off.push_back(pass(false));
    off_cpu.push_back(cpu_s);
    rings = ipfix_rings;
    kinds = ipfix_kinds;
    on.push_back(pass(true));
    on_cpu.push_back(cpu_s);
    kinds = wp::kAllEventKinds;
    rest.push_back(pass(true));
    rest_cpu.push_back(cpu_s);
  }
  uint64_t dropped = worker.counters().get(wp::Counter::ipfix_events_dropped);
  double off_s = median(off), on_s = median(on);
  double cost_pct = (on_s / off_s - 1.0) * 100.0;
  double cost_cpu_pct = (median(on_cpu) / median(off_cpu) - 1.0) * 100.0;
  double rest_pct = (median(rest) / off_s - 1.0) * 100.0;
  double rest_cpu_pct = (median(rest_cpu) / median(off_cpu) - 1.0) * 100.0;

  // Export rate.
  int rx = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(rx, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  socklen_t sl = sizeof sa;
  getsockname(rx, reinterpret_cast<sockaddr*>(&sa), &sl);
  wp::mgmt::IpfixOptions o;
  o.collectors = {sa};
  o.queue = 4096;
  wp::mgmt::IpfixExporter exp;
  if (captured.empty() || !exp.open(o, err))
    return std::fprintf(stderr, "export setup: %zu events captured, created %llu %s\n", captured.size(),
                        static_cast<unsigned long long>(worker.counters().get(wp::Counter::sessions_created)),
                        err.c_str()),
           2;
  wp::DataplaneClock clock = wp::DataplaneClock::now();
  const uint32_t total = 2'000'000;
  auto t0 = Clock::now();
  for (uint32_t i = 0; i < total; ++i) {
    exp.enqueue(wp::mgmt::ipfix_record(captured[i % captured.size()], *model, clock));
    if (exp.queued() == o.queue) exp.flush(1000);
  }
  exp.flush(1000);
  double export_s = std::chrono::duration<double>(Clock::now() - t0).count();
  double rate = total / export_s;
  const auto& st = exp.stats();

  std::printf("%-44s %u sessions x %d passes each way\n", "dataplane: UDP session lifecycle", kSessions, rounds);
  std::printf("%-44s %.1f ns/session\n", "  export off (median)", off_s / kSessions * 1e9);
  std::printf("%-44s %.1f ns/session (events dropped: %llu)\n", "  export on  (median)", on_s / kSessions * 1e9,
              static_cast<unsigned long long>(dropped));
  std::printf("%-44s %+.2f %%\n", "  dataplane cost of export", cost_pct);
  std::printf("%-44s %+.2f %%\n", "  same, per thread CPU second", cost_cpu_pct);
  std::printf("%-44s %+.2f %% (per CPU second %+.2f %%)\n", "  IPFIX + REST snapshot (all event kinds)", rest_pct,
              rest_cpu_pct);
  std::printf("%-44s %.0f records/s (%llu messages, %llu send errors)\n", "export rate, one thread", rate,
              static_cast<unsigned long long>(st.messages_sent.load()),
              static_cast<unsigned long long>(st.send_errors.load()));
  std::printf("%-44s records >= 1M/s %s, cost < 2 %% %s\n", "targets", rate >= 1e6 ? "MET" : "MISSED",
              cost_pct < 2.0 ? "MET" : "MISSED");
  std::printf(
      "{\"scenario\":\"ipfix\",\"records_per_s\":%.0f,\"dataplane_cost_pct\":%.2f,\"lifecycle_ns_off\":%.1f,"
      "\"lifecycle_ns_on\":%.1f,\"cost_cpu_pct\":%.2f,\"with_rest_cost_pct\":%.2f,\"with_rest_cost_cpu_pct\":%.2f,\"sessions_per_pass\":%u,\"passes\":%d,\"events_dropped\":%llu,"
      "\"messages\":%llu,\"send_errors\":%llu}\n",
      rate, cost_pct, off_s / kSessions * 1e9, on_s / kSessions * 1e9, cost_cpu_pct, rest_pct, rest_cpu_pct, kSessions, rounds,
      static_cast<unsigned long long>(dropped), static_cast<unsigned long long>(st.messages_sent.load()),
      static_cast<unsigned long long>(st.send_errors.load()));
  close(rx);
  return 0;
}
