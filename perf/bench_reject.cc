// wp_bench_reject: what a WAN first packet that is refused costs the egress
// worker, in ns per packet (docs/security.md § Dataplane). A flood from the
// WAN must cost less to refuse when it is not signed with the pair key than
// when it is, or forging would be the cheaper attack.
//
//   wp_bench_reject [--packets N] [--rounds R]
//
// An in-process ingress router r1 turns N distinct LAN UDP flows into signed
// first packets (untimed). The egress router r2 allows its tenant one new
// session per second, so every signed first packet after the first is
// refused by the session gate (session_rate_tenant) after its HMAC verified
// and its TLVs were read. The same frames are then fed:
//   signed    as they are                       -> session_rate_tenant
//   forged    one byte of the HMAC trailer flipped -> bad_hmac
//   unsigned  the metadata cookie zeroed (no metadata, no session) -> no_session
// Each round copies the frames into fresh mbufs (untimed), then times
// Worker::receive over them in bursts of 32. Result: median ns per packet
// over the rounds, a table, then one JSON line (scenario "reject").
#include <rte_cycles.h>
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

namespace {

using wp::Ipv4;

const char* kKey = "ceadaf24a2966eaf7136022415ce5234925589639ea9b47c3416b22594ee400f";

std::string router_yaml(bool r1) {
  std::string y = std::string("router:\n  name: ") + (r1 ? "r1" : "r2") + "\n";
  y += std::string("  lan: {name: lan, device: lan0, address: ") + (r1 ? "10.1.0.1/16" : "10.2.0.1/24") + "}\n";
  y += std::string("  wan: [{name: wan0, device: wan0, address: ") + (r1 ? "172.16.0.1/24" : "172.16.0.2/24") + "}]\n";
  // r2 lets the tenant start one session per second: every signed first packet after the first is refused.
  y += std::string("tenants: [{name: branch, prefixes: [10.1.0.0/16]") + (r1 ? "" : ", new_sessions_per_second: 1") +
       "}]\n";
  y += std::string("services: [{name: echo, prefixes: [10.2.0.0/24], protocol: udp, ports: [\"5201\"]") +
       (r1 ? ", next_peer: r2" : "") + "}]\n";
  y += "policies: [{tenant: branch, service: echo}]\n";
  y += std::string("peers: [{name: ") + (r1 ? "r2" : "r1") + ", waypoints: [" + (r1 ? "172.16.0.2" : "172.16.0.1") +
       "], key: \"" + kKey + "\"}]\n";
  return y;
}

struct Router {
  std::shared_ptr<const wp::RouterModel> model;
  wp::DataplaneShared shared;
  std::unique_ptr<wp::Worker> worker;
  std::vector<std::vector<uint8_t>> sent;
};

uint16_t no_rx(void*, uint16_t, uint16_t, rte_mbuf**, uint16_t) { return 0; }
uint16_t capture(void* ctx, uint16_t, uint16_t, rte_mbuf** pkts, uint16_t n) {
  auto* r = static_cast<Router*>(ctx);
  for (uint16_t i = 0; i < n; ++i) {
    const uint8_t* d = rte_pktmbuf_mtod(pkts[i], const uint8_t*);
    r->sent.emplace_back(d, d + pkts[i]->data_len);
    rte_pktmbuf_free(pkts[i]);
  }
  return n;
}

bool make_router(Router& r, bool r1, uint32_t capacity, wp::HmacEngine& hmac, std::string& error) {
  auto loaded = wp::mgmt::load_config_text(router_yaml(r1));
  if (!loaded.ok()) return error = "config: " + loaded.error_text(), false;
  r.model = wp::RouterModel::build(loaded.config, nullptr, nullptr, hmac, error);
  if (!r.model) return false;
  r.shared.model.store(r.model.get());
  if (!r.shared.create_rings(1, 4096, SOCKET_ID_ANY, error)) return false;
  const uint8_t mac[6] = {0x02, 0xbe, 0x0c, 0, 0, 1};
  r.shared.neighbors.learn(1, r1 ? wp::parse_ipv4("172.16.0.2").value() : wp::parse_ipv4("172.16.0.1").value(), mac);
  r.worker = std::make_unique<wp::Worker>(0, r.shared, capacity, wp::SessionTable::kHeapMemory);
  if (!r.worker->ok()) return error = "worker: no table of " + std::to_string(capacity), false;
  r.worker->set_io(no_rx, capture, &r);
  r.worker->set_now_ms(1000);
  return true;
}

rte_mbuf* to_mbuf(rte_mempool* pool, const std::vector<uint8_t>& f, uint16_t port) {
  rte_mbuf* m = rte_pktmbuf_alloc(pool);
  if (!m) {
    std::fprintf(stderr, "mbuf pool exhausted\n");
    std::exit(2);
  }
  std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(f.size())), f.data(), f.size());
  m->port = port;
  return m;
}

// A LAN UDP frame of flow i (distinct source address and port), valid checksums.
std::vector<uint8_t> lan_frame(uint32_t i) {
  std::vector<uint8_t> f(14 + 20 + 8 + 64, 0);
  f[12] = 0x08;
  uint8_t* ip = f.data() + 14;
  ip[0] = 0x45;
  wp::store_be16(ip + 2, static_cast<uint16_t>(f.size() - 14));
  ip[8] = 64;
  ip[9] = wp::kProtoUdp;
  wp::store_be32(ip + 12, wp::parse_ipv4("10.1.0.0").value() + 2 + i % 60000);
  wp::store_be32(ip + 16, wp::parse_ipv4("10.2.0.10").value());
  wp::store_be16(ip + 10, wp::ipv4_header_checksum(ip));
  uint8_t* udp = ip + 20;
  wp::store_be16(udp, static_cast<uint16_t>(1024 + i / 60000));
  wp::store_be16(udp + 2, 5201);
  wp::store_be16(udp + 4, static_cast<uint16_t>(8 + 64));
  wp::store_be16(udp + 6, wp::l4_checksum(ip, udp, 8 + 64));
  return f;
}

// Median ns per packet for r2's worker receiving `frames` on the WAN port.
double time_reject(Router& r2, rte_mempool* pool, const std::vector<std::vector<uint8_t>>& frames, int rounds) {
  std::vector<double> samples;
  std::vector<rte_mbuf*> m(frames.size());
  for (int round = 0; round < rounds; ++round) {
    for (size_t i = 0; i < frames.size(); ++i) m[i] = to_mbuf(pool, frames[i], 1);
    auto t0 = std::chrono::steady_clock::now();
    for (size_t i = 0; i < m.size(); i += 32)
      r2.worker->receive(m.data() + i, static_cast<uint16_t>(std::min<size_t>(32, m.size() - i)));
    r2.worker->flush();
    double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
    samples.push_back(ns / static_cast<double>(m.size()));
  }
  return wp::bench::median(samples);
}

}  // namespace

int main(int argc, char** argv) {
  uint32_t packets = 8192;
  int rounds = 15;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--packets")) packets = static_cast<uint32_t>(std::atoi(argv[i + 1]));
    if (!std::strcmp(argv[i], "--rounds")) rounds = std::atoi(argv[i + 1]);
  }
  std::string error;
  if (!wp::eal_init(wp::private_eal_args("wpreject", 512), error)) return std::fprintf(stderr, "%s\n", error.c_str()), 1;
  rte_mempool* pool = rte_pktmbuf_pool_create("reject_pool", 2 * packets + 1024, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
  wp::HmacEngine hmac;
  auto r1p = std::make_unique<Router>(), r2p = std::make_unique<Router>();
  Router &r1 = *r1p, &r2 = *r2p;
  if (!pool || !make_router(r1, true, 2 * packets, hmac, error) || !make_router(r2, false, 1024, hmac, error))
    return std::fprintf(stderr, "setup: %s\n", error.empty() ? "no mbuf pool" : error.c_str()), 1;

  for (uint32_t i = 0; i < packets; ++i) {
    rte_mbuf* m = to_mbuf(pool, lan_frame(i), 0);
    r1.worker->receive(&m, 1);
  }
  r1.worker->flush();
  std::vector<std::vector<uint8_t>> signed_frames = std::move(r1.sent), forged = signed_frames, bare = signed_frames;
  if (signed_frames.size() != packets)
    return std::fprintf(stderr, "r1 sent %zu of %u first packets\n", signed_frames.size(), packets), 1;
  for (auto& f : forged) f.back() ^= 0x01;       // the last byte of the HMAC trailer
  for (auto& f : bare) std::memset(f.data() + 42, 0, 8);  // the metadata cookie (after Eth+IP+UDP)

  const wp::WorkerCounters& c = r2.worker->counters();
  double ns_signed = time_reject(r2, pool, signed_frames, rounds);
  double ns_forged = time_reject(r2, pool, forged, rounds);
  double ns_bare = time_reject(r2, pool, bare, rounds);
  // Flow 0's first packet starts the one session r2 allows; in later rounds its signed
  // and unsigned frames find that session instead of being refused.
  uint64_t n = uint64_t{packets} * static_cast<uint64_t>(rounds), m = n - static_cast<uint64_t>(rounds);
  bool refused = c.get(wp::DropReason::session_rate_tenant) == m && c.get(wp::DropReason::bad_hmac) == n &&
                 c.get(wp::DropReason::no_session) == m;

  std::printf("WAN first packets refused by the egress worker (%u per round, %d rounds, median)\n", packets, rounds);
  std::printf("  %-10s %-22s %10s\n", "kind", "drop reason", "ns/packet");
  std::printf("  %-10s %-22s %10.1f\n", "signed", "session_rate_tenant", ns_signed);
  std::printf("  %-10s %-22s %10.1f\n", "forged", "bad_hmac", ns_forged);
  std::printf("  %-10s %-22s %10.1f\n", "unsigned", "no_session", ns_bare);
  std::printf("  every packet refused for the expected reason: %s\n", refused ? "yes" : "NO");
  std::printf(
      "{\"scenario\": \"reject\", \"date\": \"%s\", \"packets\": %u, \"rounds\": %d, \"ns_signed\": %.1f, "
      "\"ns_forged\": %.1f, \"ns_unsigned\": %.1f, \"refused_as_expected\": %s}\n",
      wp::bench::iso_date_now().c_str(), packets, rounds, ns_signed, ns_forged, ns_bare, refused ? "true" : "false");
  return refused ? 0 : 1;
}
