// BFD (RFC 5880) codec and state machine: the § 6.8.6 reception rules one by
// one, the three-way handshake, detection time, Poll/Final, the 1 s floor
// while not Up, transmit jitter, and meticulous keyed SHA-1 (§ 6.7.4).
#include "dataplane/paths/bfd.h"

#include <gtest/gtest.h>

#include <cstring>

#include "dataplane/ip/packet.h"

namespace wp {
namespace {

constexpr uint64_t kMs = 1000;

BfdConfig fast() {
  BfdConfig c;
  c.desired_min_tx_us = 100 * kMs;
  c.required_min_rx_us = 100 * kMs;
  c.detect_mult = 3;
  return c;
}

// One packet from `from` delivered to `to`, through the codec.
BfdDiscard deliver(BfdSession& from, BfdSession& to, uint64_t now, uint8_t* tamper = nullptr) {
  uint8_t buf[kBfdMaxLen];
  size_t n = from.build(buf, now);
  if (tamper) *tamper = 1;
  BfdPacket p;
  BfdDiscard why;
  if (!parse_bfd(buf, n, p, why)) return why;
  return to.receive(p, buf, n, now);
}

BfdPacket decode(BfdSession& s, uint64_t now = 0) {
  uint8_t buf[kBfdMaxLen];
  size_t n = s.build(buf, now);
  BfdPacket p;
  BfdDiscard why;
  EXPECT_TRUE(parse_bfd(buf, n, p, why));
  return p;
}

void bring_up(BfdSession& a, BfdSession& b, uint64_t now = 0) {
  ASSERT_EQ(deliver(a, b, now), BfdDiscard::none);  // b: Down -> Init
  ASSERT_EQ(deliver(b, a, now), BfdDiscard::none);  // a: Down -> Up (peer Init)
  ASSERT_EQ(deliver(a, b, now), BfdDiscard::none);  // b: Init -> Up
  ASSERT_EQ(a.state(), BfdState::up);
  ASSERT_EQ(b.state(), BfdState::up);
}

// A valid Down packet to mutate field by field.
std::array<uint8_t, kBfdHeaderLen> valid_header() {
  std::array<uint8_t, kBfdHeaderLen> h{};
  h[0] = 1 << 5;
  h[1] = static_cast<uint8_t>(BfdState::down) << 6;
  h[2] = 3;
  h[3] = kBfdHeaderLen;
  store_be32(&h[4], 7);
  store_be32(&h[12], 1000000);
  store_be32(&h[16], 1000000);
  return h;
}

BfdDiscard parse_why(const uint8_t* p, size_t len) {
  BfdPacket pkt;
  BfdDiscard why;
  parse_bfd(p, len, pkt, why);
  return why;
}

TEST(BfdParse, ReceptionChecksInRfcOrder) {
  auto h = valid_header();
  EXPECT_EQ(parse_why(h.data(), h.size()), BfdDiscard::none);
  auto v = h;
  v[0] = 2 << 5;
  EXPECT_EQ(parse_why(v.data(), v.size()), BfdDiscard::bad_version);
  EXPECT_EQ(parse_why(h.data(), 23), BfdDiscard::bad_length);
  auto l = h;
  l[3] = 30;  // claims more than the payload holds
  EXPECT_EQ(parse_why(l.data(), l.size()), BfdDiscard::bad_length);
  l[3] = 20;
  EXPECT_EQ(parse_why(l.data(), l.size()), BfdDiscard::bad_length);
  auto a = h;
  a[1] |= 0x04;  // A bit but no room for an auth section
  EXPECT_EQ(parse_why(a.data(), a.size()), BfdDiscard::bad_length);
  auto m = h;
  m[2] = 0;
  EXPECT_EQ(parse_why(m.data(), m.size()), BfdDiscard::zero_multiplier);
  auto mp = h;
  mp[1] |= 0x01;
  EXPECT_EQ(parse_why(mp.data(), mp.size()), BfdDiscard::multipoint);
  auto d = h;
  store_be32(&d[4], 0);
  EXPECT_EQ(parse_why(d.data(), d.size()), BfdDiscard::zero_my_discriminator);
  auto y = h;
  y[1] = static_cast<uint8_t>(BfdState::up) << 6;  // Up with Your Discriminator 0
  EXPECT_EQ(parse_why(y.data(), y.size()), BfdDiscard::zero_your_discriminator);
  y[1] = static_cast<uint8_t>(BfdState::admin_down) << 6;
  EXPECT_EQ(parse_why(y.data(), y.size()), BfdDiscard::none);
}

TEST(BfdSession, ThreeWayHandshakeAndDiscriminators) {
  BfdSession a(11, fast(), 0), b(22, fast(), 0);
  EXPECT_EQ(decode(a).your_discr, 0u);  // nothing heard yet
  EXPECT_EQ(decode(a).state, BfdState::down);
  ASSERT_EQ(deliver(a, b, 0), BfdDiscard::none);
  EXPECT_EQ(b.state(), BfdState::init);
  EXPECT_EQ(b.remote_discr(), 11u);
  EXPECT_EQ(decode(b).your_discr, 11u);
  ASSERT_EQ(deliver(b, a, 0), BfdDiscard::none);
  EXPECT_EQ(a.state(), BfdState::up);  // Down + peer Init -> Up
  ASSERT_EQ(deliver(a, b, 0), BfdDiscard::none);
  EXPECT_EQ(b.state(), BfdState::up);  // Init + peer Up -> Up
}

TEST(BfdSession, WrongYourDiscriminatorIsDiscarded) {
  BfdSession a(11, fast(), 0), b(22, fast(), 0), c(33, fast(), 0);
  bring_up(a, b);
  // c heard from nobody; a packet addressed to b's discriminator reaches c.
  EXPECT_EQ(deliver(a, c, 0), BfdDiscard::unknown_your_discriminator);
  EXPECT_EQ(c.state(), BfdState::down);
}

TEST(BfdSession, DetectionTimeExpiryDeclaresDown) {
  BfdSession a(11, fast(), 0), b(22, fast(), 0);
  bring_up(a, b, 0);
  std::mt19937_64 rng(1);
  // Detection time = remote DetectMult x max(our RequiredMinRx, remote DesiredMinTx).
  // b's last packet advertised 1 s (it was not Up yet when it sent it).
  EXPECT_EQ(a.detection_time_us(), 3 * 1000 * kMs);
  ASSERT_EQ(deliver(b, a, 10 * kMs), BfdDiscard::none);  // now b is Up: 100 ms
  EXPECT_EQ(a.detection_time_us(), 300 * kMs);
  a.tick(10 * kMs + 300 * kMs, rng);
  EXPECT_EQ(a.state(), BfdState::up);  // exactly at the limit: not yet
  a.tick(10 * kMs + 300 * kMs + 1, rng);
  EXPECT_EQ(a.state(), BfdState::down);
  EXPECT_EQ(a.diag(), BfdDiag::detect_timeout);
  EXPECT_EQ(a.remote_discr(), 0u);  // § 6.8.1
  EXPECT_EQ(decode(a).your_discr, 0u);
}

TEST(BfdSession, OwnStallDoesNotCountTowardDetection) {
  BfdSession a(11, fast(), 0), b(22, fast(), 0);
  bring_up(a, b, 0);
  ASSERT_EQ(deliver(b, a, 0), BfdDiscard::none);  // 300 ms detection from t=0
  std::mt19937_64 rng(1);
  a.excuse(500 * kMs, 600 * kMs);  // we did not run from 100 to 600 ms
  a.tick(600 * kMs, rng);
  EXPECT_EQ(a.state(), BfdState::up);
  a.tick(801 * kMs, rng);  // 300 ms of our own running time without a packet
  EXPECT_EQ(a.state(), BfdState::down);
}

TEST(BfdSession, NeighborDownAndAdminDown) {
  BfdSession a(11, fast(), 0), b(22, fast(), 0);
  bring_up(a, b);
  b.set_admin_down(true);
  EXPECT_EQ(decode(b).required_min_rx_us, 0u);
  ASSERT_EQ(deliver(b, a, 0), BfdDiscard::none);
  EXPECT_EQ(a.state(), BfdState::down);
  EXPECT_EQ(a.diag(), BfdDiag::neighbor_down);
  // An AdminDown session ignores what it hears.
  ASSERT_EQ(deliver(a, b, 0), BfdDiscard::none);
  EXPECT_EQ(b.state(), BfdState::admin_down);
  b.set_admin_down(false);
  EXPECT_EQ(b.state(), BfdState::down);

  // Up, then the peer reports Down (it timed out on us): we go Down too.
  BfdSession c(33, fast(), 0), d(44, fast(), 0);
  bring_up(c, d);
  std::mt19937_64 rng(1);
  d.tick(10000 * kMs, rng);  // d times out
  ASSERT_EQ(d.state(), BfdState::down);
  ASSERT_EQ(deliver(d, c, 10000 * kMs), BfdDiscard::none);
  EXPECT_EQ(c.state(), BfdState::down);
  EXPECT_EQ(c.diag(), BfdDiag::neighbor_down);
}

TEST(BfdSession, SlowRateUntilUpThenPollFinal) {
  BfdSession a(11, fast(), 0), b(22, fast(), 0);
  EXPECT_EQ(decode(a).desired_min_tx_us, 1000 * kMs);  // § 6.8.3 floor while not Up
  EXPECT_EQ(a.tx_interval_us(), 1000 * kMs);
  bring_up(a, b);
  EXPECT_EQ(a.tx_interval_us(), 100 * kMs);
  // Leaving the floor changed DesiredMinTx: a Poll until the peer answers.
  EXPECT_TRUE(a.poll_active());
  BfdPacket p = decode(a);
  EXPECT_TRUE(p.poll);
  EXPECT_FALSE(p.final);
  EXPECT_EQ(p.desired_min_tx_us, 100 * kMs);
  ASSERT_EQ(deliver(a, b, 0), BfdDiscard::none);
  EXPECT_TRUE(b.final_due());
  BfdPacket f = decode(b);  // b's answer carries F (and never P with it)
  EXPECT_TRUE(f.final);
  EXPECT_FALSE(f.poll);
  EXPECT_FALSE(b.final_due());
  // Deliver a Final to a: the Poll Sequence ends.
  BfdSession a2(11, fast(), 0), b2(22, fast(), 0);
  bring_up(a2, b2);
  ASSERT_EQ(deliver(a2, b2, 0), BfdDiscard::none);
  ASSERT_TRUE(b2.final_due());
  ASSERT_EQ(deliver(b2, a2, 0), BfdDiscard::none);
  EXPECT_FALSE(a2.poll_active());
  EXPECT_FALSE(decode(a2).poll);
  // Changing intervals while Up starts another Poll.
  a2.set_intervals(200 * kMs, 200 * kMs);
  EXPECT_TRUE(a2.poll_active());
}

TEST(BfdSession, StateChangeIsSentAtOnceNotAtTheSlowRate) {
  BfdSession a(11, fast(), 0), b(22, fast(), 0);
  std::mt19937_64 rng(3);
  ASSERT_TRUE(a.tick(0, rng));  // first periodic packet, next one ~1 s away (not Up)
  uint8_t buf[kBfdMaxLen];
  a.build(buf, 0);
  EXPECT_FALSE(a.tick(10 * kMs, rng));
  ASSERT_EQ(deliver(b, a, 10 * kMs), BfdDiscard::none);  // a: Down -> Init
  EXPECT_TRUE(a.tick(11 * kMs, rng)) << "Init goes out now, not ~1 s later";
}

TEST(BfdSession, TransmitJitterAndRemoteMinRxZero) {
  BfdSession a(11, fast(), 0), b(22, fast(), 0);
  bring_up(a, b);
  std::mt19937_64 rng(7);
  uint64_t now = 0, last = 0;
  ASSERT_TRUE(a.tick(now, rng));  // first packet due at once
  int sent = 0;
  for (now = 1; now < 20000 * kMs; now += kMs / 2) {
    ASSERT_EQ(deliver(b, a, now), BfdDiscard::none);  // keep a Up
    if (!a.tick(now, rng)) continue;
    // Answers to b's Poll go out at once, outside the periodic schedule.
    bool fin = a.final_due();
    ASSERT_EQ(deliver(a, b, now), BfdDiscard::none);
    if (fin) continue;
    uint64_t gap = now - last;
    if (last != 0) {
      EXPECT_GE(gap, 75 * kMs);
      EXPECT_LE(gap, 100 * kMs + kMs / 2);
    }
    last = now;
    ++sent;
  }
  EXPECT_GT(sent, 190);
  // A peer that asks for RequiredMinRx 0 gets no periodic packets.
  BfdSession c(33, fast(), 0), d(44, fast(), 0);
  bring_up(c, d);
  d.set_admin_down(true);
  ASSERT_EQ(deliver(d, c, 0), BfdDiscard::none);
  std::mt19937_64 r2(1);
  EXPECT_FALSE(c.tick(5 * kMs, r2));
}

BfdConfig with_key(const char* key, uint8_t id) {
  BfdConfig c = fast();
  c.auth.id = id;
  c.auth.len = static_cast<uint8_t>(std::strlen(key));
  std::memcpy(c.auth.key.data(), key, c.auth.len);
  return c;
}

TEST(BfdAuth, MeticulousKeyedSha1) {
  BfdSession a(11, with_key("secret", 5), 100), b(22, with_key("secret", 5), 900);
  BfdPacket p = decode(a);
  EXPECT_TRUE(p.auth);
  EXPECT_EQ(p.auth_type, 5);
  EXPECT_EQ(p.auth_seq, 101u);  // one per packet, starting after the initial value
  bring_up(a, b);
  // Wrong key: digest fails, nothing changes.
  BfdSession evil(11, with_key("secreT", 5), 103);  // b has seen up to 103
  EXPECT_EQ(deliver(evil, b, 0), BfdDiscard::auth_digest);
  // Wrong key id.
  BfdSession other_id(11, with_key("secret", 6), 103);
  EXPECT_EQ(deliver(other_id, b, 0), BfdDiscard::auth_mismatch);
  // No auth toward an authenticated session, and the reverse.
  BfdSession plain(11, fast(), 0), plain_b(22, fast(), 0);
  EXPECT_EQ(deliver(plain, b, 0), BfdDiscard::auth_mismatch);
  EXPECT_EQ(deliver(a, plain_b, 0), BfdDiscard::auth_mismatch);
  // A flipped bit anywhere in the header fails the digest.
  uint8_t buf[kBfdMaxLen];
  size_t n = a.build(buf, 0);
  buf[17] ^= 1;
  BfdPacket q;
  BfdDiscard why;
  ASSERT_TRUE(parse_bfd(buf, n, q, why));
  EXPECT_EQ(b.receive(q, buf, n, 0), BfdDiscard::auth_digest);
  // Replay of an already accepted packet.
  n = a.build(buf, 0);
  ASSERT_TRUE(parse_bfd(buf, n, q, why));
  EXPECT_EQ(b.receive(q, buf, n, 0), BfdDiscard::none);
  EXPECT_EQ(b.receive(q, buf, n, 0), BfdDiscard::auth_sequence);
  // Two lost packets show as a gap of two (buf[17] one was lost too: 3).
  uint64_t gaps = b.auth_seq_gaps();
  a.build(buf, 0);
  a.build(buf, 0);
  EXPECT_EQ(deliver(a, b, 0), BfdDiscard::none);
  EXPECT_EQ(b.auth_seq_gaps(), gaps + 2);
  // Too far ahead (> 3 x DetectMult): discarded.
  for (int i = 0; i < 10; ++i) a.build(buf, 0);
  EXPECT_EQ(deliver(a, b, 0), BfdDiscard::auth_sequence);
}

}  // namespace
}  // namespace wp
