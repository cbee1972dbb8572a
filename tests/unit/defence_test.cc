// Dataplane defences (docs/security.md § Dataplane): what a sender on the
// LAN or WAN can no longer do with forged headers and floods.
//   - IPv4 header checksum: verified (or the port's verdict trusted) before
//     anything in the header is used; bad ones dropped (RFC 1812 § 5.2.2).
//   - ARP: metered per port on its way to the control thread; learned only
//     when we asked (or a known neighbor announces itself), so spoofed ARP
//     cannot fill the neighbor table; entries age REACHABLE -> STALE ->
//     PROBE -> gone, and a full bucket evicts the least recently used STALE.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "dataplane/control/control_thread.h"
#include "dataplane/control/neighbor.h"
#include "dataplane/ip/packet.h"
#include "tests/unit/svr_harness.h"

namespace wp {
namespace {

using namespace test;

// A branch router whose LAN is a /16: room for far more spoofed neighbors
// than the table holds.
config::Config branch_config() {
  config::Config c = router_base("r1", "10.1.0.1/16", {{"wan0", "172.16.0.1/24"}});
  add_tenant(c, "branch", "10.1.0.0/16");
  add_service(c, {"echo", "10.2.0.0/24", "udp", "5201", "r2"});
  add_policy(c, "branch", "echo", "");
  add_peer(c, "r2", {"172.16.0.2"}, kKey12);
  return c;
}

std::vector<uint8_t> client_udp(std::string_view data = "hello") {
  return Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kServer).udp(40000, 5201).payload(data).bytes();
}

class Defence : public ::testing::Test {
 protected:
  void SetUp() override {
    r1 = std::make_unique<Router>(branch_config());
    r1->neighbor(kWan, kR2Wan, kR2Mac);
  }
  std::unique_ptr<Router> r1;
};

// --- IPv4 header checksum ------------------------------------------------------

TEST_F(Defence, BadIpHeaderChecksumIsDroppedBeforeAnythingElse) {
  r1->send_one(kLan, client_udp());
  auto bad = client_udp();
  bad[14 + 10] ^= 0x5a;  // the checksum field
  EXPECT_TRUE(r1->send(kLan, bad).empty());
  EXPECT_EQ(r1->drop_count(DropReason::bad_ip_checksum), 1u);
  // A corrupted address, checksum left as it was: the same verdict.
  auto forged = client_udp();
  forged[14 + 15] ^= 1;  // source address, last byte
  EXPECT_TRUE(r1->send(kLan, forged).empty());
  EXPECT_EQ(r1->drop_count(DropReason::bad_ip_checksum), 2u);
  EXPECT_EQ(r1->total_drops(), 2u) << r1->drops();
}

TEST_F(Defence, BadChecksumFragmentNeverReachesReassembly) {
  auto frag = Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kServer).udp(40000, 5201).payload(std::string(64, 'x'))
                  .frag(0x2000).id(7).bytes();
  frag[14 + 11] ^= 0xff;
  EXPECT_TRUE(r1->send(kLan, frag).empty());
  EXPECT_EQ(r1->drop_count(DropReason::bad_ip_checksum), 1u);
  EXPECT_EQ(r1->count(Counter::fragments_received), 0u);
}

TEST_F(Defence, ThePortsChecksumVerdictIsTrusted) {
  auto send_flagged = [&](const std::vector<uint8_t>& f, uint64_t flags) {
    rte_mbuf* m = Pkt::to_mbuf(test_pool(), f, kLan);
    ASSERT_NE(m, nullptr);
    m->ol_flags |= flags;
    r1->worker().receive(&m, 1);
    r1->worker().flush();
  };
  send_flagged(client_udp(), RTE_MBUF_F_RX_IP_CKSUM_BAD);  // the port saw it damaged
  EXPECT_EQ(r1->drop_count(DropReason::bad_ip_checksum), 1u);
  auto bad = client_udp();
  bad[14 + 10] ^= 0x5a;
  send_flagged(bad, RTE_MBUF_F_RX_IP_CKSUM_GOOD);  // not summed again
  EXPECT_EQ(r1->drop_count(DropReason::bad_ip_checksum), 1u);
  EXPECT_EQ(r1->count(Counter::metadata_sent), 1u) << r1->drops();
}

// --- ARP to the control thread ----------------------------------------------------

TEST_F(Defence, ArpToTheControlThreadIsMeteredPerPort) {
  uint32_t extra = 100;
  for (uint32_t i = 0; i < Worker::kArpBurst + extra; ++i)
    r1->send(kLan, Pkt::arp(1, kClientMac, kClient, {}, ip("10.1.0.1")));
  EXPECT_EQ(r1->count(Counter::to_control), Worker::kArpBurst);
  EXPECT_EQ(r1->drop_count(DropReason::arp_rate_limited), extra);
  // The WAN port has a meter of its own.
  r1->send(kWan, Pkt::arp(1, kR2Mac, kR2Wan, {}, kR1Wan));
  EXPECT_EQ(r1->count(Counter::to_control), Worker::kArpBurst + 1);
  // 100 ms later the LAN meter has refilled 100 tokens.
  r1->worker().set_now_ms(r1->worker().now_ms() + 100);
  for (uint32_t i = 0; i < 150; ++i) r1->send(kLan, Pkt::arp(1, kClientMac, kClient, {}, ip("10.1.0.1")));
  EXPECT_EQ(r1->count(Counter::to_control), Worker::kArpBurst + 1 + Worker::kArpPerSecond / 10);
}

// --- what ARP may teach us -------------------------------------------------------

struct ControlTx {
  std::vector<Frame> frames;
  static uint16_t capture(void* ctx, uint16_t port, uint16_t, rte_mbuf** pkts, uint16_t n) {
    for (uint16_t i = 0; i < n; ++i) {
      Frame f = frame_of(pkts[i]);
      f.port = port;
      static_cast<ControlTx*>(ctx)->frames.push_back(std::move(f));
      rte_pktmbuf_free(pkts[i]);
    }
    return n;
  }
};

class DefenceArp : public Defence {
 protected:
  void SetUp() override {
    Defence::SetUp();
    control = std::make_unique<Control>(r1->shared(), test_pool(), /*tx_queue=*/1);
    control->set_tx(ControlTx::capture, &tx);
  }
  // One ARP frame in through the worker, then the control thread's turn.
  void arp(uint16_t port, uint16_t op, const Mac& sha, Ipv4 spa, Ipv4 tpa) {
    r1->send(port, Pkt::arp(op, sha, spa, {}, tpa));
    control->poll_once(now_ms);
  }
  uint64_t control_count(Counter c) { return r1->shared().control_counters().get(c); }
  NeighborTable& neighbors() { return r1->shared().neighbors; }
  std::unique_ptr<Control> control;
  ControlTx tx;
  uint32_t now_ms = 0;
};

TEST_F(DefenceArp, SpoofedArpCannotFillTheNeighborTable) {
  // Replies, requests for our address and gratuitous ARP for 6000 made-up
  // hosts, spaced so the per-port meter lets every one through.
  const Ipv4 lan_addr = ip("10.1.0.1");
  for (uint32_t i = 0; i < 6000; ++i) {
    Ipv4 spoofed = ip("10.1.32.0") + i;
    Mac mac = {2, 0xee, 0, static_cast<uint8_t>(i >> 16), static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)};
    uint16_t op = i % 3 == 0 ? 2 : 1;
    Ipv4 tpa = i % 3 == 1 ? lan_addr : (i % 3 == 2 ? spoofed : lan_addr);
    r1->worker().set_now_ms(now_ms += 2);
    arp(kLan, op, mac, spoofed, tpa);
  }
  EXPECT_EQ(r1->drop_count(DropReason::arp_rate_limited), 0u);
  EXPECT_EQ(neighbors().in_use(), 1u) << "only the WAN peer the test installed";
  EXPECT_EQ(control_count(Counter::arp_learn_unsolicited), 6000u);
  // A real neighbor is still learned when we ask for it.
  const Ipv4 host = ip("10.1.200.9");
  tx.frames.clear();
  control->send_ip(Pkt::to_mbuf(test_pool(), client_udp(), kLan), kLan, host);  // something for it
  ASSERT_EQ(tx.frames.size(), 1u);
  EXPECT_EQ(get16(tx.frames[0].raw.data() + 12), 0x0806) << "an ARP request for it";
  arp(kLan, 2, kServerMac, host, lan_addr);
  ASSERT_EQ(tx.frames.size(), 2u) << "the packet that waited for it left";
  uint8_t mac[6];
  EXPECT_TRUE(neighbors().lookup(kLan, host, mac));
  EXPECT_EQ(0, std::memcmp(mac, kServerMac.data(), 6));
  EXPECT_EQ(neighbors().state(kLan, host), NeighborTable::State::reachable);
}

TEST_F(DefenceArp, OffSubnetSendersAreNotLearned) {
  control->send_ip(Pkt::to_mbuf(test_pool(), client_udp(), kLan), kLan, ip("10.9.0.1"));  // we even asked
  arp(kLan, 2, kServerMac, ip("10.9.0.1"), ip("10.1.0.1"));
  uint8_t mac[6];
  EXPECT_FALSE(neighbors().lookup(kLan, ip("10.9.0.1"), mac));
  EXPECT_EQ(control_count(Counter::arp_learn_off_subnet), 1u);
}

TEST_F(DefenceArp, GratuitousArpMovesAKnownNeighborOnly) {
  const Ipv4 gw = ip("172.16.0.254");
  const Mac old_mac = {2, 0, 0, 0, 9, 1}, new_mac = {2, 0, 0, 0, 9, 2};
  arp(kWan, 1, new_mac, gw, gw);  // unknown: ignored
  uint8_t mac[6];
  EXPECT_FALSE(neighbors().lookup(kWan, gw, mac));
  neighbors().learn(kWan, gw, old_mac.data(), now_ms);
  arp(kWan, 1, new_mac, gw, gw);  // known: its MAC moved (an HA takeover, a replaced box)
  ASSERT_TRUE(neighbors().lookup(kWan, gw, mac));
  EXPECT_EQ(0, std::memcmp(mac, new_mac.data(), 6));
  // An unrequested reply from the known neighbor changes nothing.
  arp(kWan, 2, old_mac, gw, kR1Wan);
  ASSERT_TRUE(neighbors().lookup(kWan, gw, mac));
  EXPECT_EQ(0, std::memcmp(mac, new_mac.data(), 6));
}

// --- new-session flood protection ---------------------------------------------------

config::Config limited_config(uint32_t quota, uint32_t tenant_rate, uint32_t source_rate) {
  config::Config c = branch_config();
  c.mutable_tenants(0)->set_max_sessions(quota);
  c.mutable_tenants(0)->set_new_sessions_per_second(tenant_rate);
  c.mutable_dataplane()->set_new_sessions_per_source(source_rate);
  return c;
}

std::vector<uint8_t> syn_from(Ipv4 src, uint16_t sport) {
  return Pkt().eth(kR1Mac, kClientMac).ipv4(src, kServer).udp(sport, 5201).payload("s").bytes();
}

class SessionFlood : public ::testing::Test {
 protected:
  void start(uint32_t quota, uint32_t tenant_rate, uint32_t source_rate, RouterOptions opts = {}) {
    r1 = std::make_unique<Router>(limited_config(quota, tenant_rate, source_rate), opts);
    r1->neighbor(kWan, kR2Wan, kR2Mac);
  }
  size_t out(Ipv4 src, uint16_t sport) { return r1->send(kLan, syn_from(src, sport)).size(); }
  std::unique_ptr<Router> r1;
};

TEST_F(SessionFlood, TenantQuotaRefusesNewSessionsNeverEvictsOldOnes) {
  start(3, 0, 0, RouterOptions().with_udp_timeout_ms(1000));
  for (uint16_t p = 1; p <= 5; ++p) out(kClient, p);
  EXPECT_EQ(r1->count(Counter::sessions_created), 3u);
  EXPECT_EQ(r1->drop_count(DropReason::session_quota_tenant), 2u);
  EXPECT_EQ(r1->count(Counter::metadata_sent), 3u) << "no metadata built for a refused session";
  for (uint16_t p = 1; p <= 3; ++p) EXPECT_EQ(out(kClient, p), 1u) << "session " << p << " still forwards";
  EXPECT_EQ(r1->worker().table().size(), 3u);
  // When one ends, the quota has room again.
  r1->worker().set_now_ms(5000);
  r1->worker().expire(1024);
  EXPECT_EQ(r1->worker().table().size(), 0u);
  EXPECT_EQ(out(kClient, 9), 1u);
}

TEST_F(SessionFlood, PerSourceRateLeavesOtherSourcesAlone) {
  start(0, 0, 5);
  for (uint16_t p = 1; p <= 8; ++p) out(kClient, p);
  EXPECT_EQ(r1->count(Counter::sessions_created), 5u);
  EXPECT_EQ(r1->drop_count(DropReason::session_rate_source), 3u);
  EXPECT_EQ(out(ip("10.1.0.6"), 1), 1u) << "another host of the tenant";
  r1->worker().set_now_ms(1000);  // a second later the source has 5 more
  for (uint16_t p = 11; p <= 16; ++p) out(kClient, p);
  EXPECT_EQ(r1->count(Counter::sessions_created), 11u);
  EXPECT_EQ(r1->drop_count(DropReason::session_rate_source), 4u);
}

TEST_F(SessionFlood, SpoofedSourceFloodIsBoundedByTheTenantRate) {
  start(0, 100, 10, RouterOptions().with_max_sessions(4096));
  ASSERT_EQ(out(kClient, 40000), 1u);  // a session that was there before the flood
  uint32_t forwarded_during = 0;
  for (uint32_t i = 0; i < 20000; ++i) {
    out(ip("10.1.64.0") + i, static_cast<uint16_t>(1024 + i % 60000));
    if (i % 1000 == 0) forwarded_during += static_cast<uint32_t>(out(kClient, 40000));
  }
  EXPECT_EQ(forwarded_during, 20u) << "the old session forwarded every packet";
  EXPECT_EQ(r1->count(Counter::sessions_created), 100u) << "one second's worth, then nothing";
  EXPECT_EQ(r1->drop_count(DropReason::session_rate_tenant), 20000u - 99u);
  EXPECT_EQ(r1->drop_count(DropReason::table_full), 0u);
  EXPECT_EQ(r1->drop_count(DropReason::session_rate_source), 0u) << "each spoofed source sent once";
}

// A SYN flood from a million spoofed addresses of the tenant, over five
// seconds of the worker's clock: the tenant gets its rate (a burst of 100
// and 100/s), the per-source table stays its fixed size, the session that
// was there before forwards throughout, nothing is evicted or refused as
// table_full. (Under ASan a tenth of the flood: the same bounds, in time.)
TEST_F(SessionFlood, AMillionSpoofedSourcesGetTheTenantsRateAndNothingMore) {
#if defined(__SANITIZE_ADDRESS__)
  constexpr uint32_t kSources = 100000;
#else
  constexpr uint32_t kSources = 1000000;
#endif
  constexpr uint32_t kPerMs = kSources / 5000;  // packets per millisecond of the worker's clock: 5 s in all
  config::Config c = limited_config(0, 100, 10);
  c.mutable_tenants(0)->clear_prefixes();
  c.mutable_tenants(0)->add_prefixes("10.0.0.0/8");
  config::Route* back = c.add_routes();  // the spoofed hosts sit behind a LAN router
  back->set_prefix("10.0.0.0/8");
  back->set_next_hop("10.1.0.254");
  back->set_interface("lan");
  r1 = std::make_unique<Router>(c, RouterOptions().with_max_sessions(8192));
  r1->neighbor(kWan, kR2Wan, kR2Mac);
  ASSERT_EQ(out(kClient, 40000), 1u);  // a session from before the flood
  uint32_t forwarded_during = 0, checks = 0, now = 0;
  for (uint32_t i = 0; i < kSources; ++i) {
    if (i % kPerMs == 0) r1->worker().set_now_ms(++now);
    out(ip("10.64.0.0") + i, static_cast<uint16_t>(1024 + i % 60000));
    if (i % (kSources / 20) == 0) {
      ++checks;
      forwarded_during += static_cast<uint32_t>(out(kClient, 40000));
    }
  }
  EXPECT_EQ(forwarded_during, checks) << "the old session forwarded every packet";
  const uint64_t created = r1->count(Counter::sessions_created) - 1;
  EXPECT_GE(created, 100u + 5 * 100 - 10) << "the tenant's burst and 100/s for ~5 s";
  EXPECT_LE(created, 100u + 5 * 100 + 10);
  EXPECT_EQ(r1->drop_count(DropReason::session_rate_tenant), kSources - created);
  EXPECT_EQ(r1->drop_count(DropReason::table_full), 0u);
  EXPECT_EQ(r1->drop_count(DropReason::session_rate_source), 0u) << "each spoofed source sent once";
  EXPECT_LE(r1->worker().table().size(), created + 1) << "refused sources hold no session";
}

// --- the table: states, probes, eviction -------------------------------------------

const uint8_t kMac1[6] = {2, 0, 0, 0, 0, 1};

// `n` addresses of interface 0 in the bucket of 10.0.0.1.
std::vector<Ipv4> same_bucket(const NeighborTable& t, size_t n) {
  std::vector<Ipv4> out;
  uint32_t b = t.bucket(0, ip("10.0.0.1"));
  for (Ipv4 a = ip("10.0.0.1"); out.size() < n; ++a)
    if (t.bucket(0, a) == b) out.push_back(a);
  return out;
}

TEST(NeighborTable, ReachableStaleProbeThenGone) {
  auto t = std::make_unique<NeighborTable>(HashSecret{1, 2});
  const Ipv4 a = ip("10.0.0.7");
  std::vector<Ipv4> probed;
  auto probe = [&](int, Ipv4 addr) { probed.push_back(addr); };
  auto sweep = [&](uint32_t now) { return t->age(now, NeighborTable::kSlots, probe); };
  t->learn(0, a, kMac1, 0);
  sweep(NeighborTable::kReachableMs - 1);
  EXPECT_EQ(t->state(0, a), NeighborTable::State::reachable);
  sweep(NeighborTable::kReachableMs);
  EXPECT_EQ(t->state(0, a), NeighborTable::State::stale);
  uint8_t mac[6];
  ASSERT_TRUE(t->use(0, a, mac, NeighborTable::kReachableMs + 1000));  // still used: worth a probe
  sweep(NeighborTable::kReachableMs + 1000);
  EXPECT_EQ(t->state(0, a), NeighborTable::State::probe);
  EXPECT_EQ(probed.size(), 1u);
  EXPECT_TRUE(t->lookup(0, a, mac)) << "still usable while probed";
  uint32_t now = NeighborTable::kReachableMs + 1000;
  for (uint32_t i = 1; i < NeighborTable::kMaxProbes; ++i) sweep(now += NeighborTable::kRetransMs);
  EXPECT_EQ(probed.size(), NeighborTable::kMaxProbes);
  NeighborTable::Aged last = sweep(now += NeighborTable::kRetransMs);
  EXPECT_EQ(last.expired, 1u);
  EXPECT_FALSE(t->lookup(0, a, mac));
  EXPECT_EQ(t->in_use(), 0u);
}

TEST(NeighborTable, AProbeAnsweredMakesItReachableAgain) {
  auto t = std::make_unique<NeighborTable>(HashSecret{1, 2});
  const Ipv4 a = ip("10.0.0.7");
  auto none = [](int, Ipv4) {};
  t->learn(0, a, kMac1, 0);
  t->age(NeighborTable::kReachableMs, NeighborTable::kSlots, none);
  uint8_t mac[6];
  t->use(0, a, mac, NeighborTable::kReachableMs + 2000);
  t->age(NeighborTable::kReachableMs + 2000, NeighborTable::kSlots, none);
  ASSERT_EQ(t->state(0, a), NeighborTable::State::probe);
  EXPECT_EQ(t->learn(0, a, kMac1, NeighborTable::kReachableMs + 2100), NeighborTable::Learned::updated);
  EXPECT_EQ(t->state(0, a), NeighborTable::State::reachable);
}

TEST(NeighborTable, UnusedStaleEntriesExpire) {
  auto t = std::make_unique<NeighborTable>(HashSecret{1, 2});
  auto none = [](int, Ipv4) {};
  t->learn(0, ip("10.0.0.7"), kMac1, 0);
  t->age(NeighborTable::kReachableMs, NeighborTable::kSlots, none);
  EXPECT_EQ(t->age(NeighborTable::kStaleMs - 1, NeighborTable::kSlots, none).expired, 0u);
  EXPECT_EQ(t->age(NeighborTable::kStaleMs, NeighborTable::kSlots, none).expired, 1u);
}

TEST(NeighborTable, AFullBucketEvictsTheLeastRecentlyUsedStaleNeverAReachable) {
  auto t = std::make_unique<NeighborTable>(HashSecret{3, 4});
  auto none = [](int, Ipv4) {};
  std::vector<Ipv4> a = same_bucket(*t, NeighborTable::kWays + 2);
  for (uint32_t i = 0; i < NeighborTable::kWays; ++i)
    ASSERT_EQ(t->learn(0, a[i], kMac1, 0), NeighborTable::Learned::added);
  EXPECT_EQ(t->learn(0, a[8], kMac1, 10), NeighborTable::Learned::full) << "every way REACHABLE";
  uint8_t mac[6];
  for (uint32_t i = 0; i < NeighborTable::kWays; ++i) EXPECT_TRUE(t->lookup(0, a[i], mac)) << i;
  // All STALE; each used at a different time, a[3] longest ago.
  uint32_t now = NeighborTable::kReachableMs;
  t->age(now, NeighborTable::kSlots, none);
  for (uint32_t i = 0; i < NeighborTable::kWays; ++i)
    if (i != 3) t->use(0, a[i], mac, now + 5000 + 1000 * i);
  EXPECT_EQ(t->learn(0, a[8], kMac1, now + 20000), NeighborTable::Learned::evicted_stale);
  EXPECT_FALSE(t->lookup(0, a[3], mac)) << "the least recently used went";
  for (uint32_t i = 0; i < NeighborTable::kWays; ++i) {
    if (i != 3) {
      EXPECT_TRUE(t->lookup(0, a[i], mac)) << i;
    }
  }
  EXPECT_EQ(t->learn(0, a[9], kMac1, now + 20000), NeighborTable::Learned::evicted_stale);
  EXPECT_FALSE(t->lookup(0, a[0], mac)) << "then the next least recently used";
  EXPECT_TRUE(t->lookup(0, a[8], mac)) << "REACHABLE: kept";
}

// Tx's next-hop memo: a hit gives the entry's MAC without the hash; a slot re-keyed by
// the control thread since (eviction) or a neighbor gone is a miss, never another's MAC.
TEST(NeighborTable, AHintIsCheckedAgainstTheSlotEveryTime) {
  auto t = std::make_unique<NeighborTable>(HashSecret{3, 4});
  auto none = [](int, Ipv4) {};
  const uint8_t mac2[6] = {2, 0, 0, 0, 0, 2};
  std::vector<Ipv4> a = same_bucket(*t, NeighborTable::kWays + 1);
  for (uint32_t i = 0; i < NeighborTable::kWays; ++i) ASSERT_EQ(t->learn(0, a[i], kMac1, 0), NeighborTable::Learned::added);
  NeighborTable::Hint hint;
  uint8_t mac[6] = {};
  ASSERT_TRUE(t->use(0, a[3], mac, 0, hint));
  EXPECT_EQ(std::memcmp(mac, kMac1, 6), 0);
  EXPECT_NE(hint.key, 0u) << "the slot is remembered";
  const NeighborTable::Hint first = hint;
  ASSERT_TRUE(t->use(0, a[3], mac, 1000, hint));
  EXPECT_EQ(hint.slot, first.slot);
  // Another interface, same address: the hint is not for it.
  EXPECT_FALSE(t->use(1, a[3], mac, 1000, hint));
  // a[3] goes STALE and unused; a new neighbor takes its slot.
  const uint32_t now = NeighborTable::kReachableMs;
  t->age(now, NeighborTable::kSlots, none);
  for (uint32_t i = 0; i < NeighborTable::kWays; ++i)
    if (i != 3) t->use(0, a[i], mac, now + 5000);
  ASSERT_EQ(t->learn(0, a[8], mac2, now + 6000), NeighborTable::Learned::evicted_stale);
  NeighborTable::Hint stale = first;
  EXPECT_FALSE(t->use(0, a[3], mac, now + 7000, stale)) << "the remembered slot now holds a[8]";
  NeighborTable::Hint h8;
  ASSERT_TRUE(t->use(0, a[8], mac, now + 7000, h8));
  EXPECT_EQ(std::memcmp(mac, mac2, 6), 0);
  EXPECT_EQ(h8.slot, first.slot) << "a[8] took a[3]'s slot, so the check above was the slot's key";
}

}  // namespace
}  // namespace wp
