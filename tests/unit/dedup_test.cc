// The duplicate-removal window of packet duplication (dataplane/qos/dedup.h):
// first copies pass, second copies drop, gaps are counted once when they
// leave the window, across 2^32, with two paths delivering in random order
// against a reference.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "dataplane/qos/dedup.h"

namespace wp {
namespace {

TEST(Dedup, FirstCopyPassesSecondDrops) {
  DedupWindow w;
  EXPECT_EQ(dedup_accept(w, 10).verdict, DedupVerdict::first);
  EXPECT_EQ(dedup_accept(w, 10).verdict, DedupVerdict::duplicate);
  EXPECT_EQ(dedup_accept(w, 12).verdict, DedupVerdict::first);
  EXPECT_EQ(dedup_accept(w, 11).verdict, DedupVerdict::first);  // late copy of path A, first overall
  EXPECT_EQ(dedup_accept(w, 11).verdict, DedupVerdict::duplicate);
  EXPECT_EQ(dedup_accept(w, 9).verdict, DedupVerdict::first);  // before the first seen: forwarded
  EXPECT_EQ(dedup_accept(w, 12 - 64).verdict, DedupVerdict::late);
}

TEST(Dedup, GapsCountedOnceWhenTheyLeaveTheWindow) {
  DedupWindow w;
  uint64_t gaps = 0;
  for (uint32_t s = 1; s <= 200; ++s)
    if (s % 10 != 0) gaps += dedup_accept(w, s).gaps;  // every tenth lost on both paths
  // 20 lost; those above 200 - 64 have not left the window yet.
  EXPECT_EQ(gaps, 13u);  // 10, 20, ..., 130
  gaps += dedup_accept(w, 200 + 1000).gaps;  // a jump: the rest leave, plus 1000 - 64 never seen
  EXPECT_EQ(gaps, 20u + (1000 - 64));  // 201 .. 1136 never fitted in the window
}

TEST(Dedup, NoFalseGapsAtTheStartOrAcrossTheWrap) {
  DedupWindow w;
  uint64_t gaps = 0;
  for (uint64_t i = 0; i < 1000; ++i) {
    uint32_t s = static_cast<uint32_t>(0xffffff00u + i);
    gaps += dedup_accept(w, s).gaps;
    EXPECT_EQ(dedup_accept(w, s).verdict, DedupVerdict::duplicate);
  }
  EXPECT_EQ(gaps, 0u);
}

TEST(Dedup, TwoPathsInRandomOrderAgreeWithAReference) {
  std::mt19937 rng(5);
  DedupWindow w;
  std::set<uint32_t> delivered;
  uint64_t gaps = 0, dups = 0;
  std::vector<std::pair<uint32_t, int>> arrivals;  // (seq, path)
  const uint32_t n = 20000;
  std::set<uint32_t> lost_both;
  for (uint32_t s = 1; s <= n; ++s) {
    const bool a = rng() % 20 != 0, b = rng() % 20 != 0;  // each path loses 5 %
    if (a) arrivals.push_back({s, 0});
    if (b) arrivals.push_back({s, 1});
    if (!a && !b) lost_both.insert(s);
  }
  // Path B lags by up to 16 positions: shuffle within small blocks.
  for (size_t i = 0; i + 16 <= arrivals.size(); i += 16) std::shuffle(arrivals.begin() + i, arrivals.begin() + i + 16, rng);
  for (auto [s, p] : arrivals) {
    DedupResult r = dedup_accept(w, s);
    gaps += r.gaps;
    if (r.verdict == DedupVerdict::first) {
      EXPECT_TRUE(delivered.insert(s).second) << s;
    }
    if (r.verdict == DedupVerdict::duplicate) ++dups;
    ASSERT_NE(r.verdict, DedupVerdict::late) << s;
  }
  gaps += dedup_accept(w, n + 64).gaps;  // everything up to n leaves the window
  EXPECT_EQ(gaps, lost_both.size());  // n+1 .. n+63 are in the new window, not yet gaps
  EXPECT_EQ(delivered.size() + lost_both.size(), n);  // every number once, or lost on both paths
  EXPECT_EQ(dups, arrivals.size() - delivered.size());
}

TEST(Dedup, GapTotalMatchesLossOnBothPaths) {
  std::mt19937 rng(9);
  DedupWindow w;
  uint64_t gaps = 0, lost = 0;
  const uint32_t n = 50000;
  for (uint32_t s = 1; s <= n; ++s) {
    const bool a = rng() % 10 != 0, b = rng() % 10 != 0;
    if (!a && !b) ++lost;
    if (a) gaps += dedup_accept(w, s).gaps;
    if (b) gaps += dedup_accept(w, s).gaps;
  }
  const DedupResult last = dedup_accept(w, n + 64);  // everything up to n leaves the window
  gaps += last.gaps;
  EXPECT_EQ(gaps, lost);  // n+1 .. n+63 are in the new window, not yet gaps
}

}  // namespace
}  // namespace wp
