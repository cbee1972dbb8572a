// Our SA lifetimes (ike_lifetime.h) and the request window both ends'
// requests share (ike_request.h), with an injected clock.
#include "dataplane/control/ike/ike_lifetime.h"

#include <gtest/gtest.h>

#include <random>

#include "dataplane/control/ike/ike_request.h"

namespace wp::ike {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST(SoftFraction, JitteredWithinEightyFiveToNinetyFivePercent) {
  EXPECT_DOUBLE_EQ(soft_fraction(0), kSoftMin);
  EXPECT_DOUBLE_EQ(soft_fraction(0xffffffffu), kSoftMax);
  std::mt19937 rng(7);
  double lo = 1, hi = 0;
  for (int n = 0; n < 10000; ++n) {
    const double f = soft_fraction(static_cast<uint32_t>(rng()));
    ASSERT_GE(f, 0.85);
    ASSERT_LE(f, 0.95);
    lo = std::min(lo, f);
    hi = std::max(hi, f);
  }
  EXPECT_LT(lo, 0.86);  // spread over the whole margin: two ends seldom agree
  EXPECT_GT(hi, 0.94);
}

// An SA carried on from the HA peer draws its soft point no earlier than where it stands, so
// the SAs a takeover finds past 85 % do not all rekey at its first check.
TEST(SoftFraction, AFloorAboveTheMinimumNarrowsTheDraw) {
  EXPECT_DOUBLE_EQ(soft_fraction(0, 0.5), kSoftMin) << "below the minimum: as without";
  EXPECT_DOUBLE_EQ(soft_fraction(0, 0.93), 0.93);
  EXPECT_DOUBLE_EQ(soft_fraction(0xffffffffu, 0.93), kSoftMax);
  EXPECT_DOUBLE_EQ(soft_fraction(0x80000000u, 0.97), 0.97) << "past the maximum: due at once";
  const Clock::time_point t0 = Clock::now();
  const SaLifetime l(t0, 1000s, 0, 0, 0.93);
  EXPECT_EQ(l.check(t0 + 929s, 0), Expiry::none);
  EXPECT_EQ(l.check(t0 + 931s, 0), Expiry::soft_time);
  EXPECT_EQ(l.hard_at(), t0 + 1000s) << "the hard deadline does not move";
}

TEST(CarriedFraction, TheFurtherOfAgeAndBytesNeverBelowTheMinimum) {
  const auto t = std::chrono::steady_clock::now();
  using std::chrono::seconds;
  EXPECT_DOUBLE_EQ(carried_fraction(t, t, seconds(1000)), kSoftMin) << "new";
  EXPECT_DOUBLE_EQ(carried_fraction(t, t + seconds(500), seconds(1000)), kSoftMin) << "below the minimum";
  EXPECT_DOUBLE_EQ(carried_fraction(t, t + seconds(900), seconds(1000)), 0.9);
  EXPECT_DOUBLE_EQ(carried_fraction(t + seconds(5), t, seconds(1000)), kSoftMin) << "a start ahead of now";
  EXPECT_DOUBLE_EQ(carried_fraction(t, t + seconds(900), seconds(0)), kSoftMin) << "no lifetime by time";
  EXPECT_DOUBLE_EQ(carried_fraction(t, t + seconds(100), seconds(1000), 92, 100), 0.92) << "bytes further";
  EXPECT_DOUBLE_EQ(carried_fraction(t, t + seconds(930), seconds(1000), 90, 100), 0.93) << "age further";
  EXPECT_DOUBLE_EQ(carried_fraction(t, t, seconds(0), 120, 100), 1.2) << "past the hard limit";
  EXPECT_DOUBLE_EQ(carried_fraction(t, t, seconds(0), 99, 0), kSoftMin) << "no lifetime by bytes";
}

TEST(SaLifetime, SoftThenHardByTime) {
  const Clock::time_point t0 = Clock::now();
  const SaLifetime l(t0, 1000s, 0, 0x80000000u);  // soft at 90 %
  EXPECT_EQ(l.check(t0 + 899s, 0), Expiry::none);
  EXPECT_EQ(l.check(t0 + 901s, 0), Expiry::soft_time);
  EXPECT_EQ(l.check(t0 + 1000s, 0), Expiry::hard);
  EXPECT_EQ(l.seconds_left(t0 + 400s), 600);
  EXPECT_EQ(l.seconds_left(t0 + 2000s), 0);
  EXPECT_EQ(l.check(t0 + 10h, ~uint64_t{0}), Expiry::hard);  // no byte limit: bytes change nothing
}

TEST(SaLifetime, JitterBoundsOfTheSoftLifetime) {
  const Clock::time_point t0 = Clock::now();
  const SaLifetime early(t0, 3600s, 0, 0), late(t0, 3600s, 0, 0xffffffffu);
  EXPECT_EQ(early.check(t0 + 3059s, 0), Expiry::none);  // 85 % = 3060 s
  EXPECT_EQ(early.check(t0 + 3060s, 0), Expiry::soft_time);
  EXPECT_EQ(late.check(t0 + 3419s, 0), Expiry::none);  // 95 % = 3420 s
  EXPECT_EQ(late.check(t0 + 3420s, 0), Expiry::soft_time);
}

TEST(SaLifetime, SoftThenHardByBytes) {
  const Clock::time_point t0 = Clock::now();
  const SaLifetime l(t0, 3600s, 10'000'000, 0);  // soft at 8.5 MB
  EXPECT_EQ(l.soft_bytes(), 8'500'000u);
  EXPECT_EQ(l.check(t0 + 1s, 8'499'999), Expiry::none);
  EXPECT_EQ(l.check(t0 + 1s, 8'500'000), Expiry::soft_bytes);
  EXPECT_EQ(l.check(t0 + 1s, 10'000'000), Expiry::hard);
  EXPECT_EQ(l.check(t0 + 3100s, 0), Expiry::soft_time);  // time comes first when both are due
  const SaLifetime bytes_only(t0, 0s, 2'000'000, 0xffffffffu);
  EXPECT_FALSE(bytes_only.timed());
  EXPECT_EQ(bytes_only.seconds_left(t0), -1);
  EXPECT_EQ(bytes_only.check(t0 + 1000h, 1'899'999), Expiry::none);
  EXPECT_EQ(bytes_only.check(t0 + 1000h, 1'900'000), Expiry::soft_bytes);
}

TEST(SaLifetime, AFailedRekeyIsRetriedAfterTheRetryInterval) {
  const Clock::time_point t0 = Clock::now();
  SaLifetime l(t0, 100s, 0, 0);
  EXPECT_TRUE(l.may_start(t0));
  l.started(t0 + 90s);
  EXPECT_FALSE(l.may_start(t0 + 90s + kRekeyRetry - 1s));
  EXPECT_TRUE(l.may_start(t0 + 90s + kRekeyRetry));
  EXPECT_EQ(l.attempts(), 1u);
}

TEST(RekeyCollision, TheSaWithTheLowestOfTheFourNoncesIsRedundant) {
  const Bytes n0(32, 0x00), n1(32, 0x01), n2(32, 0x02), n3(32, 0x03);
  // Ours made with (our Ni, the peer's Nr), theirs with (their Ni, our Nr).
  EXPECT_TRUE(our_rekey_redundant(n2, n0, n1, n3));   // the lowest, n0, is in ours
  EXPECT_TRUE(our_rekey_redundant(n0, n3, n1, n2));
  EXPECT_FALSE(our_rekey_redundant(n2, n3, n0, n1));  // n0 in theirs
  EXPECT_FALSE(our_rekey_redundant(n3, n2, n1, n0));
  // Both ends decide alike: the peer's view swaps the roles.
  EXPECT_NE(our_rekey_redundant(n2, n1, n3, n0), our_rekey_redundant(n3, n0, n2, n1));
  // A shorter nonce that is a prefix of a longer one is lower.
  const Bytes high(32, 0xff);
  EXPECT_TRUE(our_rekey_redundant(Bytes(16, 0x05), high, Bytes(17, 0x05), high));
}

TEST(RequestWindow, IdsRetransmissionsWithBackoffThenFailure) {
  const Clock::time_point t0 = Clock::now();
  RequestWindow w(500ms, 3);
  EXPECT_EQ(w.take_id(), 0u);
  w.send({1, 2, 3}, Exchange::create_child_sa, t0);
  EXPECT_TRUE(w.outstanding());
  EXPECT_TRUE(w.answers(0, Exchange::create_child_sa));
  EXPECT_FALSE(w.answers(0, Exchange::informational));
  EXPECT_FALSE(w.answers(1, Exchange::create_child_sa));
  Bytes out;
  EXPECT_EQ(w.tick(t0 + 499ms, out), RequestWindow::Tick::nothing);
  EXPECT_EQ(w.tick(t0 + 500ms, out), RequestWindow::Tick::resend);
  EXPECT_EQ(out, (Bytes{1, 2, 3}));
  EXPECT_EQ(w.tick(t0 + 1499ms, out), RequestWindow::Tick::nothing);  // then 1 s
  EXPECT_EQ(w.tick(t0 + 1500ms, out), RequestWindow::Tick::resend);
  EXPECT_EQ(w.tick(t0 + 3500ms, out), RequestWindow::Tick::failed);  // 3 sends in all
  EXPECT_FALSE(w.outstanding());
  EXPECT_EQ(w.take_id(), 1u);
  w.send({4}, Exchange::informational, t0);
  w.answered();
  EXPECT_EQ(w.tick(t0 + 1h, out), RequestWindow::Tick::nothing);
  w.reset(0);
  EXPECT_EQ(w.next_id(), 0u);
}

}  // namespace
}  // namespace wp::ike
