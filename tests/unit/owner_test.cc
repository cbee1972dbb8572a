// The owner function (tuple.h, docs/architecture.md § Sessions): every packet of a
// session, in either direction and on either side of the WAN, must reach the
// same worker, whatever the worker count. LAN packets dispatch on the
// symmetric hash of their tuple; WAN packets on the class their waypoint
// ports encode ((port >> 1) & 63), which the ingress router picks to equal
// the session's class (svr/lan_input.cc). Checked as pure functions and then with
// real multi-worker routers, where packets land on worker 0 and are handed
// off to their owner.
#include "dataplane/session/owner.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "dataplane/ip/tuple.h"
#include "dataplane/worker/shared.h"
#include "dataplane/worker/worker.h"
#include "tests/unit/eal_env.h"
#include "tests/unit/pkt_builder.h"

namespace wp {
namespace {

using test::Frame;
using test::ip;
using test::Pkt;

FiveTuple random_tuple(std::mt19937& rng) {
  return {static_cast<Ipv4>(rng()), static_cast<Ipv4>(rng()), static_cast<uint16_t>(rng()),
          static_cast<uint16_t>(rng()), static_cast<uint8_t>(rng() % 2 ? kProtoTcp : kProtoUdp)};
}

// Waypoint ports as svr/lan_input.cc picks them: value v = 8192 + class + 64 k;
// own port 2v (even), peer port 2v + 1 (odd), both <= 65534.
uint16_t waypoint_port(uint32_t cls, uint32_t k, bool odd) {
  return static_cast<uint16_t>((kWaypointPortMin / 2 + cls + kAffinityClasses * k) * 2 + (odd ? 1 : 0));
}

TEST(Owner, SymmetricHashIgnoresDirection) {
  std::mt19937 rng(10);
  for (int i = 0; i < 200000; ++i) {
    FiveTuple t = random_tuple(rng);
    ASSERT_EQ(symmetric_hash(t), symmetric_hash(t.reversed()));
    ASSERT_EQ(affinity_class(t), affinity_class(t.reversed()));
  }
  // Equal endpoints, and endpoints that differ only in the port.
  FiveTuple same{1, 1, 5, 5, 6};
  EXPECT_EQ(symmetric_hash(same), symmetric_hash(same.reversed()));
  FiveTuple ports{7, 7, 1, 2, 17};
  EXPECT_EQ(symmetric_hash(ports), symmetric_hash(ports.reversed()));
}

TEST(Owner, HashSeparatesProtocolsAndSpreadsClasses) {
  std::mt19937 rng(11);
  std::vector<int> per_class(kAffinityClasses, 0);
  int proto_differs = 0;
  for (int i = 0; i < 64000; ++i) {
    FiveTuple t = random_tuple(rng);
    ++per_class[affinity_class(t)];
    FiveTuple u = t;
    u.proto = t.proto == kProtoTcp ? kProtoUdp : kProtoTcp;
    proto_differs += symmetric_hash(t) != symmetric_hash(u);
  }
  EXPECT_GT(proto_differs, 63000);
  for (int n : per_class) {
    EXPECT_GT(n, 800);  // 1000 expected per class
    EXPECT_LT(n, 1200);
  }
}

TEST(Owner, WaypointPortsEncodeTheClass) {
  for (uint32_t cls = 0; cls < kAffinityClasses; ++cls) {
    for (uint32_t k = 0; k < 383; ++k) {
      uint16_t own = waypoint_port(cls, k, false), peer = waypoint_port(cls, k, true);
      ASSERT_TRUE(is_waypoint_port(own));
      ASSERT_TRUE(is_waypoint_port(peer)) << cls << " " << k;
      ASSERT_EQ(class_of_port(own), cls);
      ASSERT_EQ(class_of_port(peer), cls);
    }
  }
  EXPECT_FALSE(is_waypoint_port(16383));
  EXPECT_FALSE(is_waypoint_port(65535));
}

TEST(Owner, EveryPacketOfASessionHasOneOwner) {
  std::mt19937 rng(12);
  for (uint32_t workers = 1; workers <= 4; ++workers) {
    for (int i = 0; i < 20000; ++i) {
      FiveTuple t = random_tuple(rng);
      uint32_t cls = affinity_class(t);
      uint32_t owner = owner_of_class(cls, workers);
      ASSERT_LT(owner, workers);
      ASSERT_EQ(owner_of_class(affinity_class(t.reversed()), workers), owner);  // LAN reply
      uint32_t k = rng() % 383;
      ASSERT_EQ(owner_of_class(class_of_port(waypoint_port(cls, k, false)), workers), owner);  // WAN reverse
      ASSERT_EQ(owner_of_class(class_of_port(waypoint_port(cls, k, true)), workers), owner);   // WAN forward
    }
  }
  // Class, not hash, modulo the worker count: with 3 workers they disagree.
  std::mt19937 r2(13);
  int differ = 0;
  for (int i = 0; i < 1000; ++i) {
    FiveTuple t = random_tuple(r2);
    differ += owner_of_class(affinity_class(t), 3) != symmetric_hash(t) % 3;
  }
  EXPECT_GT(differ, 0);
}

// --- real workers ------------------------------------------------------------

constexpr const char* kKey = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

config::Config config_for(bool ingress) {
  config::Config c;
  c.mutable_router()->set_name(ingress ? "r1" : "r2");
  auto* lan = c.mutable_router()->mutable_lan();
  lan->set_name("lan");
  lan->set_device("lan0");
  lan->set_address(ingress ? "10.1.0.1/24" : "10.2.0.1/24");
  auto* wan = c.mutable_router()->add_wan();
  wan->set_name("wan0");
  wan->set_device("wan0");
  wan->set_address(ingress ? "172.16.0.1/24" : "172.16.0.2/24");
  auto* t = c.add_tenants();
  t->set_name("branch");
  t->set_interface("lan");
  auto* s = c.add_services();
  s->set_name("any");
  s->add_prefixes("10.2.0.0/24");
  if (ingress) s->set_next_peer("r2");
  auto* p = c.add_policies();
  p->set_tenant("branch");
  p->set_service("any");
  auto* peer = c.add_peers();
  peer->set_name(ingress ? "r2" : "r1");
  peer->add_waypoints(ingress ? "172.16.0.2" : "172.16.0.1");
  peer->set_key(kKey);
  return c;
}

uint16_t no_rx(void*, uint16_t, uint16_t, rte_mbuf**, uint16_t) { return 0; }

// A router with N workers sharing one DataplaneShared.
class MultiWorkerRouter {
 public:
  MultiWorkerRouter(const config::Config& cfg, uint32_t workers) {
    pool_ = test::test_pool();
    std::string err;
    if (!shared_.create_rings(workers, 1024, SOCKET_ID_ANY, err)) throw std::runtime_error(err);
    HmacEngine hmac;
    model_ = RouterModel::build(cfg, nullptr, nullptr, hmac, err);
    if (!model_) throw std::runtime_error(err);
    shared_.model.store(model_.get());
    const test::Mac mac = {2, 0, 0, 0, 0, 1};
    for (const char* n : {"10.1.0.5", "10.2.0.10"}) shared_.neighbors.learn(0, ip(n), mac.data());
    for (const char* n : {"172.16.0.1", "172.16.0.2"}) shared_.neighbors.learn(1, ip(n), mac.data());
    sinks_.resize(workers);
    for (uint32_t w = 0; w < workers; ++w) {
      workers_.push_back(std::make_unique<Worker>(w, shared_, 256, SessionTable::kHeapMemory));
      sinks_[w].self = this;
      sinks_[w].worker = w;
      workers_[w]->set_io(no_rx, capture, &sinks_[w]);
    }
  }
  ~MultiWorkerRouter() {
    workers_.clear();
    shared_.free_rings();
  }

  struct Out {
    Frame frame;
    uint32_t worker;
  };
  // The frame arrives on worker 0 (as RSS might deliver it); every worker then
  // runs its handoff and tx steps. Returns what was transmitted, by whom.
  std::vector<Out> send(uint16_t port, const std::vector<uint8_t>& bytes) {
    rte_mbuf* m = Pkt::to_mbuf(pool_, bytes, port);
    workers_[0]->receive(&m, 1);
    for (auto& w : workers_) {
      w->drain_handoff();
      w->flush();
    }
    return std::exchange(out_, {});
  }
  Worker& worker(uint32_t w) { return *workers_[w]; }

 private:
  struct Sink {
    MultiWorkerRouter* self;
    uint32_t worker;
  };
  static uint16_t capture(void* ctx, uint16_t port, uint16_t, rte_mbuf** pkts, uint16_t n) {
    auto* sink = static_cast<Sink*>(ctx);
    for (uint16_t i = 0; i < n; ++i) {
      Frame f = test::frame_of(pkts[i]);
      f.port = port;
      sink->self->out_.push_back({std::move(f), sink->worker});
      rte_pktmbuf_free(pkts[i]);
    }
    return n;
  }
  rte_mempool* pool_;
  DataplaneShared shared_;
  std::shared_ptr<const RouterModel> model_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<Sink> sinks_;
  std::vector<Out> out_;
};

TEST(OwnerWorkers, SessionStaysOnItsOwnerAcrossRoutersAndDirections) {
  std::mt19937 rng(14);
  for (uint32_t n = 1; n <= 4; ++n) {
    MultiWorkerRouter r1(config_for(true), n), r2(config_for(false), n);
    for (int i = 0; i < 40; ++i) {
      uint16_t sport = static_cast<uint16_t>(1024 + 1000 * i + rng() % 1000);  // distinct sessions
      uint8_t proto = i % 2 ? kProtoTcp : kProtoUdp;
      FiveTuple t{ip("10.1.0.5"), ip("10.2.0.10"), sport, 443, proto};
      const uint32_t owner = owner_of_class(affinity_class(t), n);
      Pkt fwd;
      fwd.ipv4(t.src, t.dst);
      if (proto == kProtoTcp)
        fwd.tcp(t.sport, t.dport, kTcpSyn);
      else
        fwd.udp(t.sport, t.dport).payload("q");

      auto w = r1.send(0, fwd.bytes());
      ASSERT_EQ(w.size(), 1u) << "n=" << n << " i=" << i;
      EXPECT_EQ(w[0].worker, owner);
      const Frame& wan = w[0].frame;
      // The ports the ingress worker picked satisfy the class rule.
      EXPECT_EQ(class_of_port(wan.sport()), affinity_class(t));
      EXPECT_EQ(class_of_port(wan.dport()), affinity_class(t));
      EXPECT_EQ(wan.sport() % 2, 0);
      EXPECT_EQ(wan.dport() % 2, 1);

      auto lan = r2.send(1, wan.raw);
      ASSERT_EQ(lan.size(), 1u);
      EXPECT_EQ(lan[0].worker, owner) << "egress owner from the WAN ports alone";
      EXPECT_EQ(lan[0].frame.sport(), sport);

      Pkt rev;
      rev.ipv4(t.dst, t.src);
      if (proto == kProtoTcp)
        rev.tcp(t.dport, t.sport, kTcpSyn | kTcpAck);
      else
        rev.udp(t.dport, t.sport).payload("r");
      auto back = r2.send(0, rev.bytes());
      ASSERT_EQ(back.size(), 1u);
      EXPECT_EQ(back[0].worker, owner) << "LAN reply hashes to the same class";

      auto client = r1.send(1, back[0].frame.raw);
      ASSERT_EQ(client.size(), 1u);
      EXPECT_EQ(client[0].worker, owner) << "WAN reply dispatches on our own port's class";
      EXPECT_EQ(client[0].frame.dport(), sport);
    }
    // Only the owner ever created the session.
    size_t total = 0;
    for (uint32_t w = 0; w < n; ++w) total += r1.worker(w).table().size();
    EXPECT_EQ(total, 40u);
    if (n > 1) {
      EXPECT_GT(r1.worker(0).counters().get(Counter::handoff_out), 0u);
    } else {
      EXPECT_EQ(r1.worker(0).counters().get(Counter::handoff_out), 0u);
    }
  }
}

// The control thread's dispatcher (worker id == workers, as in
// waypointd) hands first packets to their owner. A burst larger than the free
// room in the handoff ring is held, in order, and rx stops until it went;
// nothing is dropped while the owner drains. Without the hold the ring of 8
// (7 usable) dropped 57 of these 64 first packets as handoff_full.
class DispatcherAndOwner {
 public:
  explicit DispatcherAndOwner(uint32_t ring_size) {
    pool_ = test::test_pool();
    std::string err;
    if (!shared_.create_rings(1, ring_size, SOCKET_ID_ANY, err)) throw std::runtime_error(err);
    HmacEngine hmac;
    model_ = RouterModel::build(config_for(true), nullptr, nullptr, hmac, err);
    if (!model_) throw std::runtime_error(err);
    shared_.model.store(model_.get());
    const test::Mac mac = {2, 0, 0, 0, 0, 1};
    shared_.neighbors.learn(0, ip("10.1.0.5"), mac.data());
    shared_.neighbors.learn(1, ip("172.16.0.2"), mac.data());
    owner_ = std::make_unique<Worker>(0, shared_, 256, SessionTable::kHeapMemory);
    owner_->set_io(no_rx, capture, this);
    owner_->set_ports({0, 1}, 0, 32);
    dispatcher_ = std::make_unique<Worker>(1, shared_, 16, SessionTable::kHeapMemory);
    dispatcher_->set_io(feed, capture, this);
    dispatcher_->set_ports({0, 1}, 1, 32);
  }
  ~DispatcherAndOwner() {
    for (rte_mbuf* m : rx_queue_) rte_pktmbuf_free(m);
    owner_.reset();
    dispatcher_.reset();
    shared_.free_rings();
  }
  // n first packets of distinct UDP sessions waiting on the LAN port's rx queue;
  // packet i carries the marker "first-packet-<i>;".
  void queue_first_packets(int n) {
    for (int i = 0; i < n; ++i) {
      Pkt p;
      p.ipv4(ip("10.1.0.5"), ip("10.2.0.10")).udp(static_cast<uint16_t>(2000 + i), 5201).payload(marker(i));
      rx_queue_.push_back(p.mbuf(pool_, 0));
    }
  }
  static std::string marker(int i) { return "first-packet-" + std::to_string(i) + ";"; }
  // Index of the marker in a transmitted frame, -1 when none.
  static int marker_of(const Frame& f, int n) {
    for (int i = 0; i < n; ++i) {
      std::string m = marker(i);
      if (std::search(f.raw.begin(), f.raw.end(), m.begin(), m.end()) != f.raw.end()) return i;
    }
    return -1;
  }
  Worker& dispatcher() { return *dispatcher_; }
  Worker& owner() { return *owner_; }
  size_t waiting_rx() const { return rx_queue_.size(); }
  const std::vector<Frame>& sent() const { return sent_; }

 private:
  static uint16_t feed(void* ctx, uint16_t port, uint16_t, rte_mbuf** pkts, uint16_t n) {
    auto* self = static_cast<DispatcherAndOwner*>(ctx);
    uint16_t k = 0;
    for (; port == 0 && k < n && !self->rx_queue_.empty(); ++k) {
      pkts[k] = self->rx_queue_.front();
      self->rx_queue_.pop_front();
    }
    return k;
  }
  static uint16_t capture(void* ctx, uint16_t port, uint16_t, rte_mbuf** pkts, uint16_t n) {
    auto* self = static_cast<DispatcherAndOwner*>(ctx);
    for (uint16_t i = 0; i < n; ++i) {
      Frame f = test::frame_of(pkts[i]);
      f.port = port;
      self->sent_.push_back(std::move(f));
      rte_pktmbuf_free(pkts[i]);
    }
    return n;
  }
  rte_mempool* pool_;
  DataplaneShared shared_;
  std::shared_ptr<const RouterModel> model_;
  std::unique_ptr<Worker> owner_, dispatcher_;
  std::deque<rte_mbuf*> rx_queue_;
  std::vector<Frame> sent_;
};

TEST(OwnerWorkers, FullHandoffRingHoldsTheBurstInOrderInsteadOfDropping) {
  DispatcherAndOwner r(8);
  constexpr int kN = 64;
  r.queue_first_packets(kN);
  r.dispatcher().poll_once();
  EXPECT_EQ(r.dispatcher().handoff().held(), 25u) << "32 read, 7 fit the ring";
  EXPECT_EQ(r.waiting_rx(), 32u) << "no rx while a burst is held";
  for (int i = 0; i < 100 && r.sent().size() < static_cast<size_t>(kN); ++i) {
    r.owner().poll_once();
    r.dispatcher().poll_once();
  }
  ASSERT_EQ(r.sent().size(), static_cast<size_t>(kN));
  for (int i = 0; i < kN; ++i) EXPECT_EQ(DispatcherAndOwner::marker_of(r.sent()[i], kN), i) << "in order";
  EXPECT_EQ(r.dispatcher().counters().get(DropReason::handoff_full), 0u);
  EXPECT_GE(r.dispatcher().counters().get(Counter::handoff_held), 2u);
  EXPECT_EQ(r.dispatcher().counters().get(Counter::handoff_out), static_cast<uint64_t>(kN));
  EXPECT_EQ(r.owner().counters().get(Counter::sessions_created), static_cast<uint64_t>(kN));
}

TEST(OwnerWorkers, HeldBurstIsDroppedWhenTheOwnerStopsDraining) {
  DispatcherAndOwner r(8);
  r.queue_first_packets(64);
  r.dispatcher().set_now_ms(1000);
  r.dispatcher().poll_once();
  ASSERT_EQ(r.dispatcher().handoff().held(), 25u);
  r.dispatcher().set_now_ms(1000 + Handoff::kHoldMs - 1);
  r.dispatcher().poll_once();  // the owner never polls: still held, nothing dropped, rx still waits
  EXPECT_EQ(r.dispatcher().handoff().held(), 25u);
  EXPECT_EQ(r.waiting_rx(), 32u);
  EXPECT_EQ(r.dispatcher().counters().get(DropReason::handoff_full), 0u);
  r.dispatcher().set_now_ms(1000 + Handoff::kHoldMs);
  r.dispatcher().poll_once();  // bounded: given up, counted, and rx resumes (and holds the next burst)
  EXPECT_EQ(r.dispatcher().counters().get(DropReason::handoff_full), 25u);
  EXPECT_EQ(r.waiting_rx(), 0u);
  EXPECT_EQ(r.dispatcher().handoff().held(), 32u);
}

TEST(OwnerWorkers, HandoffSendsOneBurstPerOwnerNotOnePerPacket) {
  DispatcherAndOwner r(64);
  r.queue_first_packets(32);
  r.dispatcher().poll_once();
  EXPECT_EQ(r.dispatcher().counters().get(Counter::handoff_out), 32u);
  EXPECT_EQ(r.dispatcher().counters().get(Counter::handoff_bursts), 1u) << "32 packets, one owner, one enqueue";
  r.owner().poll_once();
  ASSERT_EQ(r.sent().size(), 32u);
  for (int i = 0; i < 32; ++i) EXPECT_EQ(DispatcherAndOwner::marker_of(r.sent()[i], 32), i) << "in order";
}

// How often the aging sweep passes the whole table.
// owner_of_class divides by the worker count on every packet: a dataplane
// with none is refused where its rings are made, so no caller needs a guard.
TEST(OwnerWorkers, RingsForZeroWorkersAreRefused) {
  DataplaneShared shared;
  std::string err;
  EXPECT_FALSE(shared.create_rings(0, 64, SOCKET_ID_ANY, err));
  EXPECT_NE(err.find("at least one worker"), std::string::npos) << err;
  EXPECT_EQ(shared.workers, 1u);
  EXPECT_TRUE(shared.handoff.empty());
}

TEST(OwnerWorkers, SweepPeriodFollowsTheShortestTimeoutAndUpdatePeriod) {
  Timeouts defaults;  // 1800 s / 30 s / 60 s
  EXPECT_EQ(Aging::period_ms(defaults, 0), 7500u) << "a quarter of tcp_transitory";
  EXPECT_EQ(Aging::period_ms(defaults, 10000), 5000u) << "REST snapshot updates every 10 s";
  EXPECT_EQ(Aging::period_ms(Timeouts{1800000, 2000, 60000}, 0), Aging::kMinPeriodMs) << "floor";
  EXPECT_EQ(Aging::period_ms(Timeouts{86400000, 86400000, 3600000}, 0), Aging::kMaxPeriodMs) << "cap";
  EXPECT_EQ(Aging::period_ms(Timeouts{1800000, 30000, 60000}, 2000), Aging::kMinPeriodMs);
}

}  // namespace
}  // namespace wp
