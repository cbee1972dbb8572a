// Per-worker session table (session/table.h): both keys index the session
// with the right direction, duplicates and a full table are refused, aging
// follows the per-protocol timeouts, and backward-shift deletion keeps every
// other key findable (randomised against a std::map model).
#include "dataplane/session/table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <tuple>
#include <vector>

namespace wp {
namespace {

using Key = std::tuple<Ipv4, Ipv4, uint16_t, uint16_t, uint8_t>;
Key key_of(const FiveTuple& t) { return {t.src, t.dst, t.sport, t.dport, t.proto}; }

// A session as the ingress router holds it: side A = LAN (key: the client's
// tuple), side B = a WAN leg (key: the peer's reply to our waypoint ports).
void fill(Session& s, const FiveTuple& original, uint16_t own_port, uint16_t peer_port) {
  s.original = original;
  s.out_rev.tuple = original.reversed();
  s.out_fwd.tuple = {0xac100001, 0xac100002, own_port, peer_port, original.proto};
  s.out_fwd.peer = 0;
}

FiveTuple client(uint32_t i, uint8_t proto = 17) {
  return {0x0a010000 + (i % 250) + 1, 0x0a02000a, static_cast<uint16_t>(1024 + i / 250), 5201, proto};
}

Session* add(SessionTable& t, uint32_t i, uint8_t proto = 17) {
  Session* s = t.allocate();
  if (!s) return nullptr;
  fill(*s, client(i, proto), static_cast<uint16_t>(16384 + 2 * i), static_cast<uint16_t>(16385 + 2 * i));
  if (!t.insert(s)) {
    t.release(s);
    return nullptr;
  }
  return s;
}

TEST(SessionTable, InsertLookupRemove) {
  SessionTable t(64, SessionTable::kHeapMemory);
  ASSERT_TRUE(t.ok());
  Session* s = add(t, 1);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(t.size(), 1u);
  EXPECT_TRUE(s->in_use);

  SessionRef fwd = t.lookup(client(1));
  ASSERT_TRUE(fwd);
  EXPECT_EQ(fwd.session, s);
  EXPECT_EQ(fwd.dir, Dir::forward);
  SessionRef rev = t.lookup(s->out_fwd.tuple.reversed());
  ASSERT_TRUE(rev);
  EXPECT_EQ(rev.session, s);
  EXPECT_EQ(rev.dir, Dir::reverse);
  // Neither leaving tuple is a key.
  EXPECT_FALSE(t.lookup(s->out_fwd.tuple));
  EXPECT_FALSE(t.lookup(client(1).reversed()));
  EXPECT_FALSE(t.lookup(client(2)));

  t.remove(s);
  EXPECT_EQ(t.size(), 0u);
  EXPECT_FALSE(t.lookup(client(1)));
  EXPECT_FALSE(t.lookup(s->out_fwd.tuple.reversed()));
  EXPECT_FALSE(s->in_use);
}

TEST(SessionTable, DuplicateKeysAreRefused) {
  SessionTable t(64, SessionTable::kHeapMemory);
  Session* first = add(t, 1);
  ASSERT_NE(first, nullptr);

  Session* same_a = t.allocate();
  fill(*same_a, client(1), 30000, 30001);  // same LAN key, different WAN key
  EXPECT_FALSE(t.insert(same_a));
  t.release(same_a);

  Session* same_b = t.allocate();
  fill(*same_b, client(2), 16384 + 2, 16385 + 2);  // WAN key of session 1
  EXPECT_FALSE(t.insert(same_b));
  t.release(same_b);

  Session* self = t.allocate();  // both keys equal: would shadow itself
  self->out_rev.tuple = {1, 2, 3, 4, 17};
  self->out_fwd.tuple = {1, 2, 3, 4, 17};
  EXPECT_FALSE(t.insert(self));
  t.release(self);

  // A refused insert indexed nothing: only the first session is found.
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(t.lookup(client(1)).session, first);
  EXPECT_FALSE(t.lookup(client(2)));
  EXPECT_FALSE(t.lookup(FiveTuple{1, 2, 3, 4, 17}.reversed()));
}

TEST(SessionTable, FullTableAllocatesNothing) {
  SessionTable t(8, SessionTable::kHeapMemory);
  std::vector<Session*> all;
  for (uint32_t i = 0; i < 8; ++i) {
    Session* s = add(t, i);
    ASSERT_NE(s, nullptr) << i;
    all.push_back(s);
  }
  EXPECT_EQ(t.allocate(), nullptr);
  EXPECT_EQ(t.size(), 8u);
  t.remove(all[3]);
  Session* again = t.allocate();
  EXPECT_EQ(again, all[3]);  // the freed slot is reused
  EXPECT_EQ(again->flags, 0) << "allocate hands out a zeroed session";
  EXPECT_EQ(t.allocate(), nullptr);
  for (uint32_t i = 0; i < 8; ++i)
    if (i != 3) {
      EXPECT_EQ(t.lookup(client(i)).session, all[i]);
    }
}

TEST(SessionTable, ZeroCapacity) {
  SessionTable t(0, SessionTable::kHeapMemory);
  EXPECT_EQ(t.allocate(), nullptr);
  EXPECT_FALSE(t.lookup(client(1)));
  EXPECT_EQ(t.expire_some(1000000, 10, Timeouts{}, nullptr, nullptr), 0u);
}

struct Expired {
  std::vector<FiveTuple> originals;
  static void record(void* ctx, Session& s) { static_cast<Expired*>(ctx)->originals.push_back(s.original); }
};

TEST(SessionTable, TimeoutsPerProtocol) {
  Timeouts to{1800000, 30000, 60000};
  Session s{};
  s.original.proto = 17;
  EXPECT_EQ(SessionTable::timeout_ms(s, to), 60000u);
  s.flags = kReverseSeen;
  EXPECT_EQ(SessionTable::timeout_ms(s, to), 60000u);
  s.original.proto = 6;
  s.flags = 0;  // SYN only: transitory
  EXPECT_EQ(SessionTable::timeout_ms(s, to), 30000u);
  s.flags = kReverseSeen;
  EXPECT_EQ(SessionTable::timeout_ms(s, to), 1800000u);
  s.flags = kReverseSeen | kFinFwd;  // half closed: still established
  EXPECT_EQ(SessionTable::timeout_ms(s, to), 1800000u);
  s.flags = kReverseSeen | kFinRev;
  EXPECT_EQ(SessionTable::timeout_ms(s, to), 1800000u);
  s.flags = kReverseSeen | kFinFwd | kFinRev;
  EXPECT_EQ(SessionTable::timeout_ms(s, to), 30000u);
  s.flags = kReverseSeen | kRst;
  EXPECT_EQ(SessionTable::timeout_ms(s, to), 30000u);
}

TEST(SessionTable, ExpireSomeAgesByProtocol) {
  Timeouts to{1800000, 30000, 60000};
  SessionTable t(16, SessionTable::kHeapMemory);
  Session* udp = add(t, 0, 17);
  Session* syn = add(t, 1, 6);
  Session* est = add(t, 2, 6);
  est->flags = kReverseSeen;
  Session* fin = add(t, 3, 6);
  fin->flags = kReverseSeen | kFinFwd | kFinRev;
  Session* rst = add(t, 4, 6);
  rst->flags = kReverseSeen | kRst;
  Session* half = add(t, 5, 6);
  half->flags = kReverseSeen | kFinFwd;
  for (Session* s : {udp, syn, est, fin, rst, half}) ASSERT_NE(s, nullptr);
  const uint32_t base = 1000;
  for (Session* s : {udp, syn, est, fin, rst, half}) s->last_ms = base;

  Expired ex;
  EXPECT_EQ(t.expire_some(base + 29999, 16, to, Expired::record, &ex), 0u);
  EXPECT_EQ(t.expire_some(base + 30000, 16, to, Expired::record, &ex), 3u);  // SYN-only, FIN both, RST
  EXPECT_EQ(ex.originals.size(), 3u);
  EXPECT_FALSE(t.lookup(client(1, 6)));
  EXPECT_FALSE(t.lookup(client(3, 6)));
  EXPECT_FALSE(t.lookup(client(4, 6)));
  EXPECT_TRUE(t.lookup(client(0, 17)));
  EXPECT_EQ(t.expire_some(base + 59999, 16, to, Expired::record, &ex), 0u);
  EXPECT_EQ(t.expire_some(base + 60000, 16, to, Expired::record, &ex), 1u);  // UDP
  EXPECT_FALSE(t.lookup(client(0, 17)));
  EXPECT_EQ(t.expire_some(base + 1799999, 16, to, Expired::record, &ex), 0u);
  EXPECT_EQ(t.expire_some(base + 1800000, 16, to, nullptr, nullptr), 2u);  // established, half-closed
  EXPECT_EQ(t.size(), 0u);
}

TEST(SessionTable, ExpireSomeRespectsBudgetAndActivity) {
  Timeouts to{1800000, 30000, 60000};
  SessionTable t(16, SessionTable::kHeapMemory);
  for (uint32_t i = 0; i < 16; ++i) ASSERT_NE(add(t, i), nullptr);
  // Session 5 was active recently; the others idle since 0.
  t.lookup(client(5)).session->last_ms = 50000;
  uint32_t total = 0;
  for (int round = 0; round < 4; ++round) {
    uint32_t n = t.expire_some(60000, 4, to, nullptr, nullptr);
    EXPECT_LE(n, 4u);
    total += n;
  }
  EXPECT_EQ(total, 15u);  // a full sweep in budget-sized steps
  EXPECT_TRUE(t.lookup(client(5)));
  EXPECT_EQ(t.expire_some(110000, 100, to, nullptr, nullptr), 1u);
}

TEST(SessionTable, AgingIsWrapSafe) {
  Timeouts to{1800000, 30000, 60000};
  SessionTable t(4, SessionTable::kHeapMemory);
  Session* s = add(t, 0);
  s->last_ms = 0xffffff00u;  // the uint32 millisecond clock wraps after 49 days
  EXPECT_EQ(t.expire_some(0x100, 4, to, nullptr, nullptr), 0u);
  EXPECT_EQ(t.expire_some(0xffffff00u + 60000, 4, to, nullptr, nullptr), 1u);
}

TEST(SessionTable, RandomInsertDeleteMatchesModel) {
  // Many keys land in a few clusters (load up to 50 % of the slots), so
  // deletions exercise the backward shift across wrap-around and long chains.
  constexpr uint32_t kCap = 512;
  SessionTable t(kCap, SessionTable::kHeapMemory);
  std::map<Key, Session*> by_a, by_b;
  std::mt19937 rng(8);
  auto random_tuple = [&] {
    return FiveTuple{0x0a010000u | static_cast<Ipv4>(rng() % 64), 0x0a020000u | static_cast<Ipv4>(rng() % 4),
                     static_cast<uint16_t>(rng() % 512), static_cast<uint16_t>(80 + rng() % 2),
                     static_cast<uint8_t>(rng() % 2 ? 6 : 17)};
  };
  for (int op = 0; op < 100000; ++op) {
    bool do_insert = by_a.empty() || (rng() % 100 < (by_a.size() < kCap * 3 / 4 ? 60u : 35u));
    if (do_insert) {
      FiveTuple a = random_tuple(), b = random_tuple();
      Session* s = t.allocate();
      if (!s) {
        ASSERT_EQ(by_a.size(), kCap);
        continue;
      }
      s->out_rev.tuple = a.reversed();
      s->out_fwd.tuple = b.reversed();
      bool dup =
          a == b || by_a.count(key_of(a)) || by_b.count(key_of(a)) || by_a.count(key_of(b)) || by_b.count(key_of(b));
      bool ok = t.insert(s);
      ASSERT_EQ(ok, !dup) << "op " << op;
      if (!ok) {
        t.release(s);
        continue;
      }
      by_a[key_of(a)] = s;
      by_b[key_of(b)] = s;
    } else {
      auto it = by_a.begin();
      std::advance(it, rng() % by_a.size());
      Session* s = it->second;
      by_b.erase(key_of(s->key_b()));
      by_a.erase(it);
      t.remove(s);
    }
    ASSERT_EQ(t.size(), by_a.size());
    if (op % 97 == 0 || op > 99000) {
      for (const auto& [k, s] : by_a) {
        SessionRef r = t.lookup(s->key_a());
        ASSERT_EQ(r.session, s) << "op " << op;
        ASSERT_EQ(r.dir, Dir::forward);
      }
      for (const auto& [k, s] : by_b) {
        SessionRef r = t.lookup(s->key_b());
        ASSERT_EQ(r.session, s) << "op " << op;
        ASSERT_EQ(r.dir, Dir::reverse);
      }
      for (int probe = 0; probe < 50; ++probe) {
        FiveTuple x = random_tuple();
        if (!by_a.count(key_of(x)) && !by_b.count(key_of(x))) {
          ASSERT_FALSE(t.lookup(x)) << "op " << op;
        }
      }
    }
  }
}

TEST(SessionTable, FillDrainRefillKeepsIndexClean) {
  constexpr uint32_t kCap = 1000;
  SessionTable t(kCap, SessionTable::kHeapMemory);
  for (int round = 0; round < 3; ++round) {
    std::vector<Session*> all;
    for (uint32_t i = 0; i < kCap; ++i) {
      Session* s = add(t, i + static_cast<uint32_t>(round) * 7);
      ASSERT_NE(s, nullptr) << i;
      all.push_back(s);
    }
    EXPECT_EQ(t.allocate(), nullptr);
    std::mt19937 rng(9 + static_cast<unsigned>(round));
    std::shuffle(all.begin(), all.end(), rng);
    for (size_t i = 0; i < all.size(); ++i) {
      t.remove(all[i]);
      if (i % 50 != 0) continue;
      for (size_t j = i + 1; j < all.size(); ++j) ASSERT_EQ(t.lookup(all[j]->key_a()).session, all[j]);
    }
    EXPECT_EQ(t.size(), 0u);
  }
}

TEST(SessionTable, MemoryPerSessionIsBounded) {
  for (uint32_t cap : {64u, 1000u, 4097u, 65536u, 100000u}) {
    SessionTable t(cap, SessionTable::kHeapMemory);
    ASSERT_TRUE(t.ok());
    EXPECT_LE(t.memory_bytes() / cap, 256u) << cap;
  }
}

}  // namespace
}  // namespace wp
