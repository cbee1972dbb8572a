// HA of sessions with a leg through an IPsec tunnel (docs/ipsec.md § HA):
// the leg travels by the tunnel's name in both encodings (the protobuf Leg's
// `tunnel`, the packed record's byte 5 and peer name index), the receiver
// puts it into its own tunnel of that name (another index when its tunnels
// are in another order) and refuses it, counted, when it has none. In a pair
// of in-process nodes (real workers, real HaNodes on the loopback bus), a
// session the site opened through hub-a's tunnel reaches hub-b; after hub-a
// dies, hub-b seals the server's reply into the tunnel with the SA it took
// over, without making the session again.
//
// Topology: site 172.16.0.9 (LAN 10.50.0.0/24) ═ tunnel ipsec0 ═ hub-a 172.16.0.2 / hub-b 172.16.0.3,
// both hubs on LAN 10.2.0.0/24 with the server 10.2.0.10.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <vector>

#include "dataplane/ipsec/esp_input.h"
#include "dataplane/ipsec/esp_output.h"
#include "dataplane/session/owner.h"
#include "dataplane/worker/shared.h"
#include "dataplane/worker/worker.h"
#include "ha/ha_node.h"
#include "ha/packed_ops.h"
#include "ha/session_codec.h"
#include "tests/unit/ha_loop_bus.h"
#include "tests/unit/svr_harness.h"

namespace wp::ha {
namespace {

using loopback::Bus;
using loopback::LoopTransport;
using test::add_policy;
using test::add_service;
using test::add_tenant;
using test::ip;
using test::Mac;
using test::Pkt;
using Bytes = std::vector<uint8_t>;

const Ipv4 kSite = ip("172.16.0.9"), kSiteHost = ip("10.50.0.7");
const Ipv4 kHubA = ip("172.16.0.2"), kHubB = ip("172.16.0.3");
constexpr Mac kSiteMac = {2, 0, 0, 0, 9, 9};

// A headend: the site's tunnel ipsec0 (tenant branch) with a route into it,
// the server's LAN as tenant hq. `spare_first`: another tunnel listed before
// ipsec0 (another index for it); `with_ipsec0` false: no ipsec0 at all.
config::Config headend(const char* name, const char* lan, const char* wan, bool spare_first = false,
                       bool with_ipsec0 = true) {
  config::Config c = test::router_base(name, lan, {{"wan0", wan}});
  c.add_tenants()->set_name("branch");
  add_tenant(c, "hq", "10.2.0.0/24");
  add_service(c, {"web", "10.2.0.10/32", "tcp", "80", ""});
  add_service(c, {"site", "10.50.0.0/24", "tcp", "", ""});
  add_policy(c, "branch", "web", "");
  add_policy(c, "hq", "site", "");
  auto tunnel = [&](const char* n) {
    auto* t = c.add_tunnels();
    t->set_name(n);
    t->set_peer("site1");
    t->set_tenant("branch");
    t->set_mtu(1400);
  };
  if (spare_first) tunnel("spare");
  if (with_ipsec0) tunnel("ipsec0");
  if (!with_ipsec0 && !spare_first) tunnel("spare");
  auto* r = c.add_routes();
  r->set_prefix("10.50.0.0/24");
  r->set_interface(with_ipsec0 ? "ipsec0" : "spare");
  return c;
}

int tunnel_index(const RouterModel& rm, const char* name) { return tunnel_by_name(rm, name); }

// The site opened it: side A is the tunnel (replies go back into it), side B the server.
Session from_site(const RouterModel& rm, uint16_t port, uint32_t now) {
  Session s;
  s.original = {kSiteHost, test::kServer, port, 80, 6};
  s.out_rev = {s.original.reversed(), static_cast<Ipv4>(tunnel_index(rm, "ipsec0")), static_cast<int8_t>(kIfaceTunnel), -1};
  s.out_fwd = {s.original, test::kServer, 0, -1};
  for (int i = 0; i < 16; ++i) s.uuid[i] = static_cast<uint8_t>(port + 3 * i);
  s.tenant = static_cast<int16_t>(rm.tenant_by_name("branch"));
  s.service = static_cast<int16_t>(rm.service_by_name("web"));
  s.security = static_cast<int16_t>(rm.policy(s.tenant, s.service));
  s.flags = kReverseSeen | kEstablished;
  s.created_ms = s.last_ms = now;
  s.in_use = 1;
  return s;
}

// The server opened it and the route took it into the tunnel (side B).
Session to_site(const RouterModel& rm, uint16_t port, uint32_t now) {
  Session s;
  s.original = {test::kServer, kSiteHost, port, 22, 6};
  s.out_rev = {s.original.reversed(), test::kServer, 0, -1};
  s.out_fwd = {s.original, static_cast<Ipv4>(tunnel_index(rm, "ipsec0")), static_cast<int8_t>(kIfaceTunnel), -1};
  for (int i = 0; i < 16; ++i) s.uuid[i] = static_cast<uint8_t>(port + 5 * i);
  s.tenant = static_cast<int16_t>(rm.tenant_by_name("hq"));
  s.service = static_cast<int16_t>(rm.service_by_name("site"));
  s.security = static_cast<int16_t>(rm.policy(s.tenant, s.service));
  s.flags = kReverseSeen;
  s.created_ms = s.last_ms = now;
  s.in_use = 1;
  return s;
}

struct Models {
  HmacEngine hmac;
  std::string err;
  std::shared_ptr<const RouterModel> a, b;
  Models(const config::Config& ca, const config::Config& cb) {
    a = RouterModel::build(ca, nullptr, nullptr, hmac, err);
    b = RouterModel::build(cb, nullptr, nullptr, hmac, err);
  }
};

TEST(HaTunnelCodec, TunnelLegsRoundTripByNameInBothEncodings) {
  Models m(headend("hub-a", "10.2.0.2/24", "172.16.0.2/24"), headend("hub-b", "10.2.0.3/24", "172.16.0.3/24", true));
  ASSERT_TRUE(m.a && m.b) << m.err;
  ASSERT_EQ(tunnel_index(*m.a, "ipsec0"), 0);
  ASSERT_EQ(tunnel_index(*m.b, "ipsec0"), 1) << "hub-b lists another tunnel first: the name decides";
  DataplaneClock clock = DataplaneClock::now();
  const Session made[] = {from_site(*m.a, 40000, clock.base_ms - 10), to_site(*m.a, 50000, clock.base_ms - 20)};
  PackedOpsWriter w;
  for (const Session& s : made) w.add(PackedKind::upsert, s, *m.a, clock);
  pb::PackedOps packed;
  w.write_to(packed);
  PackedOpsReader r;
  ASSERT_TRUE(r.open(packed, m.err)) << m.err;
  for (size_t i = 0; i < 2; ++i) {
    const Session& s = made[i];
    pb::SessionRecord rec;
    encode_session(s, *m.a, clock, 1, rec);
    const pb::Leg& tunnel_leg = i == 0 ? rec.out_rev() : rec.out_fwd();
    const pb::Leg& lan_leg = i == 0 ? rec.out_fwd() : rec.out_rev();
    EXPECT_EQ(tunnel_leg.tunnel(), "ipsec0");
    EXPECT_EQ(tunnel_leg.peer(), "");
    EXPECT_EQ(lan_leg.tunnel(), "") << "a LAN leg names no tunnel";
    pb::SessionRecord wire;
    ASSERT_TRUE(wire.ParseFromString(rec.SerializeAsString()));
    Session d{}, p{};
    ASSERT_TRUE(decode_session(wire, *m.b, clock, d, m.err)) << m.err;
    const SideOut& t = i == 0 ? d.out_rev : d.out_fwd;
    const SideOut& l = i == 0 ? d.out_fwd : d.out_rev;
    EXPECT_EQ(t.iface, kIfaceTunnel);
    EXPECT_EQ(t.next_hop, 1u) << "hub-b's own index of ipsec0";
    EXPECT_EQ(t.peer, -1);
    EXPECT_EQ(t.tuple, (i == 0 ? s.out_rev : s.out_fwd).tuple);
    EXPECT_EQ(l.iface, 0);
    EXPECT_EQ(l.next_hop, test::kServer);
    EXPECT_EQ(d.uuid, s.uuid);
    EXPECT_EQ(d.tenant, m.b->tenant_by_name(i == 0 ? "branch" : "hq"));

    PackedKind kind;
    EXPECT_TRUE(r.has_tunnel_leg(i));
    ASSERT_TRUE(r.decode(i, *m.b, clock, nullptr, kind, p, m.err)) << m.err;
    EXPECT_TRUE(d == p) << "record " << i << ": packed decodes as protobuf";
    EXPECT_EQ(packed.records()[i * kPackedRecordBytes + 5], i == 0 ? 2 : 1) << "byte 5: which leg is a tunnel";
  }
  // A plain session (no tunnel leg) still has byte 5 zero: format 1 unchanged for it.
  Session plain = to_site(*m.a, 50001, clock.base_ms);
  plain.out_fwd = {plain.original, test::kServer, 0, -1};
  w.clear();
  w.add(PackedKind::upsert, plain, *m.a, clock);
  w.write_to(packed);
  ASSERT_TRUE(r.open(packed, m.err));
  EXPECT_FALSE(r.has_tunnel_leg(0));
  EXPECT_EQ(packed.records()[5], 0);
}

TEST(HaTunnelCodec, ATunnelTheReceiverDoesNotHaveIsRefusedWithItsName) {
  Models m(headend("hub-a", "10.2.0.2/24", "172.16.0.2/24"),
           headend("hub-b", "10.2.0.3/24", "172.16.0.3/24", true, false));
  ASSERT_TRUE(m.a && m.b) << m.err;
  DataplaneClock clock = DataplaneClock::now();
  const Session s = from_site(*m.a, 40000, clock.base_ms);
  pb::SessionRecord rec;
  encode_session(s, *m.a, clock, 1, rec);
  Session d;
  EXPECT_FALSE(decode_session(rec, *m.b, clock, d, m.err));
  EXPECT_NE(m.err.find("out_rev: tunnel \"ipsec0\" not configured here"), std::string::npos) << m.err;
  PackedOpsWriter w;
  w.add(PackedKind::upsert, s, *m.a, clock);
  pb::PackedOps packed;
  w.write_to(packed);
  PackedOpsReader r;
  ASSERT_TRUE(r.open(packed, m.err));
  PackedKind kind;
  m.err.clear();
  EXPECT_FALSE(r.decode(0, *m.b, clock, nullptr, kind, d, m.err));
  EXPECT_NE(m.err.find("out_rev: tunnel \"ipsec0\" not configured here"), std::string::npos) << m.err;
  // A tunnel leg and a peer on one leg, or unknown bits in byte 5: refused.
  rec.mutable_out_rev()->set_peer("r1");
  EXPECT_FALSE(decode_session(rec, *m.a, clock, d, m.err));
  auto* p = reinterpret_cast<uint8_t*>(packed.mutable_records()->data());
  p[5] = 0x80;
  ASSERT_TRUE(r.open(packed, m.err));
  EXPECT_FALSE(r.decode(0, *m.a, clock, nullptr, kind, d, m.err));
  EXPECT_NE(m.err.find("tunnel legs"), std::string::npos) << m.err;
  p[5] = 0x02;
  ASSERT_TRUE(r.open(packed, m.err));
  ASSERT_TRUE(r.decode(0, *m.a, clock, nullptr, kind, d, m.err)) << m.err;
  EXPECT_EQ(d.out_rev.iface, kIfaceTunnel);
}

// --- a pair: the tunnel's SAs, hubs on the loopback bus ---------------------------------

Bytes keymat(EspCipher c, uint8_t seed) {
  Bytes km(esp_keymat_len(c));
  for (size_t i = 0; i < km.size(); ++i) km[i] = static_cast<uint8_t>(i * 13 + seed);
  return km;
}

// One Child SA of tunnel 0 in UDP 4500 (aes256gcm16): the headend's table
// (hub-a's, or hub-b's after it took the SA over: outbound numbers from
// `seq_start`, as the IKE service installs a taken-over SA) and the site's.
struct ChildSa {
  CryptoEngine eng;
  IvSource ivs{eng};
  EspSa in, out;
  std::unique_ptr<EspSaTable> site = std::make_unique<EspSaTable>();
  EspWorkerState site_state;

  ChildSa() {
    const EspCipher c = EspCipher::aes256_gcm16;
    in.spi = spi_for_tunnel(0x4d2c0000, 0);
    in.generation = 1;
    in.tunnel = 0;
    in.inbound = true;
    in.local = kHubA;  // the SA belongs to hub-a's address, whoever answers for it
    in.peer = kSite;
    in.udp_encap = true;
    esp_keys_init(eng, c, false, keymat(c, 1).data(), in.keys);
    out = in;
    out.spi = 0xc0de0001;
    out.inbound = false;
    esp_keys_init(eng, c, false, keymat(c, 2).data(), out.keys);
    EspSa s_out = in, s_in = out;
    s_out.inbound = false;
    std::swap(s_out.local, s_out.peer);
    s_in.inbound = true;
    std::swap(s_in.local, s_in.peer);
    EXPECT_TRUE(site->install(0, s_out));
    site->mutable_tunnel(0).out_sa = 0;
    EXPECT_TRUE(site->install(1, s_in));
  }
  std::unique_ptr<EspSaTable> headend(uint32_t generation, uint64_t seq_start) const {
    auto t = std::make_unique<EspSaTable>();
    EspSa i = in, o = out;
    i.generation = o.generation = generation;
    i.seq_start = seq_start;
    o.seq_start = seq_start;
    EXPECT_TRUE(t->install(0, i));
    EXPECT_TRUE(t->install(1, o));
    t->mutable_tunnel(0).out_sa = 1;
    return t;
  }
  // The site's ESP frame to hub-a's address carrying `inner` (an Ethernet frame).
  Bytes seal(const Bytes& inner_frame, const Mac& to) {
    rte_mbuf* m = rte_pktmbuf_alloc(test::test_pool());
    std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(inner_frame.size() - 14)), inner_frame.data() + 14,
                inner_frame.size() - 14);
    EspResult r;
    const uint16_t t = 0;
    esp_output_burst(eng, ivs, *site, site_state, &m, &t, 1, &r);
    EXPECT_TRUE(r.ok);
    const uint8_t* p = rte_pktmbuf_mtod(m, const uint8_t*);
    Bytes f = Pkt().eth(to, kSiteMac).bytes();
    f.resize(14);
    f.insert(f.end(), p, p + m->data_len);
    rte_pktmbuf_free(m);
    return f;
  }
  // The inner packet of an ESP frame a headend sent (empty when it does not open).
  Bytes open(const test::Frame& f) {
    rte_mbuf* m = rte_pktmbuf_alloc(test::test_pool());
    std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(f.raw.size() - 14)), f.raw.data() + 14, f.raw.size() - 14);
    EspResult r;
    esp_input_burst(eng, *site, site_state, &m, 1, &r);
    Bytes inner;
    if (r.ok) inner.assign(rte_pktmbuf_mtod(m, const uint8_t*), rte_pktmbuf_mtod(m, const uint8_t*) + m->data_len);
    rte_pktmbuf_free(m);
    return inner;
  }
};

// A hub of the pair (as ha_test.cc's Hub) with the site and the server as neighbours.
struct TunnelHub {
  TunnelHub(Bus& bus, const config::Config& cfg, uint32_t workers, uint32_t node_id, Ipv4 peer_wp)
      : node_id(node_id),
        router(cfg, test::RouterOptions()
                        .with_workers(workers)
                        .with_events(EventConsumer::ha, 4096)
                        .with_prepare([&](DataplaneShared& sh) {
                          sh.ha.peer_addresses.push_back({peer_wp, 1});
                          std::string err;
                          if (!sh.ha.create(workers, 4096, SOCKET_ID_ANY, err)) throw std::runtime_error(err);
                        })) {
    router.neighbor(0, test::kServer, test::kServerMac);
    router.neighbor(1, kSite, kSiteMac);
    HaSettings s;
    s.node_id = node_id;
    node = std::make_unique<HaNode>(router.shared(), s, [this, &bus](std::string&) -> std::unique_ptr<Transport> {
      return std::make_unique<LoopTransport>(bus, Member{this->node_id, 100 + this->node_id});
    });
  }
  void step(uint64_t now_ms) {
    for (size_t i = 0; i < router.workers(); ++i) {
      router.worker(i).set_now_ms(static_cast<uint32_t>(now_ms));
      router.worker(i).ha().poll();
    }
    node->poll(now_ms);
  }
  Session* find(const FiveTuple& original) {
    Session probe;
    probe.original = original;
    SessionRef r = router.worker(owner_worker(probe, static_cast<uint32_t>(router.workers()))).table().lookup(original);
    return r ? r.session : nullptr;
  }
  uint64_t created() {
    uint64_t n = 0;
    for (size_t i = 0; i < router.workers(); ++i) n += router.worker(i).counters().get(Counter::sessions_created);
    return n;
  }
  uint32_t node_id;
  test::Router router;  // before the node: the node goes first
  std::unique_ptr<HaNode> node;
  std::unique_ptr<EspSaTable> esp;  // what the IKE service published here
};

void run(std::initializer_list<TunnelHub*> hubs, uint64_t& now, int steps = 20) {
  for (int i = 0; i < steps; ++i) {
    now += 2;
    for (TunnelHub* h : hubs) h->step(now);
  }
}

Bytes lan_frame(const test::Router& r, Pkt p) {
  Bytes f = p.bytes();
  std::memcpy(f.data(), r.model().interfaces[0].mac, 6);
  std::memcpy(f.data() + 6, test::kServerMac.data(), 6);
  return f;
}

TEST(HaTunnelPair, ASyncedTunnelSessionIsSealedIntoTheTakenOverSaBySurvivor) {
  using C = HaStatus::Counter;
  Bus bus;
  uint64_t now = 1'000'000;
  ChildSa sa;
  auto a = std::make_unique<TunnelHub>(bus, headend("hub-a", "10.2.0.2/24", "172.16.0.2/24"), 1, 1, kHubB);
  auto b = std::make_unique<TunnelHub>(bus, headend("hub-b", "10.2.0.3/24", "172.16.0.3/24"), 2, 2, kHubA);
  a->esp = sa.headend(1, 0);
  a->router.shared().esp.store(a->esp.get(), std::memory_order_release);
  run({a.get(), b.get()}, now, 30);
  ASSERT_TRUE(a->node->peer_present());

  // The site's SYN through hub-a's tunnel: a session whose side A is the tunnel.
  const FiveTuple flow{kSiteHost, test::kServer, 40000, 80, 6};
  Mac to{};
  std::memcpy(to.data(), a->router.model().interfaces[1].mac, 6);
  test::Frame in = a->router.send_one(test::kWan, sa.seal(Pkt().ipv4(kSiteHost, test::kServer).tcp(40000, 80, kTcpSyn).bytes(), to));
  EXPECT_EQ(in.port, test::kLan);
  EXPECT_EQ(in.dst(), test::kServer);
  Session* on_a = a->find(flow);
  ASSERT_NE(on_a, nullptr);
  ASSERT_EQ(on_a->out_rev.iface, kIfaceTunnel);
  run({a.get(), b.get()}, now);
  EXPECT_EQ(b->node->status().get(C::tunnel_sessions_received), 1u);
  EXPECT_EQ(b->node->status().get(C::sessions_rejected), 0u);
  Session* on_b = b->find(flow);
  ASSERT_NE(on_b, nullptr) << "the tunnel session reached hub-b";
  EXPECT_EQ(on_b->uuid, on_a->uuid);
  EXPECT_EQ(on_b->out_rev.iface, kIfaceTunnel);
  EXPECT_EQ(on_b->out_rev.next_hop, 0u);

  // hub-a dies; hub-b takes its addresses and (the IKE service's takeover,
  // docs/ipsec.md § HA) installs the Child SA, outbound numbers past a's.
  bus.leave({1, 101});
  a.reset();
  run({b.get()}, now, 10);
  ASSERT_TRUE(b->router.shared().ha.holds_peer_address(kHubA));
  b->esp = sa.headend(2, 1u << 22);
  b->router.shared().esp.store(b->esp.get(), std::memory_order_release);
  EXPECT_FALSE(b->find(flow)->flags & kPeerSession) << "hub-b's to age";

  // The server's answer (the download direction), on whichever worker RSS
  // picks: to the session's owner, then the tunnel's owner, sealed there.
  rte_mbuf* m = Pkt::to_mbuf(test::test_pool(),
                             lan_frame(b->router, Pkt().ipv4(test::kServer, kSiteHost).tcp(80, 40000, kTcpSyn | 0x10).payload("data")),
                             test::kLan);
  b->router.worker(1).receive(&m, 1);
  for (int round = 0; round < 3; ++round)
    for (size_t w = 0; w < b->router.workers(); ++w) {
      b->router.worker(w).drain_handoff();
      b->router.worker(w).flush();
    }
  ASSERT_EQ(b->router.transmitted().size(), 1u);
  const test::Frame out = b->router.transmitted()[0];
  EXPECT_EQ(out.port, test::kWan);
  EXPECT_EQ(out.src(), kHubA) << "from the SA's address, which hub-b now answers for";
  EXPECT_EQ(out.dst(), kSite);
  const Bytes inner = sa.open(out);
  ASSERT_FALSE(inner.empty()) << "the site opens what hub-b sealed";
  test::Frame reply{Bytes(14, 0), 0};
  reply.raw.insert(reply.raw.end(), inner.begin(), inner.end());
  EXPECT_EQ(reply.src(), test::kServer);
  EXPECT_EQ(reply.dst(), kSiteHost);
  EXPECT_EQ(reply.payload_string(), "data");
  EXPECT_EQ(b->created(), 0u) << "forwarded by the synced session, not a new one";
}

// A peer whose record names a tunnel this node does not have: refused, counted.
TEST(HaTunnelPair, ATunnelSessionForAnUnknownTunnelIsRejectedAndCounted) {
  using C = HaStatus::Counter;
  Bus bus;
  uint64_t now = 1'000'000;
  auto a = std::make_unique<TunnelHub>(bus, headend("hub-a", "10.2.0.2/24", "172.16.0.2/24"), 1, 1, kHubB);
  auto b = std::make_unique<TunnelHub>(bus, headend("hub-b", "10.2.0.3/24", "172.16.0.3/24", true, false), 1, 2, kHubA);
  run({a.get(), b.get()}, now, 30);
  ASSERT_TRUE(a->node->peer_present());
  Session s = from_site(a->router.model(), 40000, static_cast<uint32_t>(now));
  Worker& w = a->router.worker(0);
  Session* p = w.table().allocate();
  *p = s;
  ASSERT_TRUE(w.table().insert(p));
  w.post_event(SessionEventKind::created, *p);
  run({a.get(), b.get()}, now);
  EXPECT_EQ(b->node->status().get(C::tunnel_sessions_rejected), 1u);
  EXPECT_EQ(b->node->status().get(C::sessions_rejected), 1u);
  EXPECT_EQ(b->node->status().get(C::tunnel_sessions_received), 0u);
  EXPECT_EQ(b->find(s.original), nullptr);
}

}  // namespace
}  // namespace wp::ha
