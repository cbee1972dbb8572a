// benchmark (perf/README.md § Offload).
//
//   wp_bench_offload [--sessions N] [--seconds S] [--commit ID] [-- EAL args]
//
// All in one process, no ports (the NIC is the software model):
//  1. rule insert / delete rate through the full manager path: "established"
//     and "closed" SessionEvents in the offload ring -> OffloadManager::poll
//     (eligibility, two FlowRules built, NicModel::create = validate + compile
//     + command ring) -> NicModel::service (the model's lcore links/unlinks).
//     Timed: poll + service only (posting the events is the workers' cost).
//  2. worker cycles per established packet, offload off vs on, same run: off,
//     Worker::receive + flush of 32-packet bursts of an established UDP
//     session; on, the same bursts go through NicModel::process first and the
//     worker runs poll_once on the model's rings (it gets nothing to do). The
//     model's own cycles per packet are reported too: with a real SmartNIC
//     that work is in hardware, with the model it is another core's.
//  3. NIC model forwarding rate with rules idle vs while another thread
//     inserts and deletes rules at full speed (the manager's side of the
//     command ring), same run.
// Output: a table, then one JSON line (scenario "offload").
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <thread>
#include <vector>

#include "dataplane/control/eal.h"
#include "dataplane/ip/checksum.h"
#include "dataplane/ip/packet.h"
#include "dataplane/worker/shared.h"
#include "dataplane/worker/worker.h"
#include "mgmt/config_load.h"
#include "offload/nic_model.h"
#include "offload/nic_model_io.h"
#include "offload/offload_manager.h"
#include "perf/report.h"

using namespace wp;
using namespace wp::offload;

namespace {

constexpr const char* kConfig = R"(
router:
  name: r1
  lan: {name: lan, device: lan0, address: 10.1.0.1/16}
  wan: [{name: wan0, device: wan0, address: 172.16.0.1/24}]
tenants: [{name: branch, prefixes: [10.1.0.0/16]}]
services: [{name: echo, prefixes: [10.2.0.0/24], protocol: udp, ports: ["5201"], next_peer: r2}]
policies: [{tenant: branch, service: echo}]
peers: [{name: r2, waypoints: [172.16.0.2], key: "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"}]
)";
constexpr Ipv4 kServer = 0x0a02000a, kGateway = 0x0a0100fe, kOwnWan = 0xac100001, kPeerWan = 0xac100002;
constexpr uint16_t kLan = 0, kWan = 1;

Session session(uint32_t i) {
  Session s;
  s.original = {0x0a010000 + 1 + (i >> 12), kServer, static_cast<uint16_t>(1024 + (i & 4095)), 5201, kProtoUdp};
  s.out_rev = {s.original.reversed(), kGateway, 0, -1};
  s.out_fwd = {{kOwnWan, kPeerWan, static_cast<uint16_t>(16384 + 2 * (i & 8191)),
                static_cast<uint16_t>(16385 + 2 * (i >> 13)), kProtoUdp},
               kPeerWan,
               1,
               0};
  s.security = 0;
  s.uuid[0] = static_cast<uint8_t>(i), s.uuid[1] = static_cast<uint8_t>(i >> 8),
  s.uuid[2] = static_cast<uint8_t>(i >> 16);
  s.flags = kReverseSeen | kFwdMdAcked | kEstablished;
  return s;
}

std::vector<uint8_t> client_frame(const Session& s) {
  std::vector<uint8_t> f(14 + 20 + 8 + 18, 0);
  store_be16(f.data() + 12, kEtherTypeIpv4);
  uint8_t* ip = f.data() + 14;
  ip[0] = 0x45;
  store_be16(ip + 2, 20 + 8 + 18);
  ip[8] = 64;
  ip[9] = kProtoUdp;
  store_be32(ip + 12, s.original.src);
  store_be32(ip + 16, s.original.dst);
  store_be16(ip + 10, ipv4_header_checksum(ip));
  store_be16(ip + 20, s.original.sport);
  store_be16(ip + 22, s.original.dport);
  store_be16(ip + 24, 8 + 18);
  return f;
}

uint16_t tx_free(void*, uint16_t, uint16_t, rte_mbuf** pkts, uint16_t n) {
  rte_pktmbuf_free_bulk(pkts, n);
  return n;
}
uint16_t rx_none(void*, uint16_t, uint16_t, rte_mbuf**, uint16_t) { return 0; }

void fill(rte_mempool* pool, const std::vector<uint8_t>& frame, rte_mbuf** pkts, uint16_t n) {
  if (rte_pktmbuf_alloc_bulk(pool, pkts, n) != 0) std::abort();
  for (uint16_t i = 0; i < n; ++i) {
    std::memcpy(rte_pktmbuf_append(pkts[i], static_cast<uint16_t>(frame.size())), frame.data(), frame.size());
    pkts[i]->port = kLan;
  }
}

double mhz() { return static_cast<double>(rte_get_tsc_hz()) / 1e6; }

}  // namespace

int main(int argc, char** argv) {
  uint32_t sessions = 65536;
  double seconds = 2.0;
  std::string commit = "unknown";
  const int split = wp::eal_split(argc, argv);
  for (int i = 1; i < split; ++i) {
    std::string a = argv[i];
    if (a == "--sessions" && i + 1 < argc)
      sessions = static_cast<uint32_t>(std::stoul(argv[++i]));
    else if (a == "--seconds" && i + 1 < argc)
      seconds = std::stod(argv[++i]);
    else if (a == "--commit" && i + 1 < argc)
      commit = argv[++i];
    else {
      std::fprintf(stderr, "usage: wp_bench_offload [--sessions N] [--seconds S] [--commit ID] [-- EAL args]\n");
      return 1;
    }
  }
  std::vector<std::string> eal = wp::eal_args_after(argc, argv, split);
  if (eal.size() == 1) eal = wp::private_eal_args("wp_bench_offload", 1024);
  if (std::string error; !wp::eal_init(eal, error)) return std::fprintf(stderr, "%s\n", error.c_str()), 2;
  rte_mempool* pool = rte_pktmbuf_pool_create("bench", 16383, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);

  auto cfg = mgmt::load_config_text(kConfig);
  if (!cfg.ok()) {
    std::fprintf(stderr, "%s", cfg.error_text().c_str());
    return 1;
  }
  HmacEngine hmac;
  std::string err;
  auto model = RouterModel::build(cfg.config, nullptr, nullptr, hmac, err);
  DataplaneShared shared;
  shared.model.store(model.get());
  if (!shared.create_rings(1, 1024, SOCKET_ID_ANY, err)) return 2;
  const uint8_t mac[6] = {2, 0, 0, 0, 0, 9};
  shared.neighbors.learn(0, kGateway, mac);
  shared.neighbors.learn(1, kPeerWan, mac);

  // --- 1. insert / delete rate through the manager.
  NicModel nic(2 * sessions + 8);
  OffloadManager mgr(shared, nic, {2 * sessions, 1000});
  if (!mgr.init(4096, SOCKET_ID_ANY, err) || !mgr.install_port_rules(err)) {
    std::fprintf(stderr, "%s\n", err.c_str());
    return 2;
  }
  rte_ring* events = shared.event_ring(EventConsumer::offload, 0);
  const uint32_t now = 1000;  // fixed: no counter poll inside the timed part
  mgr.poll(now);
  auto run_events = [&](SessionEventKind kind) {
    uint64_t cycles = 0;
    SessionEvent ev{};
    ev.kind = kind;
    ev.reason = SessionEndReason::end_of_flow;
    for (uint32_t base = 0; base < sessions; base += 1024) {
      for (uint32_t i = base; i < base + 1024 && i < sessions; ++i) {
        ev.session = session(i);
        if (rte_ring_sp_enqueue_elem(events, &ev, sizeof ev) != 0) std::abort();
      }
      uint64_t t0 = rte_rdtsc_precise();
      while (mgr.poll(now) != 0) nic.service(now);
      while (nic.pending_commands()) nic.service(now);
      cycles += rte_rdtsc_precise() - t0;
    }
    return cycles;
  };
  uint64_t ins_cycles = run_events(SessionEventKind::established);
  uint32_t installed = mgr.rules();
  uint64_t del_cycles = run_events(SessionEventKind::closed);
  double ins_rate = installed / (ins_cycles / (mhz() * 1e6));
  double del_rate = installed / (del_cycles / (mhz() * 1e6));
  if (installed != 2 * sessions || mgr.rules() != 0) {
    std::fprintf(stderr, "installed %u rules of %u, %u left after delete\n", installed, 2 * sessions, mgr.rules());
    return 3;
  }

  // --- 2. worker cycles per established packet, offload off vs on.
  Worker w(0, shared, 1024, SessionTable::kHeapMemory);
  w.set_io(rx_none, tx_free, nullptr);
  Session s = session(7);
  Session* ts = w.table().allocate();
  *ts = s;
  ts->in_use = 1;
  w.table().insert_unique(ts);
  std::vector<uint8_t> frame = client_frame(s);
  constexpr uint16_t kB = 32;
  const uint32_t iters = 20000;
  rte_mbuf* pkts[kB];
  // Per-burst samples, median: on a shared machine a preemption inside one
  // timed burst would otherwise dominate a sum.
  std::vector<uint64_t> sw_samples, nic_samples, off_samples;
  for (uint32_t it = 0; it < iters; ++it) {
    fill(pool, frame, pkts, kB);
    w.set_now_ms(now);
    uint64_t t0 = rte_rdtsc();
    w.receive(pkts, kB);
    w.flush();
    sw_samples.push_back(rte_rdtsc() - t0);
  }
  if (w.counters().get(Counter::fast_path_packets) != uint64_t{iters} * kB) {
    std::fprintf(stderr, "software path forwarded %lu of %u\n", w.counters().get(Counter::fast_path_packets),
                 iters * kB);
    return 3;
  }

  NicModel nic2(64);
  FlowRule rule[2];
  for (int d = 0; d < 2; ++d)
    build_flow_rule(s, static_cast<Dir>(d), *model, shared.neighbors, shared.timeouts, nullptr, rule[d]);
  rte_flow_error fe{};
  for (auto& r : rule) nic2.create(r.ingress_port, &r.attr, r.items.data(), r.actions.data(), &fe);
  nic2.service(now);
  NicModelIo io;
  if (!io.init(nic2, {kLan, kWan}, 1, 2, 1024, SOCKET_ID_ANY, err)) return 2;
  w.set_io(NicModelIo::worker_rx, tx_free, &io);
  w.set_ports({kLan, kWan}, 0, kB);
  uint64_t nic_fwd = 0;
  rte_mbuf* fwd[kB];
  rte_mbuf* host[kB];
  uint16_t fport[kB];
  for (uint32_t it = 0; it < iters; ++it) {
    fill(pool, frame, pkts, kB);
    uint16_t nf, nh;
    uint64_t t0 = rte_rdtsc();
    nic2.process(kLan, pkts, kB, now, fwd, fport, nf, host, nh);
    uint64_t t1 = rte_rdtsc();
    rte_pktmbuf_free_bulk(fwd, nf);  // the NIC transmits
    for (uint16_t i = 0; i < nh; ++i) w.receive(&host[i], 1);
    nic_fwd += nf;
    nic_samples.push_back(t1 - t0);
    uint64_t t2 = rte_rdtsc();
    w.poll_once();  // the worker's whole loop: nothing reaches it
    off_samples.push_back(rte_rdtsc() - t2);
  }
  if (nic_fwd != uint64_t{iters} * kB) {
    std::fprintf(stderr, "NIC model forwarded %lu of %u\n", nic_fwd, iters * kB);
    return 3;
  }
  double cpp_sw = bench::median(sw_samples) / kB;
  double cpp_off = bench::median(off_samples) / kB;
  double cpp_nic = bench::median(nic_samples) / kB;

  // --- 3. NIC model forwarding idle vs while rules churn.
  NicModel nic3(8192);
  rule[0].attr.priority = 1;
  nic3.create(rule[0].ingress_port, &rule[0].attr, rule[0].items.data(), rule[0].actions.data(), &fe);
  std::vector<std::unique_ptr<FlowRule>> churn_rules;
  for (uint32_t i = 0; i < 2048; ++i) {
    churn_rules.push_back(std::make_unique<FlowRule>());
    build_flow_rule(session(100 + i), Dir::forward, *model, shared.neighbors, shared.timeouts, nullptr,
                    *churn_rules.back());
  }
  auto forward_for = [&](double secs, std::atomic<bool>* churning) {
    fill(pool, frame, pkts, kB);
    uint64_t n = 0;
    auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(secs);
    while (std::chrono::steady_clock::now() < end) {
      for (int k = 0; k < 256; ++k) {
        uint16_t nf, nh;
        nic3.service(now);
        nic3.process(kLan, pkts, kB, now, fwd, fport, nf, host, nh);
        for (uint16_t i = 0; i < nf; ++i) {  // rewrite back so the next burst matches again
          std::memcpy(rte_pktmbuf_mtod(fwd[i], uint8_t*), frame.data(), frame.size());
          pkts[i] = fwd[i];
        }
        n += nf;
      }
    }
    if (churning) churning->store(false);
    rte_pktmbuf_free_bulk(pkts, kB);
    return n / secs;
  };
  double pps_idle = forward_for(seconds, nullptr);
  std::atomic<bool> churning{true};
  std::atomic<uint64_t> churn_ops{0};
  std::thread churner([&] {
    std::vector<rte_flow*> live(churn_rules.size(), nullptr);
    rte_flow_error e{};
    uint64_t ops = 0;
    while (churning.load(std::memory_order_relaxed)) {
      for (size_t i = 0; i < live.size(); ++i) {
        if (live[i]) {
          if (nic3.destroy(kLan, live[i], &e) == 0) live[i] = nullptr, ++ops;
        } else {
          FlowRule& r = *churn_rules[i];
          if ((live[i] = nic3.create(r.ingress_port, &r.attr, r.items.data(), r.actions.data(), &e))) ++ops;
        }
      }
    }
    churn_ops = ops;
  });
  double pps_churn = forward_for(seconds, &churning);
  churner.join();

  std::printf("%-46s %14s\n", "offload benchmark", "value");
  std::printf("%-46s %14.0f\n", "rule inserts/s (event -> rule -> model)", ins_rate);
  std::printf("%-46s %14.0f\n", "rule deletes/s (event -> rule -> model)", del_rate);
  std::printf("%-46s %14.1f\n", "worker cycles/pkt, offload off", cpp_sw);
  std::printf("%-46s %14.2f\n", "worker cycles/pkt, offload on", cpp_off);
  std::printf("%-46s %14.1f\n", "  (NIC model cycles/pkt, its own core)", cpp_nic);
  std::printf("%-46s %14.0f\n", "model forwarding pps, rules idle", pps_idle);
  std::printf("%-46s %14.0f\n", "model forwarding pps, rules churning", pps_churn);
  std::printf("%-46s %14.0f\n", "  churn rule ops/s meanwhile", churn_ops.load() / seconds);
  std::printf(
      "{\"scenario\":\"offload\",\"sessions\":%u,\"rule_inserts_per_s\":%.0f,\"rule_deletes_per_s\":%.0f,"
      "\"cycles_per_pkt_sw\":%.1f,\"cycles_per_pkt_offload\":%.2f,\"cycles_ratio\":%.1f,"
      "\"nic_model_cycles_per_pkt\":%.1f,\"fwd_pps_idle\":%.0f,\"fwd_pps_churn\":%.0f,\"churn_vs_idle\":%.3f,"
      "\"churn_ops_per_s\":%.0f,\"tsc_mhz\":%.0f,\"commit\":\"%s\",\"date\":\"%s\"}\n",
      sessions, ins_rate, del_rate, cpp_sw, cpp_off, cpp_sw / cpp_off, cpp_nic, pps_idle, pps_churn,
      pps_churn / pps_idle, churn_ops.load() / seconds, mhz(), commit.c_str(), bench::iso_date_now().c_str());
  mgr.shutdown();
  return 0;
}
