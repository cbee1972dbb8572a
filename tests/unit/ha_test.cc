// Session records, batching, resync chunking, stale updates, and a
// pair of in-process nodes (real Workers, real HaNode logic) joined by a
// loopback transport with CPG's contract: total order, own messages
// delivered back, membership changes in the same stream.
//
// Topology: r1 172.16.0.1 (branch) ==WAN== hub-a 172.16.0.2 / hub-b 172.16.0.3,
// both hubs on LAN 10.2.0.0/24 with the server 10.2.0.10; client 10.1.0.5.
#include <lz4.h>
#include <gtest/gtest.h>
#include <rte_ring_elem.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <cstring>
#include <deque>
#include <thread>
#include <memory>
#include <random>
#include <string>
#include <variant>
#include <vector>

#include "dataplane/apps/catalog.h"
#include "dataplane/control/ha_arp_claim.h"
#include "dataplane/control/router_model.h"
#include "dataplane/session/owner.h"
#include "dataplane/worker/shared.h"
#include "dataplane/worker/worker.h"
#include "ha/ha_node.h"
#include "ha/packed_ops.h"
#include "ha/peer_backlog.h"
#include "ha/session_codec.h"
#include "ha/replication_ledger.h"
#include "ha/spsc_queue.h"
#include "ha/sync_batcher.h"
#include "ha/sync_encoder.h"
#include "tests/unit/ha_loop_bus.h"
#include "tests/unit/svr_harness.h"

namespace wp::ha {
namespace {

using test::ip;
using test::Pkt;

const Ipv4 kClient = ip("10.1.0.5"), kServer = ip("10.2.0.10");
const Ipv4 kR1 = ip("172.16.0.1"), kHubA = ip("172.16.0.2"), kHubB = ip("172.16.0.3");

config::Config hub_config(const char* name, const char* lan, const char* wan, bool extra_tenant_first = false) {
  config::Config c = test::router_base(name, lan, {{"wan0", wan}});
  // A different entity order on the two hubs: records must carry names.
  if (extra_tenant_first) test::add_tenant(c, "guest", "10.9.0.0/24");
  test::add_tenant(c, "branch", "10.1.0.0/24");
  test::add_service(c, {"web", "10.2.0.0/24", "tcp", "", ""});
  test::add_policy(c, "branch", "web", "");
  test::add_peer(c, "r1", {"172.16.0.1"}, test::kKey12);
  return c;
}

// A last-hop session as hub `wp` holds it: WAN leg from r1, LAN leg to the server.
Session hub_session(const RouterModel& rm, Ipv4 wp, uint16_t client_port, uint32_t now) {
  Session s;
  s.original = {kClient, kServer, client_port, 80, 6};
  uint32_t cls = affinity_class(s.original);
  uint16_t r1_port = static_cast<uint16_t>((kWaypointPortMin / 2 + cls) * 2);
  uint16_t hub_port = static_cast<uint16_t>((kWaypointPortMin / 2 + cls + 64 * (client_port % 300)) * 2 + 1);
  s.out_rev = {{wp, kR1, hub_port, r1_port, 6}, kR1, 1, 0};
  s.out_fwd = {s.original, kServer, 0, -1};
  for (int i = 0; i < 16; ++i) s.uuid[i] = static_cast<uint8_t>(client_port + i);
  s.tenant = static_cast<int16_t>(rm.tenant_by_name("branch"));
  s.service = static_cast<int16_t>(rm.service_by_name("web"));
  s.security = static_cast<int16_t>(rm.policy(s.tenant, s.service));
  s.flags = kRevMdPending | kReverseSeen;
  s.created_ms = s.last_ms = now;
  s.in_use = 1;
  return s;
}

// The loopback "CPG": tests/unit/ha_loop_bus.h.
using loopback::Bus;
using loopback::LoopTransport;

// One hub: a harness router with N workers and HA rings, an HaNode on the bus.
struct Hub {
  Hub(Bus& bus, const config::Config& cfg, uint32_t workers, uint32_t node_id, Ipv4 peer_wp, bool sender_thread = false)
      : ring(&bus),
        node_id(node_id),
        router(cfg, test::RouterOptions()
                        .with_workers(workers)
                        .with_events(EventConsumer::ha, 4096)
                        .with_prepare([&](DataplaneShared& sh) {
                          sh.ha.peer_addresses.push_back({peer_wp, 1});
                          std::string err;
                          if (!sh.ha.create(workers, 4096, SOCKET_ID_ANY, err)) throw std::runtime_error(err);
                        })),
        shared(router.shared()),
        model(&router.model()) {
    shared.neighbors.learn(0, kServer, test::kMacB.data());
    shared.neighbors.learn(1, kR1, test::kMacA.data());
    HaSettings s;
    s.node_id = node_id;
    s.limits.max_ops = 8;  // small batches so a handful of sessions spans several messages
    s.sender_thread = sender_thread;
    node = std::make_unique<HaNode>(shared, s, [this](std::string&) -> std::unique_ptr<Transport> {
      auto t = std::make_unique<LoopTransport>(*this->ring, Member{this->node_id, 100 + this->node_id});
      transport = t.get();
      return t;
    });
  }
  void step(uint64_t now_ms) {
    for (size_t i = 0; i < router.workers(); ++i) {
      router.worker(i).set_now_ms(static_cast<uint32_t>(now_ms));
      router.worker(i).ha().poll();
    }
    node->poll(now_ms);
  }
  Worker& owner(const Session& s) { return router.worker(owner_worker(s, static_cast<uint32_t>(router.workers()))); }
  // A session created here as the worker would: in its owner's table, event posted.
  void create(const Session& s) {
    Worker& w = owner(s);
    Session* p = w.table().allocate();
    *p = s;
    ASSERT_TRUE(w.table().insert(p));
    w.post_event(SessionEventKind::created, *p);
  }
  Session* find(const Session& s) {
    SessionRef r = owner(s).table().lookup(s.key_a());
    return r ? r.session : nullptr;
  }
  size_t sessions() {
    size_t n = 0;
    for (size_t i = 0; i < router.workers(); ++i) n += router.worker(i).table().size();
    return n;
  }
  Bus* ring;  // where the next connect lands (a restarted corosync forms its own ring)
  uint32_t node_id;
  test::Router router;  // declared before the node: the node goes first
  DataplaneShared& shared;
  const RouterModel* model;
  std::unique_ptr<HaNode> node;
  LoopTransport* transport = nullptr;
};

void run(std::initializer_list<Hub*> hubs, uint64_t& now, int steps = 20) {
  for (int i = 0; i < steps; ++i) {
    now += 2;
    for (Hub* h : hubs) h->step(now);
  }
}

// --- records ------------------------------------------------------------------

// hub-a's model and hub-b's (another entity order), and a clock: what a record
// is encoded with and decoded into.
struct TwoHubModels {
  HmacEngine hmac;
  std::string err;
  std::shared_ptr<const RouterModel> a =
      RouterModel::build(hub_config("hub-a", "10.2.0.2/24", "172.16.0.2/24"), nullptr, nullptr, hmac, err);
  std::shared_ptr<const RouterModel> b =
      RouterModel::build(hub_config("hub-b", "10.2.0.3/24", "172.16.0.3/24", true), nullptr, nullptr, hmac, err);
  DataplaneClock clock = DataplaneClock::now();
};

TEST(HaCodec, SessionRoundTripsByNameIntoAModelWithAnotherOrder) {
  TwoHubModels hubs;
  ASSERT_TRUE(hubs.a && hubs.b) << hubs.err;
  auto& [hmac, err, a, b, clock] = hubs;
  Session s = hub_session(*a, kHubA, 40000, clock.base_ms - 50);
  s.packets[0] = 7;
  s.bytes[1] = 1234;
  s.migrations = 3;
  pb::SessionRecord rec;
  encode_session(s, *a, clock, 1, rec);
  EXPECT_EQ(rec.tenant(), "branch");
  EXPECT_EQ(rec.out_rev().peer(), "r1");
  EXPECT_EQ(rec.key_id(), key_id(a->peers[0].keys.oldest().mac));
  pb::SessionRecord wire;
  ASSERT_TRUE(wire.ParseFromString(rec.SerializeAsString()));
  Session d;
  ASSERT_TRUE(decode_session(wire, *b, clock, d, err)) << err;
  EXPECT_EQ(d.uuid, s.uuid);
  EXPECT_EQ(d.original, s.original);
  EXPECT_EQ(d.out_rev.tuple, s.out_rev.tuple) << "NAT binding kept: the survivor sends from the peer's waypoint";
  EXPECT_EQ(d.out_fwd.tuple, s.out_fwd.tuple);
  EXPECT_EQ(d.tenant, b->tenant_by_name("branch"));
  EXPECT_NE(d.tenant, s.tenant) << "indexes differ between the hubs; the name decides";
  EXPECT_EQ(d.last_ms, s.last_ms);
  EXPECT_EQ(d.flags, s.flags);
  EXPECT_EQ(d.packets[0], 7u);
  EXPECT_EQ(d.bytes[1], 1234u);
  EXPECT_EQ(d.migrations, 3u) << "the peer sees how often the session moved path";
  EXPECT_EQ(d.out_fwd.iface, 0);
  EXPECT_EQ(d.out_rev.iface, 1);
}

// A session keyed from the next pair-key version tells the HA peer so:
// the survivor of a failover re-derives its keys from that version.
TEST(HaCodec, SessionCarriesThePairKeyVersionItsKeysCameFrom) {
  HmacEngine hmac;
  std::string err;
  config::Config cfg = hub_config("hub-a", "10.2.0.2/24", "172.16.0.2/24");
  cfg.mutable_peers(0)->set_next_key(test::kKey23);
  auto a = RouterModel::build(cfg, nullptr, nullptr, hmac, err);
  ASSERT_TRUE(a) << err;
  DataplaneClock clock = DataplaneClock::now();
  Session s = hub_session(*a, kHubA, 40000, clock.base_ms - 50);
  s.out_rev.key_version = 2;
  pb::SessionRecord rec;
  encode_session(s, *a, clock, 1, rec);
  EXPECT_EQ(rec.key_version_a(), 2u);
  EXPECT_EQ(rec.key_id(), key_id(a->peers[0].keys.find(2)->mac));
  EXPECT_NE(rec.key_id(), key_id(a->peers[0].keys.find(1)->mac));
  Session d;
  ASSERT_TRUE(decode_session(rec, *a, clock, d, err)) << err;
  EXPECT_EQ(d.out_rev.key_version, 2);
  EXPECT_EQ(d.out_fwd.key_version, 0);
  rec.set_key_version_b(256);
  EXPECT_FALSE(decode_session(rec, *a, clock, d, err));
}

TEST(HaCodec, DecodeRefusesWhatThisNodeWouldNotAllow) {
  HmacEngine hmac;
  std::string err;
  auto a = RouterModel::build(hub_config("hub-a", "10.2.0.2/24", "172.16.0.2/24"), nullptr, nullptr, hmac, err);
  config::Config strict = hub_config("hub-b", "10.2.0.3/24", "172.16.0.3/24");
  strict.clear_policies();
  auto b = RouterModel::build(strict, nullptr, nullptr, hmac, err);
  ASSERT_TRUE(a && b) << err;
  DataplaneClock clock = DataplaneClock::now();
  pb::SessionRecord rec;
  encode_session(hub_session(*a, kHubA, 40000, clock.base_ms), *a, clock, 1, rec);
  Session d;
  EXPECT_FALSE(decode_session(rec, *b, clock, d, err));
  EXPECT_NE(err.find("policy"), std::string::npos) << err;
  rec.set_tenant("nobody");
  EXPECT_FALSE(decode_session(rec, *a, clock, d, err));
  rec.set_tenant("branch");
  rec.mutable_out_rev()->set_peer("r9");
  EXPECT_FALSE(decode_session(rec, *a, clock, d, err));
  rec.mutable_out_rev()->set_peer("r1");
  rec.set_uuid("short");
  EXPECT_FALSE(decode_session(rec, *a, clock, d, err));
}

// The application travels by name (docs/applications.md § HA): the survivor keeps it, derives
// the QoS class from its own config (qos.applications first), and keeps a session refused
// for its application refused; its own deny lists apply too (zero trust).
TEST(HaCodec, SessionCarriesItsApplicationAndTheSurvivorDerivesItsClass) {
  HmacEngine hmac;
  std::string err;
  config::Config ca = hub_config("hub-a", "10.2.0.2/24", "172.16.0.2/24");
  ca.mutable_services(0)->set_qos_class("bulk");
  auto* rule = ca.mutable_qos()->add_applications();
  rule->set_application("ssh");
  rule->set_class_("interactive");
  config::Config cb = ca;  // hub-b: another entity order, same rules
  cb.mutable_router()->set_name("hub-b");
  auto a = RouterModel::build(ca, nullptr, nullptr, hmac, err);
  auto b = RouterModel::build(cb, nullptr, nullptr, hmac, err);
  ASSERT_TRUE(a && b) << err;
  const app::AppCatalog& catalog = app::AppCatalog::instance();
  const uint16_t ssh = *catalog.find_application("SSH");
  DataplaneClock clock = DataplaneClock::now();
  Session s = hub_session(*a, kHubA, 40000, clock.base_ms - 50);
  s.app = ssh;
  s.app_slot = kAppDone;
  s.set_qos_class(static_cast<uint8_t>(QosClass::interactive));
  pb::SessionRecord rec;
  encode_session(s, *a, clock, 1, rec);
  EXPECT_EQ(rec.application(), "SSH");
  EXPECT_FALSE(rec.app_refused());
  pb::SessionRecord wire;
  ASSERT_TRUE(wire.ParseFromString(rec.SerializeAsString()));
  Session d;
  ASSERT_TRUE(decode_session(wire, *b, clock, d, err)) << err;
  EXPECT_EQ(d.app, ssh);
  EXPECT_EQ(d.app_slot, kAppDone) << "never classified on the survivor";
  EXPECT_EQ(d.qos_class(), static_cast<uint8_t>(QosClass::interactive)) << "the application's class, not bulk";

  // Not known (yet): no name, the service's class.
  s.app = 0;
  encode_session(s, *a, clock, 1, rec);
  EXPECT_EQ(rec.application(), "");
  ASSERT_TRUE(decode_session(rec, *b, clock, d, err)) << err;
  EXPECT_EQ(d.app, 0);
  EXPECT_EQ(d.qos_class(), static_cast<uint8_t>(QosClass::bulk));
  // A name this node's nDPI does not know: Unknown, as for TLV 35 (not an error).
  rec.set_application("NoSuchApp");
  ASSERT_TRUE(decode_session(rec, *b, clock, d, err)) << err;
  EXPECT_EQ(d.app, 0);

  // Refused on the owner: stays refused here.
  s.app = *catalog.find_application("BitTorrent");
  s.app_slot = kAppDenied;
  encode_session(s, *a, clock, 1, rec);
  EXPECT_EQ(rec.application(), "BitTorrent");
  EXPECT_TRUE(rec.app_refused());
  ASSERT_TRUE(decode_session(rec, *b, clock, d, err)) << err;
  EXPECT_EQ(d.app_slot, kAppDenied);
  // Allowed on the owner, denied by this node's policy: refused here.
  config::Config strict = cb;
  strict.mutable_policies(0)->add_deny_applications("SSH");
  auto c = RouterModel::build(strict, nullptr, nullptr, hmac, err);
  ASSERT_TRUE(c) << err;
  s.app = ssh;
  s.app_slot = kAppDone;
  encode_session(s, *a, clock, 1, rec);
  ASSERT_TRUE(decode_session(rec, *c, clock, d, err)) << err;
  EXPECT_EQ(d.app_slot, kAppDenied);
  ASSERT_TRUE(decode_session(rec, *b, clock, d, err)) << err;
  EXPECT_EQ(d.app_slot, kAppDone);
}

// A session synced from the peer toward a server only FRR reaches (an ECMP
// route in the FIB): this node gives its leg its own route, the member the
// session's hash picks, as a session set up here would; with no route here
// the record is refused.
TEST(HaCodec, ALegToAnFrrRoutedServerTakesThisNodesFibRoute) {
  HmacEngine hmac;
  std::string err;
  config::Config cfg = hub_config("hub-a", "10.2.0.2/24", "172.16.0.2/24");
  test::add_service(cfg, {"far", "10.200.0.0/16", "tcp", "", ""});
  test::add_policy(cfg, "branch", "far", "");
  auto a = RouterModel::build(cfg, nullptr, nullptr, hmac, err);
  ASSERT_TRUE(a) << err;
  const Ipv4 gw[2] = {ip("10.2.0.7"), ip("10.2.0.8")};
  FibRoute r;
  r.prefix = *parse_prefix("10.200.0.0/16");
  r.protocol = 186;
  r.distance = 20;
  r.paths = 2;
  r.hops[0] = {gw[0], 0};
  r.hops[1] = {gw[1], 0};
  auto fib = FibTable::build({r});
  DataplaneClock clock = DataplaneClock::now();
  int on[2] = {0, 0};
  for (uint16_t port = 40000; port < 40016; ++port) {
    Session s = hub_session(*a, kHubA, port, clock.base_ms);
    s.original.dst = ip("10.200.1.1");
    s.out_fwd = {s.original, gw[0], 0, -1};
    s.service = static_cast<int16_t>(a->service_by_name("far"));
    s.security = static_cast<int16_t>(a->policy(s.tenant, s.service));
    pb::SessionRecord rec;
    encode_session(s, *a, clock, 1, rec);
    Session d;
    EXPECT_FALSE(decode_session(rec, *a, clock, d, err)) << "no FIB: no route to 10.200.1.1";
    EXPECT_NE(err.find("no route"), std::string::npos) << err;
    ASSERT_TRUE(decode_session(rec, *a, clock, d, err, fib.get())) << err;
    EXPECT_EQ(d.out_fwd.iface, 0);
    EXPECT_EQ(d.out_fwd.next_hop, r.pick(symmetric_hash(s.original)).gateway) << "the member a worker here picks";
    EXPECT_EQ(d.out_rev.next_hop, kR1) << "the WAN leg keeps the config's route";
    on[d.out_fwd.next_hop == gw[1]]++;
  }
  EXPECT_GT(on[0], 0);
  EXPECT_GT(on[1], 0);
}

// --- batching and resync chunks ------------------------------------------------

TEST(HaBatcher, CutsMessagesByOpsAndBytesAndNumbersChunks) {
  SessionBatcher b({/*max_bytes=*/100000, /*max_ops=*/4});
  MessageStamp stamp(1, 77);
  std::vector<pb::HaMessage> out;
  for (int i = 0; i < 10; ++i) {
    pb::SessionOp* op = b.add(pb::SessionOp::UPSERT, 1000 + i);
    op->mutable_session()->set_uuid(std::string(16, static_cast<char>(i)));
    b.added(op);
    if (b.full()) {
      pb::HaMessage parsed;
      ASSERT_TRUE(parsed.ParseFromString(stamp.finish(b.take_chunk(5, static_cast<uint32_t>(out.size())))));
      b.reset();
      out.push_back(parsed);
    }
  }
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(b.size(), 2u) << "the rest waits for the timer or the next ops";
  EXPECT_EQ(out[0].resync_chunk().ops_size(), 4);
  EXPECT_EQ(out[1].resync_chunk().chunk_seq(), 1u);
  EXPECT_EQ(out[1].oldest_event_ms(), 1004u);
  EXPECT_EQ(out[1].seq(), out[0].seq() + 1);
  EXPECT_EQ(out[0].incarnation(), 77u);

  SessionBatcher small({/*max_bytes=*/200, /*max_ops=*/1000});
  int n = 0;
  while (!small.full()) {
    pb::SessionOp* op = small.add(pb::SessionOp::DELETE, 1);
    op->mutable_session()->set_uuid(std::string(16, 'x'));
    small.added(op);
    ++n;
  }
  EXPECT_GT(n, 3);
  EXPECT_LT(n, 15) << "bytes bound the message too";
}

// The batcher builds each message on its arena and reuses it after reset():
// a batch taken after many resets carries only its own ops, by value.
TEST(HaBatcher, ReusesItsArenaAcrossMessagesAndBuildsBatchesAndChunks) {
  SessionBatcher b({/*max_bytes=*/1 << 20, /*max_ops=*/64});
  MessageStamp stamp(3, 9);
  for (int round = 0; round < 50; ++round) {
    for (int i = 0; i < 64; ++i) {
      pb::SessionOp* op = b.add(i % 2 ? pb::SessionOp::DELETE : pb::SessionOp::UPSERT, 5000 - i);
      op->mutable_session()->set_uuid(std::string(16, static_cast<char>(round)));
      op->mutable_session()->set_tenant("tenant-with-a-long-name-" + std::to_string(i));
      op->mutable_session()->mutable_original()->set_sport(static_cast<uint32_t>(round * 64 + i));
      b.added(op);
    }
    ASSERT_TRUE(b.full());
    const bool chunk = round % 2;
    pb::HaMessage parsed;
    ASSERT_TRUE(parsed.ParseFromString(stamp.finish(chunk ? b.take_chunk(77, round) : b.take_batch())));
    b.reset();
    EXPECT_TRUE(b.empty());
    const auto& ops = chunk ? parsed.resync_chunk().ops() : parsed.batch().ops();
    ASSERT_EQ(ops.size(), 64) << "round " << round;
    EXPECT_EQ(parsed.has_resync_chunk(), chunk);
    if (chunk) {
      EXPECT_EQ(parsed.resync_chunk().chunk_seq(), static_cast<uint32_t>(round));
    }
    EXPECT_EQ(parsed.oldest_event_ms(), 5000u - 63);
    for (int i = 0; i < 64; ++i) {
      EXPECT_EQ(ops[i].session().uuid(), std::string(16, static_cast<char>(round)));
      EXPECT_EQ(ops[i].session().tenant(), "tenant-with-a-long-name-" + std::to_string(i));
      EXPECT_EQ(ops[i].session().original().sport(), static_cast<uint32_t>(round * 64 + i));
      EXPECT_EQ(ops[i].kind(), i % 2 ? pb::SessionOp::DELETE : pb::SessionOp::UPSERT);
    }
  }
}

// #17: a batch or chunk travels LZ4-compressed and reads back as it was sent;
// corrupt, oversized or envelope-changing bodies are refused.
TEST(HaCompression, BatchesAndChunksRoundTripSmallerAndBadBodiesAreRefused) {
  BodyCodec codec;
  for (int chunk = 0; chunk < 2; ++chunk) {
    SessionBatcher b({/*max_bytes=*/1 << 20, /*max_ops=*/64});
    MessageStamp stamp(3, 9);
    for (int i = 0; i < 64; ++i) {
      pb::SessionOp* op = b.add(pb::SessionOp::UPSERT, 5000 + i);
      op->mutable_session()->set_uuid(std::string(16, static_cast<char>(i)));
      op->mutable_session()->set_tenant("branch");
      op->mutable_session()->set_service("web");
      op->mutable_session()->mutable_original()->set_src(0x0a010000u + static_cast<uint32_t>(i));
      op->mutable_session()->mutable_original()->set_sport(static_cast<uint32_t>(40000 + i));
      op->mutable_session()->set_created_ms(1796389608153ull + static_cast<uint64_t>(i));
      op->mutable_session()->set_last_ms(1796389608153ull + static_cast<uint64_t>(i));
      b.added(op);
    }
    pb::HaMessage& m = chunk ? b.take_chunk(77, 5) : b.take_batch();
    m.set_epoch(4);
    const std::string plain = pb::HaMessage(m).SerializeAsString();
    ASSERT_TRUE(compress_body(m, codec));
    EXPECT_TRUE(m.has_compressed());
    EXPECT_FALSE(m.has_batch() || m.has_resync_chunk());
    const std::string wire = stamp.finish(m);
    EXPECT_LT(wire.size(), plain.size() * 2 / 3) << "session records compress";
    MessageHeader h;
    ASSERT_TRUE(peek_header(wire.data(), wire.size(), h));
    EXPECT_EQ(h.body, static_cast<uint32_t>(pb::HaMessage::kCompressed));
    EXPECT_EQ(h.oldest_event_ms, 5000u);

    pb::HaMessage got;
    ASSERT_TRUE(got.ParseFromString(wire));
    ASSERT_TRUE(expand_body(got, codec));
    ASSERT_EQ(got.has_resync_chunk(), chunk == 1);
    const auto& ops = chunk ? got.resync_chunk().ops() : got.batch().ops();
    ASSERT_EQ(ops.size(), 64);
    if (chunk) {
      EXPECT_EQ(got.resync_chunk().resync_id(), 77u);
      EXPECT_EQ(got.resync_chunk().chunk_seq(), 5u);
    }
    for (int i = 0; i < 64; ++i) {
      EXPECT_EQ(ops[i].session().uuid(), std::string(16, static_cast<char>(i)));
      EXPECT_EQ(ops[i].session().original().sport(), static_cast<uint32_t>(40000 + i));
      EXPECT_EQ(ops[i].session().tenant(), "branch");
    }
    EXPECT_EQ(got.node_id(), 3u);
    EXPECT_EQ(got.epoch(), 4u);
    EXPECT_EQ(got.oldest_event_ms(), 5000u);

    pb::HaMessage bad;
    ASSERT_TRUE(bad.ParseFromString(wire));
    std::string z = bad.compressed().lz4();
    z.resize(z.size() / 2);
    bad.mutable_compressed()->set_lz4(z);
    EXPECT_FALSE(expand_body(bad, codec)) << "truncated LZ4";
    ASSERT_TRUE(bad.ParseFromString(wire));
    bad.mutable_compressed()->set_raw_size(bad.compressed().raw_size() + 1);
    EXPECT_FALSE(expand_body(bad, codec)) << "size differs";
    ASSERT_TRUE(bad.ParseFromString(wire));
    bad.mutable_compressed()->set_raw_size(static_cast<uint32_t>(kMaxInflated + 1));
    EXPECT_FALSE(expand_body(bad, codec)) << "too large";
  }
  // An inner message that would rewrite the envelope, or hold another body, is refused.
  pb::HaMessage inner;
  inner.set_node_id(9);
  inner.mutable_batch()->add_ops()->mutable_session()->set_tenant(std::string(400, 'x'));
  pb::HaMessage outer;
  outer.set_node_id(3);
  ASSERT_TRUE(compress_body(inner, codec));  // inner now holds a Compressed body of its batch
  const std::string raw = inner.SerializeAsString();  // node_id 9 + Compressed: not a plain body
  std::string lz(static_cast<size_t>(LZ4_compressBound(static_cast<int>(raw.size()))), '\0');
  const int n = LZ4_compress_default(raw.data(), lz.data(), static_cast<int>(raw.size()), static_cast<int>(lz.size()));
  ASSERT_GT(n, 0);
  outer.mutable_compressed()->set_raw_size(static_cast<uint32_t>(raw.size()));
  outer.mutable_compressed()->set_lz4(lz.data(), static_cast<size_t>(n));
  EXPECT_FALSE(expand_body(outer, codec));
  // Small bodies and other bodies go as they are.
  pb::HaMessage small;
  small.mutable_batch()->add_ops();
  EXPECT_FALSE(compress_body(small, codec));
  EXPECT_TRUE(small.has_batch());
  pb::HaMessage ack;
  ack.mutable_ack()->set_seq(1);
  EXPECT_FALSE(compress_body(ack, codec));
  EXPECT_TRUE(expand_body(ack, codec)) << "nothing to expand";
}

// #17: packed records decode to exactly what the protobuf record decodes to,
// by name, into a model that lists its entities in another order; each name
// travels once per message.
TEST(HaPacked, RecordsRoundTripByNameAsTheProtobufRecordDoes) {
  HmacEngine hmac;
  std::string err;
  config::Config ca = hub_config("hub-a", "10.2.0.2/24", "172.16.0.2/24");
  ca.mutable_peers(0)->set_next_key(test::kKey23);
  config::Config cb = hub_config("hub-b", "10.2.0.3/24", "172.16.0.3/24", true);
  cb.mutable_peers(0)->set_next_key(test::kKey23);
  auto a = RouterModel::build(ca, nullptr, nullptr, hmac, err);
  auto b = RouterModel::build(cb, nullptr, nullptr, hmac, err);
  ASSERT_TRUE(a && b) << err;
  DataplaneClock clock = DataplaneClock::now();
  PackedOpsWriter w;
  std::vector<Session> made;
  for (uint16_t i = 0; i < 40; ++i) {
    Session s = hub_session(*a, kHubA, static_cast<uint16_t>(40000 + i), clock.base_ms - 50 - i);
    s.last_ms = clock.base_ms - i;
    s.packets[0] = 7 + i;
    s.packets[1] = 1ull << 40;
    s.bytes[0] = 99;
    s.bytes[1] = 1234 + i;
    s.migrations = i;
    s.out_rev.key_version = i % 2 ? 2 : 1;
    s.flags = static_cast<uint8_t>(s.flags | (i % 3 ? kPeerSession : 0));  // never travels
    w.add(i % 4 == 3 ? PackedKind::remove : PackedKind::upsert, s, *a, clock);
    made.push_back(s);
  }
  EXPECT_EQ(w.size(), 40u);
  pb::PackedOps out;
  w.write_to(out);
  EXPECT_EQ(out.records().size(), 40 * kPackedRecordBytes);
  EXPECT_LE(out.names_size(), 4) << "branch, web, the security policy, r1: once each";
  pb::PackedOps wire;
  ASSERT_TRUE(wire.ParseFromString(out.SerializeAsString()));
  PackedOpsReader r;
  ASSERT_TRUE(r.open(wire, err)) << err;
  ASSERT_EQ(r.size(), 40u);
  for (size_t i = 0; i < made.size(); ++i) {
    Session d{}, ref{};
    PackedKind kind;
    ASSERT_TRUE(r.decode(i, *b, clock, nullptr, kind, d, err)) << err;
    EXPECT_EQ(kind, i % 4 == 3 ? PackedKind::remove : PackedKind::upsert);
    pb::SessionRecord rec;
    encode_session(made[i], *a, clock, 1, rec);
    ASSERT_TRUE(decode_session(rec, *b, clock, ref, err)) << err;
    EXPECT_TRUE(d == ref) << "record " << i << ": the packed record decodes as the protobuf one";
    EXPECT_EQ(d.uuid, made[i].uuid);
    EXPECT_EQ(d.original, made[i].original);
    EXPECT_EQ(d.out_rev.tuple, made[i].out_rev.tuple);
    EXPECT_EQ(d.tenant, b->tenant_by_name("branch"));
    EXPECT_NE(d.tenant, made[i].tenant) << "indexes differ between the hubs; the name decides";
    EXPECT_EQ(d.last_ms, made[i].last_ms);
    EXPECT_EQ(d.created_ms, made[i].created_ms);
    EXPECT_EQ(d.packets[1], 1ull << 40);
    EXPECT_EQ(d.bytes[1], 1234u + i);
    EXPECT_EQ(d.migrations, i);
    EXPECT_EQ(d.out_rev.key_version, made[i].out_rev.key_version);
    EXPECT_FALSE(d.flags & kPeerSession);
    uint32_t id;  // offset 76 (packed_ops.h): the fingerprint of the version its keys came from
    std::memcpy(&id, wire.records().data() + i * kPackedRecordBytes + 76, 4);
    EXPECT_EQ(id, key_id(a->peers[0].keys.find(made[i].out_rev.key_version)->mac)) << "record " << i;
    EXPECT_EQ(id, rec.key_id());
  }
  // The writer is reused: after clear() a message holds only its own records and names.
  w.clear();
  EXPECT_EQ(w.size(), 0u);
  EXPECT_EQ(w.bytes(), 0u);
  w.add(PackedKind::upsert, made[5], *a, clock);
  pb::PackedOps one;
  w.write_to(one);
  EXPECT_EQ(one.records().size(), kPackedRecordBytes);
  EXPECT_EQ(one.names_size(), out.names_size());
}

// #17: HA sync sends packed records column-major (format 2): a reader told of
// the layout reads them back as the records they were (and still reads format
// 1), one that is not refuses them whole, and LZ4 shrinks a batch of them well
// below the same records row by row, random (version 4) UUIDs and all.
TEST(HaPacked, ColumnMajorBodiesReadBackAsRecordsAndCompressSmaller) {
  TwoHubModels hubs;
  ASSERT_TRUE(hubs.a && hubs.b) << hubs.err;
  auto& [hmac, err, a, b, clock] = hubs;
  PackedOpsWriter rows, cols{kPackedRecordBytes, kPackedFormat, kPackedColumnsFormat};
  std::mt19937_64 rng(17);
  constexpr size_t kN = 509;  // a batch's worth, not a whole number of the transpose's 16-record blocks
  for (size_t i = 0; i < kN; ++i) {
    Session s = hub_session(*a, kHubA, static_cast<uint16_t>(20000 + i * 7), clock.base_ms - static_cast<uint32_t>(rng() % 5000));
    for (size_t k = 0; k < 16; k += 8) {
      const uint64_t r = rng();
      std::memcpy(s.uuid.data() + k, &r, 8);
    }
    s.packets[0] = rng() % 40;
    s.bytes[0] = s.packets[0] * (rng() % 1400);
    rows.add(i % 5 == 4 ? PackedKind::remove : PackedKind::upsert, s, *a, clock);
    cols.add(i % 5 == 4 ? PackedKind::remove : PackedKind::upsert, s, *a, clock);
  }
  pb::PackedOps row_body, col_body;
  rows.write_to(row_body);
  cols.write_to(col_body);
  EXPECT_EQ(row_body.format(), kPackedFormat);
  EXPECT_EQ(col_body.format(), kPackedColumnsFormat);
  ASSERT_EQ(col_body.records().size(), row_body.records().size());
  EXPECT_NE(col_body.records(), row_body.records());
  PackedOpsReader by_rows{kPackedRecordBytes}, both;  // format 1 only; the default: formats 1 and 2
  ASSERT_TRUE(by_rows.open(row_body, err)) << err;
  ASSERT_TRUE(both.open(col_body, err)) << err;
  ASSERT_EQ(both.size(), kN);
  for (size_t i = 0; i < kN; ++i) {
    ASSERT_EQ(std::memcmp(both.record(i), by_rows.record(i), kPackedRecordBytes), 0) << "record " << i;
    Session x{}, y{};
    PackedKind kx, ky;
    ASSERT_TRUE(both.decode(i, *b, clock, nullptr, kx, x, err)) << err;
    ASSERT_TRUE(by_rows.decode(i, *b, clock, nullptr, ky, y, err)) << err;
    EXPECT_EQ(kx, ky);
    EXPECT_TRUE(x == y) << "record " << i;
  }
  EXPECT_TRUE(both.open(row_body, err)) << "format 1 is still read: " << err;
  EXPECT_FALSE(by_rows.open(col_body, err)) << "a reader without the layout refuses it";
  EXPECT_NE(err.find("format 2 unknown"), std::string::npos) << err;
  BodyCodec codec;
  auto on_wire = [&](const pb::PackedOps& body) {
    pb::HaMessage m;
    *m.mutable_batch()->mutable_packed() = body;
    EXPECT_TRUE(compress_body(m, codec));
    return m.compressed().lz4().size();
  };
  const size_t by_row = on_wire(row_body), by_column = on_wire(col_body);
  std::printf("LZ4 of %zu records: %zu B row-major (%.1f B/session), %zu B column-major (%.1f B/session)\n", kN,
              by_row, double(by_row) / kN, by_column, double(by_column) / kN);
  EXPECT_LT(by_column * 4, by_row * 3) << "column-major: at most 3/4 of the bytes";
}

// A body of another format, record size or a partial record is refused whole;
// a record naming what this node does not have, or past the name table, alone.
TEST(HaPacked, BadBodiesAreRefusedAndBadRecordsRejected) {
  HmacEngine hmac;
  std::string err;
  auto a = RouterModel::build(hub_config("hub-a", "10.2.0.2/24", "172.16.0.2/24"), nullptr, nullptr, hmac, err);
  ASSERT_TRUE(a) << err;
  DataplaneClock clock = DataplaneClock::now();
  PackedOpsWriter w;
  for (uint16_t i = 0; i < 3; ++i) w.add(PackedKind::upsert, hub_session(*a, kHubA, 41000 + i, clock.base_ms), *a, clock);
  pb::PackedOps good;
  w.write_to(good);
  PackedOpsReader r;
  ASSERT_TRUE(r.open(good, err)) << err;

  pb::PackedOps bad = good;
  bad.set_format(3);
  EXPECT_FALSE(r.open(bad, err));
  EXPECT_NE(err.find("format 3"), std::string::npos) << err;
  bad = good;
  bad.set_record_bytes(64);
  EXPECT_FALSE(r.open(bad, err));
  bad = good;
  bad.mutable_records()->resize(good.records().size() - 1);
  EXPECT_FALSE(r.open(bad, err)) << "truncated";
  EXPECT_NE(err.find("whole records"), std::string::npos) << err;
  bad = good;
  const std::string x = "x";
  for (size_t i = 0; i <= kMaxPackedNames; ++i) *bad.add_names() = x;
  EXPECT_FALSE(r.open(bad, err));

  Session d;
  PackedKind kind;
  auto record = [&](size_t i) { return reinterpret_cast<uint8_t*>(bad.mutable_records()->data()) + i * kPackedRecordBytes; };
  bad = good;
  record(0)[8] = 50;  // tenant name index past the table
  record(1)[0] = 7;   // no such kind
  bad.set_names(0, std::string("nobody"));  // the tenant of every record
  ASSERT_TRUE(r.open(bad, err)) << err;
  EXPECT_FALSE(r.decode(0, *a, clock, nullptr, kind, d, err));
  EXPECT_NE(err.find("name index 50"), std::string::npos) << err;
  EXPECT_FALSE(r.decode(1, *a, clock, nullptr, kind, d, err));
  EXPECT_NE(err.find("kind"), std::string::npos) << err;
  EXPECT_FALSE(r.decode(2, *a, clock, nullptr, kind, d, err));
  EXPECT_NE(err.find("tenant \"nobody\" not configured here"), std::string::npos) << err;
  EXPECT_FALSE(r.decode(3, *a, clock, nullptr, kind, d, err)) << "past the body";

  // Garbage of whole records: refused record by record, never read past the body.
  bad = good;
  for (size_t i = 0; i < bad.records().size(); ++i) (*bad.mutable_records())[i] = static_cast<char>(i * 37 + 11);
  ASSERT_TRUE(r.open(bad, err));
  for (size_t i = 0; i < r.size(); ++i) EXPECT_FALSE(r.decode(i, *a, clock, nullptr, kind, d, err));
}

// A node reads its own messages (delivered back by CPG) for the sync lag
// from the envelope alone; the header must match a full decode for every body.
TEST(HaMessageHeader, PeekReadsTheEnvelopeWithoutTheBody) {
  MessageStamp stamp(7, 123456789012ull);
  pb::HaMessage m;
  m.set_oldest_event_ms(1700000000123ull);
  m.set_epoch(42);
  auto* op = m.mutable_batch()->add_ops();
  op->mutable_session()->set_uuid(std::string(16, 'u'));
  std::string bytes = stamp.finish(m);
  MessageHeader h;
  ASSERT_TRUE(peek_header(bytes.data(), bytes.size(), h));
  EXPECT_EQ(h.protocol, kHaProtocol);
  EXPECT_EQ(h.node_id, 7u);
  EXPECT_EQ(h.incarnation, 123456789012ull);
  EXPECT_EQ(h.seq, 1u);
  EXPECT_EQ(h.oldest_event_ms, 1700000000123ull);
  EXPECT_EQ(h.epoch, 42u);
  EXPECT_EQ(h.body, static_cast<uint32_t>(pb::HaMessage::kBatch));

  pb::HaMessage ack;
  ack.mutable_ack()->set_seq(5);
  bytes = stamp.finish(ack);
  ASSERT_TRUE(peek_header(bytes.data(), bytes.size(), h));
  EXPECT_EQ(h.seq, 2u);
  EXPECT_EQ(h.oldest_event_ms, 0u) << "fields of the previous peek do not leak";
  EXPECT_EQ(h.body, static_cast<uint32_t>(pb::HaMessage::kAck));

  EXPECT_FALSE(peek_header(bytes.data(), bytes.size() - 1, h)) << "a truncated message is not well formed";
  const std::string junk = "\xff\xff\xff";
  EXPECT_FALSE(peek_header(junk.data(), junk.size(), h));
}

// The recent-UUID lists: newest last, no repeats, bounded.
TEST(HaStatusRecent, KeepsTheLastDistinctUuidsOldestFirst) {
  HaStatus st;
  auto id = [](uint8_t v) {
    std::array<uint8_t, 16> u{};
    u[15] = v;
    return u;
  };
  for (uint8_t v = 0; v < 40; ++v) {
    st.note_uuid(true, id(v).data());
    st.note_uuid(true, id(v).data());  // repeats are ignored
  }
  st.note_uuid(false, id(200).data());
  std::vector<std::string> sent = st.recent(true);
  ASSERT_EQ(sent.size(), HaStatus::kRecent);
  EXPECT_EQ(sent.front(), "00000000000000000000000000000008");
  EXPECT_EQ(sent.back(), "00000000000000000000000000000027");
  ASSERT_EQ(st.recent(false).size(), 1u);
  EXPECT_EQ(st.recent(false)[0], "000000000000000000000000000000c8");
  EXPECT_NE(st.json().find("000000000000000000000000000000c8"), std::string::npos);
}

TEST(HaResync, TrackerAcceptsOnlyAGaplessCompleteSequence) {
  ResyncTracker t;
  EXPECT_EQ(t.chunk(9, 0, 100), ResyncTracker::Result::ok);
  EXPECT_EQ(t.chunk(9, 1, 100), ResyncTracker::Result::ok);
  EXPECT_EQ(t.done(9, 2, 200), ResyncTracker::Result::ok);
  EXPECT_EQ(t.chunk(10, 0, 5), ResyncTracker::Result::ok);
  EXPECT_EQ(t.chunk(10, 2, 5), ResyncTracker::Result::gap) << "chunk 1 lost";
  EXPECT_EQ(t.done(10, 3, 15), ResyncTracker::Result::gap);
  EXPECT_EQ(t.done(11, 0, 0), ResyncTracker::Result::ok) << "an empty table resyncs with no chunks";
  EXPECT_EQ(t.done(12, 4, 40), ResyncTracker::Result::unexpected);
  EXPECT_EQ(t.chunk(13, 0, 5), ResyncTracker::Result::ok);
  EXPECT_EQ(t.done(13, 1, 6), ResyncTracker::Result::gap) << "session count must match";
}

// --- the pair ---------------------------------------------------------------------

class HaPair : public ::testing::Test {
 protected:
  void SetUp() override {
    a = std::make_unique<Hub>(bus, hub_config("hub-a", "10.2.0.2/24", "172.16.0.2/24"), 3, 1, kHubB);
    b = std::make_unique<Hub>(bus, hub_config("hub-b", "10.2.0.3/24", "172.16.0.3/24", true), 2, 2, kHubA);
    run({a.get(), b.get()}, now, 30);
  }
  Bus bus;
  uint64_t now = 1'000'000;
  std::unique_ptr<Hub> a, b;
};

TEST_F(HaPair, SessionsReachThePeerInItsOwningWorkerWhateverItsWorkerCount) {
  ASSERT_TRUE(a->node->peer_present());
  EXPECT_TRUE(a->shared.ha.own_held.load());
  EXPECT_FALSE(a->shared.ha.peer_taken.load());
  std::vector<Session> made;
  for (uint16_t p = 0; p < 20; ++p) {
    made.push_back(hub_session(*a->model, kHubA, static_cast<uint16_t>(41000 + p), static_cast<uint32_t>(now)));
    a->create(made.back());
  }
  run({a.get(), b.get()}, now);
  EXPECT_EQ(b->sessions(), 20u);
  for (const Session& s : made) {
    Session* got = b->find(s);  // looked up in owner_of_class(class, 2), not in a's owner of 3
    ASSERT_NE(got, nullptr);
    EXPECT_EQ(got->uuid, s.uuid);
    EXPECT_TRUE(got->flags & kPeerSession) << "hub-a ages its own sessions";
  }
  EXPECT_GE(a->node->status().get(HaStatus::Counter::messages_sent), 3u) << "20 ops in batches of 8";
  EXPECT_GE(a->node->status().get(HaStatus::Counter::compressed_messages), 1u) << "#17: batches travel LZ4";
  EXPECT_GT(a->node->status().get(HaStatus::Counter::compressed_raw_bytes), a->node->status().get(HaStatus::Counter::bytes_sent) / 2);
  EXPECT_EQ(b->node->status().get(HaStatus::Counter::compressed_bad), 0u);
  // Closing on a removes it on b.
  Worker& owner = a->router.worker(owner_worker(made[0], 3));
  Session* s0 = a->find(made[0]);
  owner.post_event(SessionEventKind::closed, *s0, SessionEndReason::end_of_flow);
  owner.table().remove(s0);
  run({a.get(), b.get()}, now);
  EXPECT_EQ(b->sessions(), 19u);
  EXPECT_EQ(b->find(made[0]), nullptr);
}

// #17: a peer of protocol 1 (before packed records) is ignored with a count,
// and a batch whose packed body is malformed is refused whole with a count,
// neither acknowledged nor applied; a good batch after it still goes through.
TEST_F(HaPair, AnOldPeerAndMalformedPackedBatchesAreRefusedAndCounted) {
  using C = HaStatus::Counter;
  std::vector<Session> made;
  for (uint16_t p = 0; p < 4; ++p) made.push_back(hub_session(*a->model, kHubA, static_cast<uint16_t>(42000 + p), static_cast<uint32_t>(now)));
  DataplaneClock clock = DataplaneClock::now();
  PackedOpsWriter w;
  for (const Session& s : made) w.add(PackedKind::upsert, s, *a->model, clock);
  pb::HaMessage m;
  w.write_to(*m.mutable_batch()->mutable_packed());
  m.set_node_id(1);
  m.set_incarnation(UINT64_MAX / 2);
  m.set_seq(1);
  const uint64_t stale = b->node->status().get(C::stale_messages);
  m.set_protocol(1);
  std::string old = m.SerializeAsString();
  b->node->on_message({1, 101}, old.data(), old.size());
  EXPECT_EQ(b->node->status().get(C::protocol_mismatch), 1u);
  m.set_protocol(kHaProtocol);
  m.mutable_batch()->mutable_packed()->mutable_records()->resize(3 * kPackedRecordBytes + 5);
  std::string cut = m.SerializeAsString();
  b->node->on_message({1, 101}, cut.data(), cut.size());
  EXPECT_EQ(b->node->status().get(C::packed_bad), 1u);
  EXPECT_EQ(b->node->status().get(C::stale_messages), stale + 2);
  run({a.get(), b.get()}, now);
  EXPECT_EQ(b->sessions(), 0u) << "nothing of either applied";
  // The same records whole, as the sender would send them: applied.
  m.clear_batch();
  w.write_to(*m.mutable_batch()->mutable_packed());
  m.set_seq(2);
  std::string good = m.SerializeAsString();
  b->node->on_message({1, 101}, good.data(), good.size());
  run({a.get(), b.get()}, now);
  EXPECT_EQ(b->sessions(), 4u);
  EXPECT_EQ(b->node->status().get(C::packed_bad), 1u);
}

// Both nodes of a pair must rotate a pair key together: a version one node
// holds and the other does not is reported by the other, and pushing the
// same keys to both clears it.
TEST_F(HaPair, PairKeysRotateTogetherOrTheDifferenceIsReported) {
  using C = HaStatus::Counter;
  EXPECT_EQ(b->node->status().get(C::key_mismatches), 0u);
  config::Config ca = hub_config("hub-a", "10.2.0.2/24", "172.16.0.2/24");
  ca.mutable_peers(0)->set_next_key(test::kKey23);
  a->router.commit(ca);
  run({a.get(), b.get()}, now);
  EXPECT_GE(b->node->status().get(C::key_mismatches), 1u) << "hub-a holds version 2, hub-b does not";
  const uint64_t a_before = a->node->status().get(C::key_mismatches);
  config::Config cb = hub_config("hub-b", "10.2.0.3/24", "172.16.0.3/24", true);
  cb.mutable_peers(0)->set_next_key(test::kKey23);
  b->router.commit(cb);
  run({a.get(), b.get()}, now);
  EXPECT_EQ(a->node->status().get(C::key_mismatches), a_before) << "the same versions and keys on both nodes now";
}

TEST_F(HaPair, StaleUpdatesAreIgnored) {
  Session s = hub_session(*a->model, kHubA, 42000, static_cast<uint32_t>(now));
  a->create(s);
  run({a.get(), b.get()}, now);
  ASSERT_NE(b->find(s), nullptr);
  // A newer update, then an older one arriving late (e.g. from a resync).
  Worker& bw = b->router.worker(owner_worker(s, 2));
  PeerSessionOp op{};
  op.kind = PeerSessionOpKind::upsert;
  op.session = *b->find(s);
  op.session.last_ms += 500;
  op.session.packets[0] = 50;
  bw.ha().apply(op);
  op.session.last_ms -= 100;
  op.session.packets[0] = 40;
  bw.ha().apply(op);
  EXPECT_EQ(b->find(s)->packets[0], 50u);
  EXPECT_EQ(bw.counters().get(Counter::ha_stale_ignored), 1u);
  // A message from an older incarnation of the peer is ignored as a whole.
  MessageStamp old_life(1, 1);
  pb::HaMessage m;
  pb::SessionOp* del = m.mutable_batch()->add_ops();
  del->set_kind(pb::SessionOp::DELETE);
  encode_session(*a->find(s), *a->model, DataplaneClock::now(), 1, *del->mutable_session());
  std::string bytes = old_life.finish(m);
  b->node->on_message({1, 101}, bytes.data(), bytes.size());
  run({b.get()}, now);
  EXPECT_NE(b->find(s), nullptr);
  EXPECT_EQ(b->node->status().get(HaStatus::Counter::stale_messages), 1u);
}

// The owner classifies after it synced the session: its `update` brings the application to
// the peer (docs/applications.md § HA), and a later refusal too.
TEST_F(HaPair, ThePeerLearnsTheApplicationFromTheOwnersUpdate) {
  Session s = hub_session(*a->model, kHubA, 42100, static_cast<uint32_t>(now));
  a->create(s);
  run({a.get(), b.get()}, now);
  ASSERT_NE(b->find(s), nullptr);
  EXPECT_EQ(b->find(s)->app, 0);
  const uint16_t ssh = *app::AppCatalog::instance().find_application("SSH");
  Session* mine = a->find(s);
  ASSERT_NE(mine, nullptr);
  mine->app = ssh;
  mine->last_ms += 5;
  a->owner(s).post_event(SessionEventKind::update, *mine);
  run({a.get(), b.get()}, now);
  EXPECT_EQ(b->find(s)->app, ssh);
  EXPECT_EQ(b->find(s)->app_slot, kAppDone);
  mine->app_slot = kAppDenied;
  mine->last_ms += 5;
  a->owner(s).post_event(SessionEventKind::update, *mine);
  run({a.get(), b.get()}, now);
  EXPECT_EQ(b->find(s)->app_slot, kAppDenied) << "refused on the owner: refused on the peer";
}

// HaFollowerSweep: hub-b alone with one worker and its HA rings, hub-a its peer.
test::RouterOptions hub_b_alone(uint32_t max_sessions = 1024) {
  test::RouterOptions o;  // built in place: GCC 12 warns (maybe-uninitialized) on a returned chain's temporary
  o.with_max_sessions(max_sessions);
  o.with_prepare([](DataplaneShared& sh) {
    sh.ha.peer_addresses.push_back({kHubA, 1});
    std::string err;
    if (!sh.ha.create(1, 1024, SOCKET_ID_ANY, err)) throw std::runtime_error(err);
  });
  return o;
}
std::vector<SessionEvent> drain_events(rte_ring* ring) {
  std::vector<SessionEvent> out;
  SessionEvent ev;
  while (rte_ring_sc_dequeue_elem(ring, &ev, sizeof ev) == 0) out.push_back(ev);
  return out;
}
// Live events up to the announcements' reserve (announce_room false).
void fill_to_reserve(rte_ring* ring) {
  SessionEvent filler{};
  filler.kind = SessionEventKind::update;
  while (announce_room(ring)) ASSERT_EQ(rte_ring_sp_enqueue_elem(ring, &filler, sizeof filler), 0);
}
// The offload manager's event ring (the kinds OffloadManager::init takes), worker 0's.
rte_ring* offload_events(test::Router& r) {
  std::string err;
  const uint8_t kinds = kAllEventKinds & ~event_bit(SessionEventKind::created);
  EXPECT_TRUE(r.shared().enable_events(EventConsumer::offload, 64, SOCKET_ID_ANY, err, kinds)) << err;
  return r.shared().event_ring(EventConsumer::offload, 0);
}

// A takeover re-flags who ages the peer's sessions a slice per loop
// iteration (HaFollower::kSlice), never the whole table in one, and the
// worker acknowledges the generation only when the whole table is done.
TEST(HaFollowerSweep, OwnershipChangeIsFollowedASliceAtATime) {
  constexpr uint32_t kSlice = HaFollower::kSlice;
  test::Router r(hub_config("hub-b", "10.2.0.3/24", "172.16.0.3/24"), hub_b_alone(3 * kSlice));
  Worker& w = r.worker();
  HaDataplane& ha = r.shared().ha;
  // One of the peer's sessions, in the table's last slice.
  std::vector<Session*> placeholders;
  for (uint32_t i = 0; i < 2 * kSlice + 5; ++i) placeholders.push_back(w.table().allocate());
  PeerSessionOp op{};
  op.kind = PeerSessionOpKind::upsert;
  op.session = hub_session(r.model(), kHubA, 45000, 0);
  w.ha().apply(op);
  for (Session* p : placeholders) w.table().release(p);
  Session* s = w.table().lookup(op.session.key_a()).session;
  ASSERT_NE(s, nullptr);
  ASSERT_TRUE(s->flags & kPeerSession) << "the peer's to age while it is alive";
  std::string err;
  ASSERT_TRUE(r.shared().enable_events(EventConsumer::ipfix, 4096, SOCKET_ID_ANY, err)) << err;
  rte_ring* mgmt = r.shared().event_ring(EventConsumer::ipfix, 0);

  ha.adopt_peer.store(true);
  uint32_t gen = ha.ownership_gen.fetch_add(1) + 1;
  w.poll_once();
  EXPECT_NE(ha.ownership_seen[0].load(), gen) << "one slice of three";
  EXPECT_TRUE(s->flags & kPeerSession) << "not reached yet";
  w.poll_once();
  EXPECT_NE(ha.ownership_seen[0].load(), gen);
  w.poll_once();
  EXPECT_EQ(ha.ownership_seen[0].load(), gen) << "acknowledged once the whole table is done";
  EXPECT_FALSE(s->flags & kPeerSession) << "now ours to age";
  // REST and IPFIX (the mgmt feed) learn it now, not at its next periodic update.
  SessionEvent ev;
  ASSERT_EQ(rte_ring_sc_dequeue_elem(mgmt, &ev, sizeof ev), 0);
  EXPECT_EQ(ev.kind, SessionEventKind::update);
  EXPECT_EQ(ev.session.uuid, s->uuid);
  EXPECT_EQ(s->updated_ms, w.now_ms()) << "the periodic clock restarts";
  EXPECT_NE(rte_ring_sc_dequeue_elem(mgmt, &ev, sizeof ev), 0) << "once";
}

// An op applied before the sweep reaches its session changes hands there, and is announced
// there: once, whichever of the two makes the change.
TEST(HaFollowerSweep, AnOpAppliedBeforeTheSweepAnnouncesTheChangeOnce) {
  test::Router r(hub_config("hub-b", "10.2.0.3/24", "172.16.0.3/24"), hub_b_alone());
  Worker& w = r.worker();
  HaDataplane& ha = r.shared().ha;
  std::string err;
  ASSERT_TRUE(r.shared().enable_events(EventConsumer::ipfix, 4096, SOCKET_ID_ANY, err)) << err;
  rte_ring* mgmt = r.shared().event_ring(EventConsumer::ipfix, 0);
  auto events = [&] { return drain_events(mgmt); };
  ha.adopt_peer.store(true);  // the peer is gone: what it sent last is ours as it lands
  ha.ownership_gen.fetch_add(1);
  w.poll_once();
  PeerSessionOp op{};
  op.kind = PeerSessionOpKind::upsert;
  op.session = hub_session(r.model(), kHubA, 46000, 0);
  w.ha().apply(op);
  Session* s = w.table().lookup(op.session.key_a()).session;
  ASSERT_NE(s, nullptr);
  EXPECT_FALSE(s->flags & kPeerSession);
  auto got = events();
  ASSERT_EQ(got.size(), 1u) << "listed at once";
  EXPECT_EQ(got[0].kind, SessionEventKind::update);
  // The hand-back, and the returning peer's update of the session before the sweep ran.
  ha.adopt_peer.store(false);
  ha.ownership_gen.fetch_add(1);
  w.ha().apply(op);
  EXPECT_TRUE(s->flags & kPeerSession);
  got = events();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].kind, SessionEventKind::closed);
  EXPECT_EQ(got[0].reason, SessionEndReason::handed_over);
  w.poll_once();  // the sweep: already the peer's
  EXPECT_TRUE(events().empty()) << "once";
}

// A hand-back's sweep that finds the mgmt feed's ring without room waits for it (REST would
// list the session until the process ends, nothing else tells it), then goes on unannounced
// and counted once the wait passes AnnounceWait::kWaitMs without progress.
TEST(HaFollowerSweep, AHandBackWaitsForRoomOnTheMgmtFeedThenGoesOnCounted) {
  test::Router r(hub_config("hub-b", "10.2.0.3/24", "172.16.0.3/24"), hub_b_alone());
  Worker& w = r.worker();
  HaDataplane& ha = r.shared().ha;
  std::string err;
  ASSERT_TRUE(r.shared().enable_events(EventConsumer::ipfix, 64, SOCKET_ID_ANY, err)) << err;
  rte_ring* mgmt = r.shared().event_ring(EventConsumer::ipfix, 0);
  auto drain = [&] { return drain_events(mgmt); };
  auto fill = [&] { fill_to_reserve(mgmt); };
  auto handed_back = [](const std::vector<SessionEvent>& evs, const Session& s) {
    return std::count_if(evs.begin(), evs.end(), [&](const SessionEvent& e) {
      return e.kind == SessionEventKind::closed && e.reason == SessionEndReason::handed_over &&
             e.session.uuid == s.uuid;
    });
  };
  ha.adopt_peer.store(true);  // a takeover: what the peer sent is ours as it lands
  ha.ownership_gen.fetch_add(1);
  w.set_now_ms(1000);
  w.poll_once();
  PeerSessionOp op{};
  op.kind = PeerSessionOpKind::upsert;
  op.session = hub_session(r.model(), kHubA, 46100, 0);
  w.ha().apply(op);
  Session* s = w.table().lookup(op.session.key_a()).session;
  ASSERT_NE(s, nullptr);
  ASSERT_FALSE(s->flags & kPeerSession);
  drain();

  // The hand-back with the ring full: the sweep stops at the session, still ours.
  fill();
  ha.adopt_peer.store(false);
  const uint32_t back = ha.ownership_gen.fetch_add(1) + 1;
  w.poll_once();
  EXPECT_FALSE(s->flags & kPeerSession) << "waits for room to say so";
  EXPECT_NE(ha.ownership_seen[0].load(), back);
  w.set_now_ms(1000 + AnnounceWait::kWaitMs - 1);
  w.poll_once();
  EXPECT_FALSE(s->flags & kPeerSession) << "still within the wait";
  // The mgmt thread reads: the sweep goes on and says it.
  auto got = drain();
  w.poll_once();
  EXPECT_TRUE(s->flags & kPeerSession);
  EXPECT_EQ(ha.ownership_seen[0].load(), back);
  got = drain();
  EXPECT_EQ(handed_back(got, *s), 1) << "REST forgets it";
  EXPECT_EQ(w.counters().get(Counter::ha_announce_skipped), 0u);

  // Another takeover and hand-back with a mgmt thread that never reads: past the wait the sweep
  // goes on unannounced, counted.
  ha.adopt_peer.store(true);
  ha.ownership_gen.fetch_add(1);
  w.poll_once();
  ASSERT_FALSE(s->flags & kPeerSession);
  drain();
  fill();
  ha.adopt_peer.store(false);
  const uint32_t again = ha.ownership_gen.fetch_add(1) + 1;
  w.set_now_ms(5000);
  w.poll_once();
  EXPECT_FALSE(s->flags & kPeerSession);
  w.set_now_ms(5000 + AnnounceWait::kWaitMs);
  w.poll_once();
  EXPECT_TRUE(s->flags & kPeerSession) << "the wait is bounded";
  EXPECT_EQ(ha.ownership_seen[0].load(), again);
  EXPECT_EQ(w.counters().get(Counter::ha_announce_skipped), 1u);
  EXPECT_EQ(handed_back(drain(), *s), 0);
}

// Offload and HA (#17/#19): the established sessions taken over go to the offload manager
// once the takeover's sweep is done (never within it: HA claims the peer's addresses only then),
// a slice at a time as its ring has room; at the hand-back their rules go (`closed`, handed_over).
TEST(HaFollowerSweep, TakenOverSessionsAreOffloadedAfterTheSweepAndHandedBackOnesLeaveTheNic) {
  test::Router r(hub_config("hub-b", "10.2.0.3/24", "172.16.0.3/24"), hub_b_alone());
  Worker& w = r.worker();
  HaDataplane& ha = r.shared().ha;
  rte_ring* offload = offload_events(r);
  auto drain = [&] { return drain_events(offload); };
  PeerSessionOp op{};
  op.kind = PeerSessionOpKind::upsert;
  op.session = hub_session(r.model(), kHubA, 46200, 0);
  op.session.flags |= kEstablished;
  w.ha().apply(op);
  op.session = hub_session(r.model(), kHubA, 46201, 0);  // not established: nothing to offload
  w.ha().apply(op);
  const Session* est = w.table().lookup(hub_session(r.model(), kHubA, 46200, 0).key_a()).session;
  ASSERT_NE(est, nullptr);
  ASSERT_TRUE(est->flags & kPeerSession);
  EXPECT_TRUE(drain().empty()) << "the peer's: its NIC has them";

  // The takeover with the offload ring at its reserve: the sweep is not held, the rules wait.
  fill_to_reserve(offload);
  ha.adopt_peer.store(true);
  const uint32_t gen = ha.ownership_gen.fetch_add(1) + 1;
  w.poll_once();
  w.poll_once();
  EXPECT_EQ(ha.ownership_seen[0].load(), gen) << "the takeover does not wait for the offload manager";
  EXPECT_FALSE(est->flags & kPeerSession);
  EXPECT_EQ(w.counters().get(Counter::ha_sessions_reoffloaded), 0u);
  drain();  // the manager reads
  w.poll_once();
  auto got = drain();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].kind, SessionEventKind::established);
  EXPECT_EQ(got[0].session.uuid, est->uuid);
  EXPECT_EQ(w.counters().get(Counter::ha_sessions_reoffloaded), 1u);
  w.poll_once();
  EXPECT_TRUE(drain().empty()) << "once";

  // The hand-back: both sessions' rules (if any) go.
  ha.adopt_peer.store(false);
  ha.ownership_gen.fetch_add(1);
  w.poll_once();
  EXPECT_TRUE(est->flags & kPeerSession);
  got = drain();
  ASSERT_EQ(got.size(), 2u);
  for (const SessionEvent& ev : got) {
    EXPECT_EQ(ev.kind, SessionEventKind::closed);
    EXPECT_EQ(ev.reason, SessionEndReason::handed_over);
  }
}

// Our own established session back from the peer's resync after a restart (the peer removed
// its rules at the hand-back) goes to the offload manager at once; and at a hand-back a full
// mgmt ring does not hold the offload manager's `closed` (each consumer when its ring has room).
TEST(HaFollowerSweep, OursAppliedEstablishedIsOffloadedAtOnceAndEachConsumerTakesTheHandBackOnItsOwn) {
  test::Router r(hub_config("hub-b", "10.2.0.3/24", "172.16.0.3/24"), hub_b_alone());
  Worker& w = r.worker();
  HaDataplane& ha = r.shared().ha;
  rte_ring* offload = offload_events(r);
  std::string err;
  ASSERT_TRUE(r.shared().enable_events(EventConsumer::ipfix, 64, SOCKET_ID_ANY, err)) << err;
  rte_ring* mgmt = r.shared().event_ring(EventConsumer::ipfix, 0);
  const auto drain = drain_events;
  PeerSessionOp op{};
  op.kind = PeerSessionOpKind::upsert;
  op.session = hub_session(r.model(), kHubB, 46300, 0);  // on our own waypoint
  op.session.flags |= kEstablished;
  w.ha().apply(op);
  std::vector<SessionEvent> got = drain(offload);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].kind, SessionEventKind::established);
  EXPECT_EQ(w.counters().get(Counter::ha_sessions_reoffloaded), 1u);
  EXPECT_EQ(drain(mgmt).size(), 1u) << "and REST lists it";

  // One of the peer's, taken over, then handed back while the mgmt thread reads nothing.
  op.session = hub_session(r.model(), kHubA, 46301, 0);
  op.session.flags |= kEstablished;
  w.ha().apply(op);
  ha.adopt_peer.store(true);
  ha.ownership_gen.fetch_add(1);
  w.set_now_ms(1000);
  w.poll_once();
  w.poll_once();
  drain(offload);
  drain(mgmt);
  fill_to_reserve(mgmt);
  ha.adopt_peer.store(false);
  ha.ownership_gen.fetch_add(1);
  w.poll_once();
  got = drain(offload);
  ASSERT_EQ(got.size(), 1u) << "the NIC's rules go although REST cannot be told yet";
  EXPECT_EQ(got[0].kind, SessionEventKind::closed);
  EXPECT_EQ(got[0].reason, SessionEndReason::handed_over);
  drain(mgmt);
  w.poll_once();
  got = drain(mgmt);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].reason, SessionEndReason::handed_over);
  EXPECT_LE(drain(offload).size(), 1u) << "told again at most once (the manager ignores it)";
}

TEST_F(HaPair, SurvivorAdoptsSessionsThenTakesTheAddressesAndForwards) {
  Session s = hub_session(*a->model, kHubA, 43000, static_cast<uint32_t>(now));
  a->create(s);
  run({a.get(), b.get()}, now);
  ASSERT_NE(b->find(s), nullptr);
  EXPECT_FALSE(b->shared.ha.holds_peer_address(kHubA));
  uint32_t announced = b->shared.ha.announce_gen.load();

  // hub-a's process dies: CPG reports it left.
  bus.leave({1, 101});
  a.reset();
  run({b.get()}, now, 10);
  EXPECT_TRUE(b->shared.ha.holds_peer_address(kHubA));
  EXPECT_EQ(b->shared.ha.announce_gen.load(), announced + 1) << "one gratuitous ARP round for the takeover";
  EXPECT_FALSE(b->find(s)->flags & kPeerSession) << "now ours to age";
  EXPECT_EQ(b->node->status().get(HaStatus::Counter::takeovers), 1u);

  // r1's next packet to hub-a's waypoint is forwarded by hub-b to the server.
  const FiveTuple in = s.out_rev.tuple.reversed();
  auto frame = Pkt().eth().ipv4(in.src, in.dst).tcp(in.sport, in.dport).payload("data").bytes();
  rte_mbuf* m = Pkt::to_mbuf(test::test_pool(), frame, 1);
  Worker& owner = b->router.worker(owner_worker(s, 2));
  owner.receive(&m, 1);
  owner.flush();
  ASSERT_EQ(b->router.transmitted().size(), 1u);
  test::Frame out{b->router.transmitted()[0].raw, 0};
  EXPECT_EQ(out.src(), kClient) << "restored with the synced NAT binding";
  EXPECT_EQ(out.dst(), kServer);
}

TEST_F(HaPair, ReturningPeerResyncsThenTakesItsAddressesBack) {
  Session s1 = hub_session(*a->model, kHubA, 44000, static_cast<uint32_t>(now));
  a->create(s1);
  run({a.get(), b.get()}, now);
  bus.leave({1, 101});
  a.reset();
  run({b.get()}, now, 10);
  ASSERT_TRUE(b->shared.ha.peer_taken.load());
  // Meanwhile hub-b carries a new session on hub-a's waypoint and one on its own.
  Session s2 = hub_session(*b->model, kHubA, 44001, static_cast<uint32_t>(now));
  Session s3 = hub_session(*b->model, kHubB, 44002, static_cast<uint32_t>(now));
  b->create(s2);
  b->create(s3);
  run({b.get()}, now, 5);
  // hub-b's mgmt feed (REST, IPFIX) from here on.
  std::string err;
  ASSERT_TRUE(b->shared.enable_events(EventConsumer::ipfix, 4096, SOCKET_ID_ANY, err)) << err;
  auto mgmt_events = [&] {
    std::vector<SessionEvent> out;
    SessionEvent ev;
    for (uint32_t w = 0; w < b->shared.workers; ++w)
      while (rte_ring_sc_dequeue_elem(b->shared.event_ring(EventConsumer::ipfix, w), &ev, sizeof ev) == 0)
        out.push_back(ev);
    return out;
  };

  a = std::make_unique<Hub>(bus, hub_config("hub-a", "10.2.0.2/24", "172.16.0.2/24"), 3, 1, kHubB);
  a->step(now);
  EXPECT_FALSE(a->shared.ha.own_held.load()) << "not before the resync";
  run({a.get(), b.get()}, now, 40);
  EXPECT_EQ(a->node->status().get(HaStatus::Counter::resyncs_received), 1u);
  for (const Session* s : {&s1, &s2, &s3}) ASSERT_NE(a->find(*s), nullptr);
  EXPECT_FALSE(a->find(s1)->flags & kPeerSession) << "on hub-a's waypoint: hub-a's again";
  EXPECT_TRUE(a->find(s3)->flags & kPeerSession);
  EXPECT_TRUE(a->shared.ha.own_held.load());
  EXPECT_FALSE(b->shared.ha.peer_taken.load()) << "hub-b handed the addresses back";
  EXPECT_TRUE(b->find(s1)->flags & kPeerSession);
  EXPECT_EQ(b->sessions(), 3u) << "nothing dropped on the way back";
  // hub-b's REST forgets the two it gave back (IPFIX exports nothing for them: SessionFeed);
  // hub-b's own goes on.
  std::multiset<SessionUuid> forgotten;
  for (const SessionEvent& ev : mgmt_events()) {
    EXPECT_EQ(ev.kind, SessionEventKind::closed);
    EXPECT_EQ(ev.reason, SessionEndReason::handed_over);
    forgotten.insert(ev.session.uuid);
  }
  EXPECT_EQ(forgotten, (std::multiset<SessionUuid>{s1.uuid, s2.uuid})) << "each once";
}

TEST_F(HaPair, DroppedEventsTriggerARepublishOfThatWorker) {
  Session s = hub_session(*a->model, kHubA, 45000, static_cast<uint32_t>(now));
  Worker& w = a->router.worker(owner_worker(s, 3));
  Session* p = w.table().allocate();
  *p = s;
  ASSERT_TRUE(w.table().insert(p));
  w.counters().add(Counter::ha_events_dropped);  // its "created" event was lost
  run({a.get(), b.get()}, now);
  EXPECT_NE(b->find(s), nullptr);
  EXPECT_EQ(a->node->status().get(HaStatus::Counter::republish_requests), 1u);
}

TEST_F(HaPair, LosingCorosyncGivesTheAddressesUp) {
  a->transport->dead_ = true;
  run({a.get()}, now, 2);
  EXPECT_FALSE(a->shared.ha.own_held.load());
  EXPECT_EQ(a->node->status().get(HaStatus::Counter::transport_lost), 1u);
}

}  // namespace
}  // namespace wp::ha

namespace wp::ha {
namespace {

TEST_F(HaPair, PeerArpForATakenAddressWhileItIsNoMemberIsASplitBrain) {
  bus.leave({1, 101});  // the link between the hubs is cut: a is alive but not in b's group
  run({b.get()}, now, 10);
  ASSERT_TRUE(b->shared.ha.peer_taken.load());
  b->shared.ha.split_brain_arps.fetch_add(1);  // control saw hub-a's MAC announce 172.16.0.2
  run({b.get()}, now, 2);
  EXPECT_EQ(b->node->status().get(HaStatus::Counter::split_brain_detected), 1u);
  EXPECT_TRUE(b->shared.ha.peer_taken.load()) << "documented: both keep forwarding until the group heals";
}

}  // namespace
}  // namespace wp::ha

// --- quorum and ownership epochs ----------------------------------------------------

namespace wp::ha {
namespace {

// Steps of 2 ms until `ms` have passed.
void run_for(std::initializer_list<Hub*> hubs, uint64_t& now, uint64_t ms) { run(hubs, now, static_cast<int>(ms / 2) + 1); }

// The sequence that split the pair: hub-a's corosync restarts while hub-b
// serves; hub-a's waypointd reconnects to a new corosync that has formed a
// one-node ring and is not quorate yet (wait_for_all), then the rings merge,
// and votequorum says "quorate" before CPG reports hub-b's member.
TEST_F(HaPair, RestartedCorosyncTakesNothingUntilItResyncedWithThePeer) {
  Session mine = hub_session(*a->model, kHubA, 46000, static_cast<uint32_t>(now));
  Session theirs = hub_session(*b->model, kHubB, 46001, static_cast<uint32_t>(now));
  a->create(mine);
  b->create(theirs);
  run({a.get(), b.get()}, now);

  const uint64_t resyncs = a->node->status().get(HaStatus::Counter::resyncs_received);
  Bus restarted(/*quorate=*/false, {1});
  a->ring = &restarted;
  a->transport->dead_ = true;
  bus.leave({1, 101});
  run_for({a.get(), b.get()}, now, 1200);  // hub-a reconnects after reconnect_ms
  ASSERT_EQ(a->node->status().get(HaStatus::Counter::transport_lost), 1u);
  ASSERT_EQ(a->transport->local_node(), 1u);
  EXPECT_TRUE(b->shared.ha.peer_taken.load()) << "hub-b stays quorate (two_node) and carries both";
  EXPECT_FALSE(a->node->quorate());
  EXPECT_FALSE(a->shared.ha.peer_taken.load()) << "alone but not quorate: the peer's addresses stay the peer's";
  EXPECT_FALSE(a->shared.ha.own_held.load()) << "not even its own before a resync";

  restarted.quorum(true, {1, 2});  // the rings merged: quorate before hub-b's CPG member shows up
  run_for({a.get(), b.get()}, now, 100);
  EXPECT_FALSE(a->shared.ha.peer_taken.load()) << "hub-b's corosync is in the membership: wait for its waypointd";
  EXPECT_EQ(a->node->status().get(HaStatus::Counter::takeovers), 0u);

  a->transport->move_to(bus);
  run({a.get(), b.get()}, now, 40);
  EXPECT_EQ(a->node->status().get(HaStatus::Counter::resyncs_received), resyncs + 1);
  EXPECT_TRUE(a->shared.ha.own_held.load());
  EXPECT_FALSE(a->shared.ha.peer_taken.load());
  EXPECT_FALSE(b->shared.ha.peer_taken.load()) << "hub-b handed hub-a's addresses back";
  EXPECT_TRUE(b->shared.ha.own_held.load());
  ASSERT_NE(a->find(theirs), nullptr);
  EXPECT_NE(a->find(mine), nullptr);
  EXPECT_EQ(a->node->status().get(HaStatus::Counter::takeovers), 0u) << "no split-brain takeover";
  EXPECT_EQ(b->node->status().get(HaStatus::Counter::split_brain_detected), 0u);
  EXPECT_GT(a->node->epoch(), 0u);
  EXPECT_EQ(a->node->epoch(), a->shared.ha.epoch.load()) << "what the gratuitous ARPs carry";
}

TEST_F(HaPair, AloneInAQuorateGroupWithThePeersCorosyncUpTakesOverAfterTheGrace) {
  Bus restarted(/*quorate=*/true, {1, 2});  // hub-b's corosync is up, its waypointd is not in the group
  a->ring = &restarted;
  a->transport->dead_ = true;
  run_for({a.get()}, now, 1100);
  EXPECT_FALSE(a->shared.ha.peer_taken.load());
  run_for({a.get()}, now, 2100);
  EXPECT_TRUE(a->shared.ha.peer_taken.load());
  EXPECT_TRUE(a->shared.ha.own_held.load());
}

TEST_F(HaPair, WithoutQuorumThePeersAddressesGoAtOnceAndOursAfterTheReleaseTime) {
  bus.leave({1, 101});
  a.reset();
  run({b.get()}, now, 10);
  ASSERT_TRUE(b->shared.ha.peer_taken.load());
  bus.quorum(false, {2});
  run({b.get()}, now, 2);
  EXPECT_FALSE(b->shared.ha.peer_taken.load());
  EXPECT_TRUE(b->shared.ha.own_held.load()) << "kept for unquorate_release_ms";
  run_for({b.get()}, now, 1100);
  EXPECT_FALSE(b->shared.ha.own_held.load());
  EXPECT_EQ(b->node->status().get(HaStatus::Counter::quorum_lost), 1u);
  bus.quorum(true, {2});
  run({b.get()}, now, 10);
  EXPECT_TRUE(b->shared.ha.own_held.load()) << "quorate again and the peer still gone";
  EXPECT_TRUE(b->shared.ha.peer_taken.load());
}

TEST_F(HaPair, TheOlderClaimOnAnAddressYields) {
  bus.leave({1, 101});  // the ring link is cut: hub-a is alive
  run({b.get()}, now, 10);
  ASSERT_TRUE(b->shared.ha.peer_taken.load());
  const uint64_t taken = b->node->epoch();
  ASSERT_GT(taken, 1u);
  b->shared.ha.owner_claim_epoch.store(taken - 1);  // hub-a's announcement from before our takeover
  run({b.get()}, now, 5);
  EXPECT_TRUE(b->shared.ha.peer_taken.load()) << "a stale owner announcement";
  b->shared.ha.owner_claim_epoch.store(taken + 1);  // hub-a defends its address
  run_for({b.get()}, now, 3000);
  EXPECT_FALSE(b->shared.ha.peer_taken.load()) << "the owner is alive and newer: hub-b yields";
  EXPECT_EQ(b->node->status().get(HaStatus::Counter::ownership_yields), 1u);
  EXPECT_TRUE(b->shared.ha.own_held.load());

  // Later hub-a really goes: hub-b's new takeover is newer than that old announcement.
  bus.join({1, 101});
  run({b.get()}, now, 5);
  bus.leave({1, 101});
  run({b.get()}, now, 10);
  EXPECT_TRUE(b->shared.ha.peer_taken.load()) << "an announcement from before this takeover does not undo it";
  EXPECT_EQ(b->node->status().get(HaStatus::Counter::ownership_yields), 1u);

  // hub-a announces hub-b's address as taken over: hub-b, quorate, defends it.
  uint32_t announced = b->shared.ha.announce_gen.load();
  b->shared.ha.takeover_claim_epoch.store(b->node->epoch() + 4);
  run({b.get()}, now, 2);
  EXPECT_EQ(b->node->status().get(HaStatus::Counter::address_defenses), 1u);
  EXPECT_EQ(b->shared.ha.announce_gen.load(), announced + 1);
  EXPECT_GT(b->shared.ha.epoch.load(), b->shared.ha.takeover_claim_epoch.load()) << "the defence is newer";
}

TEST_F(HaPair, ATakebackOlderThanOurTakeoverIsIgnored) {
  bus.leave({1, 101});
  a.reset();
  run({b.get()}, now, 10);
  ASSERT_TRUE(b->shared.ha.peer_taken.load());
  const uint64_t taken = b->node->epoch();
  bus.join({1, 101});  // hub-a's member is back
  MessageStamp stamp(1, ~0ull >> 1);  // a new incarnation of hub-a
  auto takeback = [&](uint64_t epoch) {
    pb::HaMessage m;
    m.mutable_takeback();
    m.set_epoch(epoch);
    bus.log.push_back(std::make_pair(Member{1, 101}, stamp.finish(m)));
    run({b.get()}, now, 2);
  };
  takeback(taken);
  EXPECT_TRUE(b->shared.ha.peer_taken.load()) << "not newer than our takeover";
  EXPECT_EQ(b->node->status().get(HaStatus::Counter::stale_messages), 1u);
  takeback(taken + 1);
  EXPECT_FALSE(b->shared.ha.peer_taken.load());
  EXPECT_EQ(b->node->status().get(HaStatus::Counter::handbacks), 1u);
}

TEST(HaArpClaim, RoundTripsInTheArpPaddingAndIgnoresOtherPadding) {
  uint8_t frame[60] = {};
  EXPECT_FALSE(read_ha_arp_claim(frame, sizeof frame).present) << "zero padding: no claim";
  write_ha_arp_claim(frame + kHaArpClaimOffset, true, 0x0102030405060708ull);
  HaArpClaim c = read_ha_arp_claim(frame, sizeof frame);
  EXPECT_TRUE(c.present);
  EXPECT_TRUE(c.owner);
  EXPECT_EQ(c.epoch, 0x0102030405060708ull);
  EXPECT_FALSE(read_ha_arp_claim(frame, kHaArpClaimOffset + 8).present) << "cut short";
  write_ha_arp_claim(frame + kHaArpClaimOffset, false, 9);
  c = read_ha_arp_claim(frame, sizeof frame);
  EXPECT_FALSE(c.owner);
  EXPECT_EQ(c.epoch, 9u);
}

}  // namespace
}  // namespace wp::ha

// --- acknowledged replication --------------------------------------------------------

namespace wp::ha {
namespace {

TEST(HaLedger, AcksAreCumulativeAndTheLagIsTheOldestUnacknowledged) {
  ReplicationLedger l(/*max_ops=*/10);
  l.sent({1, 1000, 3, "a"});
  l.sent({2, 1010, 4, "b"});
  l.sent({3, 1020, 2, "c"});
  EXPECT_EQ(l.unacked_ops(), 9u);
  EXPECT_EQ(l.lag_ms(1050), 50u);
  l.acked(2);
  EXPECT_EQ(l.unacked_ops(), 2u);
  EXPECT_EQ(l.lag_ms(1050), 30u);
  l.sent({4, 1030, 9, "d"});  // over the bound: the oldest is forgotten
  EXPECT_EQ(l.forgotten_ops(), 2u);
  auto rest = l.take_unacked();
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].bytes, "d");
  EXPECT_EQ(l.unacked_ops(), 0u);
  EXPECT_EQ(l.lag_ms(5000), 0u);
}

uint64_t lag_sessions(Hub& h) { return h.node->status().replication_lag_sessions.load(); }

TEST_F(HaPair, TheCreatorKnowsWhatThePeerHoldsAndReportsTheLag) {
  for (uint16_t p = 0; p < 12; ++p)
    a->create(hub_session(*a->model, kHubA, static_cast<uint16_t>(47100 + p), static_cast<uint32_t>(now)));
  now += 2;
  a->step(now);
  now += 2;
  a->step(now);  // sent, the peer has not read them yet
  EXPECT_EQ(lag_sessions(*a), 12u);
  EXPECT_NE(a->node->status().json().find("\"replication_lag_sessions\": 12"), std::string::npos);
  run({a.get(), b.get()}, now);
  EXPECT_EQ(lag_sessions(*a), 0u);
  EXPECT_GT(a->node->status().get(HaStatus::Counter::acks_received), 0u);
  EXPECT_NE(a->node->status().metrics("router=\"hub-a\"").find("waypoint_ha_replication_lag_sessions{router=\"hub-a\"} 0"),
            std::string::npos);
}

// Two young sessions go to a corosync that dies before delivering them; the
// peer takes over without them. When the pair re-forms they are the first
// thing sent, before the full resync (which waits for every worker's sweep).
TEST_F(HaPair, SessionsThePeerNeverAcknowledgedAreSentFirstWhenThePairReforms) {
  Session old = hub_session(*a->model, kHubA, 47000, static_cast<uint32_t>(now));
  a->create(old);
  run({a.get(), b.get()}, now);
  ASSERT_EQ(lag_sessions(*a), 0u);
  Session young[2] = {hub_session(*a->model, kHubA, 47001, static_cast<uint32_t>(now)),
                      hub_session(*a->model, kHubA, 47002, static_cast<uint32_t>(now))};
  for (const Session& s : young) a->create(s);
  a->transport->swallow_ = true;
  run({a.get()}, now, 3);
  ASSERT_EQ(lag_sessions(*a), 2u);
  a->transport->dead_ = true;
  bus.leave({1, 101});
  Bus restarted(/*quorate=*/false, {1});
  a->ring = &restarted;
  run_for({a.get(), b.get()}, now, 1100);
  ASSERT_TRUE(b->shared.ha.peer_taken.load());
  ASSERT_EQ(b->find(young[0]), nullptr) << "lost with corosync";

  restarted.quorum(true, {1, 2});
  a->transport->move_to(bus);
  now += 2;
  a->node->poll(now);  // hub-a's workers have not swept their tables: no resync yet
  for (int i = 0; i < 2; ++i) b->step(now += 2);
  EXPECT_NE(b->find(young[0]), nullptr);
  EXPECT_NE(b->find(young[1]), nullptr);
  EXPECT_EQ(a->node->status().get(HaStatus::Counter::sessions_resent), 2u);
  run({a.get(), b.get()}, now, 40);
  EXPECT_EQ(lag_sessions(*a), 0u);
}

}  // namespace
}  // namespace wp::ha

// --- reconcile on resync ------------------------------------------------------------

namespace wp::ha {
namespace {

TEST_F(HaPair, AResyncRemovesThePeerCopyOfASessionWhoseClosedEventWasLost) {
  Session gone = hub_session(*a->model, kHubA, 48000, static_cast<uint32_t>(now));
  Session kept = hub_session(*a->model, kHubA, 48001, static_cast<uint32_t>(now));
  a->create(gone);
  a->create(kept);
  run({a.get(), b.get()}, now);
  ASSERT_NE(b->find(gone), nullptr);
  a->owner(gone).table().remove(a->find(gone));  // closed on hub-a; the `closed` event is lost
  run({a.get(), b.get()}, now);
  ASSERT_NE(b->find(gone), nullptr) << "a stale copy";

  // hub-b's ring membership flaps (not quorate meanwhile): the pair re-forms and resyncs.
  Bus flap(/*quorate=*/false, {2});
  b->transport->move_to(flap);
  run({a.get(), b.get()}, now, 5);
  b->transport->move_to(bus);
  run({a.get(), b.get()}, now, 60);
  EXPECT_EQ(b->find(gone), nullptr) << "removed on resync, not when it ages out";
  EXPECT_NE(b->find(kept), nullptr);
  EXPECT_EQ(b->node->status().get(HaStatus::Counter::sessions_reconciled), 1u);
  EXPECT_TRUE(b->find(kept)->flags & kPeerSession);
}

// --- #17: the receiver's backlog of peer ops (peer_backlog.h) ------------------

// An op told apart by its creation time.
PeerSessionOp numbered_op(uint32_t i) {
  PeerSessionOp op{};
  op.kind = PeerSessionOpKind::upsert;
  op.session.created_ms = i;
  return op;
}

// Dequeues what `ring` holds, expecting created_ms next, next + 1, ...
uint32_t drain_in_order(rte_ring* ring, uint32_t& next) {
  PeerSessionOp op;
  uint32_t n = 0;
  while (rte_ring_sc_dequeue_elem(ring, &op, sizeof(op)) == 0) {
    EXPECT_EQ(op.session.created_ms, next);
    ++next;
    ++n;
  }
  return n;
}

TEST(HaPeerBacklog, KeepsEachWorkersOrderAcrossBlocksAndReusesThem) {
  test::test_pool();  // the EAL, for rte_rings
  constexpr uint32_t kRing = 64, kOps = 3 * PeerBacklog::kBlockOps + 17;  // several blocks and a partial one
  std::vector<rte_ring*> inbound;
  for (const char* name : {"ut_backlog_w0", "ut_backlog_w1"})
    inbound.push_back(rte_ring_create_elem(name, sizeof(PeerSessionOp), kRing, SOCKET_ID_ANY,
                                           RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ));
  ASSERT_NE(inbound[0], nullptr);
  ASSERT_NE(inbound[1], nullptr);
  PeerBacklog b(2, 1u << 20);
  for (uint32_t i = 0; i < kOps; ++i) {
    ASSERT_TRUE(b.add(0, numbered_op(i), inbound));
    ASSERT_TRUE(b.add(1, numbered_op(100000 + i), inbound));
  }
  // The rings took what fits; the rest waits here, in blocks of kBlockOps.
  EXPECT_EQ(b.size(), 2 * (kOps - kRing));
  const size_t blocks = 2 * ((kOps - kRing + PeerBacklog::kBlockOps - 1) / PeerBacklog::kBlockOps);
  EXPECT_EQ(b.blocks_held(), blocks);
  EXPECT_FALSE(b.idle(inbound));
  EXPECT_EQ(b.push(inbound), 0u) << "full rings take nothing";
  uint32_t next0 = 0, next1 = 100000;
  // The worker takes a few at a time; each push refills the ring, order kept.
  while (b.size()) {
    PeerSessionOp op;
    for (int k = 0; k < 40 && rte_ring_sc_dequeue_elem(inbound[0], &op, sizeof(op)) == 0; ++k)
      EXPECT_EQ(op.session.created_ms, next0++);
    drain_in_order(inbound[1], next1);
    b.push(inbound);
  }
  drain_in_order(inbound[0], next0);
  drain_in_order(inbound[1], next1);
  EXPECT_EQ(next0, kOps);
  EXPECT_EQ(next1, 100000 + kOps);
  EXPECT_TRUE(b.idle(inbound));
  EXPECT_EQ(b.blocks_held(), blocks) << "emptied blocks are kept as spares";
  // Again: the spares serve, and an empty backlog hands ops straight to the ring.
  ASSERT_TRUE(b.add(0, numbered_op(kOps), inbound));
  EXPECT_EQ(b.size(), 0u);
  for (uint32_t i = 1; i <= kRing + 5; ++i) ASSERT_TRUE(b.add(0, numbered_op(kOps + i), inbound));
  EXPECT_EQ(b.size(), 6u);
  EXPECT_EQ(b.blocks_held(), blocks);
  EXPECT_EQ(drain_in_order(inbound[0], next0), kRing);
  EXPECT_EQ(b.push(inbound), 6u);
  EXPECT_EQ(drain_in_order(inbound[0], next0), 6u);
  EXPECT_EQ(next0, kOps + kRing + 6);
  for (rte_ring* r : inbound) rte_ring_free(r);
}

TEST(HaPeerBacklog, RefusesBeyondItsBoundAndKeepsAtMostTheSpareBlocks) {
  PeerBacklog small(1, 5);
  for (uint32_t i = 0; i < 5; ++i) EXPECT_TRUE(small.add(0, numbered_op(i)));
  EXPECT_FALSE(small.add(0, numbered_op(5)));
  EXPECT_EQ(small.size(), 5u);

  test::test_pool();
  rte_ring* ring = rte_ring_create_elem("ut_backlog_big", sizeof(PeerSessionOp), 1u << 16, SOCKET_ID_ANY,
                                        RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ);
  ASSERT_NE(ring, nullptr);
  const std::vector<rte_ring*> inbound{ring};
  PeerBacklog b(1, 1u << 20);
  const uint32_t n = static_cast<uint32_t>((PeerBacklog::kSpareBlocks + 8) * PeerBacklog::kBlockOps);
  for (uint32_t i = 0; i < n; ++i) ASSERT_TRUE(b.add(0, numbered_op(i)));
  EXPECT_EQ(b.blocks_held(), PeerBacklog::kSpareBlocks + 8);
  EXPECT_EQ(b.push(inbound), n);
  uint32_t next = 0;
  EXPECT_EQ(drain_in_order(ring, next), n);
  EXPECT_EQ(b.blocks_held(), PeerBacklog::kSpareBlocks) << "blocks beyond the spares go back to the heap";
  rte_ring_free(ring);
}

// --- #17: the HA sender thread (sync_encoder.h, spsc_queue.h) ------------------

TEST(HaSpscQueue, RefusesWhenFullKeepsFifoOrderAcrossTheWrap) {
  SpscQueue<std::unique_ptr<int>> q(3);  // rounded up to 4
  EXPECT_EQ(q.capacity(), 4u);
  int next = 0, expect = 0;
  for (int round = 0; round < 5; ++round) {  // wraps the indexes several times
    for (;;) {
      auto v = std::make_unique<int>(next);
      if (!q.push(v)) {
        ASSERT_NE(v, nullptr) << "a refused value stays with the producer";
        EXPECT_EQ(*v, next);
        break;
      }
      EXPECT_EQ(v, nullptr);
      ++next;
    }
    EXPECT_EQ(q.size(), 4u);
    std::unique_ptr<int> out;
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE(q.pop(out));
      EXPECT_EQ(*out, expect++);
    }
  }
  std::unique_ptr<int> out;
  while (q.pop(out)) EXPECT_EQ(*out, expect++);
  EXPECT_EQ(expect, next);
  EXPECT_TRUE(q.empty());
  EXPECT_FALSE(q.pop(out));
}

TEST(HaSpscQueue, TwoThreadsSeeEveryValueOnceInOrder) {
  SpscQueue<uint64_t> q(64);
  constexpr uint64_t kN = 200000;
  std::thread producer([&] {
    for (uint64_t i = 1; i <= kN;) {
      uint64_t v = i;
      if (q.push(v))
        ++i;
      else
        std::this_thread::yield();  // full: the consumer is behind
    }
  });
  uint64_t expect = 1, v = 0;
  while (expect <= kN) {
    if (!q.pop(v)) {
      std::this_thread::yield();
      continue;
    }
    ASSERT_EQ(v, expect);
    ++expect;
  }
  producer.join();
  EXPECT_TRUE(q.empty());
}

// A full queue to the HA thread stops the draining: the events wait in the
// worker's ring (nothing dropped, nothing counted as lost) and all go out,
// in order, once the HA thread takes again.
TEST(HaSyncEncoder, AFullQueueLeavesEventsInTheRingAndLosesNothing) {
  Bus bus;
  Hub a(bus, hub_config("hub-a", "10.2.0.2/24", "172.16.0.2/24"), 1, 1, kHubB);
  HaStatus status;
  SyncEncoder::Settings es;
  es.limits.max_ops = 8;
  es.queue_messages = 2;
  SyncEncoder enc(a.shared, status, DataplaneClock::now(), es);
  enc.set_peer_present(true);
  constexpr uint16_t kN = 200;
  for (uint16_t p = 0; p < kN; ++p) a.create(hub_session(*a.model, kHubA, static_cast<uint16_t>(46000 + p), 1000));
  rte_ring* ring = a.shared.event_ring(EventConsumer::ha, 0);
  for (int i = 0; i < 5; ++i) enc.poll(1'000'000 + i);
  EXPECT_EQ(enc.queued(), 2u);
  EXPECT_GT(rte_ring_count(ring), 0u) << "the rest waits in the worker's ring";
  EXPECT_EQ(a.router.worker(0).counters().get(Counter::ha_events_dropped), 0u);
  // The HA thread takes again: every session arrives, batch after batch, in the order posted.
  std::vector<uint16_t> ports;
  std::unique_ptr<EncodedMessage> e;
  PackedOpsReader reader;
  for (int i = 0; i < 200 && ports.size() < kN; ++i) {
    enc.poll(1'000'010 + i);
    while (enc.take(e)) {
      ASSERT_EQ(e->kind, EncodedMessage::Kind::batch);
      pb::HaMessage m;
      ASSERT_TRUE(m.ParseFromString(e->body));
      BodyCodec codec;
      ASSERT_TRUE(expand_body(m, codec));
      std::string err;
      ASSERT_TRUE(reader.open(m.batch().packed(), err)) << err;
      EXPECT_EQ(reader.size(), e->sessions);
      for (size_t r = 0; r < reader.size(); ++r) {
        PackedKind kind;
        Session s;
        ASSERT_TRUE(reader.decode(r, *a.model, DataplaneClock::now(), nullptr, kind, s, err)) << err;
        ports.push_back(s.original.sport);
      }
    }
  }
  ASSERT_EQ(ports.size(), kN);
  for (uint16_t p = 0; p < kN; ++p) EXPECT_EQ(ports[p], 46000 + p);
  EXPECT_EQ(rte_ring_count(ring), 0u);
}

// A resync ends behind its last chunk with the counts; a reset voids it.
TEST(HaSyncEncoder, AResyncEndsBehindItsChunksAndAResetVoidsIt) {
  Bus bus;
  Hub a(bus, hub_config("hub-a", "10.2.0.2/24", "172.16.0.2/24"), 1, 1, kHubB);
  HaStatus status;
  SyncEncoder::Settings es;
  es.limits.max_ops = 8;
  SyncEncoder enc(a.shared, status, DataplaneClock::now(), es);
  Worker& w = a.router.worker(0);
  auto sweep = [&](uint16_t base, uint16_t n) {
    for (uint16_t p = 0; p < n; ++p)
      w.post_event(SessionEventKind::update, hub_session(*a.model, kHubA, static_cast<uint16_t>(base + p), 1000));
  };
  enc.begin_resync(77);
  sweep(47000, 20);
  enc.finish_resync();
  std::vector<EncodedMessage::Kind> kinds;
  uint64_t chunk_sessions = 0;
  std::unique_ptr<EncodedMessage> e, done;
  for (int i = 0; i < 5; ++i) enc.poll(1'000'000 + i);
  while (enc.take(e)) {
    kinds.push_back(e->kind);
    if (e->kind == EncodedMessage::Kind::chunk) {
      chunk_sessions += e->sessions;
      EXPECT_EQ(e->resync_id, 77u);
    }
    if (e->kind == EncodedMessage::Kind::resync_done) done = std::move(e);
  }
  ASSERT_NE(done, nullptr);
  EXPECT_EQ(kinds.back(), EncodedMessage::Kind::resync_done);
  EXPECT_EQ(done->resync_id, 77u);
  EXPECT_EQ(done->chunks, 3u) << "20 sessions in chunks of 8";
  EXPECT_EQ(done->sessions, 20u);
  EXPECT_EQ(chunk_sessions, 20u);
  // Begun, reset (corosync lost): nothing of it goes out, no done.
  enc.begin_resync(78);
  sweep(47100, 5);
  enc.poll(1'000'100);
  enc.reset();
  enc.finish_resync();
  for (int i = 0; i < 5; ++i) enc.poll(1'000'200 + i);
  while (enc.take(e)) EXPECT_NE(e->kind, EncodedMessage::Kind::resync_done) << "a voided resync has no end";
}

// The sender thread: two nodes sync through it (a on its own thread), and
// stopping it joins the thread even with messages left in the queue.
TEST(HaSyncEncoder, ASenderThreadSyncsThePairAndStopsCleanly) {
  Bus bus;
  auto a = std::make_unique<Hub>(bus, hub_config("hub-a", "10.2.0.2/24", "172.16.0.2/24"), 3, 1, kHubB, true);
  auto b = std::make_unique<Hub>(bus, hub_config("hub-b", "10.2.0.3/24", "172.16.0.3/24", true), 2, 2, kHubA);
  uint64_t now = 1'000'000;
  run({a.get(), b.get()}, now, 30);
  ASSERT_TRUE(a->node->peer_present());
  constexpr uint16_t kN = 120;
  for (uint16_t p = 0; p < kN; ++p)
    a->create(hub_session(*a->model, kHubA, static_cast<uint16_t>(48000 + p), static_cast<uint32_t>(now)));
  // The sender runs on its own clock: wait (bounded) for it, not for a fixed time.
  for (int i = 0; i < 5000 && b->sessions() < kN; ++i) {
    run({a.get(), b.get()}, now, 1);
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  EXPECT_EQ(b->sessions(), kN);
  EXPECT_EQ(a->node->status().get(HaStatus::Counter::sessions_sent), kN);
  for (int i = 0; i < 5000 && a->node->status().replication_lag_sessions.load() > 0; ++i) {
    run({a.get(), b.get()}, now, 1);
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  EXPECT_EQ(a->node->status().replication_lag_sessions.load(), 0u) << "the peer acknowledged what the sender packed";
  // More events, then stop at once: the thread ends whatever is still queued.
  for (uint16_t p = 0; p < 30; ++p)
    a->create(hub_session(*a->model, kHubA, static_cast<uint16_t>(48150 + p), static_cast<uint32_t>(now)));
  const auto t0 = std::chrono::steady_clock::now();
  a->node->stop_sender();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  a.reset();  // the destructor stops it again: idempotent
}

}  // namespace
}  // namespace wp::ha
