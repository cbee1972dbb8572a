// Paths through in-process routers (tests/unit/svr_harness.h): TLV 26
// markers on live sessions (inline and alone, signed, stripped, loss and RTT
// reported back into the path counters), the per-session migration count,
// and a transit router that moves its onward leg (r1 -> r2 -> r3).
#include <gtest/gtest.h>

#include <string>

#include "dataplane/svr/metadata.h"
#include "tests/unit/svr_harness.h"

namespace wp {
namespace {

using namespace test;  // NOLINT: the harness, topology and packet builder

// r1 (one WAN) -> r2 (last hop); flow monitoring every 10 ms.
config::Config flow_config(bool r1) {
  config::Config c = router_base(r1 ? "r1" : "r2", r1 ? "10.1.0.1/24" : "10.2.0.1/24",
                                 {{"mpls", r1 ? "172.16.0.1/24" : "172.16.0.2/24"}});
  add_tenant(c, "branch", "10.1.0.0/24");
  add_service(c, {"web", "10.2.0.0/24", "tcp", "80", r1 ? "r2" : ""});
  add_policy(c, "branch", "web", "");
  add_peer(c, r1 ? "r2" : "r1", {r1 ? "172.16.0.2" : "172.16.0.1"}, kKey12);
  c.mutable_path_monitoring()->set_flow_period_ms(10);
  return c;
}

class FlowMarkers : public ::testing::Test {
 protected:
  void SetUp() override {
    r1 = std::make_unique<Router>(flow_config(true), RouterOptions().with_monitored_paths());
    r2 = std::make_unique<Router>(flow_config(false), RouterOptions().with_monitored_paths());
    r1->neighbor(kLan, kClient, kClientMac);
    r2->neighbor(kLan, kServer, kServerMac);
    r1->neighbor(kWan, kR2Wan, kR2Mac);
    r2->neighbor(kWan, kR1Wan, kR1Mac);
    clock(0);
  }
  void clock(uint32_t ms) {  // unsynchronised clocks, as on two routers
    r1->worker().set_now_ms(100000 + ms);
    r2->worker().set_now_ms(7000000 + ms);
  }
  static std::vector<uint8_t> client(uint8_t flags, uint32_t seq, std::string_view data = "") {
    return Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kServer).tcp(40001, 80, flags, seq, 1).payload(data).bytes();
  }
  static std::vector<uint8_t> server(uint8_t flags, uint32_t seq, std::string_view data = "") {
    return Pkt().eth(kR2Mac, kServerMac).ipv4(kServer, kClient).tcp(80, 40001, flags, seq, 1).payload(data).bytes();
  }
  void handshake() {
    Frame syn = r1->send_one(kLan, client(0x02, 100));
    r2->send_one(kWan, syn.raw);
    Frame synack = r2->send_one(kLan, server(0x12, 500));
    r1->send_one(kWan, synack.raw);
  }
  PathWorkerCounters& pc(Router& r) { return r.paths().counters(0, static_cast<size_t>(r.path("mpls"))); }
  std::unique_ptr<Router> r1, r2;
};

TEST_F(FlowMarkers, InlineMarkerIsSignedAndStrippedBeforeTheHost) {
  handshake();
  // Handshake done: the first packet opens block 0 with an inline TLV 26 block.
  Frame w = r1->send_one(kLan, client(0x10, 101, "hello"));
  Metadata md;
  ASSERT_EQ(decode_metadata(w.data(), w.data_len(), md), MetadataStatus::ok);
  ASSERT_TRUE(md.has_path_metrics);
  EXPECT_EQ(md.header_len, 26);
  EXPECT_EQ(md.payload_len, 0);
  EXPECT_FALSE(md.has_uuid) << "only TLV 26: 26 bytes + HMAC on this packet";
  EXPECT_EQ(md.path_metrics.tx_ms, 100000u);
  EXPECT_TRUE(md.path_metrics.drop) << "nothing received yet to report";
  EXPECT_TRUE(hmac_ok(w, kKey12));
  expect_valid(w);
  EXPECT_EQ(r1->count(Counter::flow_markers_inline), 1u);
  Frame lan = r2->send_one(kWan, w.raw);
  EXPECT_EQ(lan.payload_string(), "hello") << "the host never sees TLV 26";
  EXPECT_EQ(r2->count(Counter::flow_markers_received), 1u);
  // The next packet within the period is bare.
  w = r1->send_one(kLan, client(0x10, 106, "more"));
  EXPECT_EQ(w.payload_string(), "more");
}

TEST_F(FlowMarkers, LossAndRttComeBackFromTheFarEnd) {
  handshake();
  // Block 0: 10 packets (the marker first); r2 never sees two of them.
  for (int i = 0; i < 10; ++i) {
    Frame w = r1->send_one(kLan, client(0x10, 101 + i, "d"));
    if (i == 4 || i == 7) continue;
    r2->send_one(kWan, w.raw);
  }
  clock(30);  // 30 ms later block 1 opens; its marker closes block 0 at r2
  Frame m1 = r1->send_one(kLan, client(0x10, 111, "d"));
  Metadata md;
  ASSERT_EQ(decode_metadata(m1.data(), m1.data_len(), md), MetadataStatus::ok);
  ASSERT_TRUE(md.has_path_metrics);
  EXPECT_EQ(md.path_metrics.tx_colour, 1);
  clock(40);  // arrives 10 ms later (r2's clock)
  r2->send_one(kWan, m1.raw);
  // r2's first reverse packet opens its own block and reports r1's block 0.
  clock(45);  // r2 held the echo 5 ms
  Frame back = r2->send_one(kLan, server(0x10, 501, "ack"));
  Metadata rev;
  ASSERT_EQ(decode_metadata(back.data(), back.data_len(), rev), MetadataStatus::ok);
  ASSERT_TRUE(rev.has_path_metrics);
  EXPECT_FALSE(rev.path_metrics.drop);
  EXPECT_EQ(rev.path_metrics.rx_colour, 0);
  EXPECT_EQ(rev.path_metrics.prev_count, 8);
  clock(50);  // and 5 ms back
  Frame cl = r1->send_one(kWan, back.raw);
  EXPECT_EQ(cl.payload_string(), "ack");
  EXPECT_EQ(pc(*r1).flow_blocks.load(), 1u);
  EXPECT_EQ(pc(*r1).flow_sent.load(), 10u);
  EXPECT_EQ(pc(*r1).flow_received.load(), 8u);
  ASSERT_EQ(pc(*r1).flow_rtt_samples.load(), 1u);
  // Sent at 30, answered at 50; r2's 5 ms hold does not count.
  EXPECT_EQ(pc(*r1).flow_rtt_ms_sum.load(), 15u);
}

TEST_F(FlowMarkers, FullSizeSegmentGetsItsMarkerInAPacketOfItsOwn) {
  handshake();
  std::string big(1460, 'x');
  auto w = r1->send(kLan, client(0x10, 101, big));
  ASSERT_EQ(w.size(), 2u);
  Metadata md;
  ASSERT_EQ(decode_metadata(w[0].data(), w[0].data_len(), md), MetadataStatus::ok);
  EXPECT_TRUE(md.has_path_metrics);
  EXPECT_EQ(md.control_message, kControlKeepAlive);
  EXPECT_EQ(w[0].data_len(), md.block_len() + kHmacTagLen) << "no data in it";
  EXPECT_TRUE(hmac_ok(w[0], kKey12));
  EXPECT_EQ(w[1].payload_string(), big);
  EXPECT_EQ(r1->count(Counter::flow_markers_alone), 1u);
  // r2 takes the marker and answers nothing (it is no migration keep-alive).
  EXPECT_TRUE(r2->send(kWan, w[0].raw).empty());
  EXPECT_EQ(r2->count(Counter::flow_markers_received), 1u);
  EXPECT_EQ(r2->send_one(kWan, w[1].raw).payload_string(), big);
  EXPECT_EQ(r1->drop_count(DropReason::mtu_exceeded), 0u);
}

// --- transit: r1 -> r2 -> r3, r2 reaches r3 over mpls and inet ----------------------

config::Config transit_config(int n) {
  config::Config c;
  if (n == 1) {
    c = router_base("r1", "10.1.0.1/24", {{"mpls", "172.16.0.1/24"}});
    add_peer(c, "r2", {"172.16.0.2"}, kKey12);
  } else if (n == 2) {
    c = router_base("r2", "10.2.0.1/24", {{"mpls", "172.16.0.2/24"}, {"inet", "172.18.0.2/24"}});
    add_peer(c, "r1", {"172.16.0.1"}, kKey12);
    add_peer(c, "r3", {"172.16.0.3", "172.18.0.3"}, kKey23);
  } else {
    c = router_base("r3", "10.3.0.1/24", {{"mpls", "172.16.0.3/24"}, {"inet", "172.18.0.3/24"}});
    add_peer(c, "r2", {"172.16.0.2", "172.18.0.2"}, kKey23);
  }
  add_tenant(c, "branch", "10.1.0.0/24");
  config::Service* s = add_service(c, {"far", "10.3.0.0/24", "tcp", "80", n == 1 ? "r2" : n == 2 ? "r3" : ""});
  if (n == 2) s->add_paths("mpls"), s->add_paths("inet");
  add_policy(c, "branch", "far", "");
  return c;
}

const Session* find_session(Router& r, const SessionUuid& id) {
  SessionTable& t = r.worker().table();
  for (uint32_t i = 0; i < t.capacity(); ++i)
    if (t.at(i)->in_use && t.at(i)->uuid == id) return t.at(i);
  return nullptr;
}

TEST(TransitMigration, OnwardLegMovesAndTheLastHopRebindsByUuid) {
  constexpr uint16_t kInet = 2;
  Router r1(transit_config(1)), r3(transit_config(3), RouterOptions().with_monitored_paths());
  Router r2(transit_config(2), RouterOptions().with_monitored_paths());
  r1.neighbor(kLan, kClient, kClientMac);
  r1.neighbor(kWan, kR2Wan, kR2Mac);
  r2.neighbor(kWan, kR1Wan, kR1Mac);
  r2.neighbor(kWan, kR3Wan, kR3Mac);
  r2.neighbor(kInet, ip("172.18.0.3"), kR3Mac);
  r3.neighbor(kWan, kR2Wan, kR2Mac);
  r3.neighbor(kInet, ip("172.18.0.2"), kR2Mac);
  r3.neighbor(kLan, kFar, kFarMac);
  auto client = [](uint8_t flags, uint32_t seq, std::string_view d) {
    return Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kFar).tcp(40002, 80, flags, seq, 1).payload(d).bytes();
  };
  auto far = [](uint8_t flags, uint32_t seq, std::string_view d) {
    return Pkt().eth(kR3Mac, kFarMac).ipv4(kFar, kClient).tcp(80, 40002, flags, seq, 1).payload(d).bytes();
  };
  // SYN r1 -> r2 -> r3 (mpls, preferred) and the SYN-ACK back.
  Frame a = r1.send_one(kLan, client(0x02, 100, ""));
  Frame b = r2.send_one(kWan, a.raw);
  ASSERT_EQ(b.port, kWan) << "r2's onward leg starts on mpls";
  Metadata first;
  ASSERT_EQ(decode_metadata(b.data(), b.data_len(), first), MetadataStatus::ok);
  r3.send_one(kWan, b.raw);
  Frame back = r3.send_one(kLan, far(0x12, 500, ""));
  Frame back2 = r2.send_one(kWan, back.raw);
  r1.send_one(kWan, back2.raw);

  // r2's path to r3 over mpls goes down.
  PathTable& pt = r2.paths();
  int r3_mpls = pt.find(r2.model().peer_by_waypoint(kR3Wan), kWan);
  ASSERT_GE(r3_mpls, 0);
  pt.live(static_cast<size_t>(r3_mpls)).usable.store(false);
  pt.recompute();

  Frame f1 = r1.send_one(kLan, client(0x10, 101, "again"));
  Frame f2 = r2.send_one(kWan, f1.raw);
  EXPECT_EQ(f2.port, kInet) << "the onward leg moved to inet";
  EXPECT_EQ(f2.src(), ip("172.18.0.2"));
  Metadata md;
  ASSERT_EQ(decode_metadata(f2.data(), f2.data_len(), md), MetadataStatus::ok);
  EXPECT_EQ(md.uuid, first.uuid) << "same session id on the new path";
  EXPECT_TRUE(hmac_ok(f2, kKey23));
  EXPECT_EQ(r2.count(Counter::path_migrations), 1u);
  uint64_t created = r3.count(Counter::sessions_created);
  Frame lan = r3.send_one(kInet, f2.raw);
  EXPECT_EQ(lan.payload_string(), "again");
  EXPECT_EQ(lan.dst(), kFar);
  EXPECT_EQ(r3.count(Counter::sessions_created), created) << "re-bound, not a new session";
  EXPECT_EQ(r3.count(Counter::path_rebinds), 1u);
  // Answers come back over inet to r2 and on to r1 over its unchanged leg.
  Frame rb = r3.send_one(kLan, far(0x10, 501, "ok"));
  EXPECT_EQ(rb.port, kInet);
  Frame rb2 = r2.send_one(kInet, rb.raw);
  EXPECT_EQ(rb2.port, kWan);
  EXPECT_EQ(r1.send_one(kWan, rb2.raw).payload_string(), "ok");
  // Each router that moved or re-bound a leg counts it on the session; r1 did neither.
  const Session* s1 = find_session(r1, first.uuid);
  const Session* s2 = find_session(r2, first.uuid);
  const Session* s3 = find_session(r3, first.uuid);
  ASSERT_TRUE(s1 && s2 && s3);
  EXPECT_EQ(s1->migrations, 0u);
  EXPECT_EQ(s2->migrations, 1u);
  EXPECT_EQ(s3->migrations, 1u);
}

TEST(SessionRecord, MigrationCountFitsInThePadding) {
  // bytes/session is a tracked number: the counter must not grow the record.
  EXPECT_LE(sizeof(Session), 152u);
}

}  // namespace
}  // namespace wp
