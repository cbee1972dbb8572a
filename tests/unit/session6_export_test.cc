// IPv6 sessions made visible (issue #19): the worker's IPv6 session events
// (session/events6.h), the REST snapshot of IPv6 sessions
// (mgmt/session_snapshot6.h) and their JSON through a real RestServer merged
// with IPv4's in UUID order (mgmt/rest_sessions6.h), and IPFIX template 257
// with IEs 27/28/281/282, encoded then decoded back (mgmt/ipfix_encoder.h).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <malloc.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "mgmt/ipfix_decoder.h"
#include "mgmt/ipfix_encoder.h"
#include "mgmt/rest_api.h"
#include "mgmt/session_feed.h"
#include "mgmt/session_id.h"
#include "mgmt/session_snapshot6.h"
#include "tests/unit/live_store.h"
#include "tests/unit/pkt6_builder.h"
#include "tests/unit/route6_test_config.h"

namespace wp {
namespace {

using namespace test;
using nlohmann::json;

std::vector<Session6Event> drain6(DataplaneShared& shared, uint32_t worker = 0) {
  std::vector<Session6Event> out;
  Session6Event ev;
  while (rte_ring_sc_dequeue_elem(shared.event6_ring(worker), &ev, sizeof ev) == 0) out.push_back(ev);
  return out;
}

// created on the first packet, established on the first reply, update every
// session_update_ms from the sweep, closed (idle) on expiry: each a copy of the session.
TEST(Route6Events, WorkerPostsTheLifecycleOfAnIpv6Session) {
  auto r = route6_router(RouterOptions().with_udp_timeout_ms(5000));
  std::string err;
  ASSERT_TRUE(r->shared().enable_events(EventConsumer::ipfix, 64, SOCKET_ID_ANY, err)) << err;
  ASSERT_TRUE(r->shared().enable_events6(64, SOCKET_ID_ANY, err)) << err;
  r->shared().session_update_ms = 1000;
  r->send_one(kLan, from_lan(*r, Pkt6().ipv6(kRouteClient, kRouteServer).udp(5000, 53).payload("q")));
  r->send_one(kWan, from_wan(*r, Pkt6().ipv6(kRouteServer, kRouteClient).udp(53, 5000).payload("a")));
  auto evs = drain6(r->shared());
  ASSERT_EQ(evs.size(), 2u);
  EXPECT_EQ(evs[0].kind, SessionEventKind::created);
  EXPECT_EQ(evs[1].kind, SessionEventKind::established);
  const Session6& s = evs[1].session;
  EXPECT_EQ(s.original.src, ip6(kRouteClient));
  EXPECT_EQ(s.original.dst, ip6(kRouteServer));
  EXPECT_EQ(s.original.sport, 5000);
  EXPECT_EQ(s.next_hop[0], kGateway6);
  EXPECT_EQ(s.uuid, evs[0].session.uuid);
  // A second reply posts nothing (established once).
  r->send_one(kWan, from_wan(*r, Pkt6().ipv6(kRouteServer, kRouteClient).udp(53, 5000).payload("b")));
  EXPECT_TRUE(drain6(r->shared()).empty());
  r->worker().set_now_ms(r->worker().now_ms() + 1500);
  for (int i = 0; i < 100; ++i) r->idle();
  evs = drain6(r->shared());
  ASSERT_EQ(evs.size(), 1u) << "one update a period, not one a sweep";
  EXPECT_EQ(evs[0].kind, SessionEventKind::update);
  EXPECT_EQ(evs[0].session.packets[1], 2u);
  r->worker().set_now_ms(r->worker().now_ms() + 6000);
  for (int i = 0; i < 100 && r->worker().route6().sessions() != 0; ++i) r->idle();
  evs = drain6(r->shared());
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].kind, SessionEventKind::closed);
  EXPECT_EQ(evs[0].reason, SessionEndReason::idle_timeout);
  EXPECT_TRUE(drain6(r->shared()).size() == 0);
  EXPECT_EQ(r->count(Counter::ipfix_events_dropped), 0u);
}

TEST(Route6Events, NoRingNoEvents) {
  auto r = route6_router();
  r->send_one(kLan, from_lan(*r, Pkt6().ipv6(kRouteClient, kRouteServer).udp(5000, 53)));
  EXPECT_EQ(r->shared().event6_ring(0), nullptr);
  EXPECT_EQ(r->count(Counter::ipfix_events_dropped), 0u);
}

Session6Event event6(uint8_t id, const char* src, const char* dst, SessionEventKind kind = SessionEventKind::created) {
  Session6Event ev{};
  ev.kind = kind;
  ev.worker = 1;
  Session6& s = ev.session;
  s.uuid[0] = id;
  s.original = {ip6(src), ip6(dst), 40000, 443, kProtoTcp};
  s.next_hop[0] = ip6("2001:db8:70::2");
  s.next_hop[1] = ip6(src);
  s.iface[0] = 1, s.iface[1] = 0;
  s.tenant = 0, s.service = 0;
  s.created_ms = 100, s.last_ms = 250;
  s.packets[0] = 3, s.packets[1] = 2;
  s.bytes[0] = 300, s.bytes[1] = 2000;
  s.flags = kReverseSeen;
  return ev;
}

TEST(SessionSnapshot6, AppliesPagesFiltersAndForgets) {
  auto r = route6_router();  // only for its model
  const RouterModel& m = r->model();
  mgmt::SessionSnapshot snap(2);
  const DataplaneClock clock{0, 1700000000000};
  snap.v6().apply(event6(0x30, "2001:db8:71::5", "2001:db8:72::10"), m, clock);
  snap.v6().apply(event6(0x10, "2001:db8:71::6", "2001:db8:72::10"), m, clock);
  snap.v6().apply(event6(0x20, "2001:db8:71::7", "2001:db8:72::10"), m, clock);  // over capacity 2
  EXPECT_EQ(snap.v6().size(), 2u);
  EXPECT_EQ(snap.v6().overflow(), 1u);
  EXPECT_EQ(snap.size(), 0u) << "the IPv4 snapshot is apart";
  mgmt::SessionQuery q;
  bool more = false;
  auto page = snap.v6().page(q, more);
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(page[0].uuid[0], 0x10) << "UUID order";
  EXPECT_EQ(page[1].original.src, ip6("2001:db8:71::5"));
  EXPECT_EQ(page[1].tenant, "v6");
  EXPECT_EQ(page[1].service, "srv6");
  EXPECT_EQ(page[1].created_epoch_ms, 1700000000100u);
  EXPECT_TRUE(page[1].established);
  q.addr6 = ip6("2001:db8:71::5");
  EXPECT_EQ(snap.v6().page(q, more).size(), 1u);
  q.addr6 = ip6("2001:db8:72::10");
  q.limit = 1;
  EXPECT_EQ(snap.v6().page(q, more).size(), 1u);
  EXPECT_TRUE(more);
  q = {};
  q.addr = 0x0a010005;
  EXPECT_TRUE(snap.v6().page(q, more).empty()) << "an IPv4 address is in no IPv6 session";
  q = {};
  q.tenant = "nobody";
  EXPECT_TRUE(snap.v6().page(q, more).empty());
  snap.v6().apply(event6(0x30, "2001:db8:71::5", "2001:db8:72::10", SessionEventKind::closed), m, clock);
  EXPECT_EQ(snap.v6().size(), 1u);
  EXPECT_FALSE(snap.v6().find(SessionUuid{0x30}));
  EXPECT_TRUE(snap.v6().find(SessionUuid{0x10}));
}

// docs/operations.md § Session snapshot memory: about 176 B of heap per IPv6 session
// (a 120 B entry, its UUID key and the map's node); measured, bounded at 200 B.
TEST(SessionSnapshot6, HeapPerSession) {
  auto r = route6_router();
  const DataplaneClock clock{0, 1700000000000};
  constexpr uint32_t kN = 100000;
  mgmt::SessionSnapshot snap(kN);
  const size_t before = mallinfo2().uordblks;
  Session6Event ev = event6(0, "2001:db8:71::5", "2001:db8:72::10");
  for (uint32_t i = 0; i < kN; ++i) {
    std::memcpy(ev.session.uuid.data(), &i, sizeof i);
    ev.session.original.sport = static_cast<uint16_t>(i);
    snap.v6().apply(ev, r->model(), clock);
  }
  ASSERT_EQ(snap.v6().size(), kN);
  const double per = double(mallinfo2().uordblks - before) / kN;
  std::printf("IPv6 snapshot: %.1f B of heap per session (%u sessions)\n", per, kN);
  EXPECT_LT(per, 200.0);
  EXPECT_EQ(sizeof(mgmt::SessionEntry), 120u) << "the IPv4 entry did not grow";
}

// Through a real RestServer: IPv4 and IPv6 sessions in one list in UUID order,
// addr= takes an IPv6 address, one IPv6 session by UUID.
TEST(Rest6, Ipv6SessionsInTheSessionsList) {
  test::LiveStore live;
  std::string err;
  ASSERT_TRUE(live.start(R"(
router: {name: r1, lan: {name: lan, device: d0, address: 10.1.0.1/24, ipv6_addresses: ["2001:db8:71::1/64"]},
         wan: [{name: wan0, device: d1, address: 172.16.0.1/24, ipv6_addresses: ["2001:db8:70::1/64"]}]}
routes: [{prefix: "2001:db8:72::/64", next_hop: "2001:db8:70::2", interface: wan0}]
tenants: [{name: v6, ipv6_prefixes: ["2001:db8:71::/112"], prefixes: [10.1.0.0/24]}]
services: [{name: srv6, prefixes: ["2001:db8:72::/64", "10.9.0.0/24"]}]
policies: [{tenant: v6, service: srv6}]
)",
                         err))
      << err;
  mgmt::SessionSnapshot snap(100);
  const DataplaneClock clock{0, 1700000000000};
  SessionEvent v4{};
  v4.kind = SessionEventKind::created;
  v4.session.uuid[0] = 0x20;
  v4.session.original = {0x0a010005, 0x0a09000a, 40000, 80, 6};
  v4.session.out_fwd.tuple = v4.session.original;
  v4.session.out_rev.tuple = v4.session.original.reversed();
  v4.session.tenant = 0, v4.session.service = 0;  // v6, srv6 (the service has an IPv4 prefix too)
  snap.apply(v4, *live.model, clock);
  snap.v6().apply(event6(0x10, "2001:db8:71::5", "2001:db8:72::10"), *live.model, clock);
  snap.v6().apply(event6(0x30, "2001:db8:71::6", "2001:db8:72::11"), *live.model, clock);
  mgmt::RestContext ctx;
  ctx.shared = &live.shared;
  ctx.store = live.store.get();
  ctx.sessions = &snap;
  ctx.limits.max_body_bytes = 1 << 20;
  ctx.limits.requests_per_second = 1000;
  ctx.limits.burst = 1000;
  ctx.limits.request_timeout_ms = 1000;
  ctx.limits.max_connections = 4;
  mgmt::RestServer server;
  int port = 19500;
  for (; port < 19600; ++port)
    if (server.start("127.0.0.1:" + std::to_string(port), ctx, err)) break;
  ASSERT_LT(port, 19600) << err;
  httplib::Client c("127.0.0.1", port);
  auto get = [&](const std::string& path) {
    auto res = c.Get(path);
    EXPECT_TRUE(res) << path;
    if (!res) return json();
    EXPECT_EQ(res->status, 200) << path << ": " << res->body;
    return json::parse(res->body);
  };
  json all = get("/api/v1/sessions");
  ASSERT_EQ(all["count"], 3);
  EXPECT_EQ(all["sessions"][0]["family"], "ipv6");
  EXPECT_EQ(all["sessions"][1]["family"], "ipv4");
  EXPECT_EQ(all["sessions"][2]["family"], "ipv6");
  const json& s = all["sessions"][0];
  EXPECT_EQ(s["original"]["src"], "2001:db8:71::5") << "RFC 5952 text";
  EXPECT_EQ(s["original"]["dst"], "2001:db8:72::10");
  EXPECT_EQ(s["original"]["protocol"], "tcp");
  EXPECT_EQ(s["left"]["dst"], "2001:db8:72::10") << "routed, not translated";
  EXPECT_EQ(s["next_hop"], "2001:db8:70::2");
  EXPECT_EQ(s["ingress"], "lan");
  EXPECT_EQ(s["egress"], "wan0");
  EXPECT_EQ(s["tenant"], "v6");
  EXPECT_EQ(s["service"], "srv6");
  EXPECT_EQ(s["forward"]["bytes"], "300");
  EXPECT_EQ(s["reverse"]["packets"], "2");
  EXPECT_EQ(s["established"], true);
  EXPECT_EQ(s["worker"], 1);
  // Paging by cursor crosses the families.
  json p1 = get("/api/v1/sessions?limit=2");
  ASSERT_EQ(p1["count"], 2);
  json p2 = get("/api/v1/sessions?limit=2&after=" + p1["next"].get<std::string>());
  ASSERT_EQ(p2["count"], 1);
  EXPECT_EQ(p2["sessions"][0]["uuid"], all["sessions"][2]["uuid"]);
  EXPECT_EQ(p2["next"], "");
  // addr= with an IPv6 address (any spelling), and with an IPv4 one.
  json by6 = get("/api/v1/sessions?addr=2001:db8:72:0:0:0:0:11");
  ASSERT_EQ(by6["count"], 1);
  EXPECT_EQ(by6["sessions"][0]["original"]["src"], "2001:db8:71::6");
  EXPECT_EQ(get("/api/v1/sessions?addr=10.1.0.5")["count"], 1);
  EXPECT_EQ(get("/api/v1/sessions?addr=2001:db8::99")["count"], 0);
  EXPECT_EQ(c.Get("/api/v1/sessions?addr=2001:db8::zz")->status, 400);
  EXPECT_EQ(get("/api/v1/sessions?tenant=v6&service=srv6")["count"], 3);
  // One IPv6 session by UUID.
  json one = get("/api/v1/sessions/" + s["uuid"].get<std::string>());
  EXPECT_EQ(one["family"], "ipv6");
  EXPECT_EQ(one["original"]["src"], "2001:db8:71::5");
  server.stop();
}

mgmt::IpfixRecord record6() {
  auto r = route6_router();
  const DataplaneClock clock{0, 1700000000000};
  Session6Event ev = event6(0x42, "2001:db8:71::5", "2001:db8:72::10", SessionEventKind::closed);
  ev.reason = SessionEndReason::end_of_flow;
  return mgmt::ipfix_record6(ev, r->model(), clock);
}

// Template 258 (IPv6 sessions between IPv4 waypoints) = 257 with 225/226 (4 bytes)
// in place of 281/282: its record is 24 bytes shorter, and decodes back with both families.
TEST(Ipfix6, Template258CarriesIpv4PostNatAddresses) {
  uint8_t buf[mgmt::kIpfixMaxMessage];
  mgmt::IpfixMessage m;
  m.begin(buf, 1700000001, 9, 1);
  ASSERT_TRUE(m.add_template6());
  const size_t t258 = 16 + mgmt::IpfixMessage::template_set_size();
  EXPECT_EQ(buf[t258 + 4] << 8 | buf[t258 + 5], 258) << "the second template set of add_template6";
  const uint8_t v6[] = {0, 27, 0, 16, 0, 28, 0, 16};
  EXPECT_EQ(std::memcmp(buf + t258 + 8 + 8, v6, sizeof v6), 0);
  const uint8_t v4[] = {0, 225, 0, 4, 0, 226, 0, 4};  // the 8th and 9th field specifiers
  EXPECT_EQ(std::memcmp(buf + t258 + 8 + 7 * 4, v4, sizeof v4), 0);
  mgmt::IpfixRecord r = record6();
  const size_t size257 = mgmt::IpfixMessage::record_size(r);
  r.post_ipv4 = true;
  r.post = {0xac100001, 0xac100002, 16388, 16390, kProtoTcp};
  EXPECT_EQ(mgmt::IpfixMessage::record_size(r) + 24, size257);
  ASSERT_TRUE(m.add_record(r));
  const size_t len = m.finish();
  EXPECT_EQ(len, 16 + mgmt::IpfixMessage::template6_set_size() + 4 + mgmt::IpfixMessage::record_size(r));
  mgmt::IpfixDecoder d;
  mgmt::IpfixDecoded out;
  std::string err;
  ASSERT_TRUE(d.decode(buf, len, out, err)) << err;
  ASSERT_EQ(out.records.size(), 1u);
  const mgmt::IpfixRecord& got = out.records[0];
  EXPECT_TRUE(got.ipv6);
  EXPECT_TRUE(got.post_ipv4);
  EXPECT_EQ(got.pre_src6, ip6("2001:db8:71::5"));
  EXPECT_EQ(got.post.src, 0xac100001u);
  EXPECT_EQ(got.post.dst, 0xac100002u);
  EXPECT_EQ(got.post.sport, 16388);
  EXPECT_EQ(got.session_id, r.session_id);
}

// Template 259 (IPv4 sessions between IPv6 waypoints) = 256 with 281/282 (16 bytes) in place
// of 225/226: its record is 24 bytes longer than 256's, and decodes back with both families.
TEST(Ipfix6, Template259CarriesIpv4PreAndIpv6PostNatAddresses) {
  uint8_t buf[mgmt::kIpfixMaxMessage];
  mgmt::IpfixMessage m;
  m.begin(buf, 1700000001, 9, 1);
  ASSERT_TRUE(m.add_template6());
  const size_t t259 = 16 + 2 * mgmt::IpfixMessage::template_set_size();
  EXPECT_EQ(buf[t259 + 4] << 8 | buf[t259 + 5], 259) << "the third template set of add_template6";
  const uint8_t v4[] = {0, 8, 0, 4, 0, 12, 0, 4};  // the 3rd and 4th field specifiers
  EXPECT_EQ(std::memcmp(buf + t259 + 8 + 8, v4, sizeof v4), 0);
  const uint8_t v6[] = {0x01, 0x19, 0, 16, 0x01, 0x1a, 0, 16};  // 281 and 282: the 8th and 9th
  EXPECT_EQ(std::memcmp(buf + t259 + 8 + 7 * 4, v6, sizeof v6), 0);
  mgmt::IpfixRecord r;
  r.pre = {0x0a010005, 0x0a02000a, 40000, 80, kProtoTcp};
  r.post = {0, 0, 16388, 16390, kProtoTcp};
  r.session_id[0] = 0x59;
  const size_t size256 = mgmt::IpfixMessage::record_size(r);
  r.post_ipv6 = true;
  r.post_src6 = ip6("2001:db8:70::1");
  r.post_dst6 = ip6("2001:db8:70::2");
  EXPECT_EQ(r.template_id(), 259);
  EXPECT_EQ(mgmt::IpfixMessage::record_size(r), size256 + 24);
  ASSERT_TRUE(m.add_record(r));
  const size_t len = m.finish();
  const size_t data = t259 + mgmt::IpfixMessage::template_set_size();
  EXPECT_EQ(buf[data] << 8 | buf[data + 1], 259) << "the data set names template 259";
  EXPECT_EQ(len, data + 4 + mgmt::IpfixMessage::record_size(r));
  mgmt::IpfixDecoder d;
  mgmt::IpfixDecoded out;
  std::string err;
  ASSERT_TRUE(d.decode(buf, len, out, err)) << err;
  EXPECT_EQ(out.templates, 3u);
  ASSERT_EQ(out.records.size(), 1u);
  const mgmt::IpfixRecord& got = out.records[0];
  EXPECT_FALSE(got.ipv6);
  EXPECT_FALSE(got.post_ipv4);
  EXPECT_TRUE(got.post_ipv6);
  EXPECT_TRUE(got.post_is_ipv6());
  EXPECT_EQ(got.pre, r.pre);
  EXPECT_EQ(got.post_src6, ip6("2001:db8:70::1"));
  EXPECT_EQ(got.post_dst6, ip6("2001:db8:70::2"));
  EXPECT_EQ(got.post.src, 0u);
  EXPECT_EQ(got.post.sport, 16388);
  EXPECT_EQ(got.post.dport, 16390);
  EXPECT_EQ(got.session_id, r.session_id);
}

// Template 257 = 256 with IEs 27/28 and 281/282 (16 bytes) in place of 8/12 and 225/226.
TEST(Ipfix6, TemplateAndRecordSurviveTheWireFormat) {
  uint8_t buf[mgmt::kIpfixMaxMessage];
  mgmt::IpfixMessage m;
  m.begin(buf, 1700000001, 9, 1);
  ASSERT_TRUE(m.add_template());
  ASSERT_TRUE(m.add_template6());
  const mgmt::IpfixRecord r6 = record6();
  mgmt::IpfixRecord r4;
  r4.pre = r4.post = {0x0a010005, 0x0a09000a, 1, 2, 17};
  ASSERT_TRUE(m.add_record(r6));
  ASSERT_TRUE(m.add_record(r4));
  ASSERT_TRUE(m.add_record(r6));
  const size_t len = m.finish();
  const size_t t1 = 16 + mgmt::IpfixMessage::template_set_size();
  ASSERT_EQ(len, t1 + mgmt::IpfixMessage::template6_set_size() + 3 * 4 + 2 * mgmt::IpfixMessage::record_size(r6) +
                     mgmt::IpfixMessage::record_size(r4))
      << "three data sets: the family changes twice";
  EXPECT_EQ(buf[t1 + 4] << 8 | buf[t1 + 5], 257) << "template id";
  // Its third to sixth field specifiers: 27 and 28 (16 bytes) after the two timestamps.
  const uint8_t want[] = {0, 27, 0, 16, 0, 28, 0, 16};
  EXPECT_EQ(std::memcmp(buf + t1 + 8 + 8, want, sizeof want), 0);
  mgmt::IpfixDecoder d;
  mgmt::IpfixDecoded out;
  std::string err;
  ASSERT_TRUE(d.decode(buf, len, out, err)) << err;
  EXPECT_EQ(out.templates, 4u) << "256, 257, 258 and 259";
  ASSERT_EQ(out.records.size(), 3u);
  EXPECT_FALSE(out.records[1].ipv6);
  EXPECT_EQ(out.records[1].pre.src, 0x0a010005u);
  const mgmt::IpfixRecord& got = out.records[2];
  EXPECT_TRUE(got.ipv6);
  EXPECT_EQ(got.pre_src6, ip6("2001:db8:71::5"));
  EXPECT_EQ(got.pre_dst6, ip6("2001:db8:72::10"));
  EXPECT_EQ(got.post_src6, ip6("2001:db8:71::5")) << "281: routed, the same address";
  EXPECT_EQ(got.post_dst6, ip6("2001:db8:72::10"));
  EXPECT_EQ(got.pre.sport, 40000);
  EXPECT_EQ(got.pre.dport, 443);
  EXPECT_EQ(got.pre.proto, kProtoTcp);
  EXPECT_EQ(got.initiator_octets, 300u);
  EXPECT_EQ(got.responder_packets, 2u);
  EXPECT_EQ(got.start_ms, 1700000000100u);
  EXPECT_EQ(got.end_ms, 1700000000250u);
  EXPECT_EQ(got.end_reason, 3);
  EXPECT_EQ(got.nat_event, mgmt::kNatEventSessionDelete);
  EXPECT_EQ(got.ingress_if, 1u);
  EXPECT_EQ(got.egress_if, 2u);
  EXPECT_EQ(got.session_id[0], 0x42);
  EXPECT_EQ(std::string(got.tenant, got.tenant_len), "v6");
  EXPECT_EQ(std::string(got.service, got.service_len), "srv6");
}

// The exporter sends templates 257 to 259 with 256 when asked (the router routes IPv6 or has
// an IPv6 waypoint, mgmt_runtime.cc), and only then.
TEST(Ipfix6, ExporterSendsTheIpv6TemplateWhenAsked) {
  for (bool ipv6 : {false, true}) {
    int rx = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(rx, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t al = sizeof a;
    getsockname(rx, reinterpret_cast<sockaddr*>(&a), &al);
    mgmt::IpfixOptions o;
    o.collectors.push_back(a);
    o.ipv6 = ipv6;
    mgmt::IpfixExporter e;
    std::string err;
    ASSERT_TRUE(e.open(o, err)) << err;
    if (ipv6) e.enqueue(record6());
    e.flush(1700000000000);
    uint8_t buf[2048];
    timeval tv{2, 0};
    setsockopt(rx, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    const ssize_t n = recv(rx, buf, sizeof buf, 0);
    ASSERT_GT(n, 0);
    mgmt::IpfixDecoder d;
    mgmt::IpfixDecoded out;
    ASSERT_TRUE(d.decode(buf, static_cast<size_t>(n), out, err)) << err;
    EXPECT_EQ(out.templates, ipv6 ? 4u : 1u) << "256, and 257 to 259 for IPv6";
    EXPECT_EQ(out.unknown_sets, 0u);
    EXPECT_EQ(out.records.size(), ipv6 ? 1u : 0u);
    if (ipv6) {
      EXPECT_EQ(out.records[0].pre_src6, ip6("2001:db8:71::5"));
    }
    close(rx);
  }
}

}  // namespace
}  // namespace wp
