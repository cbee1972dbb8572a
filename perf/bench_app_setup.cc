// wp_bench_app_setup: what application classification costs session setup on one worker
// (docs/applications.md § Cost): LAN first packets -> new SVR sessions through
// Worker::receive with classification on (AppClassifier, nDPI 4.2) and off, in the same run.
//
//   wp_bench_app_setup [--sessions N] [--rounds R] [--kind dns|tls_sni|opaque_udp]  (one kind: for a profile)
//
// One router r1, tenant branch -> service web (10.2.0.0/24, SVR to peer r2: waypoint ports,
// metadata, HMAC-signed first packet). Kinds, each N sessions per round, each its own source
// address and port:
//   dns         one UDP DNS query to :53 (nDPI decides on it: DNS)
//   tls_sni     TCP SYN, then the TLS ClientHello with SNI www.youtube.com (PSH|ACK) to :443:
//               the session is made by the SYN and classified on its first data (YouTube)
//   opaque_udp  one UDP datagram nDPI cannot recognise (the session keeps its slot: the
//               bound, dataplane.app_packets, is 16 packets)
// Each round builds a fresh worker (untimed; "on": enable_apps with one slot per session, so
// no session finds the slots exhausted), copies the frames into mbufs (untimed), then times
// Worker::receive over them in bursts of 32 and the flush (signing, tx). On and off rounds
// alternate, so the VM's drift hits both. Result: median sessions/s per kind and mode, the
// ratio on/off, and the classification cost per session, 1/rate_on - 1/rate_off in ns. A table,
// then one JSON line (scenario "app_setup").
#include <rte_mbuf.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/apps/classifier.h"
#include "dataplane/control/eal.h"
#include "dataplane/control/router_model.h"
#include "dataplane/worker/shared.h"
#include "dataplane/worker/worker.h"
#include "mgmt/config_load.h"
#include "perf/report.h"
#include "perf/bench_router.h"
#include "perf/worker_feed.h"
#include "tests/unit/app_packets.h"
#include "tests/unit/pkt_builder.h"

namespace {

using wp::bench::Frames;
namespace ap = wp::test::app_packets;

const char* kYaml = R"(router:
  name: r1
  lan: {name: lan, device: lan0, address: 10.1.0.1/16}
  wan: [{name: wan0, device: wan0, address: 172.16.0.1/24}]
routes: [{prefix: 0.0.0.0/0, next_hop: 172.16.0.254, interface: wan0}]
tenants: [{name: branch, prefixes: [10.1.0.0/16]}]
services:
  - {name: web, prefixes: [10.2.0.0/24], next_peer: r2}
policies: [{tenant: branch, service: web}]
peers: [{name: r2, waypoints: [172.16.0.2], key: "ceadaf24a2966eaf7136022415ce5234925589639ea9b47c3416b22594ee400f"}]
)";

// Session i's source: a distinct LAN address and port.
wp::Ipv4 src_of(uint32_t i) { return wp::parse_ipv4("10.1.0.0").value() + 2 + i % 60000; }
uint16_t sport_of(uint32_t i) { return static_cast<uint16_t>(1024 + i / 60000); }

struct Kind {
  const char* name;
  const char* want;  // what nDPI should name it ("" : nothing within one packet)
  uint32_t packets_per_session;
  Frames frames;  // all packets of all sessions, in order
};

Frames make_frames(const char* kind, uint32_t sessions) {
  Frames out;
  const wp::Ipv4 dst = wp::parse_ipv4("10.2.0.10").value();
  const std::vector<uint8_t> hello = ap::tls_client_hello("www.youtube.com");
  const std::vector<uint8_t> dns = ap::dns_query("www.example.com");
  for (uint32_t i = 0; i < sessions; ++i) {
    wp::test::Pkt p;
    p.eth().ipv4(src_of(i), dst);
    if (!std::strcmp(kind, "dns")) {
      out.push_back(p.udp(sport_of(i), 53).payload(dns).bytes());
    } else if (!std::strcmp(kind, "tls_sni")) {
      out.push_back(wp::test::Pkt(p).tcp(sport_of(i), 443, 0x02, 1000).bytes());     // SYN
      out.push_back(p.tcp(sport_of(i), 443, 0x18, 1001, 1).payload(hello).bytes());  // PSH|ACK hello
    } else {
      out.push_back(
          p.udp(sport_of(i), 40000).payload(std::string_view("\x01\x7f\x33 opaque bytes of no protocol")).bytes());
    }
  }
  return out;
}

struct Pass {
  double per_s = 0;
  uint64_t created = 0, sent = 0, drops = 0, classified = 0, inspected = 0;
};

bool one_round(const wp::RouterModel& model, rte_mempool* pool, const Kind& k, uint32_t sessions, bool apps, Pass& out,
               std::string& error) {
  auto r = std::make_unique<wp::bench::SetupRouter>();
  if (!wp::bench::make_setup_router(*r, model, sessions * 2, error)) return false;
  if (apps && !r->worker->enable_apps({.max_flows = sessions, .max_packets = 16}, error)) return false;
  std::vector<rte_mbuf*> m;
  if (!wp::bench::to_mbufs(pool, k.frames, 0, m, error)) return false;
  const double s = wp::bench::receive_bursts(*r->worker, m);
  const wp::WorkerCounters& c = r->worker->counters();
  out.created = c.get(wp::Counter::sessions_created);
  out.classified = c.get(wp::Counter::app_sessions_classified);
  out.inspected = c.get(wp::Counter::app_packets_inspected);
  out.sent = r->sent;
  out.drops = wp::bench::total_drops(c);
  out.per_s = static_cast<double>(out.created) / s;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  uint32_t sessions = 16384;
  int rounds = 7;
  const char* only = nullptr;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--kind")) only = argv[i + 1];
    if (!std::strcmp(argv[i], "--sessions")) sessions = static_cast<uint32_t>(std::atoi(argv[i + 1]));
    if (!std::strcmp(argv[i], "--rounds")) rounds = std::atoi(argv[i + 1]);
  }
  if (sessions == 0 || sessions > 65535) return std::fprintf(stderr, "--sessions: 1..65535 (classifier slots)\n"), 1;
  std::string error;
  if (!wp::eal_init(wp::private_eal_args("wpappsetup", 512), error))
    return std::fprintf(stderr, "%s\n", error.c_str()), 1;
  rte_mempool* pool =
      rte_pktmbuf_pool_create("appsetup_pool", sessions * 2 + 1024, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
  auto loaded = wp::mgmt::load_config_text(kYaml);
  if (!loaded.ok()) return std::fprintf(stderr, "config: %s\n", loaded.error_text().c_str()), 1;
  wp::HmacEngine hmac;
  auto model = wp::RouterModel::build(loaded.config, nullptr, nullptr, hmac, error);
  if (!pool || !model) return std::fprintf(stderr, "setup: %s\n", error.empty() ? "no mbuf pool" : error.c_str()), 1;

  Kind kinds[] = {{"dns", "DNS", 1, {}}, {"tls_sni", "YouTube", 2, {}}, {"opaque_udp", "", 1, {}}};
  struct Out {
    std::vector<double> on, off;
    Pass last_on, last_off;
  } outs[3];
  bool ok = true;
  for (size_t ki = 0; ki < 3; ++ki) {
    Kind& k = kinds[ki];
    if (only && std::strcmp(only, k.name)) continue;
    k.frames = make_frames(k.name, sessions);
    for (int round = 0; round < rounds; ++round) {
      for (bool apps : {round % 2 == 0, round % 2 != 0}) {
        Pass& p = apps ? outs[ki].last_on : outs[ki].last_off;
        if (!one_round(*model, pool, k, sessions, apps, p, error))
          return std::fprintf(stderr, "%s\n", error.c_str()), 1;
        (apps ? outs[ki].on : outs[ki].off).push_back(p.per_s);
        ok = ok && p.created == sessions && p.sent == uint64_t{sessions} * k.packets_per_session && p.drops == 0;
      }
    }
    // On: every packet was fed to nDPI, and the recognisable kinds were recognised.
    const Pass& on = outs[ki].last_on;
    ok = ok && on.inspected == uint64_t{sessions} * k.packets_per_session &&
         on.classified == (*k.want ? sessions : 0u) && outs[ki].last_off.inspected == 0;
  }
  std::printf(
      "LAN first packets -> new SVR sessions, one worker, classification on vs off (%u sessions per round, "
      "%d rounds each, median)\n",
      sessions, rounds);
  std::printf("  %-11s %-8s %5s %12s %12s %7s %10s %10s\n", "kind", "app", "pkts", "off sess/s", "on sess/s", "on/off",
              "ns/session", "classified");
  std::string json = "{\"scenario\": \"app_setup\", \"date\": \"" + wp::bench::iso_date_now() +
                     "\", \"sessions\": " + std::to_string(sessions) + ", \"rounds\": " + std::to_string(rounds);
  char b[256];
  for (size_t ki = 0; ki < 3; ++ki) {
    const Kind& k = kinds[ki];
    if (only && std::strcmp(only, k.name)) continue;
    double off = wp::bench::median(outs[ki].off), on = wp::bench::median(outs[ki].on);
    double ns = (1 / on - 1 / off) * 1e9;
    std::printf("  %-11s %-8s %5u %12.0f %12.0f %6.0f%% %10.0f %10lu\n", k.name, *k.want ? k.want : "-",
                k.packets_per_session, off, on, 100 * on / off, ns,
                static_cast<unsigned long>(outs[ki].last_on.classified));
    std::snprintf(b, sizeof b, ", \"%s_off_per_s\": %.0f, \"%s_on_per_s\": %.0f, \"%s_ratio\": %.3f, \"%s_ns\": %.0f",
                  k.name, off, k.name, on, k.name, on / off, k.name, ns);
    json += b;
  }
  std::printf("  every session made, every packet sent and (on) fed to nDPI, verdicts as expected: %s\n",
              ok ? "yes" : "NO");
  json += std::string(", \"all_ok\": ") + (ok ? "true" : "false") + "}";
  std::printf("%s\n", json.c_str());
  return ok ? 0 : 1;
}
