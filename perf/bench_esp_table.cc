// ESP SA table at thousands of sites (issue #20; docs/ipsec.md
// § ESP in the workers): what one publish costs the control thread and what an inbound
// lookup costs a worker, at 256 / 1 000 / 4 000 tunnels with one Child SA
// each (two SAs: inbound and outbound), and the bytes per SA.
//   wp_bench_esp_table [--tunnels N,...] [--rounds R] [--json]
// - publish_us: EspSaBook::build() after one change, the copy that goes to
//   DataplaneShared::esp (median of R);
// - event_us: one rekey as the IKE service does it: add the new Child SA
//   (its key expansion included), build, free the table retired before,
//   remove the old Child SA, build again (median of R);
// - lookup_ns: EspSaTable::inbound over every tunnel's SPI in random order
//   (the median of R passes of 2^21 lookups), and the mean index probes;
// - bytes_per_sa: sizeof(EspSa); table_copy_bytes: what a publish copies.
// Prints a table and one JSON line per tunnel count; WP_BENCH_OUT=FILE
// appends the JSON lines to FILE.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "dataplane/control/ike/child_esp.h"
#include "perf/report.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Result {
  uint32_t tunnels = 0;
  double publish_us = 0, event_us = 0, lookup_ns = 0, probes = 0;
};

double us_since(Clock::time_point t0) { return std::chrono::duration<double, std::micro>(Clock::now() - t0).count(); }

wp::ike::ChildSa child(std::mt19937& rng, uint32_t tunnel) {
  wp::ike::ChildSa c;
  c.suite = tunnel % 2 ? wp::ike::EspSuite{wp::ike::kEncrAesGcm16, 0, false}
                       : wp::ike::EspSuite{wp::ike::kEncrAesCbc, wp::ike::kIntegHmacSha256_128, false};
  c.spi_in = wp::spi_for_tunnel(static_cast<uint32_t>(rng()), tunnel);
  c.spi_out = static_cast<uint32_t>(rng()) | 0x1000;
  for (wp::ike::Bytes* b : {&c.enc_in, &c.enc_out}) b->assign(c.suite.encr_key_len(), 0x11);
  for (wp::ike::Bytes* b : {&c.integ_in, &c.integ_out}) b->assign(c.suite.integ_key_len(), 0x22);
  return c;
}

size_t table_copy_bytes() {
  return wp::kMaxEspSas * sizeof(wp::EspSaRef) + wp::EspSaTable::kIndexSize * sizeof(uint16_t) +
         wp::kMaxEspTunnels * sizeof(wp::EspTunnel);
}

bool run(wp::CryptoEngine& eng, uint32_t tunnels, int rounds, Result& r) {
  std::mt19937 rng(tunnels);
  wp::EspSaBook book;
  std::vector<wp::ike::ChildSa> children;
  std::string error;
  for (uint32_t t = 0; t < tunnels; ++t) {
    children.push_back(child(rng, t));
    wp::TunnelEndpoint ep;
    ep.tunnel = static_cast<uint16_t>(t);
    ep.local = 0xc6336401;
    ep.peer = 0xcb007100 + (t & 0xff);
    book.set_tunnel(ep.tunnel, 0, 1400);
    if (!book.add(eng, children.back(), ep, error)) return std::fprintf(stderr, "%u: %s\n", t, error.c_str()), false;
  }
  std::vector<double> publish, event;
  std::unique_ptr<wp::EspSaTable> current = book.build(), retired;
  for (int i = 0; i < 3; ++i) retired = book.build();  // first touches of the allocator's pages, untimed
  retired.reset();
  for (int i = 0; i < rounds; ++i) {
    auto t0 = Clock::now();
    std::unique_ptr<wp::EspSaTable> next = book.build();
    publish.push_back(us_since(t0));
    retired = std::exchange(current, std::move(next));
    // One rekey of tunnel i: the new Child SA, then the old one deleted.
    const uint32_t t = static_cast<uint32_t>(i) % tunnels;
    wp::ike::ChildSa fresh = child(rng, t);
    wp::TunnelEndpoint ep;
    ep.tunnel = static_cast<uint16_t>(t);
    t0 = Clock::now();
    if (!book.add(eng, fresh, ep, error)) return std::fprintf(stderr, "rekey %u: %s\n", t, error.c_str()), false;
    retired = std::exchange(current, book.build());
    retired.reset();
    book.remove(children[t].spi_in);
    retired = std::exchange(current, book.build());
    retired.reset();
    event.push_back(us_since(t0));
    children[t] = std::move(fresh);
  }
  r.publish_us = wp::bench::median(publish);
  r.event_us = wp::bench::median(event);
  std::vector<uint32_t> spis;
  for (const auto& c : children) spis.push_back(c.spi_in);
  std::shuffle(spis.begin(), spis.end(), rng);
  const wp::EspSaTable& table = *current;
  double probes = 0;
  for (uint32_t spi : spis) probes += table.probes(spi);
  r.probes = probes / static_cast<double>(spis.size());
  std::vector<double> ns;
  constexpr size_t kLookups = size_t{1} << 21;
  uint64_t sink = 0;
  for (int i = 0; i < rounds; ++i) {
    const auto t0 = Clock::now();
    for (size_t k = 0; k < kLookups; ++k) {
      const wp::EspSa* sa = table.inbound(spis[k % spis.size()]);
      sink += sa ? sa->generation : 1;
    }
    ns.push_back(us_since(t0) * 1000 / kLookups);
  }
  if (sink == 0) std::fprintf(stderr, "no SA found\n");
  r.lookup_ns = wp::bench::median(ns);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<uint32_t> counts = {256, 1000, 4000};
  int rounds = 21;
  bool json_only = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--tunnels" && i + 1 < argc) {
      counts.clear();
      for (const char* p = argv[++i]; *p;) {
        char* end = nullptr;
        counts.push_back(static_cast<uint32_t>(std::strtoul(p, &end, 10)));
        p = *end == ',' ? end + 1 : end;
        if (end == p && *p) break;
      }
    } else if (a == "--rounds" && i + 1 < argc) {
      rounds = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--json") {
      json_only = true;
    } else {
      std::fprintf(stderr, "usage: %s [--tunnels N,...] [--rounds R] [--json]\n", argv[0]);
      return 2;
    }
  }
  wp::CryptoEngine eng;
  std::vector<Result> results;
  for (uint32_t n : counts) {
    if (n == 0 || n > wp::kMaxEspTunnels) return std::fprintf(stderr, "tunnels: 1..%u\n", wp::kMaxEspTunnels), 2;
    Result r;
    r.tunnels = n;
    if (!run(eng, n, rounds, r)) return 1;
    results.push_back(r);
  }
  if (!json_only) {
    std::printf("ESP SA table: %u tunnels, %u SA slots max; sizeof(EspSa) %zu B; a publish copies %zu B\n",
                wp::kMaxEspTunnels, wp::kMaxEspSas, sizeof(wp::EspSa), table_copy_bytes());
    std::printf("%8s %12s %12s %12s %8s\n", "tunnels", "publish_us", "event_us", "lookup_ns", "probes");
    for (const Result& r : results)
      std::printf("%8u %12.1f %12.1f %12.2f %8.3f\n", r.tunnels, r.publish_us, r.event_us, r.lookup_ns, r.probes);
  }
  const char* out_path = std::getenv("WP_BENCH_OUT");
  FILE* out = out_path ? std::fopen(out_path, "a") : nullptr;
  if (out_path && !out) return std::fprintf(stderr, "cannot append to %s\n", out_path), 1;
  const char* commit = std::getenv("WP_COMMIT");
  for (const Result& r : results) {
    char line[512];
    std::snprintf(line, sizeof line,
                  "{\"bench\":\"esp_table\",\"tunnels\":%u,\"commit\":\"%s\",\"date\":\"%s\",\"max_tunnels\":%u,"
                  "\"max_sas\":%u,\"bytes_per_sa\":%zu,\"table_copy_bytes\":%zu,\"publish_us\":%.1f,"
                  "\"event_us\":%.1f,\"lookup_ns\":%.2f,\"probes\":%.3f}",
                  r.tunnels, commit ? commit : "unknown", wp::bench::iso_date_now().c_str(), wp::kMaxEspTunnels,
                  wp::kMaxEspSas, sizeof(wp::EspSa), table_copy_bytes(), r.publish_us, r.event_us, r.lookup_ns,
                  r.probes);
    std::printf("%s\n", line);
    if (out) std::fprintf(out, "%s\n", line);
  }
  if (out) std::fclose(out);
  return 0;
}
