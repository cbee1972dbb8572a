// The compact REST session snapshot (mgmt/session_snapshot.h): same answers
// as the std::map snapshot it replaced (perf/legacy_snapshot.h) for random
// create/update/close sequences, paging, filters and lookups; index
// invariants while it grows, shrinks and takes clustered UUIDs; names
// interned and compacted; capacity; memory per session.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

#include "mgmt/session_snapshot.h"
#include "perf/legacy_snapshot.h"

namespace wp::mgmt {
namespace {

namespace legacy = wp::bench::legacy;

RouterModel model_with(const std::string& prefix, int tenants, int services) {
  RouterModel m;
  for (int i = 0; i < tenants; ++i) m.tenants.push_back(prefix + "tenant-" + std::to_string(i));
  for (int i = 0; i < services; ++i) {
    ServiceModel s;
    s.name = prefix + "service-" + std::to_string(i);
    m.services.push_back(s);
  }
  SecurityModel sec;
  sec.name = "default-security-policy";
  m.security.push_back(sec);
  return m;
}

SessionUuid random_uuid(std::mt19937_64& rng, int cluster_bytes = 0) {
  SessionUuid id{};
  uint64_t a = rng(), b = rng();
  for (int k = 0; k < 8; ++k) id[static_cast<size_t>(k)] = static_cast<uint8_t>(a >> (8 * k));
  for (int k = 0; k < 8; ++k) id[static_cast<size_t>(8 + k)] = static_cast<uint8_t>(b >> (8 * k));
  for (int k = 0; k < cluster_bytes; ++k) id[static_cast<size_t>(k)] = 0xff;  // all in the last home slots
  return id;
}

SessionEvent event(SessionEventKind kind, const SessionUuid& id, uint32_t i) {
  SessionEvent ev{};
  ev.kind = kind;
  ev.worker = static_cast<uint16_t>(i % 3);
  Session& s = ev.session;
  s.uuid = id;
  const uint8_t proto = i % 2 ? 17 : 6;
  s.original = {0x0a010000u + (i % 50), 0x0a020000u + (i % 7), static_cast<uint16_t>(1000 + i), 443, proto};
  s.out_rev = {s.original.reversed(), 0, 0, -1};
  s.out_fwd = {{0xac100001, 0xac100002 + (i % 3), static_cast<uint16_t>(16384 + i), 16385, proto},
               0xac100002 + (i % 3),
               static_cast<int8_t>(1 + i % 2),
               static_cast<int8_t>(i % 3)};
  s.tenant = static_cast<int16_t>(i % 5 == 4 ? -1 : i % 4);  // some without a tenant
  s.service = static_cast<int16_t>(i % 6);
  s.security = 0;
  s.created_ms = 100 + i;
  s.last_ms = 5000 + 3 * i;
  s.packets[0] = i;
  s.packets[1] = i / 2;
  s.bytes[0] = 100ull * i + (i % 11 == 0 ? (1ull << 40) : 0);
  s.bytes[1] = 7ull * i;
  s.migrations = static_cast<uint16_t>(i % 4);
  s.app = static_cast<uint16_t>(i % 5);
  if (i % 3 == 0) s.flags = kEstablished;
  return ev;
}

// Everything REST, /paths and /peers read from a view.
void expect_same(const SessionView& a, const legacy::SessionView& b) {
  const Session &x = a.session, &y = b.session;
  EXPECT_EQ(x.uuid, y.uuid);
  EXPECT_EQ(x.original, y.original);
  EXPECT_EQ(x.key_a(), y.key_a());
  EXPECT_EQ(x.out_fwd.tuple, y.out_fwd.tuple);
  EXPECT_EQ(x.out_rev.tuple, y.out_rev.tuple);
  EXPECT_EQ(x.out_fwd.iface, y.out_fwd.iface);
  EXPECT_EQ(x.out_rev.iface, y.out_rev.iface);
  EXPECT_EQ(x.out_fwd.peer, y.out_fwd.peer);
  EXPECT_EQ(x.out_rev.peer, y.out_rev.peer);
  EXPECT_EQ(x.out_fwd.next_hop, y.out_fwd.next_hop);
  for (int d = 0; d < 2; ++d) {
    EXPECT_EQ(x.packets[d], y.packets[d]);
    EXPECT_EQ(x.bytes[d], y.bytes[d]);
  }
  EXPECT_EQ(x.migrations, y.migrations);
  EXPECT_EQ(x.app, y.app);
  EXPECT_EQ(a.worker, b.worker);
  EXPECT_EQ(a.established, b.established);
  EXPECT_EQ(a.created_epoch_ms, b.created_epoch_ms);
  EXPECT_EQ(a.last_epoch_ms, b.last_epoch_ms);
  EXPECT_EQ(a.tenant, b.tenant);
  EXPECT_EQ(a.service, b.service);
  EXPECT_EQ(a.security, b.security);
}

void expect_same_page(const SessionSnapshot& now, const legacy::SessionSnapshot& old, const SessionQuery& q) {
  bool more_now = false, more_old = true;
  auto a = now.page(q, more_now);
  auto b = old.page(q, more_old);
  ASSERT_EQ(a.size(), b.size()) << "tenant=" << q.tenant << " service=" << q.service << " limit=" << q.limit;
  EXPECT_EQ(more_now, more_old);
  for (size_t i = 0; i < a.size(); ++i) expect_same(a[i], b[i]);
}

// Random lifecycles against the std::map snapshot, answers compared after every round.
void differential(int cluster_bytes, uint32_t rounds, uint32_t per_round) {
  std::mt19937_64 rng(7 + static_cast<uint64_t>(cluster_bytes));
  const RouterModel m = model_with("", 4, 6);
  const DataplaneClock clock{0, 1700000000000};
  SessionSnapshot now(100000);
  legacy::SessionSnapshot old(100000);
  std::vector<SessionUuid> live;
  uint32_t serial = 0;
  for (uint32_t round = 0; round < rounds; ++round) {
    for (uint32_t k = 0; k < per_round; ++k) {
      const uint32_t dice = static_cast<uint32_t>(rng() % 10);
      SessionEvent ev;
      const bool growing = round < rounds / 2;  // grow, then shrink to empty
      if (live.empty() || dice < (growing ? 6u : 1u)) {
        live.push_back(random_uuid(rng, cluster_bytes));
        ev = event(SessionEventKind::created, live.back(), ++serial);
      } else if (dice < (growing ? 8u : 4u)) {
        ev = event(SessionEventKind::update, live[rng() % live.size()], ++serial);
      } else {
        const size_t at = rng() % live.size();
        ev = event(SessionEventKind::closed, live[at], serial);
        live[at] = live.back();
        live.pop_back();
      }
      now.apply(ev, m, clock);
      old.apply(ev, m, clock);
    }
    ASSERT_EQ(now.check(), "") << "round " << round;
    ASSERT_EQ(now.size(), old.size());
    SessionQuery all;
    all.limit = UINT32_MAX;
    expect_same_page(now, old, all);
    for (const char* tenant : {"", "tenant-1", "no-such-tenant"})
      for (const char* service : {"", "service-2"}) {
        SessionQuery q;
        q.tenant = tenant;
        q.service = service;
        q.limit = 1 + static_cast<uint32_t>(rng() % 20);
        if (!live.empty() && rng() % 2) q.after = live[rng() % live.size()];
        if (rng() % 3 == 0) q.addr = 0x0a010000u + static_cast<uint32_t>(rng() % 50);
        expect_same_page(now, old, q);
      }
    SessionQuery gone;  // a cursor that is no session (closed since)
    gone.after = random_uuid(rng, cluster_bytes);
    gone.limit = 5;
    expect_same_page(now, old, gone);
    for (int k = 0; k < 20 && !live.empty(); ++k) {
      const SessionUuid& id = live[rng() % live.size()];
      auto a = now.find(id);
      auto b = old.find(id);
      ASSERT_TRUE(a && b);
      expect_same(*a, *b);
    }
    EXPECT_FALSE(now.find(random_uuid(rng, cluster_bytes)));
    EXPECT_EQ(now.app_totals().size(), old.app_totals().size());
    for (const auto& [app, t] : old.app_totals()) {
      const AppTotals n = now.app_totals()[app];
      EXPECT_EQ(n.sessions, t.sessions) << app;
      EXPECT_EQ(n.packets, t.packets) << app;
      EXPECT_EQ(n.bytes, t.bytes) << app;
    }
  }
}

TEST(SessionSnapshot, SameAnswersAsTheMapSnapshot) { differential(0, 40, 500); }

TEST(SessionSnapshot, ClusteredUuidsAtTheEndOfTheIndex) {
  // UUIDs sharing their top 6 bytes all hash to the last home slots: runs
  // pass the end of the homes and force growth; paging and lookups still agree.
  differential(6, 20, 300);
}

TEST(SessionSnapshot, PagingByCursorVisitsEverySessionOnceInUuidOrder) {
  std::mt19937_64 rng(3);
  const RouterModel m = model_with("", 4, 6);
  const DataplaneClock clock{0, 1700000000000};
  SessionSnapshot snap(100000);
  std::set<SessionUuid> ids;
  for (uint32_t i = 0; i < 20000; ++i) {
    SessionUuid id = random_uuid(rng, i % 4 == 0 ? 2 : 0);
    ids.insert(id);
    snap.apply(event(SessionEventKind::created, id, i), m, clock);
  }
  ASSERT_EQ(snap.check(), "");
  std::vector<SessionUuid> seen;
  SessionQuery q;
  q.limit = 777;
  for (bool more = true; more;) {
    auto page = snap.page(q, more);
    ASSERT_FALSE(page.empty());
    EXPECT_EQ(more, page.size() == 777 && seen.size() + page.size() < ids.size());
    for (const auto& v : page) seen.push_back(v.session.uuid);
    q.after = page.back().session.uuid;
  }
  EXPECT_EQ(seen, std::vector<SessionUuid>(ids.begin(), ids.end()));
  std::vector<SessionUuid> walked;
  snap.for_each([&](const SessionEntry& e) { walked.push_back(e.uuid); });
  EXPECT_EQ(walked, seen);
}

TEST(SessionSnapshot, FiltersByTenantServiceAndAddress) {
  const RouterModel m = model_with("", 4, 6);
  const DataplaneClock clock{0, 1700000000000};
  SessionSnapshot snap(1000);
  std::mt19937_64 rng(5);
  for (uint32_t i = 0; i < 240; ++i) snap.apply(event(SessionEventKind::created, random_uuid(rng), i), m, clock);
  bool more = false;
  SessionQuery q;
  q.limit = 1000;
  q.tenant = "tenant-2";
  auto t = snap.page(q, more);
  EXPECT_EQ(t.size(), 48u);  // i % 4 == 2 and i % 5 != 4
  for (const auto& v : t) EXPECT_EQ(v.tenant, "tenant-2");
  q.service = "service-0";  // i % 6 == 0 as well: i % 12 == 6, i % 5 != 4
  auto ts = snap.page(q, more);
  EXPECT_EQ(ts.size(), 16u);
  for (const auto& v : ts) EXPECT_EQ(v.service, "service-0");
  q = {};
  q.limit = 1000;
  q.addr = 0xac100004;  // the third peer's waypoint: out_fwd.dst for i % 3 == 2
  EXPECT_EQ(snap.page(q, more).size(), 80u);
  q.addr = 0x0a020003;  // a service address (original.dst), i % 7 == 3
  auto by_dst = snap.page(q, more);
  EXPECT_EQ(by_dst.size(), 34u);
  for (const auto& v : by_dst) EXPECT_EQ(v.session.original.dst, 0x0a020003u);
  q = {};
  q.tenant = "nobody";
  EXPECT_TRUE(snap.page(q, more).empty());
  EXPECT_FALSE(more);
  q = {};
  q.limit = 10;
  EXPECT_EQ(snap.page(q, more).size(), 10u);
  EXPECT_TRUE(more);
}

TEST(SessionSnapshot, IndexGrowsAndShrinksWithTheLiveCount) {
  const RouterModel m = model_with("", 4, 6);
  const DataplaneClock clock{0, 1700000000000};
  SessionSnapshot snap(1000000);
  std::mt19937_64 rng(11);
  std::vector<SessionUuid> ids;
  const size_t empty_bytes = snap.memory_bytes();
  for (uint32_t i = 0; i < 100000; ++i) {
    ids.push_back(random_uuid(rng));
    snap.apply(event(SessionEventKind::created, ids.back(), i), m, clock);
  }
  ASSERT_EQ(snap.check(), "");
  const size_t slots = snap.index_slots();
  EXPECT_LE(slots, 3 * ids.size()) << "at most 8/3 slots per session once grown, and the tail";
  const double per_session = double(snap.memory_bytes()) / double(ids.size());
  EXPECT_LT(per_session, 150.0) << "entries 120 B + index + the last chunk";
  EXPECT_GE(per_session, double(sizeof(SessionEntry)));
  for (uint32_t i = 0; i < ids.size(); ++i) {
    snap.apply(event(SessionEventKind::closed, ids[i], i), m, clock);
    if (i % 9999 == 0) {
      ASSERT_EQ(snap.check(), "") << i;
    }
  }
  EXPECT_EQ(snap.size(), 0u);
  EXPECT_EQ(snap.check(), "");
  EXPECT_LT(snap.index_slots(), slots / 16);
  EXPECT_LT(snap.memory_bytes(), empty_bytes + (2u << 20)) << "at most one spare chunk and a small index left";
}

TEST(SessionSnapshot, NamesAreInternedOnceAndCompactedWhenFull) {
  const DataplaneClock clock{0, 1700000000000};
  SessionSnapshot snap(1000, /*name_limit=*/16);
  std::mt19937_64 rng(13);
  // Config generations rename tenants and services: 4 + 6 names each, one security name for all.
  std::vector<std::pair<SessionUuid, std::string>> kept;  // uuid, tenant name it must keep
  for (int gen = 0; gen < 5; ++gen) {
    const RouterModel m = model_with("gen" + std::to_string(gen) + "-", 4, 6);
    // The previous generations' sessions end, but for the very first one.
    for (size_t k = 1; k < kept.size(); ++k) snap.apply(event(SessionEventKind::closed, kept[k].first, 0), m, clock);
    if (!kept.empty()) kept.resize(1);
    for (uint32_t i = 0; i < 24; ++i) {
      const SessionUuid id = random_uuid(rng);
      snap.apply(event(SessionEventKind::created, id, i), m, clock);
      kept.emplace_back(id, i % 5 == 4 ? "" : m.tenants[i % 4]);  // i % 5 == 4: no tenant
    }
    ASSERT_EQ(snap.check(), "");
  }
  for (const auto& [id, tenant] : kept) {
    auto v = snap.find(id);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->tenant, tenant);
    EXPECT_EQ(v->security, "default-security-policy");
  }
  SessionQuery q;
  q.tenant = kept.front().second;  // the first generation's tenant, still in use
  bool more = false;
  EXPECT_EQ(snap.page(q, more).size(), 1u);
}

TEST(SessionSnapshot, CountsWhatDoesNotFit) {
  const RouterModel m = model_with("", 4, 6);
  const DataplaneClock clock{0, 1700000000000};
  SessionSnapshot snap(10);
  std::mt19937_64 rng(17);
  std::vector<SessionUuid> ids;
  for (uint32_t i = 0; i < 15; ++i) {
    ids.push_back(random_uuid(rng));
    snap.apply(event(SessionEventKind::created, ids.back(), i), m, clock);
  }
  EXPECT_EQ(snap.size(), 10u);
  EXPECT_EQ(snap.overflow(), 5u);
  snap.apply(event(SessionEventKind::closed, ids[0], 0), m, clock);
  snap.apply(event(SessionEventKind::update, ids[14], 14), m, clock);  // room again: tracked from its next event
  EXPECT_EQ(snap.size(), 10u);
  EXPECT_TRUE(snap.find(ids[14]));
  EXPECT_EQ(snap.check(), "");
}

// A session handed back to the HA peer (SessionEndReason::handed_over) leaves the snapshot; what
// it carried here up to the hand-back stays in the application totals; one it never listed
// adds nothing.
TEST(SessionSnapshot, AHandedOverSessionIsForgottenAndItsTotalsKept) {
  const RouterModel m = model_with("", 4, 6);
  const DataplaneClock clock{0, 1700000000000};
  SessionSnapshot snap(10);
  std::mt19937_64 rng(23);
  const SessionUuid id = random_uuid(rng), unknown = random_uuid(rng);
  SessionEvent ev = event(SessionEventKind::update, id, 1);
  ev.session.packets[0] = 7;
  ev.session.bytes[0] = 700;
  snap.apply(ev, m, clock);
  const auto before = snap.app_totals();
  ASSERT_EQ(before.at(ev.session.app).sessions, 1u);
  ev.kind = SessionEventKind::closed;
  ev.reason = SessionEndReason::handed_over;
  ev.session.packets[0] = 9;  // 2 more carried here since the last update
  snap.apply(ev, m, clock);
  EXPECT_FALSE(snap.find(id));
  EXPECT_EQ(snap.size(), 0u);
  SessionEvent other = event(SessionEventKind::closed, unknown, 2);
  other.reason = SessionEndReason::handed_over;
  snap.apply(other, m, clock);
  const auto after = snap.app_totals();
  EXPECT_EQ(after.at(ev.session.app).sessions, 1u);
  EXPECT_EQ(after.at(ev.session.app).packets, before.at(ev.session.app).packets + 2) << "up to the hand-back";
  EXPECT_EQ(after.at(ev.session.app).bytes, before.at(ev.session.app).bytes);
  EXPECT_EQ(after.count(other.session.app), 0u) << "nothing counted for one it never listed";
  EXPECT_EQ(snap.check(), "");
}

TEST(SessionSnapshot, EntryIsPackedAndTimesKeepAllTheirBits) {
  EXPECT_EQ(sizeof(SessionEntry), 120u);
  const RouterModel m = model_with("", 1, 1);
  const DataplaneClock clock{0xfffff000u, 0xABCDEF012345ull};  // > 32 bits, wrap-safe worker clock
  SessionSnapshot snap(10);
  std::mt19937_64 rng(19);
  SessionEvent ev = event(SessionEventKind::created, random_uuid(rng), 0);
  ev.session.created_ms = 0xfffff000u - 5;
  ev.session.last_ms = 0x10;  // wrapped past the base
  snap.apply(ev, m, clock);
  auto v = snap.find(ev.session.uuid);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->created_epoch_ms, clock.epoch_ms(ev.session.created_ms));
  EXPECT_EQ(v->last_epoch_ms, clock.epoch_ms(ev.session.last_ms));
  EXPECT_EQ(v->session.bytes[0], ev.session.bytes[0]);
}

}  // namespace
}  // namespace wp::mgmt
