// REST session snapshot benchmark (mgmt/session_feed.h): heap bytes per
// tracked session and the feed thread's cost per event, at N sessions.
//
// For each snapshot implementation (the current SessionSnapshot and, for the
// before/after comparison in the same run, the std::map one it replaced,
// perf/legacy_snapshot.h), one pass:
//   1. create: N `created` events with random v4 UUIDs (as the ingress
//      routers choose them), names from a model with 16 tenants, 64
//      services, 4 security policies; heap in use (mallinfo2 uordblks +
//      hblkhd) and RSS before/after -> bytes per session;
//   2. update: 2 N `update` events on random live sessions (new counters and
//      last-packet time, as the aging sweep posts every update period);
//   3. REST reads: pages of 100 after a random cursor, lookups by UUID, and
//      one walk over every session as /api/v1/paths and /api/v1/peers do
//      (heap held while walking: the legacy snapshot copied every view);
//   4. churn: N/2 `closed` + N/2 `created` interleaved, then close all (heap
//      must come back).
// Events/s are the feed thread's apply() alone (one thread, no rings).
// Prints a table and one JSON line (perf/results/snapshot.json).
//
//   wp_bench_snapshot [sessions=1000000] [legacy=1]
#include <malloc.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "mgmt/session_feed.h"
#include "perf/legacy_snapshot.h"
#include "perf/report.h"

namespace {

using Clock = std::chrono::steady_clock;

size_t heap_bytes() {
  struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

size_t rss_bytes() {
  std::ifstream f("/proc/self/statm");
  size_t pages = 0, rss = 0;
  f >> pages >> rss;
  return rss * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

double secs(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

wp::RouterModel make_model() {
  wp::RouterModel m;
  m.name = "r1";
  for (int i = 0; i < 3; ++i) {
    wp::InterfaceModel ifc;
    ifc.name = i == 0 ? "lan" : "wan" + std::to_string(i - 1);
    m.interfaces.push_back(ifc);
  }
  for (int i = 0; i < 16; ++i) m.tenants.push_back("tenant-branch-" + std::to_string(i));
  for (int i = 0; i < 64; ++i) {
    wp::ServiceModel s;
    s.name = "service-" + std::to_string(i);
    m.services.push_back(s);
  }
  for (int i = 0; i < 4; ++i) {
    wp::SecurityModel s;
    s.name = "security-policy-" + std::to_string(i);
    m.security.push_back(s);
  }
  return m;
}

// A session as an ingress router holds it: LAN client -> service, WAN leg to a peer.
wp::SessionEvent make_event(std::mt19937_64& rng, uint32_t i) {
  wp::SessionEvent ev{};
  ev.kind = wp::SessionEventKind::created;
  ev.worker = static_cast<uint16_t>(i % 4);
  wp::Session& s = ev.session;
  uint64_t a = rng(), b = rng();
  for (int k = 0; k < 8; ++k) s.uuid[k] = static_cast<uint8_t>(a >> (8 * k));
  for (int k = 0; k < 8; ++k) s.uuid[8 + k] = static_cast<uint8_t>(b >> (8 * k));
  s.uuid[6] = static_cast<uint8_t>((s.uuid[6] & 0x0f) | 0x40);  // version 4
  s.uuid[8] = static_cast<uint8_t>((s.uuid[8] & 0x3f) | 0x80);
  const uint8_t proto = i % 3 ? 17 : 6;
  s.original = {0x0a010000u + (i & 0xffff), 0x0a020000u + (i >> 16 & 0xff), static_cast<uint16_t>(1024 + i % 60000),
                static_cast<uint16_t>(i % 2 ? 443 : 53), proto};
  s.out_rev = {s.original.reversed(), 0, 0, -1};
  s.out_fwd = {{0xac100001, 0xac100002, static_cast<uint16_t>(16384 + i % 40000),
                static_cast<uint16_t>(16385 + i % 40000), proto},
               0xac100002,
               1,
               0};
  s.tenant = static_cast<int16_t>(i % 16);
  s.service = static_cast<int16_t>(i % 64);
  s.security = static_cast<int16_t>(i % 4);
  s.created_ms = 1000 + i;
  s.last_ms = 1000 + i;
  s.packets[0] = 1;
  s.bytes[0] = 60 + i % 1400;
  s.app = static_cast<uint16_t>(i % 7 ? 0 : 7);
  return ev;
}

struct Result {
  const char* name = "";
  double heap_b = 0, rss_b = 0, create_eps = 0, update_eps = 0, churn_eps = 0, close_eps = 0;
  double page_us = 0, find_ns = 0, walk_ms = 0, walk_heap_b = 0, heap_left_b = 0;
  size_t tracked = 0;
};

// Walks every session as path_stats.cc / rest_api.cc's per-peer count do; returns
// the heap held at the deepest point of the walk (bytes).
size_t walk_all(const wp::mgmt::SessionSnapshot& s, size_t base, uint64_t& sum) {
  size_t peak = 0;
  s.for_each([&](const wp::mgmt::SessionEntry& e) {
    sum += static_cast<uint64_t>(e.left_peer + 1);
    if (peak == 0) peak = heap_bytes();
  });
  return peak > base ? peak - base : 0;
}
size_t walk_all(const wp::bench::legacy::SessionSnapshot& s, size_t base, uint64_t& sum) {
  wp::mgmt::SessionQuery q;
  q.limit = UINT32_MAX;
  bool more = false;
  auto all = s.page(q, more);
  size_t held = heap_bytes();
  for (const auto& v : all) sum += static_cast<uint64_t>(v.session.out_fwd.peer + 1);
  return held > base ? held - base : 0;
}

template <typename Snapshot>
Result run(const char* name, uint32_t n, const wp::RouterModel& model) {
  Result r;
  r.name = name;
  const wp::DataplaneClock clock{0, 1700000000000};
  std::mt19937_64 rng(42);
  std::vector<wp::SessionEvent> evs;
  evs.reserve(n);
  for (uint32_t i = 0; i < n; ++i) evs.push_back(make_event(rng, i));
  malloc_trim(0);
  const size_t heap0 = heap_bytes(), rss0 = rss_bytes();
  {
    Snapshot snap(n + n / 2);
    auto t0 = Clock::now();
    for (const auto& ev : evs) snap.apply(ev, model, clock);
    r.create_eps = n / secs(t0);
    r.heap_b = double(heap_bytes() - heap0) / n;
    r.rss_b = double(rss_bytes() - rss0) / n;
    r.tracked = snap.size();

    // Updates on random live sessions.
    const uint32_t updates = 2 * n;
    std::vector<uint32_t> pick(updates);
    for (auto& p : pick) p = static_cast<uint32_t>(rng() % n);
    wp::SessionEvent up{};
    t0 = Clock::now();
    for (uint32_t k = 0; k < updates; ++k) {
      up = evs[pick[k]];
      up.kind = wp::SessionEventKind::update;
      up.session.packets[0] += k;
      up.session.bytes[0] += 100ull * k;
      up.session.packets[1] += k / 2;
      up.session.last_ms += k;
      up.session.flags |= wp::kEstablished;
      snap.apply(up, model, clock);
    }
    r.update_eps = updates / secs(t0);

    // REST reads.
    const int pages = 2000;
    wp::mgmt::SessionQuery q;
    uint64_t sink = 0;
    t0 = Clock::now();
    for (int k = 0; k < pages; ++k) {
      q.after = evs[rng() % n].session.uuid;
      bool more = false;
      sink += snap.page(q, more).size();
    }
    r.page_us = secs(t0) / pages * 1e6;
    const int finds = 200000;
    t0 = Clock::now();
    for (int k = 0; k < finds; ++k) sink += snap.find(evs[rng() % n].session.uuid) ? 1 : 0;
    r.find_ns = secs(t0) / finds * 1e9;
    const size_t before_walk = heap_bytes();
    t0 = Clock::now();
    r.walk_heap_b = double(walk_all(snap, before_walk, sink)) / n;
    r.walk_ms = secs(t0) * 1e3;

    // Churn: close half, create as many new ones, interleaved.
    std::vector<wp::SessionEvent> fresh;
    fresh.reserve(n / 2);
    for (uint32_t i = 0; i < n / 2; ++i) fresh.push_back(make_event(rng, n + i));
    t0 = Clock::now();
    for (uint32_t i = 0; i < n / 2; ++i) {
      wp::SessionEvent c = evs[i];
      c.kind = wp::SessionEventKind::closed;
      snap.apply(c, model, clock);
      snap.apply(fresh[i], model, clock);
    }
    r.churn_eps = double(n) / secs(t0);
    t0 = Clock::now();
    for (uint32_t i = n / 2; i < n; ++i) {
      wp::SessionEvent c = evs[i];
      c.kind = wp::SessionEventKind::closed;
      snap.apply(c, model, clock);
    }
    for (uint32_t i = 0; i < n / 2; ++i) {
      wp::SessionEvent c = fresh[i];
      c.kind = wp::SessionEventKind::closed;
      snap.apply(c, model, clock);
    }
    r.close_eps = double(n) / secs(t0);
    if (snap.size() != 0 || sink == 0) std::fprintf(stderr, "%s: %zu sessions left after closing all\n", name, snap.size());
  }
  r.heap_left_b = double(heap_bytes()) - double(heap0);  // snapshot gone: what it leaked
  return r;
}

void print(const Result& r) {
  std::printf("%-8s %9.1f %9.1f %11.2f %11.2f %11.2f %11.2f %9.1f %9.0f %9.1f %9.1f\n", r.name, r.heap_b, r.rss_b,
              r.create_eps / 1e6, r.update_eps / 1e6, r.churn_eps / 1e6, r.close_eps / 1e6, r.page_us, r.find_ns,
              r.walk_ms, r.walk_heap_b);
}

std::string json(const Result& r) {
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "{\"bytes_per_session\":%.1f,\"rss_bytes_per_session\":%.1f,\"create_events_per_s\":%.0f,"
                "\"update_events_per_s\":%.0f,\"churn_events_per_s\":%.0f,\"close_events_per_s\":%.0f,"
                "\"page100_us\":%.1f,\"find_ns\":%.0f,\"walk_all_ms\":%.1f,\"walk_heap_bytes_per_session\":%.1f,"
                "\"heap_left_after_close\":%.0f}",
                r.heap_b, r.rss_b, r.create_eps, r.update_eps, r.churn_eps, r.close_eps, r.page_us, r.find_ns,
                r.walk_ms, r.walk_heap_b, r.heap_left_b);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  const uint32_t n = argc > 1 ? static_cast<uint32_t>(std::strtoul(argv[1], nullptr, 10)) : 1000000;
  const bool legacy = argc > 2 ? std::atoi(argv[2]) != 0 : true;
  const wp::RouterModel model = make_model();
  std::printf("REST session snapshot, %u sessions (sizeof Session %zu B)\n", n, sizeof(wp::Session));
  std::printf("%-8s %9s %9s %11s %11s %11s %11s %9s %9s %9s %9s\n", "", "heap B/s", "RSS B/s", "create M/s",
              "update M/s", "churn M/s", "close M/s", "page µs", "find ns", "walk ms", "walk B/s");
  Result now = run<wp::mgmt::SessionSnapshot>("current", n, model);
  print(now);
  Result old;
  if (legacy) {
    old = run<wp::bench::legacy::SessionSnapshot>("std::map", n, model);
    print(old);
    std::printf("%-8s %9.2fx less heap per session, updates %.2fx, creates %.2fx\n", "ratio", old.heap_b / now.heap_b,
                now.update_eps / old.update_eps, now.create_eps / old.create_eps);
  }
  std::printf("{\"scenario\":\"snapshot\",\"sessions\":%u,\"current\":%s", n, json(now).c_str());
  if (legacy) std::printf(",\"legacy_map\":%s,\"heap_ratio\":%.2f", json(old).c_str(), old.heap_b / now.heap_b);
  std::printf(",\"date\":\"%s\"}\n", wp::bench::iso_date_now().c_str());
  return 0;
}
