// Packet duplication benchmark (docs/qos.md § Packet duplication): the
// established fast path of one worker in process, no NIC, duplicated vs not,
// in the same run.
//
// One router pair r1 -> r2 joined by two paths (mpls, inet). Service "voice"
// is in qos.duplicate, "plain" is best-effort; both are UDP, 64-byte frames,
// no per-packet crypto. After the SVR handshake of F flows per service:
//  - sender: P packets LAN -> WAN through r1 (Worker::receive + flush in
//    bursts of 32), plain flows vs voice flows alternately (voice: numbered,
//    copied and sent on both paths: two frames out per packet);
//  - receiver: what r1 sent, fed to r2 (plain: one frame per packet; voice:
//    both copies, interleaved as they left: the window passes one and drops one).
// Mbufs are made off the clock. ns per packet the client sent = median pass
// time / P, by wall clock and by the thread's CPU time. Prints a table and one
// JSON line (perf/results/dup.json).
#include <rte_eal.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/control/eal.h"
#include "dataplane/paths/path_table.h"
#include "dataplane/worker/worker.h"
#include "mgmt/config_load.h"
#include "perf/report.h"
#include "perf/bench_router.h"
#include "perf/worker_feed.h"
#include "tests/unit/pkt_builder.h"

namespace {

using Clock = std::chrono::steady_clock;
using wp::bench::median;
using wp::bench::thread_cpu_s;
using wp::bench::feed;
using wp::bench::free_all;
using wp::bench::no_rx;

const char* kConf = R"(
router: {name: %s, lan: {name: lan, device: lan0, address: %s}, wan: [{name: mpls, device: mpls, address: 172.16.0.%d/24}, {name: inet, device: inet, address: 172.17.0.%d/24}]}
tenants: [{name: branch, prefixes: [10.1.0.0/16]}]
services: [{name: voice, prefixes: [10.2.0.0/16], protocol: udp, ports: ["5004"], qos_class: voice%s}, {name: plain, prefixes: [10.2.0.0/16], protocol: udp, ports: ["5005"]%s}]
policies: [{tenant: branch, service: voice}, {tenant: branch, service: plain}]
qos: {duplicate: [voice]}
peers: [{name: %s, waypoints: [172.16.0.%d, 172.17.0.%d], key: "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"}]
)";

using Router = wp::bench::PairRouter;

bool make(Router& r, bool r1, uint32_t sessions, std::string& err) {
  char text[4096];
  const char* route = r1 ? ", next_peer: r2, paths: [mpls, inet]" : "";
  std::snprintf(text, sizeof text, kConf, r1 ? "r1" : "r2", r1 ? "10.1.0.1/16" : "10.2.0.1/16", r1 ? 1 : 2, r1 ? 1 : 2,
                route, route, r1 ? "r2" : "r1", r1 ? 2 : 1, r1 ? 2 : 1);
  return wp::bench::make_pair_router(r, text, sessions, {.paths = true}, err);
}

const uint8_t kMac1[6] = {2, 0, 0, 0xaa, 0, 1}, kMac2[6] = {2, 0, 0, 0xaa, 0, 2};
const uint8_t kClientMac[6] = {2, 0, 0, 0, 1, 5}, kServerMac[6] = {2, 0, 0, 0, 2, 10};

std::vector<uint8_t> client_frame(uint32_t flow, uint16_t dport) {
  return wp::test::Pkt()
      .eth({2, 0, 0, 0xaa, 0, 1}, {2, 0, 0, 0, 1, 5})
      .ipv4("10.1.0.5", "10.2.0.10")
      .udp(static_cast<uint16_t>(20000 + flow), dport)
      .payload("0123456789abcdef0123")  // 62 bytes
      .bytes();
}
std::vector<uint8_t> server_frame(uint32_t flow, uint16_t sport) {
  return wp::test::Pkt()
      .eth({2, 0, 0, 0xaa, 0, 2}, {2, 0, 0, 0, 2, 10})
      .ipv4("10.2.0.10", "10.1.0.5")
      .udp(sport, static_cast<uint16_t>(20000 + flow))
      .payload("0123456789abcdef0123")
      .bytes();
}

bool handshake(Router& r1, Router& r2, rte_mempool* pool, uint32_t flows, uint16_t dport, std::string& err) {
  auto frames = [&](bool client) {
    std::vector<rte_mbuf*> v;
    for (uint32_t i = 0; i < flows; ++i)
      v.push_back(wp::test::Pkt::to_mbuf(pool, client ? client_frame(i, dport) : server_frame(i, dport), 0));
    return v;
  };
  return wp::bench::svr_handshake(r1, r2, frames, 0, err);
}

}  // namespace

// wp_bench_dup [ROUNDS] [FLOWS]: passes each way (default 11; medians), flows per service (default 256).
int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::max(1, std::atoi(argv[1])) : 11;
  const uint32_t flows = argc > 2 ? std::max(1, std::atoi(argv[2])) : 256;
  constexpr uint32_t kPackets = 16384;  // per pass
  if (std::string error; !wp::eal_init(wp::private_eal_args("wp_bench_dup", 512), error))
    return std::fprintf(stderr, "%s\n", error.c_str()), 2;
  rte_mempool* pool = rte_pktmbuf_pool_create("bench_dup", 3 * kPackets + 8 * flows + 8192, 256, 0,
                                              RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  if (!pool) return std::fprintf(stderr, "no mbuf pool\n"), 2;
  Router r1, r2;
  std::string err;
  if (!make(r1, true, flows * 4, err) || !make(r2, false, flows * 4, err))
    return std::fprintf(stderr, "setup: %s\n", err.c_str()), 2;
  r1.shared.neighbors.learn(1, wp::parse_ipv4("172.16.0.2").value(), kMac2);
  r1.shared.neighbors.learn(2, wp::parse_ipv4("172.17.0.2").value(), kMac2);
  r1.shared.neighbors.learn(0, wp::parse_ipv4("10.1.0.5").value(), kClientMac);
  r2.shared.neighbors.learn(1, wp::parse_ipv4("172.16.0.1").value(), kMac1);
  r2.shared.neighbors.learn(2, wp::parse_ipv4("172.17.0.1").value(), kMac1);
  r2.shared.neighbors.learn(0, wp::parse_ipv4("10.2.0.10").value(), kServerMac);
  if (!handshake(r1, r2, pool, flows, 5004, err) || !handshake(r1, r2, pool, flows, 5005, err))
    return std::fprintf(stderr, "handshake: %s\n", err.c_str()), 3;

  std::vector<std::vector<uint8_t>> voice, plain;
  for (uint32_t i = 0; i < flows; ++i) voice.push_back(client_frame(i, 5004)), plain.push_back(client_frame(i, 5005));
  std::vector<rte_mbuf*> mb(kPackets);
  double cpu_s = 0;
  auto timed = [&](Router& r, std::vector<rte_mbuf*>& in) {
    const double c0 = thread_cpu_s();
    auto t0 = Clock::now();
    for (size_t i = 0; i < in.size(); i += 32) {
      r.worker->receive(&in[i], static_cast<uint16_t>(std::min<size_t>(32, in.size() - i)));
      r.worker->flush();
    }
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    cpu_s = thread_cpu_s() - c0;
    return s;
  };
  // One round for a service: sender pass (r1 captures), then receiver pass (r2 frees).
  struct Sample {
    double tx_s, tx_cpu, rx_s, rx_cpu;
    size_t frames;
  };
  auto round = [&](const std::vector<std::vector<uint8_t>>& tmpl) {
    Sample out{};
    for (uint32_t i = 0; i < kPackets; ++i) mb[i] = wp::test::Pkt::to_mbuf(pool, tmpl[i % flows], 0);
    r1.io.capture = true;
    r1.io.captured.clear();
    out.tx_s = timed(r1, mb);
    out.tx_cpu = cpu_s;
    std::vector<rte_mbuf*> wan = std::move(r1.io.captured);
    out.frames = wan.size();
    r2.io.capture = false;
    out.rx_s = timed(r2, wan);
    out.rx_cpu = cpu_s;
    return out;
  };
  round(plain);  // warm
  round(voice);
  std::vector<double> ptx, ptxc, prx, prxc, vtx, vtxc, vrx, vrxc;
  size_t vframes = 0, pframes = 0;
  for (int i = 0; i < rounds; ++i) {
    Sample p = round(plain), v = round(voice);
    ptx.push_back(p.tx_s), ptxc.push_back(p.tx_cpu), prx.push_back(p.rx_s), prxc.push_back(p.rx_cpu);
    vtx.push_back(v.tx_s), vtxc.push_back(v.tx_cpu), vrx.push_back(v.rx_s), vrxc.push_back(v.rx_cpu);
    vframes = v.frames, pframes = p.frames;
  }
  auto ns = [&](const std::vector<double>& v) { return median(v) / kPackets * 1e9; };
  const auto& c1 = r1.worker->counters();
  const auto& c2 = r2.worker->counters();
  std::printf("established fast path, %u packets x %d rounds per service, %u flows each, 64-byte frames\n", kPackets,
              rounds, flows);
  std::printf("  frames out of r1 per pass: plain %zu, voice %zu (two paths)\n", pframes, vframes);
  std::printf("  sender   r1 LAN -> WAN  plain %.1f ns/pkt (cpu %.1f), duplicated %.1f ns/pkt (cpu %.1f)\n", ns(ptx),
              ns(ptxc), ns(vtx), ns(vtxc));
  std::printf("  receiver r2 WAN -> LAN  plain %.1f ns/pkt (cpu %.1f), duplicated %.1f ns/pkt (cpu %.1f, both copies)\n",
              ns(prx), ns(prxc), ns(vrx), ns(vrxc));
  std::printf("  r2 dup_removed %llu, dup_gaps %llu; r1 dup_copies_sent %llu, dup_single_path %llu\n",
              static_cast<unsigned long long>(c2.get(wp::DropReason::dup_removed)),
              static_cast<unsigned long long>(c2.get(wp::Counter::dup_gaps)),
              static_cast<unsigned long long>(c1.get(wp::Counter::dup_copies_sent)),
              static_cast<unsigned long long>(c1.get(wp::Counter::dup_single_path)));
  std::printf(
      "{\"scenario\":\"dup\",\"date\":\"%s\",\"packets_per_pass\":%u,\"rounds\":%d,\"flows\":%u,"
      "\"tx_ns_plain\":%.1f,\"tx_ns_dup\":%.1f,\"rx_ns_plain\":%.1f,\"rx_ns_dup\":%.1f,"
      "\"tx_cpu_ns_plain\":%.1f,\"tx_cpu_ns_dup\":%.1f,\"rx_cpu_ns_plain\":%.1f,\"rx_cpu_ns_dup\":%.1f}\n",
      wp::bench::iso_date_now().c_str(), kPackets, rounds, flows, ns(ptx), ns(vtx), ns(prx), ns(vrx), ns(ptxc), ns(vtxc),
      ns(prxc), ns(vrxc));
  return vframes == 2 * pframes ? 0 : 4;
}
