// Applications through two routers (docs/applications.md; svr/app_inspect.h): the ingress
// worker classifies a session's first packets with its own nDPI and names the application in
// TLV 35, on the first packet when it is known by then, else in a metadata-only update after
// the handshake; the egress takes it from there and never classifies (its inspected-packet
// counter stays 0); application policy (deny lists, services that name applications) closes
// a session on every hop with its own drop reason.
#include <gtest/gtest.h>

#include <string>
#include <tuple>
#include <vector>

#include "dataplane/apps/catalog.h"
#include "dataplane/svr/metadata.h"
#include "dataplane/worker/qos_shared.h"
#include "mgmt/ipfix_decoder.h"
#include "mgmt/session_feed.h"
#include "tests/unit/app_packets.h"
#include "tests/unit/svr_harness.h"

namespace wp {
namespace {

using namespace test;
namespace pk = test::app_packets;

static_assert(sizeof(Session) == 152, "the application fields live in padding: Session must not grow");

struct Rules {
  std::vector<std::string> deny_apps, service_apps;
};

// r1 (branch) -> r2 (headend): services dns (udp 53) and web (tcp 80), both allowed for tenant branch.
config::Config router(bool ingress, const Rules& rules) {
  config::Config c = router_base(ingress ? "r1" : "r2", ingress ? "10.1.0.1/24" : "10.2.0.1/24",
                                 {{"wan0", ingress ? "172.16.0.1/24" : "172.16.0.2/24"}});
  add_tenant(c, "branch", "10.1.0.0/25");
  add_service(c, {"dns", "10.2.0.0/24", "udp", "53", ingress ? "r2" : ""});
  config::Service* web = add_service(c, {"web", "10.2.0.0/24", "tcp", "80", ingress ? "r2" : ""});
  for (const auto& a : rules.service_apps) web->add_applications(a);
  add_policy(c, "branch", "dns", "");
  add_policy(c, "branch", "web", "");
  for (auto& p : *c.mutable_policies())
    for (const auto& a : rules.deny_apps) p.add_deny_applications(a);
  add_peer(c, ingress ? "r2" : "r1", {ingress ? "172.16.0.2" : "172.16.0.1"}, kKey12);
  return c;
}

std::string as_string(const std::vector<uint8_t>& b) { return {b.begin(), b.end()}; }

uint16_t app_id(const char* name) { return *app::AppCatalog::instance().find_application(name); }

class SvrApps : public ::testing::Test {
 protected:
  void start(const Rules& r1_rules = {}, const Rules& r2_rules = {}) {
    r1 = std::make_unique<Router>(router(true, r1_rules), RouterOptions().with_apps());
    r2 = std::make_unique<Router>(router(false, r2_rules), RouterOptions().with_apps());
    r1->neighbor(0, kClient, kClientMac);
    r1->neighbor(1, kR2Wan, kR2Mac);
    r2->neighbor(0, kServer, kServerMac);
    r2->neighbor(1, kR1Wan, kR1Mac);
  }
  static std::vector<uint8_t> client_tcp(uint8_t flags, uint32_t seq, uint32_t ack, std::string_view data = "") {
    return Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kServer).tcp(40001, 80, flags, seq, ack).payload(data).bytes();
  }
  static std::vector<uint8_t> server_tcp(uint8_t flags, uint32_t seq, uint32_t ack) {
    return Pkt().eth(kR2Mac, kServerMac).ipv4(kServer, kClient).tcp(80, 40001, flags, seq, ack).bytes();
  }
  // SYN, SYN-ACK, ACK through both routers: the WAN leg's handshake is over.
  void tcp_handshake() {
    r2->send_one(kWan, r1->send_one(kLan, client_tcp(kTcpSyn, 1000, 0)).raw);
    r1->send_one(kWan, r2->send_one(kLan, server_tcp(kTcpSyn | kTcpAck, 5000, 1001)).raw);
    r2->send_one(kWan, r1->send_one(kLan, client_tcp(kTcpAck, 1001, 5001)).raw);
  }
  // The session of the client's TCP (or DNS) flow on `r`, null when there is none.
  static const Session* session(Router& r, uint16_t dport = 80, uint8_t proto = kProtoTcp) {
    const FiveTuple orig{kClient, kServer, dport == 80 ? uint16_t{40001} : uint16_t{40000}, dport, proto};
    SessionRef ref = r.worker().table().lookup(orig);
    if (!ref) ref = r.worker().table().lookup(orig.reversed());
    return ref.session;
  }
  std::unique_ptr<Router> r1, r2;
};

TEST_F(SvrApps, DnsIsClassifiedOnTheFirstPacketAndNamedInTlv35) {
  start();
  auto q = Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kServer).udp(40000, 53).payload(pk::dns_query("example.com"));
  Frame w = r1->send_one(kLan, q.bytes());
  Metadata md;
  ASSERT_EQ(decode_metadata(w.data(), w.data_len(), md), MetadataStatus::ok);
  EXPECT_EQ(md.application, "DNS");
  EXPECT_EQ(r1->count(Counter::app_sessions_classified), 1u);
  EXPECT_EQ(r1->count(Counter::app_packets_inspected), 1u);
  EXPECT_EQ(r1->worker().apps()->free_slots(), 64u) << "a final verdict gives the slot back";
  ASSERT_NE(session(*r1, 53, kProtoUdp), nullptr);
  EXPECT_EQ(session(*r1, 53, kProtoUdp)->app, app_id("DNS"));

  Frame lan = r2->send_one(kWan, w.raw);
  EXPECT_EQ(lan.port, kLan);
  ASSERT_NE(session(*r2, 53, kProtoUdp), nullptr);
  EXPECT_EQ(session(*r2, 53, kProtoUdp)->app, app_id("DNS")) << "from TLV 35";
  EXPECT_EQ(r2->count(Counter::app_from_metadata), 1u);
  EXPECT_EQ(r2->count(Counter::app_packets_inspected), 0u) << "the egress never runs nDPI";
}

// IPFIX (docs/applications.md § IPFIX): the update event posted when the ingress classifies
// the session, and the egress's when TLV 35 names it, make records with IE 95 (nDPI's id) and
// IE 96 (its name); through the wire format and back, as a collector sees them.
TEST_F(SvrApps, IpfixRecordsOfBothRoutersNameTheApplication) {
  start();
  std::string err;
  ASSERT_TRUE(r1->shared().enable_events(EventConsumer::ipfix, 64, SOCKET_ID_ANY, err)) << err;
  ASSERT_TRUE(r2->shared().enable_events(EventConsumer::ipfix, 64, SOCKET_ID_ANY, err)) << err;
  auto q = Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kServer).udp(40000, 53).payload(pk::dns_query("example.com"));
  r2->send_one(kWan, r1->send_one(kLan, q.bytes()).raw);
  auto last = [](Router& r) {
    SessionEvent ev{}, out{};
    while (rte_ring_sc_dequeue_elem(r.shared().event_ring(EventConsumer::ipfix, 0), &ev, sizeof(ev)) == 0) out = ev;
    return out;
  };
  SessionEvent e1 = last(*r1), e2 = last(*r2);
  DataplaneClock clock{1000, 1700000000000};
  uint8_t buf[mgmt::kIpfixMaxMessage];
  mgmt::IpfixMessage msg;
  msg.begin(buf, 1700000001, 0, 1);
  ASSERT_TRUE(msg.add_template());
  ASSERT_TRUE(msg.add_record(mgmt::ipfix_record(e1, r1->model(), clock)));
  ASSERT_TRUE(msg.add_record(mgmt::ipfix_record(e2, r2->model(), clock)));
  // An unclassified session (a fresh one, app 0) says Unknown with selector 0.
  SessionEvent unknown = e1;
  unknown.session.app = 0;
  ASSERT_TRUE(msg.add_record(mgmt::ipfix_record(unknown, r1->model(), clock)));
  mgmt::IpfixDecoder dec;
  mgmt::IpfixDecoded d;
  ASSERT_TRUE(dec.decode(buf, msg.finish(), d, err)) << err;
  ASSERT_EQ(d.records.size(), 3u);
  for (int i = 0; i < 2; ++i) {
    const mgmt::IpfixRecord& r = d.records[static_cast<size_t>(i)];
    EXPECT_EQ(r.app_id, app_id("DNS")) << "router " << i + 1;
    EXPECT_EQ(std::string(r.app, r.app_len), "DNS") << "router " << i + 1;
  }
  EXPECT_EQ(d.records[0].session_id, d.records[1].session_id);
  EXPECT_EQ(d.records[2].app_id, 0);
  EXPECT_EQ(std::string(d.records[2].app, d.records[2].app_len), "Unknown");
}

TEST_F(SvrApps, ApplicationFoundAfterTheHandshakeTravelsInAMetadataOnlyUpdate) {
  start();
  tcp_handshake();
  EXPECT_EQ(session(*r1)->app, 0u) << "no data yet: nothing to recognise";
  EXPECT_EQ(r1->count(Counter::app_packets_inspected), 3u) << "both directions are fed";
  auto hello = as_string(pk::tls_client_hello("www.example.org"));
  std::vector<Frame> out = r1->send(kLan, client_tcp(kTcpAck | 0x08, 1001, 5001, hello));
  ASSERT_EQ(out.size(), 2u) << "the update, then the data";
  Metadata md;
  ASSERT_EQ(decode_metadata(out[0].data(), out[0].data_len(), md), MetadataStatus::ok);
  EXPECT_EQ(md.control_message, kControlKeepAlive);
  EXPECT_EQ(md.application, "TLS");
  EXPECT_FALSE(has_cookie(out[1].data(), out[1].data_len())) << "the data itself carries no metadata";
  EXPECT_EQ(r1->count(Counter::app_updates_sent), 1u);

  r2->send(kWan, out[0].raw);  // consumed (answered with a reverse keep-alive)
  EXPECT_EQ(r2->send_one(kWan, out[1].raw).payload_string(), hello);
  EXPECT_EQ(session(*r2)->app, app_id("TLS"));
  EXPECT_EQ(r2->count(Counter::app_packets_inspected), 0u);
  EXPECT_EQ(r2->count(Counter::app_from_metadata), 1u);
}

TEST_F(SvrApps, DeniedApplicationClosesTheSessionAtTheIngress) {
  start(Rules{{"BitTorrent"}, {}});
  tcp_handshake();
  auto bt = as_string(pk::bittorrent_handshake());
  EXPECT_TRUE(r1->send(kLan, client_tcp(kTcpAck | 0x08, 1001, 5001, bt)).empty());
  EXPECT_EQ(r1->drop_count(DropReason::app_policy_deny), 1u);
  EXPECT_EQ(r1->count(Counter::app_sessions_denied), 1u);
  ASSERT_NE(session(*r1), nullptr) << "kept, refused, until it ages out";
  EXPECT_EQ(session(*r1)->app_slot, kAppDenied);
  EXPECT_EQ(session(*r1)->app, app_id("BitTorrent"));
  // The client's retransmission is dropped too, and starts no new session.
  EXPECT_TRUE(r1->send(kLan, client_tcp(kTcpAck | 0x08, 1001, 5001, bt)).empty());
  EXPECT_EQ(r1->drop_count(DropReason::app_policy_deny), 2u);
  EXPECT_EQ(r1->count(Counter::sessions_created), 1u);
  EXPECT_EQ(r1->worker().apps()->free_slots(), 64u);
}

TEST_F(SvrApps, EgressChecksTheApplicationItIsTold) {
  start({}, Rules{{"BitTorrent", "dns"}, {}});
  // Known on the first packet: refused before a session exists.
  auto q = Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kServer).udp(40000, 53).payload(pk::dns_query("example.com"));
  EXPECT_TRUE(r2->send(kWan, r1->send_one(kLan, q.bytes()).raw).empty());
  EXPECT_EQ(r2->drop_count(DropReason::app_policy_deny), 1u);
  EXPECT_EQ(r2->count(Counter::sessions_created), 0u);
  // Known after the handshake: the update closes the session.
  tcp_handshake();
  auto bt = as_string(pk::bittorrent_handshake());
  std::vector<Frame> out = r1->send(kLan, client_tcp(kTcpAck | 0x08, 1001, 5001, bt));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(r2->send(kWan, out[0].raw).empty());
  EXPECT_EQ(r2->drop_count(DropReason::app_policy_deny), 2u);
  ASSERT_NE(session(*r2), nullptr);
  EXPECT_EQ(session(*r2)->app_slot, kAppDenied);
  EXPECT_TRUE(r2->send(kWan, out[1].raw).empty()) << "the data after the update: dropped";
  EXPECT_EQ(r2->drop_count(DropReason::app_policy_deny), 3u);
  EXPECT_EQ(r2->count(Counter::app_packets_inspected), 0u);
}

TEST_F(SvrApps, ServiceThatNamesApplicationsAdmitsOnlyThose) {
  start(Rules{{}, {"SSH"}});
  tcp_handshake();
  auto hello = as_string(pk::tls_client_hello("www.example.org"));
  EXPECT_TRUE(r1->send(kLan, client_tcp(kTcpAck | 0x08, 1001, 5001, hello)).empty());
  EXPECT_EQ(r1->drop_count(DropReason::app_not_in_service), 1u);
  ASSERT_NE(session(*r1), nullptr);
  EXPECT_EQ(session(*r1)->app_slot, kAppDenied);
}

// qos.applications (docs/qos.md § Classes by application): both routers shaped, DNS -> voice
// and TLS -> interactive, service web bulk. The class follows the application the moment it is
// known, on the ingress (classified) and on the egress (TLV 35) for the reverse direction.
config::Config shaped_router(bool ingress, bool app_rules) {
  config::Config c = router(ingress, {});
  c.mutable_services(1)->set_qos_class("bulk");  // web
  c.mutable_router()->mutable_wan(0)->mutable_qos()->set_rate_kbps(10'000);
  if (app_rules) {
    auto* a = c.mutable_qos()->add_applications();
    a->set_application("dns");
    a->set_class_("voice");
    a = c.mutable_qos()->add_applications();
    a->set_application("TLS");
    a->set_class_("interactive");
  }
  return c;
}

uint8_t dscp_of(const Frame& f) { return f.ip4()[1] >> 2; }

void setup_qos(DataplaneShared& sh) {
  std::string err;
  ASSERT_TRUE(sh.qos.setup(*sh.model.load(), sh.workers, 1024, SOCKET_ID_ANY, qos_now_ns(), err)) << err;
}

RouterOptions apps_and_qos() {
  RouterOptions o;
  o.with_apps();
  o.prepare = setup_qos;
  return o;
}

class SvrAppQos : public SvrApps {
 protected:
  void start_shaped(bool r2_rules = true) {
    r1 = std::make_unique<Router>(shaped_router(true, true), apps_and_qos());
    r2 = std::make_unique<Router>(shaped_router(false, r2_rules), apps_and_qos());
    r1->neighbor(0, kClient, kClientMac);
    r1->neighbor(1, kR2Wan, kR2Mac);
    r2->neighbor(0, kServer, kServerMac);
    r2->neighbor(1, kR1Wan, kR1Mac);
  }
};

TEST_F(SvrAppQos, ApplicationKnownOnTheFirstPacketGivesItsClassOnBothRouters) {
  start_shaped();
  auto q = Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kServer).udp(40000, 53).payload(pk::dns_query("example.com"));
  Frame w = r1->send_one(kLan, q.bytes());
  EXPECT_EQ(dscp_of(w), 46) << "DNS -> voice (EF) on the packet that was classified; the service has no class";
  EXPECT_TRUE(w.ip_checksum_ok());
  EXPECT_EQ(session(*r1, 53, kProtoUdp)->qos_class(), static_cast<uint8_t>(QosClass::voice));
  r2->send_one(kWan, w.raw);
  ASSERT_NE(session(*r2, 53, kProtoUdp), nullptr);
  EXPECT_EQ(session(*r2, 53, kProtoUdp)->qos_class(), static_cast<uint8_t>(QosClass::voice)) << "from TLV 35";
  Frame back = r2->send_one(kLan, Pkt().eth(kR2Mac, kServerMac).ipv4(kServer, kClient).udp(53, 40000).payload("a").bytes());
  EXPECT_EQ(back.port, kWan);
  EXPECT_EQ(dscp_of(back), 46) << "the egress marks the reverse direction by the application too";
  EXPECT_EQ(r2->count(Counter::app_packets_inspected), 0u);
}

TEST_F(SvrAppQos, ApplicationFoundLaterMovesTheSessionFromTheServicesClass) {
  start_shaped();
  Frame syn = r1->send_one(kLan, client_tcp(kTcpSyn, 1000, 0));
  EXPECT_EQ(dscp_of(syn), 10) << "not known yet: the service's class (bulk, AF11)";
  r2->send_one(kWan, syn.raw);
  Frame synack = r2->send_one(kLan, server_tcp(kTcpSyn | kTcpAck, 5000, 1001));
  EXPECT_EQ(dscp_of(synack), 10) << "the egress too";
  r1->send_one(kWan, synack.raw);
  r2->send_one(kWan, r1->send_one(kLan, client_tcp(kTcpAck, 1001, 5001)).raw);
  auto hello = as_string(pk::tls_client_hello("www.example.org"));
  std::vector<Frame> out = r1->send(kLan, client_tcp(kTcpAck | 0x08, 1001, 5001, hello));
  ASSERT_EQ(out.size(), 2u) << "the update, then the data";
  EXPECT_EQ(dscp_of(out[0]), 48) << "the metadata-only update is network-control";
  EXPECT_EQ(dscp_of(out[1]), 18) << "TLS -> interactive (AF21) from the packet that made it known";
  EXPECT_EQ(session(*r1)->qos_class(), static_cast<uint8_t>(QosClass::interactive));
  EXPECT_EQ(session(*r2)->qos_class(), static_cast<uint8_t>(QosClass::bulk)) << "r2 not told yet";
  r2->send(kWan, out[0].raw);
  EXPECT_EQ(session(*r2)->qos_class(), static_cast<uint8_t>(QosClass::interactive)) << "the update moved it";
  r2->send_one(kWan, out[1].raw);
  Frame ack = r2->send_one(kLan, server_tcp(kTcpAck, 5001, 1001 + static_cast<uint32_t>(hello.size())));
  EXPECT_EQ(dscp_of(ack), 18);
}

TEST_F(SvrAppQos, ARouterWithoutRulesKeepsTheServicesClass) {
  start_shaped(false);
  auto q = Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kServer).udp(40000, 53).payload(pk::dns_query("example.com"));
  r2->send_one(kWan, r1->send_one(kLan, q.bytes()).raw);
  EXPECT_EQ(session(*r2, 53, kProtoUdp)->app, app_id("DNS"));
  EXPECT_EQ(session(*r2, 53, kProtoUdp)->qos_class(), static_cast<uint8_t>(QosClass::best_effort))
      << "each router classes by its own config";
}

// r1 -> r2 (transit) -> r3 (last hop) for 10.3.0.0/24 udp 53, on the one WAN subnet.
config::Config chain_router(const char* name, const char* lan, const char* wan, const char* next,
                            std::vector<std::tuple<const char*, const char*, const char*>> peers) {
  config::Config c = router_base(name, lan, {{"wan0", wan}});
  add_tenant(c, "branch", "10.1.0.0/25");
  add_service(c, {"dns", "10.3.0.0/24", "udp", "53", next});
  add_policy(c, "branch", "dns", "");
  for (const auto& [pname, addr, key] : peers) add_peer(c, pname, {addr}, key);
  return c;
}

TEST(SvrAppsTransit, TransitPassesTheApplicationOnWithoutClassifying) {
  Router r1(chain_router("r1", "10.1.0.1/24", "172.16.0.1/24", "r2", {{"r2", "172.16.0.2", kKey12}}),
            RouterOptions().with_apps());
  Router r2(chain_router("r2", "10.2.0.1/24", "172.16.0.2/24", "r3",
                         {{"r1", "172.16.0.1", kKey12}, {"r3", "172.16.0.3", kKey23}}),
            RouterOptions().with_apps());
  Router r3(chain_router("r3", "10.3.0.1/24", "172.16.0.3/24", "", {{"r2", "172.16.0.2", kKey23}}),
            RouterOptions().with_apps());
  r1.neighbor(0, kClient, kClientMac);
  r1.neighbor(1, kR2Wan, kR2Mac);
  r2.neighbor(1, kR1Wan, kR1Mac);
  r2.neighbor(1, kR3Wan, kR3Mac);
  r3.neighbor(0, kFar, kFarMac);
  r3.neighbor(1, kR2Wan, kR2Mac);
  auto q = Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kFar).udp(40000, 53).payload(pk::dns_query("example.com"));
  Frame w1 = r1.send_one(kLan, q.bytes());
  Frame w2 = r2.send_one(kWan, w1.raw);
  EXPECT_EQ(w2.dst(), kR3Wan);
  Metadata md;
  ASSERT_EQ(decode_metadata(w2.data(), w2.data_len(), md), MetadataStatus::ok);
  EXPECT_EQ(md.application, "DNS") << "the transit hop names it onward";
  Frame lan = r3.send_one(kWan, w2.raw);
  EXPECT_EQ(lan.dst(), kFar);
  for (Router* r : {&r2, &r3}) {
    EXPECT_EQ(r->count(Counter::app_packets_inspected), 0u);
    EXPECT_EQ(r->count(Counter::app_from_metadata), 1u);
  }
  EXPECT_EQ(r1.count(Counter::app_sessions_classified), 1u);
}

TEST(RouterModelApps, PolicyDenyListsComeBeforeTheServicesOwn) {
  config::Config c = router(true, Rules{{"BitTorrent"}, {"SSH", "BitTorrent"}});
  c.mutable_services(1)->add_categories("Web");
  HmacEngine hmac;
  std::string error;
  auto m = RouterModel::build(c, nullptr, nullptr, hmac, error);
  ASSERT_TRUE(m) << error;
  const int t = m->tenant_by_name("branch"), web = m->service_by_name("web"), dns = m->service_by_name("dns");
  const auto& cat = app::AppCatalog::instance();
  const uint16_t web_cat = *cat.find_category("Web");
  EXPECT_EQ(m->app_decision(t, web, app_id("SSH"), 0), AppDecision::allow);
  EXPECT_EQ(m->app_decision(t, web, app_id("HTTP"), web_cat), AppDecision::allow) << "by category";
  EXPECT_EQ(m->app_decision(t, web, app_id("BitTorrent"), 0), AppDecision::policy_deny);
  EXPECT_EQ(m->app_decision(t, web, app_id("DNS"), 0), AppDecision::not_in_service);
  EXPECT_EQ(m->app_decision(t, web, 0, 0), AppDecision::not_in_service) << "Unknown is not SSH";
  EXPECT_EQ(m->app_decision(t, dns, app_id("DNS"), 0), AppDecision::allow);
  EXPECT_EQ(m->app_decision(t, dns, app_id("BitTorrent"), 0), AppDecision::policy_deny);
}

}  // namespace
}  // namespace wp
