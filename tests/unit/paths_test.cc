// Paths (#9): metrics maths, ranks and path choice with preferences and SLAs,
// and session migration between two in-process routers joined by two WAN
// paths (ingress re-bind on the new path with the same UUID, egress re-bind
// on UUID match, metadata-only packets for full-size segments, TLV 18 ack).
#include "dataplane/paths.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>

#include "dataplane/router_model.h"
#include "dataplane/worker.h"
#include "eal_env.h"
#include "pkt_builder.h"

namespace wp {
namespace {

using test::Frame;
using test::ip;
using test::Mac;
using test::Pkt;

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

constexpr const char* kKey = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
constexpr uint16_t kLan = 0, kWanA = 1, kWanB = 2;  // port ids = interface indexes
const Mac kClientMac = {2, 0, 0, 0, 1, 5}, kServerMac = {2, 0, 0, 0, 2, 10};
const Mac kR1Mac = {2, 0, 0, 0xaa, 0, 1}, kR2Mac = {2, 0, 0, 0xaa, 0, 2};
const Ipv4 kClient = ip("10.1.0.5"), kServer = ip("10.2.0.10");

// r1/r2: WAN "mpls" 172.16.0.0/24, "internet" 172.17.0.0/24. Services:
// web (prefers mpls), bulk (no preference), sla (prefers mpls, 30 ms max RTT).
config::Config two_path_config(bool r1) {
  config::Config c;
  c.mutable_router()->set_name(r1 ? "r1" : "r2");
  auto* l = c.mutable_router()->mutable_lan();
  l->set_name("lan"), l->set_device("lan0"), l->set_address(r1 ? "10.1.0.1/24" : "10.2.0.1/24");
  const char* names[] = {"mpls", "internet"};
  for (int i = 0; i < 2; ++i) {
    auto* w = c.mutable_router()->add_wan();
    w->set_name(names[i]), w->set_device(names[i]);
    w->set_address(std::string("172.1") + char('6' + i) + ".0." + (r1 ? "1" : "2") + "/24");
  }
  auto* t = c.add_tenants();
  t->set_name("branch"), t->add_prefixes("10.1.0.0/24");
  struct S {
    const char* name;
    const char* port;
    bool prefer_mpls;
    uint32_t max_latency_ms;
  } svcs[] = {{"web", "80", true, 0}, {"bulk", "81", false, 0}, {"sla", "82", true, 30}};
  for (const S& s : svcs) {
    auto* sv = c.add_services();
    sv->set_name(s.name), sv->add_prefixes("10.2.0.0/24"), sv->set_protocol("tcp"), sv->add_ports(s.port);
    if (r1) {
      sv->set_next_peer("r2");
      if (s.prefer_mpls) sv->add_paths("mpls"), sv->add_paths("internet");
      if (s.max_latency_ms) sv->mutable_sla()->set_max_latency_ms(s.max_latency_ms);
    }
    auto* p = c.add_policies();
    p->set_tenant("branch"), p->set_service(s.name);
  }
  auto* p = c.add_peers();
  p->set_name(r1 ? "r2" : "r1");
  p->add_waypoints(r1 ? "172.16.0.2" : "172.16.0.1");
  p->add_waypoints(r1 ? "172.17.0.2" : "172.17.0.1");
  p->set_key(kKey);
  return c;
}

uint16_t no_rx(void*, uint16_t, uint16_t, rte_mbuf**, uint16_t) { return 0; }

class Router {
 public:
  explicit Router(bool r1) {
    pool_ = test::test_pool();
    cfg_ = two_path_config(r1);
    std::string err;
    if (!shared_.create_rings(1, 1024, SOCKET_ID_ANY, err)) throw std::runtime_error(err);
    model_ = RouterModel::build(cfg_, nullptr, nullptr, hmac_, err);
    if (!model_) throw std::runtime_error(err);
    shared_.model.store(model_.get());
    paths_ = std::make_unique<PathTable>(*model_, cfg_, 1, /*monitored=*/true);
    for (size_t i = 0; i < paths_->size(); ++i) paths_->live(i).usable.store(true);
    paths_->recompute();
    shared_.paths = paths_.get();
    shared_.control_pool = pool_;
    worker_ = std::make_unique<Worker>(0, shared_, 1024, SessionTable::kHeapMemory);
    worker_->set_io(no_rx, capture, this);
  }
  ~Router() {
    worker_.reset();
    shared_.free_rings();
  }
  std::vector<Frame> send(uint16_t port, const std::vector<uint8_t>& frame) {
    rte_mbuf* m = Pkt::to_mbuf(pool_, frame, port);
    worker_->receive(&m, 1);
    worker_->flush();
    return std::exchange(out_, {});
  }
  void neighbor(uint16_t iface, Ipv4 addr, const Mac& mac) { shared_.neighbors.learn(iface, addr, mac.data()); }
  PathTable& paths() { return *paths_; }
  int path(const char* name) {
    for (size_t i = 0; i < paths_->size(); ++i)
      if (paths_->path(i).name == name) return static_cast<int>(i);
    return -1;
  }
  void set_usable(const char* name, bool up) {
    paths_->live(static_cast<size_t>(path(name))).usable.store(up);
    paths_->recompute();
  }
  uint64_t count(Counter c) { return worker_->counters().get(c); }
  // One loop iteration without input (sweeps run there).
  std::vector<Frame> idle() {
    worker_->poll_once();
    return std::exchange(out_, {});
  }
  uint64_t drops(DropReason r) { return worker_->counters().get(r); }
  Worker& worker() { return *worker_; }
  const RouterModel& model() { return *model_; }

 private:
  static uint16_t capture(void* ctx, uint16_t port, uint16_t, rte_mbuf** pkts, uint16_t n) {
    auto* self = static_cast<Router*>(ctx);
    for (uint16_t i = 0; i < n; ++i) {
      Frame f = test::frame_of(pkts[i]);
      f.port = port;
      self->out_.push_back(std::move(f));
      rte_pktmbuf_free(pkts[i]);
    }
    return n;
  }
  rte_mempool* pool_;
  config::Config cfg_;
  HmacEngine hmac_;
  DataplaneShared shared_;
  std::shared_ptr<const RouterModel> model_;
  std::unique_ptr<PathTable> paths_;
  std::unique_ptr<Worker> worker_;
  std::vector<Frame> out_;
};

class Paths : public ::testing::Test {
 protected:
  void SetUp() override {
    r1 = std::make_unique<Router>(true);
    r2 = std::make_unique<Router>(false);
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
  EXPECT_EQ(r1->drops(DropReason::no_path), 1u);
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
  EXPECT_EQ(r1->drops(DropReason::mtu_exceeded), 0u);
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
