// Paths : metrics maths, ranks and path choice with preferences and SLAs,
// and session migration between two in-process routers joined by two WAN
// paths (ingress re-bind on the new path with the same UUID, egress re-bind
// on UUID match, metadata-only packets for full-size segments, TLV 18 ack).
#include "dataplane/session/owner.h"
#include "dataplane/paths/path_table.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>

#include "dataplane/control/router_model.h"
#include "dataplane/worker/worker.h"
#include "tests/unit/svr_harness.h"
#include "tests/unit/two_path_config.h"

namespace wp {
namespace {

using namespace test;  // the router harness, topology and packet builder

// --- metrics -----------------------------------------------------------------

TEST(PathMetrics, SmoothedRttJitterAndLoss) {
  PathMetrics m;
  EXPECT_FALSE(m.measured());
  m.sent(1, 0);
  ASSERT_TRUE(m.answered(1, 0, 10000));
  EXPECT_TRUE(m.measured());
  EXPECT_EQ(m.rtt_us(), 10000u);  // first sample taken as is
  EXPECT_EQ(m.jitter_us(), 0u);
  m.sent(2, 100000);
  ASSERT_TRUE(m.answered(2, 0, 100000 + 18000));
  EXPECT_EQ(m.rtt_us(), 11000u);   // 10000 + (18000 - 10000) / 8
  EXPECT_EQ(m.jitter_us(), 500u);  // (|18000 - 10000| - 0) / 16
  EXPECT_FALSE(m.answered(2, 0, 200000)) << "duplicate answer";
  EXPECT_FALSE(m.answered(77, 0, 200000)) << "never sent";
  EXPECT_EQ(m.loss_permille(), 0u);
  // Two more probes: one answered, one never; the lost one counts only once overdue.
  m.sent(3, 200000);
  m.sent(4, 300000);
  ASSERT_TRUE(m.answered(3, 0, 210000));
  m.expire(1000000, 1000000);
  EXPECT_EQ(m.loss_permille(), 0u) << "not overdue yet";
  m.expire(1300001, 1000000);
  EXPECT_EQ(m.loss_permille(), 250u);  // 1 of 4
  EXPECT_FALSE(m.answered(4 + PathMetrics::kWindow, 0, 1400000)) << "other seq in the same slot";
  m.reset();
  EXPECT_FALSE(m.measured());
  EXPECT_EQ(m.loss_permille(), 0u);
}

// --- two routers, two WAN paths ------------------------------------------------


class Paths : public ::testing::Test {
 protected:
  void SetUp() override {
    r1 = std::make_unique<Router>(two_path_config(true), RouterOptions().with_monitored_paths());
    r2 = std::make_unique<Router>(two_path_config(false), RouterOptions().with_monitored_paths());
    r1->neighbor(kLan, kClient, kClientMac);
    r2->neighbor(kLan, kServer, kServerMac);
    for (uint16_t w : {kWanA, kWanB}) {
      r1->neighbor(w, ip(w == kWanA ? "172.16.0.2" : "172.17.0.2"), kR2Mac);
      r2->neighbor(w, ip(w == kWanA ? "172.16.0.1" : "172.17.0.1"), kR1Mac);
    }
  }
  static std::vector<uint8_t> client(uint16_t dport, uint8_t flags, uint32_t seq, std::string_view data = "",
                                     uint16_t sport = 40001) {
    return Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kServer).tcp(sport, dport, flags, seq, 1).payload(data).bytes();
  }
  static std::vector<uint8_t> server(uint16_t sport, uint8_t flags, uint32_t seq, std::string_view data = "",
                                     uint16_t dport = 40001) {
    return Pkt().eth(kR2Mac, kServerMac).ipv4(kServer, kClient).tcp(sport, dport, flags, seq, 1).payload(data).bytes();
  }
  // SYN, SYN-ACK through both routers; returns the WAN frame of the SYN.
  Frame open(uint16_t dport) {
    auto w = r1->send(kLan, client(dport, 0x02, 100));
    EXPECT_EQ(w.size(), 1u);
    auto lan = r2->send(w[0].port, w[0].raw);
    EXPECT_EQ(lan.size(), 1u);
    auto back = r2->send(kLan, server(dport, 0x12, 500));
    EXPECT_EQ(back.size(), 1u);
    EXPECT_EQ(back[0].port, w[0].port) << "reverse on the same path";
    auto cl = r1->send(back[0].port, back[0].raw);
    EXPECT_EQ(cl.size(), 1u);
    return w[0];
  }
  std::unique_ptr<Router> r1, r2;
};

TEST_F(Paths, TableFindsOnePathPerWanInterface) {
  PathTable& pt = r1->paths();
  ASSERT_EQ(pt.size(), 2u);
  EXPECT_EQ(pt.path(0).name, "mpls");
  EXPECT_EQ(pt.path(0).remote, ip("172.16.0.2"));
  EXPECT_EQ(pt.path(1).name, "internet");
  EXPECT_EQ(pt.path(1).local, ip("172.17.0.1"));
  EXPECT_EQ(pt.find(0, 1), 0);
  EXPECT_EQ(pt.find(0, 2), 1);
  EXPECT_EQ(pt.find(0, 0), -1) << "the LAN is no path";
}

TEST_F(Paths, PreferenceSlaAndLoadSharing) {
  PathTable& pt = r1->paths();
  const size_t web = 0, bulk = 1, sla = 2;
  int mpls = r1->path("mpls"), inet = r1->path("internet");
  EXPECT_EQ(pt.pick(web, 0), mpls);
  EXPECT_EQ(pt.pick(web, 1), mpls);
  // No preference: equal ranks share by hash.
  EXPECT_NE(pt.pick(bulk, 0), pt.pick(bulk, 1));
  // mpls measured at 50 ms RTT: outside sla's 30 ms, fine for web.
  pt.live(mpls).measured.store(true);
  pt.live(mpls).rtt_us.store(50000);
  pt.recompute();
  EXPECT_EQ(pt.pick(web, 0), mpls);
  EXPECT_EQ(pt.pick(sla, 0), inet);
  EXPECT_TRUE(pt.should_leave(sla, mpls));
  EXPECT_FALSE(pt.should_leave(web, mpls));
  // Both out of SLA: the preferred one still carries the service (better than nothing).
  pt.live(inet).measured.store(true);
  pt.live(inet).rtt_us.store(40000);
  pt.recompute();
  EXPECT_EQ(pt.pick(sla, 0), mpls);
  EXPECT_FALSE(pt.should_leave(sla, inet)) << "no path within SLA to move to";
  // mpls down: everything goes to internet; nothing up: no path.
  r1->set_usable("mpls", false);
  EXPECT_EQ(pt.pick(web, 0), inet);
  EXPECT_TRUE(pt.should_leave(web, mpls));
  r1->set_usable("internet", false);
  EXPECT_EQ(pt.pick(web, 0), -1);
  EXPECT_FALSE(pt.should_leave(web, mpls)) << "nowhere to go";
  // mpls back: without revert, sessions on internet stay.
  r1->set_usable("mpls", true);
  r1->set_usable("internet", true);
  EXPECT_FALSE(pt.should_leave(web, inet));
}

TEST_F(Paths, NoUsablePathDropsNewSessionsWithReason) {
  r1->set_usable("mpls", false);
  r1->set_usable("internet", false);
  EXPECT_TRUE(r1->send(kLan, client(80, 0x02, 100)).empty());
  EXPECT_EQ(r1->drop_count(DropReason::no_path), 1u);
}

TEST_F(Paths, SessionMigratesWithSameUuidAndIsReboundAtTheEgress) {
  Frame syn = open(80);
  ASSERT_EQ(syn.port, kWanA);
  Metadata first;
  ASSERT_EQ(decode_metadata(syn.data(), syn.data_len(), first), MetadataStatus::ok);
  // Steady state on mpls: no metadata.
  auto w = r1->send(kLan, client(80, 0x10, 101, "hello"));
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].payload_string(), "hello");
  ASSERT_EQ(r2->send(kWanA, w[0].raw).size(), 1u);

  r1->set_usable("mpls", false);
  // The next forward packet leaves on internet with forward metadata, same UUID,
  // ports of the same affinity class.
  w = r1->send(kLan, client(80, 0x10, 106, "again"));
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].port, kWanB);
  EXPECT_EQ(w[0].src(), ip("172.17.0.1"));
  EXPECT_EQ(w[0].dst(), ip("172.17.0.2"));
  EXPECT_EQ(class_of_port(w[0].sport()), class_of_port(syn.sport()));
  EXPECT_EQ(class_of_port(w[0].dport()), class_of_port(syn.dport()));
  Metadata md;
  ASSERT_EQ(decode_metadata(w[0].data(), w[0].data_len(), md), MetadataStatus::ok);
  EXPECT_EQ(md.uuid, first.uuid);
  EXPECT_EQ(r1->count(Counter::path_migrations), 1u);
  EXPECT_EQ(r1->paths().counters(0, r1->path("mpls")).migrated_out.load(), 1u);
  EXPECT_EQ(r1->paths().counters(0, r1->path("internet")).migrated_in.load(), 1u);

  // r2 re-binds (no new session) and delivers with the original addresses.
  uint64_t created = r2->count(Counter::sessions_created);
  auto lan = r2->send(kWanB, w[0].raw);
  ASSERT_EQ(lan.size(), 1u);
  EXPECT_EQ(lan[0].src(), kClient);
  EXPECT_EQ(lan[0].dst(), kServer);
  EXPECT_EQ(lan[0].payload_string(), "again");
  EXPECT_EQ(r2->count(Counter::sessions_created), created);
  EXPECT_EQ(r2->count(Counter::path_rebinds), 1u);
  // Its answers go back on internet with reverse metadata (TLV 18)...
  auto back = r2->send(kLan, server(80, 0x10, 501, "ok"));
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].port, kWanB);
  Metadata rev;
  ASSERT_EQ(decode_metadata(back[0].data(), back[0].data_len(), rev), MetadataStatus::ok);
  EXPECT_TRUE(rev.disable_forward_metadata);
  EXPECT_EQ(rev.uuid, first.uuid);
  auto cl = r1->send(kWanB, back[0].raw);
  ASSERT_EQ(cl.size(), 1u);
  EXPECT_EQ(cl[0].src(), kServer);
  EXPECT_EQ(cl[0].payload_string(), "ok");
  // ...and the ingress stops forward metadata again.
  w = r1->send(kLan, client(80, 0x10, 111, "bare"));
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].payload_string(), "bare");
  // The old path's ports are forgotten on both sides.
  EXPECT_TRUE(r2->send(kWanA, syn.raw).size() <= 1u);
}

TEST_F(Paths, FullSizeSegmentSendsMetadataAheadInItsOwnPacket) {
  open(80);
  r1->set_usable("mpls", false);
  std::string big(1460, 'x');  // a full 1500-byte datagram: no room for metadata
  auto w = r1->send(kLan, client(80, 0x10, 101, big));
  ASSERT_EQ(w.size(), 2u);
  // First the metadata-only keep-alive, then the data, bare, on the same tuple.
  Metadata md;
  ASSERT_EQ(decode_metadata(w[0].data(), w[0].data_len(), md), MetadataStatus::ok);
  EXPECT_EQ(md.control_message, kControlKeepAlive);
  EXPECT_EQ(w[0].data_len(), md.block_len() + kHmacTagLen) << "no data in it";
  EXPECT_EQ(w[1].payload_string(), big);
  EXPECT_EQ(w[0].sport(), w[1].sport());
  EXPECT_EQ(w[0].port, kWanB);
  // r2: the keep-alive re-binds and is answered (reverse keep-alive with TLV 18), never delivered.
  auto out = r2->send(kWanB, w[0].raw);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].port, kWanB);
  Metadata ack;
  ASSERT_EQ(decode_metadata(out[0].data(), out[0].data_len(), ack), MetadataStatus::ok);
  EXPECT_TRUE(ack.disable_forward_metadata);
  EXPECT_EQ(ack.control_message, kControlKeepAlive);
  auto lan = r2->send(kWanB, w[1].raw);
  ASSERT_EQ(lan.size(), 1u);
  EXPECT_EQ(lan[0].payload_string(), big);
  // r1 consumes the ack; the next big segment goes without any metadata.
  EXPECT_TRUE(r1->send(kWanB, out[0].raw).empty());
  EXPECT_EQ(r1->count(Counter::metadata_only_received), 1u);
  w = r1->send(kLan, client(80, 0x10, 1561, big));
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].payload_string(), big);
  EXPECT_EQ(r1->drop_count(DropReason::mtu_exceeded), 0u);
}

TEST_F(Paths, SilentSessionMovesAtOnceWithAKeepAlive) {
  Frame syn = open(80);
  r1->idle();  // the sweep for the initial ranks finds nothing to move
  r1->set_usable("mpls", false);
  // No forward packet: the worker's sweep moves the session and announces it.
  auto out = r1->idle();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].port, kWanB);
  Metadata md;
  ASSERT_EQ(decode_metadata(out[0].data(), out[0].data_len(), md), MetadataStatus::ok);
  EXPECT_EQ(md.control_message, kControlKeepAlive);
  Metadata first;
  ASSERT_EQ(decode_metadata(syn.data(), syn.data_len(), first), MetadataStatus::ok);
  EXPECT_EQ(md.uuid, first.uuid);
  EXPECT_TRUE(r1->idle().empty()) << "one sweep per change";
  // r2 re-binds on the keep-alive and answers; its data now takes inet.
  auto ack = r2->send(kWanB, out[0].raw);
  ASSERT_EQ(ack.size(), 1u);
  auto back = r2->send(kLan, server(80, 0x10, 501, "data"));
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].port, kWanB);
  auto cl = r1->send(kWanB, back[0].raw);
  ASSERT_EQ(cl.size(), 1u);
  EXPECT_EQ(cl[0].payload_string(), "data");
}

TEST_F(Paths, RevertMovesBackOnlyWhenConfigured) {
  open(80);
  r1->set_usable("mpls", false);
  auto w = r1->send(kLan, client(80, 0x10, 101, "a"));
  ASSERT_EQ(w[0].port, kWanB);
  r1->set_usable("mpls", true);
  w = r1->send(kLan, client(80, 0x10, 102, "b"));
  EXPECT_EQ(w[0].port, kWanB) << "existing sessions stay without revert";
  // New sessions prefer mpls again.
  auto n = r1->send(kLan, client(80, 0x02, 100, "", 40002));
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0].port, kWanA);
}

}  // namespace
}  // namespace wp
