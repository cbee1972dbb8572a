// wp_bench_app: what application classification costs a worker (docs/applications.md
// § Cost), in ns, on one core, with nDPI 4.2 behind AppClassifier.
//
//   wp_bench_app [--sessions N] [--rounds R]
//
// For each canned first packet (tests/unit/app_packets.h) N sessions are classified: acquire a
// slot, feed the packet (each session its own source port), read the verdict (the slot goes
// back with it). Timed per round; the result is the median ns per session over the rounds.
// "unknown" (first, to its own host) feeds opaque UDP payloads until the bound (16 packets) gives up: the worst case,
// reported per packet and per session. The arena's heap fallbacks over the whole run are
// reported too (0 = nDPI never reached the heap while classifying). A table, then one JSON
// line (scenario "app").
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/apps/classifier.h"
#include "perf/report.h"
#include "tests/unit/app_packets.h"
#include "tests/unit/pkt_builder.h"

namespace {

using wp::app::AppClassifier;
using wp::app::AppDirection;
using wp::test::Pkt;
using Bytes = std::vector<uint8_t>;
namespace ap = wp::test::app_packets;

struct Case {
  const char* name;
  bool tcp;
  const char* dst;
  uint16_t dport;
  std::string payload;
};

std::string text(const Bytes& b) { return std::string(b.begin(), b.end()); }

std::vector<Case> cases() {
  // unknown first: after a BitTorrent handshake nDPI 4.2 names the client's later sessions
  // BitTorrent (its host cache), which is not what this case measures.
  return {
      {"unknown", false, "10.9.0.10", 40000, "\x01\x7f\x33 opaque bytes"},
      {"http", true, "10.2.0.10", 80, "GET /index.html HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: curl/7.88\r\n\r\n"},
      {"tls_sni", true, "10.2.0.10", 443, text(ap::tls_client_hello("www.youtube.com"))},
      {"dns", false, "10.2.0.10", 53, text(ap::dns_query("www.example.com"))},
      {"ssh", true, "10.2.0.10", 2222, "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"},
      {"bittorrent", true, "10.2.0.10", 51413, text(ap::bittorrent_handshake())},
      {"quic", false, "10.2.0.10", 443, text(ap::quic_initial())},
  };
}

// One session's packet, from IPv4 on; the source port tells sessions apart.
Bytes l3(const Case& c, uint16_t sport) {
  Pkt p;
  p.ipv4("10.1.0.5", c.dst);
  if (c.tcp)
    p.tcp(sport, c.dport, 0x18);
  else
    p.udp(sport, c.dport);
  Bytes f = p.payload(c.payload).bytes();
  return Bytes(f.begin() + 14, f.end());
}

struct Result {
  double ns_per_session;
  double packets_per_session;
  std::string app;  // the last session's verdict, to show what was recognised
};

Result run_case(AppClassifier& cl, const Case& c, int sessions, int rounds) {
  std::vector<Bytes> pkts;
  for (int i = 0; i < sessions; ++i) pkts.push_back(l3(c, static_cast<uint16_t>(10000 + i % 50000)));
  std::vector<double> samples;
  wp::app::AppVerdict v;
  uint64_t packets_before = cl.stats().packets;
  for (int r = 0; r < rounds; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < sessions; ++i) {
      AppClassifier::Slot s = cl.acquire();
      uint64_t now = 1000;
      do {
        v = cl.feed(s, pkts[i], AppDirection::kClientToServer, now++);
      } while (!v.final());
    }
    auto ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
    samples.push_back(ns / sessions);
  }
  double pps = static_cast<double>(cl.stats().packets - packets_before) / (double(sessions) * rounds);
  return {wp::bench::median(samples), pps, cl.app_name(v.app)};
}

}  // namespace

int main(int argc, char** argv) {
  int sessions = 20000, rounds = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--sessions")) sessions = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--rounds")) rounds = std::atoi(argv[i + 1]);
  }
  std::string error;
  auto cl = AppClassifier::create({.max_flows = 1024, .max_packets = 16}, error);
  if (!cl) {
    std::fprintf(stderr, "wp_bench_app: %s\n", error.c_str());
    return 1;
  }
  std::printf("%-12s %-12s %12s %14s %12s\n", "case", "verdict", "ns/session", "packets/sess", "ns/packet");
  std::string json = "{\"scenario\":\"app\",\"date\":\"" + wp::bench::iso_date_now() + "\",\"sessions\":" +
                     std::to_string(sessions) + ",\"rounds\":" + std::to_string(rounds);
  for (const Case& c : cases()) {
    Result r = run_case(*cl, c, sessions, rounds);
    std::printf("%-12s %-12s %12.0f %14.1f %12.0f\n", c.name, r.app.c_str(), r.ns_per_session, r.packets_per_session,
                r.ns_per_session / r.packets_per_session);
    json += ",\"" + std::string(c.name) + "_ns_per_session\":" + std::to_string(static_cast<long>(r.ns_per_session));
  }
  const auto& a = cl->arena_stats();
  std::printf("arena: %lu allocations, %lu heap fallbacks\n", static_cast<unsigned long>(a.allocs),
              static_cast<unsigned long>(a.heap_fallbacks));
  json += ",\"heap_fallbacks\":" + std::to_string(a.heap_fallbacks) + "}";
  std::printf("%s\n", json.c_str());
  return 0;
}
