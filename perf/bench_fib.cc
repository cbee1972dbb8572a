// wp_bench_fib: routes from FRR at Internet scale (docs/operations.md § Routes from FRR).
//
//   wp_bench_fib [--prefixes N] [--lookups L] [--no-kernel]
//
// install: N distinct IPv4 prefixes (default 1,000,000; lengths /8../24
//   weighted like a full table, most /24) are encoded as zebra's
//   dplane_fpm_nl stream (FpmWriter, one RTM_NEWROUTE per frame, a third of
//   them with two ECMP next hops) and sent over TCP to a real FpmListener on
//   127.0.0.1; timed from the first byte sent until the FIB the workers read
//   (DataplaneShared::fib) holds all N routes. The reader epochs are advanced
//   while waiting, as running workers would, so old snapshots are freed.
// kernel: the same routes as `route add P via GW dev d0` lines through
//   `ip -batch` into a fresh network namespace (a veth holds the gateways'
//   subnet), timed the same run (skipped with --no-kernel or
//   without root).
// lookup: ns per longest-prefix lookup at N prefixes and at 1,000, L random
//   addresses inside the installed prefixes (ours: FibTable; DPDK: rte_lpm
//   with the same routes, one lookup at a time like ours).
// Result: a table, then one JSON line (scenario "fib").
#include <arpa/inet.h>
#include <netinet/in.h>
#include <rte_lpm.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "dataplane/control/eal.h"
#include "dataplane/control/fpm/fpm_encoder.h"
#include "dataplane/control/fpm/fpm_listener.h"
#include "dataplane/ip/fib.h"
#include "perf/report.h"

namespace {

using wp::Ipv4;
using wp::Ipv4Prefix;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::vector<Ipv4Prefix> make_prefixes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::unordered_set<uint64_t> seen;
  std::vector<Ipv4Prefix> out;
  out.reserve(n);
  while (out.size() < n) {
    const uint32_t r = rng() % 100;
    const uint8_t len = r < 60 ? 24 : r < 70 ? 23 : r < 80 ? 22 : r < 88 ? 21 : r < 94 ? 20 : uint8_t(8 + rng() % 12);
    // Never inside 10.2.0.0/24, where the gateways are.
    const Ipv4 addr = (static_cast<Ipv4>(rng()) | 0x01000000u) & Ipv4Prefix::mask_of(len);
    if ((addr >> 24) == 10 || !seen.insert(uint64_t{addr} << 8 | len).second) continue;
    out.push_back({addr, len});
  }
  return out;
}

std::vector<wp::fpm::FpmNextHop> hops_of(size_t i) {
  const Ipv4 gw1 = 0x0a020007, gw2 = 0x0a020008;
  if (i % 3 == 0) return {{gw1, 0, 1}, {gw2, 0, 1}};
  return {{i % 2 ? gw1 : gw2, 0, 1}};
}

int connect_to(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0 ? fd : -1;
}

// Seconds from the first byte sent until the published FIB holds `n` routes; < 0 on failure.
double time_install(const std::vector<uint8_t>& stream, size_t n) {
  wp::DataplaneShared shared;
  shared.workers = 1;
  shared.counters.reset(new wp::WorkerCounters[2]);
  wp::fpm::FpmListener listener(shared, {{"lan", {0x0a020000, 24}, -1, ""}}, [](uint32_t) { return std::string(); });
  wp::fpm::FpmOptions o;
  o.listen = "127.0.0.1:0";
  std::string error;
  if (!listener.start(o, error)) return std::fprintf(stderr, "%s\n", error.c_str()), -1;
  const int fd = connect_to(listener.port());
  if (fd < 0) return -1;
  const auto t0 = Clock::now();
  std::thread sender([&] {
    size_t off = 0;
    while (off < stream.size()) {
      const ssize_t k = ::send(fd, stream.data() + off, stream.size() - off, 0);
      if (k <= 0) break;
      off += static_cast<size_t>(k);
    }
  });
  double secs = -1;
  while (seconds_since(t0) < 120) {
    const wp::FibTable* f = shared.fib.load();
    if (f && f->size() == n) {
      secs = seconds_since(t0);
      break;
    }
    for (int w = 0; w < 2; ++w) shared.counters[w].epoch.fetch_add(1);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  sender.join();
  ::close(fd);
  std::printf("  listener: %llu frames, %llu FIB publishes\n",
              static_cast<unsigned long long>(listener.counters().frames.load()),
              static_cast<unsigned long long>(listener.counters().publishes.load()));
  listener.stop();
  return secs;
}

// `ip -batch` of the same routes into a fresh netns; < 0 when it could not run.
double time_kernel(const std::vector<Ipv4Prefix>& prefixes) {
  if (geteuid() != 0) return -1;
  const std::string ns = "wpfib-bench-" + std::to_string(getpid()), file = "/tmp/" + ns + ".batch";
  {
    std::ofstream b(file);
    for (size_t i = 0; i < prefixes.size(); ++i) {
      auto hops = hops_of(i);
      b << "route add " << wp::format_prefix(prefixes[i]);
      if (hops.size() == 1)
        b << " via " << wp::format_ipv4(hops[0].gateway) << " dev d0\n";
      else
        b << " nexthop via 10.2.0.7 dev d0 nexthop via 10.2.0.8 dev d0\n";
    }
  }
  // A veth pair inside the namespace (kernels without the dummy module have veth).
  const std::string setup = "ip netns add " + ns + " && ip -n " + ns + " link add d0 type veth peer name d1 && ip -n " +
                            ns + " addr add 10.2.0.1/24 dev d0 && ip -n " + ns + " link set d1 up && ip -n " + ns +
                            " link set d0 up";
  double secs = -1;
  if (std::system(setup.c_str()) == 0) {
    const auto t0 = Clock::now();
    if (std::system(("ip -n " + ns + " -batch " + file + " >/dev/null").c_str()) == 0) secs = seconds_since(t0);
  }
  std::system(("ip netns del " + ns + " 2>/dev/null").c_str());
  std::remove(file.c_str());
  return secs;
}

std::vector<Ipv4> addresses_in(const std::vector<Ipv4Prefix>& p, size_t n) {
  std::mt19937 rng(9);
  std::vector<Ipv4> a(n);
  for (auto& x : a) {
    const Ipv4Prefix& q = p[rng() % p.size()];
    x = q.addr | (static_cast<Ipv4>(rng()) & ~q.mask());
  }
  return a;
}

std::unique_ptr<const wp::FibTable> fib_of(const std::vector<Ipv4Prefix>& p) {
  std::vector<wp::FibRoute> routes(p.size());
  for (size_t i = 0; i < p.size(); ++i) {
    routes[i].prefix = p[i];
    routes[i].paths = 1;
    routes[i].hops[0] = {0x0a020007, 0};
  }
  return wp::FibTable::build(std::move(routes));
}

template <class F>
double ns_per_lookup(const std::vector<Ipv4>& addrs, size_t lookups, F&& lookup) {
  std::vector<double> samples;
  uint64_t sink = 0;
  for (int round = 0; round < 5; ++round) {
    const auto t0 = Clock::now();
    for (size_t i = 0; i < lookups; ++i) sink += lookup(addrs[i % addrs.size()]);
    samples.push_back(seconds_since(t0) * 1e9 / static_cast<double>(lookups));
  }
  if (sink == 42) std::printf(" ");  // keep the lookups
  return wp::bench::median(samples);
}

struct Lookups {
  double ours = 0, lpm = -1;
};

Lookups time_lookups(const std::vector<Ipv4Prefix>& p, size_t lookups, bool with_lpm) {
  const std::vector<Ipv4> addrs = addresses_in(p, 1 << 20);
  auto fib = fib_of(p);
  Lookups r;
  r.ours = ns_per_lookup(addrs, lookups, [&](Ipv4 a) -> uint64_t {
    const wp::FibRoute* x = fib->lookup(a);
    return x ? x->hops[0].gateway : 0;
  });
  if (!with_lpm) return r;
  rte_lpm_config cfg{};
  cfg.max_rules = static_cast<uint32_t>(p.size() + 16);
  cfg.number_tbl8s = 1 << 16;
  rte_lpm* lpm = rte_lpm_create(("wpfib" + std::to_string(p.size())).c_str(), SOCKET_ID_ANY, &cfg);
  if (!lpm) return r;
  std::vector<Ipv4Prefix> sorted = p;
  for (const auto& q : sorted) rte_lpm_add(lpm, q.addr, q.len, 1);
  r.lpm = ns_per_lookup(addrs, lookups, [&](Ipv4 a) -> uint64_t {
    uint32_t nh = 0;
    return rte_lpm_lookup(lpm, a, &nh) == 0 ? nh : 0;
  });
  rte_lpm_free(lpm);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  size_t n = 1000000, lookups = 20000000;
  bool kernel = true;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--prefixes") && i + 1 < argc) n = std::strtoull(argv[++i], nullptr, 10);
    if (!std::strcmp(argv[i], "--lookups") && i + 1 < argc) lookups = std::strtoull(argv[++i], nullptr, 10);
    if (!std::strcmp(argv[i], "--no-kernel")) kernel = false;
  }
  std::string error;
  const bool eal = wp::eal_init(wp::private_eal_args("wpfib", 1024), error);
  if (!eal) std::fprintf(stderr, "no EAL (%s): rte_lpm not measured\n", error.c_str());
  const std::vector<Ipv4Prefix> prefixes = make_prefixes(n, 1);
  wp::fpm::FpmWriter w;
  for (size_t i = 0; i < n; ++i) w.route(true, prefixes[i], 186, hops_of(i));
  std::printf("FIB from FPM: %zu prefixes, %.1f MB of FPM stream\n", n, static_cast<double>(w.bytes().size()) / 1e6);
  const double install_s = time_install(w.bytes(), n);
  const double kernel_s = kernel ? time_kernel(prefixes) : -1;
  const Lookups big = time_lookups(prefixes, lookups, eal);
  const Lookups small = time_lookups(make_prefixes(1000, 2), lookups, eal);
  std::printf("  %-34s %12s %12s\n", "", "waypoint", "kernel/dpdk");
  std::printf("  %-34s %12.2f %12.2f\n", "install, s (FPM stream vs ip -batch)", install_s, kernel_s);
  std::printf("  %-34s %12.0f %12.0f\n", "install, routes/s", install_s > 0 ? n / install_s : 0,
              kernel_s > 0 ? n / kernel_s : 0);
  std::printf("  %-34s %12.2f %12.2f\n", "lookup ns, 1k prefixes (vs rte_lpm)", small.ours, small.lpm);
  std::printf("  %-34s %12.2f %12.2f\n", "lookup ns, N prefixes (vs rte_lpm)", big.ours, big.lpm);
  std::printf(
      "{\"scenario\": \"fib\", \"date\": \"%s\", \"prefixes\": %zu, \"install_s\": %.3f, \"kernel_batch_s\": %.3f, "
      "\"lookup_ns_1k\": %.2f, \"lookup_ns_n\": %.2f, \"lpm_lookup_ns_1k\": %.2f, \"lpm_lookup_ns_n\": %.2f}\n",
      wp::bench::iso_date_now().c_str(), n, install_s, kernel_s, small.ours, big.ours, small.lpm, big.lpm);
  return install_s > 0 ? 0 : 1;
}
