// QoS benchmark: the established fast path (LAN -> WAN, one worker in
// process, no NIC) with the WAN port unshaped vs shaped, in the same run.
//
// Two router pairs r1 -> r2 are built from the same config, except that the
// second r1's wan0 has `qos: {rate_kbps: 100000000}` (100 Gbit/s: the shaper
// never holds a packet back here, so what is measured is the QoS step's own
// cost: the class from the session, DSCP marking with the checksum update,
// scheduler enqueue and dequeue, counters published per burst). Each pair
// completes the SVR handshake for F UDP flows (so forward packets carry no
// metadata), then passes alternate off / on: P packets (64-byte frames, the
// flows in turn) go through Worker::receive + flush in bursts of 32, tx
// frees them. Mbufs are made off the clock. Mpps = packets / median pass
// time, by wall clock and by the thread's CPU time (which a shared, loaded
// host disturbs less: time the thread was descheduled is not counted).
// Prints a table and one JSON line (perf/results/qos.json).
#include <rte_eal.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/control/eal.h"
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

const char* kR1 = R"(
router: {name: r1, lan: {name: lan, device: lan0, address: 10.1.0.1/16}, wan: [{name: wan0, device: wan0, address: 172.16.0.1/24%s}]}
tenants: [{name: branch, prefixes: [10.1.0.0/16]}]
services: [{name: voice, prefixes: [10.2.0.0/16], protocol: udp, next_peer: r2, qos_class: voice}]
policies: [{tenant: branch, service: voice}]
peers: [{name: r2, waypoints: [172.16.0.2], key: "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"}]
)";
const char* kR2 = R"(
router: {name: r2, lan: {name: lan, device: lan0, address: 10.2.0.1/16}, wan: [{name: wan0, device: wan0, address: 172.16.0.2/24}]}
tenants: [{name: branch, prefixes: [10.1.0.0/16]}]
services: [{name: voice, prefixes: [10.2.0.0/16], protocol: udp}]
policies: [{tenant: branch, service: voice}]
peers: [{name: r1, waypoints: [172.16.0.1], key: "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"}]
)";

using Router = wp::bench::PairRouter;

bool make(Router& r, const std::string& text, uint32_t sessions, std::string& err) {
  return wp::bench::make_pair_router(r, text, sessions, {.qos = true}, err);
}

const uint8_t kMac1[6] = {2, 0, 0, 0xaa, 0, 1}, kMac2[6] = {2, 0, 0, 0xaa, 0, 2};
const uint8_t kClientMac[6] = {2, 0, 0, 0, 1, 5}, kServerMac[6] = {2, 0, 0, 0, 2, 10};

std::vector<uint8_t> client_frame(uint32_t flow) {
  return wp::test::Pkt()
      .eth({2, 0, 0, 0xaa, 0, 1}, {2, 0, 0, 0, 1, 5})
      .ipv4("10.1.0.5", "10.2.0.10")
      .udp(static_cast<uint16_t>(20000 + flow), 5201)
      .payload("0123456789abcdef0123")  // 14 + 20 + 8 + 20 = 62 bytes
      .bytes();
}
std::vector<uint8_t> server_frame(uint32_t flow) {
  return wp::test::Pkt()
      .eth({2, 0, 0, 0xaa, 0, 2}, {2, 0, 0, 0, 2, 10})
      .ipv4("10.2.0.10", "10.1.0.5")
      .udp(5201, static_cast<uint16_t>(20000 + flow))
      .payload("0123456789abcdef0123")
      .bytes();
}

// The pair's handshake for `flows` flows; false (with the reason) unless r1's forward packets leave plain.
bool handshake(Router& r1, Router& r2, rte_mempool* pool, uint32_t flows, std::string& err) {
  r1.shared.neighbors.learn(1, wp::parse_ipv4("172.16.0.2").value(), kMac2);
  r1.shared.neighbors.learn(0, wp::parse_ipv4("10.1.0.5").value(), kClientMac);
  r2.shared.neighbors.learn(1, wp::parse_ipv4("172.16.0.1").value(), kMac1);
  r2.shared.neighbors.learn(0, wp::parse_ipv4("10.2.0.10").value(), kServerMac);
  auto frames = [&](bool client) {
    std::vector<rte_mbuf*> v;
    for (uint32_t i = 0; i < flows; ++i)
      v.push_back(wp::test::Pkt::to_mbuf(pool, client ? client_frame(i) : server_frame(i), 0));
    return v;
  };
  return wp::bench::svr_handshake(r1, r2, frames, flows, err);
}

}  // namespace

// wp_bench_qos [ROUNDS] [FLOWS]: off/on passes each (default 11; medians), flows (default 1024).
int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::max(1, std::atoi(argv[1])) : 11;
  const uint32_t flows = argc > 2 ? std::max(1, std::atoi(argv[2])) : 1024;
  constexpr uint32_t kPackets = 65536;  // per pass
  if (std::string error; !wp::eal_init(wp::private_eal_args("wp_bench_qos", 512), error))
    return std::fprintf(stderr, "%s\n", error.c_str()), 2;
  rte_mempool* pool =
      rte_pktmbuf_pool_create("bench_qos", kPackets + 4 * flows + 8192, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  if (!pool) return std::fprintf(stderr, "no mbuf pool\n"), 2;
  char r1_off[2048], r1_on[2048];
  std::snprintf(r1_off, sizeof r1_off, kR1, "");
  std::snprintf(r1_on, sizeof r1_on, kR1, ", qos: {rate_kbps: 100000000}");
  Router a1, a2, b1, b2;  // a: unshaped, b: shaped
  std::string err;
  if (!make(a1, r1_off, flows * 2, err) || !make(a2, kR2, flows * 2, err) || !make(b1, r1_on, flows * 2, err) ||
      !make(b2, kR2, flows * 2, err))
    return std::fprintf(stderr, "setup: %s\n", err.c_str()), 2;
  if (a1.shared.qos.enabled() || !b1.shared.qos.enabled()) return std::fprintf(stderr, "setup: qos on the wrong r1\n"), 2;
  if (!handshake(a1, a2, pool, flows, err) || !handshake(b1, b2, pool, flows, err))
    return std::fprintf(stderr, "handshake: %s\n", err.c_str()), 3;
  a1.io.capture = b1.io.capture = false;

  std::vector<std::vector<uint8_t>> tmpl;
  for (uint32_t i = 0; i < flows; ++i) tmpl.push_back(client_frame(i));
  std::vector<rte_mbuf*> mb(kPackets);
  double cpu_s = 0;  // of the last pass
  auto pass = [&](Router& r) {
    for (uint32_t i = 0; i < kPackets; ++i) mb[i] = wp::test::Pkt::to_mbuf(pool, tmpl[i % flows], 0);
    const uint64_t sent0 = r.io.sent;
    const double c0 = thread_cpu_s();
    auto t0 = Clock::now();
    for (uint32_t i = 0; i < kPackets; i += 32) {
      r.worker->receive(&mb[i], 32);
      r.worker->flush();
    }
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    cpu_s = thread_cpu_s() - c0;
    if (r.io.sent - sent0 != kPackets) std::fprintf(stderr, "warning: %llu of %u sent\n",
                                                    static_cast<unsigned long long>(r.io.sent - sent0), kPackets);
    return s;
  };
  pass(a1);  // warm
  pass(b1);
  std::vector<double> off, on, off_cpu, on_cpu;
  for (int round = 0; round < rounds; ++round) {
    off.push_back(pass(a1));
    off_cpu.push_back(cpu_s);
    on.push_back(pass(b1));
    on_cpu.push_back(cpu_s);
  }
  const double mpps_off = kPackets / median(off) / 1e6, mpps_on = kPackets / median(on) / 1e6;
  const double ratio = mpps_on / mpps_off * 100.0;
  const double cpu_off = kPackets / median(off_cpu) / 1e6, cpu_on = kPackets / median(on_cpu) / 1e6;
  const double cpu_ratio = cpu_on / cpu_off * 100.0;
  const wp::QosClassStats& v = b1.shared.qos.ports[0].stats->cls[static_cast<size_t>(wp::QosClass::voice)];
  uint64_t drops = 0;
  for (size_t i = 0; i < wp::kDropReasonCount; ++i) drops += b1.worker->counters().get(static_cast<wp::DropReason>(i));

  std::printf("%-44s %u packets x %d passes each way, %u flows, 64-byte frames\n", "established fast path LAN -> WAN",
              kPackets, rounds, flows);
  std::printf("%-44s %.2f Mpps (%.1f ns/packet)\n", "  wan0 unshaped (median)", mpps_off, 1e3 / mpps_off);
  std::printf("%-44s %.2f Mpps (%.1f ns/packet)\n", "  wan0 shaped, class voice (median)", mpps_on, 1e3 / mpps_on);
  std::printf("%-44s %.1f %% (target >= 85 %%: %s)\n", "  shaped / unshaped", ratio, ratio >= 85.0 ? "MET" : "MISSED");
  std::printf("%-44s %.2f vs %.2f Mpps: %.1f %% (target >= 85 %%: %s)\n", "  same, per thread CPU second", cpu_off,
              cpu_on, cpu_ratio, cpu_ratio >= 85.0 ? "MET" : "MISSED");
  std::printf("%-44s %llu sent, %llu dropped; router drops %llu\n", "  scheduler voice class",
              static_cast<unsigned long long>(v.sent.load()), static_cast<unsigned long long>(v.dropped.load()),
              static_cast<unsigned long long>(drops));
  std::printf(
      "{\"scenario\":\"qos\",\"date\":\"%s\",\"mpps_unshaped\":%.3f,\"mpps_shaped\":%.3f,\"ratio_pct\":%.1f,"
      "\"ns_per_packet_unshaped\":%.1f,\"ns_per_packet_shaped\":%.1f,\"packets_per_pass\":%u,\"passes\":%d,"
      "\"flows\":%u,\"drops\":%llu,\"cpu_mpps_unshaped\":%.3f,\"cpu_mpps_shaped\":%.3f,\"cpu_ratio_pct\":%.1f}\n",
      wp::bench::iso_date_now().c_str(), mpps_off, mpps_on, ratio, 1e3 / mpps_off, 1e3 / mpps_on, kPackets, rounds, flows,
      static_cast<unsigned long long>(drops), cpu_off, cpu_on, cpu_ratio);
  return 0;
}
