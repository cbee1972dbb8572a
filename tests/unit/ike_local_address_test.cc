// A second headend address for IPsec sites (issue #20; docs/ipsec.md
// § Dynamic routing over tunnels): `ipsec_peers[].local_address`.
// - config: one of our WAN addresses (address or waypoint_addresses; with
//   HA also ha.peer_waypoints), the same as initiate_from when both are
//   set; two peers may share a remote_id only with distinct local addresses;
// - responder: one site identity with a tunnel to each of two headend
//   addresses: the IKE SA is answered on, hashed (NAT_DETECTION_SOURCE_IP)
//   with, and its ESP sealed from the address the site reached, into that
//   address's tunnel; IKE from the site to another of our addresses is
//   dropped and counted (wrong_local_address);
// - initiator: IKE_SA_INIT leaves from local_address (not the route's
//   address), its NAT_DETECTION_SOURCE_IP hashes it, the Child SA seals from it;
// - ESP to another of our addresses than its SA's local one: esp_wrong_local.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "dataplane/control/ike/ike_proposal.h"
#include "dataplane/control/ike_service.h"
#include "mgmt/config_load.h"
#include "tests/unit/ike_service_test_config.h"
#include "tests/unit/ike_test_initiator.h"
#include "tests/unit/test_data.h"

namespace wp::ike {
namespace {

constexpr Ipv4 kLocalSiteAddr = 0x0a4e0001;                                  // 10.78.0.1 (kSite)
constexpr Ipv4 kLocalFirst = 0x0a4e0002, kLocalSecond = 0x0a4e0003;          // 10.78.0.2 (kHeadend), .3
const Endpoint kHeadendSecond{{10, 78, 0, 3}, 500};

// site1 (tunnel ipsec0) bound to 10.78.0.2, site1b (tunnel ipsec1) to
// 10.78.0.3: the same site address and identity, another PSK.
waypoint::config::Config two_address_config() {
  waypoint::config::Config cfg;
  cfg.add_tenants()->set_name("branch");
  add_site1(cfg, "branch");
  cfg.mutable_ipsec_peers(0)->set_local_address("10.78.0.2");
  auto* b = cfg.add_ipsec_peers();
  *b = cfg.ipsec_peers(0);
  b->set_name("site1b");
  b->set_psk("test-psk-second-0123456789");
  b->set_local_address("10.78.0.3");
  auto* t = cfg.add_tunnels();
  t->set_name("ipsec1");
  t->set_peer("site1b");
  t->set_tenant("branch");
  return cfg;
}

struct IkeLocalAddressTest : ::testing::Test {
  std::atomic<const EspSaTable*> table{nullptr};
  std::atomic<uint64_t> epoch{0};
  IkeService svc{two_address_config(), table, {&epoch}};

  // IKE_SA_INIT to `to`; the answer, accepted by `i`.
  Bytes init(TestInitiator& i, Ipv4 to) {
    IkeSuite s;
    EXPECT_TRUE(ike_suite_by_name("aes256-sha256-modp2048", s));
    const Bytes answer = svc.input(i.sa_init({ike_proposal(1, s)}, kDhModp2048), kLocalSiteAddr, kIkePort, to, kIkePort);
    EXPECT_TRUE(i.accept(answer));
    return answer;
  }
  // IKE_AUTH to `to`: whether our AUTH came back.
  bool auth(TestInitiator& i, Ipv4 to, const std::string& psk) {
    const Bytes r = svc.input(i.auth(psk), kLocalSiteAddr, kIkePort, to, kIkePort);
    return !r.empty() && find<AuthPayload>(i.open(r), PayloadType::auth) != nullptr;
  }
  nlohmann::json status() const { return nlohmann::json::parse(svc.status_json()); }
};

TEST_F(IkeLocalAddressTest, EachHeadendAddressAnswersItsOwnPeerWithItsOwnHashAndTunnel) {
  TestInitiator second;
  second.spi_i = 0x0102030405060708;
  const Bytes answer = init(second, kLocalSecond);
  // Our NAT_DETECTION_SOURCE_IP hashes the address the site reached (RFC 7296 § 2.23).
  Message m;
  ASSERT_TRUE(parse_message(answer, m).ok());
  const NotifyPayload* src_hash = notify_of(m.payloads, kNotifyNatSourceIp);
  ASSERT_NE(src_hash, nullptr);
  EXPECT_EQ(src_hash->data, nat_hash(second.spi_i, second.spi_r, kHeadendSecond));
  EXPECT_NE(src_hash->data, nat_hash(second.spi_i, second.spi_r, kHeadend));
  ASSERT_TRUE(auth(second, kLocalSecond, "test-psk-second-0123456789"));  // site1b's PSK: the peer bound to .3

  TestInitiator first;  // the same identity to the first address: site1, its own PSK
  init(first, kLocalFirst);
  ASSERT_TRUE(auth(first, kLocalFirst, kPsk));

  const EspSaTable* t = table.load();
  ASSERT_NE(t->outbound(0), nullptr);
  ASSERT_NE(t->outbound(1), nullptr);
  EXPECT_EQ(t->outbound(0)->local, kLocalFirst);  // ipsec0's ESP sealed from 10.78.0.2
  EXPECT_EQ(t->outbound(1)->local, kLocalSecond);  // ipsec1's from 10.78.0.3
  const nlohmann::json st = status();
  ASSERT_EQ(st["ike_sas"].size(), 2u);
  for (const auto& sa : st["ike_sas"])
    EXPECT_EQ(sa["local"], sa["peer"] == "site1b" ? "10.78.0.3:500" : "10.78.0.2:500") << sa.dump();
}

TEST_F(IkeLocalAddressTest, TheWrongAddressIsRefused) {
  // site1b's PSK sent to site1's address: the peer there is site1, AUTH fails.
  TestInitiator i;
  init(i, kLocalFirst);
  EXPECT_FALSE(auth(i, kLocalFirst, "test-psk-second-0123456789"));
  EXPECT_EQ(table.load()->outbound(1), nullptr);
  // An address of ours no peer of that site is bound to: dropped before the responder.
  TestInitiator j;
  IkeSuite s;
  ASSERT_TRUE(ike_suite_by_name("aes256-sha256-modp2048", s));
  const uint64_t before = svc.responder().counters().requests;
  EXPECT_TRUE(svc.input(j.sa_init({ike_proposal(1, s)}, kDhModp2048), kLocalSiteAddr, kIkePort, 0x0a4e0004, kIkePort)
                  .empty());
  EXPECT_EQ(svc.counter(IkeServiceCounter::wrong_local_address), 1u);
  EXPECT_EQ(svc.responder().counters().requests, before);
  // In the document within a second (drops before the responder only count).
  svc.poll(std::chrono::steady_clock::now() + std::chrono::seconds(2));
  EXPECT_EQ(status()["counters"]["wrong_local_address"], 1);
}

TEST(IkeLocalAddressInitiator, InitiatesFromLocalAddressNotTheRoutesAddress) {
  waypoint::config::Config cfg;
  cfg.add_tenants()->set_name("branch");
  add_site1(cfg, "branch");
  cfg.mutable_ipsec_peers(0)->set_initiate(true);
  cfg.mutable_ipsec_peers(0)->set_local_address("10.78.0.3");
  std::atomic<const EspSaTable*> table{nullptr};
  std::atomic<uint64_t> epoch{0};
  IkeService svc{cfg, table, {&epoch}};
  svc.set_source([](const IpAddress&) { return kLocalFirst; });  // the route's WAN address
  svc.poll(std::chrono::steady_clock::now());
  const auto out = svc.take_outgoing();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].src, kLocalSecond);
  EXPECT_EQ(out[0].dst, kLocalSiteAddr);
  Message m;
  ASSERT_TRUE(parse_message(out[0].payload, m).ok());
  const NotifyPayload* src_hash = notify_of(m.payloads, kNotifyNatSourceIp);
  ASSERT_NE(src_hash, nullptr);
  EXPECT_EQ(src_hash->data, nat_hash(m.header.spi_i, 0, kHeadendSecond));

  // The site (our responder library) answers at 10.78.0.3; the Child SA seals from it.
  EspSuite esn;
  ASSERT_TRUE(esp_suite_by_name("aes256-sha256-esn", esn));
  Responder site(site_responder_config(esn));
  std::vector<IkeDatagram> q{out[0]};
  for (int n = 0; n < 6 && !q.empty(); ++n) {
    const IkeDatagram d = q.front();
    q.erase(q.begin());
    EXPECT_EQ(d.src, kLocalSecond);
    Bytes msg = d.payload;
    if (d.dport == kIkeNattPort) msg.erase(msg.begin(), msg.begin() + 4);
    Bytes answer = site.handle(msg, {kHeadendSecond.addr, d.sport}, {kSite.addr, d.dport});
    if (answer.empty()) continue;
    if (d.dport == kIkeNattPort) answer.insert(answer.begin(), 4, 0);
    const Bytes r = svc.input(answer, kLocalSiteAddr, d.dport, kLocalSecond, d.sport);
    if (!r.empty()) q.push_back({kLocalSecond, kLocalSiteAddr, d.sport, d.dport, r});
    for (IkeDatagram& o : svc.take_outgoing()) q.push_back(std::move(o));
  }
  ASSERT_NE(svc.initiator(0), nullptr);
  EXPECT_EQ(svc.initiator(0)->state(), InitiatorState::established);
  ASSERT_NE(table.load()->outbound(0), nullptr);
  EXPECT_EQ(table.load()->outbound(0)->local, kLocalSecond);
  // Not a NAT: the site hashed the address we sent from.
  EXPECT_FALSE(svc.initiator(0)->nat_local());
}

}  // namespace
}  // namespace wp::ike

namespace wp::mgmt {
namespace {

std::string with_two_sites(const std::string& first, const std::string& second, const std::string& extra = "") {
  std::string text = test::r1_text();
  const std::string wan = "      address: 172.16.0.1/24\n";
  const size_t at = text.find(wan);
  EXPECT_NE(at, std::string::npos);
  text.insert(at + wan.size(), "      waypoint_addresses: [172.16.0.3]\n");
  return text + extra +
         "ipsec_peers:\n"
         "  - {name: site1, address: 172.16.0.50, local_id: headend.example, remote_id: site1.example,\n"
         "     psk: site1-psk-0123456789" + first + "}\n"
         "  - {name: site1b, address: 172.16.0.50, local_id: headend.example, remote_id: site1.example,\n"
         "     psk: site1-psk-0123456789" + second + "}\n"
         "tunnels:\n"
         "  - {name: ipsec0, peer: site1, tenant: branch}\n"
         "  - {name: ipsec1, peer: site1b, tenant: branch}\n";
}

testing::AssertionResult HasError(const ConfigResult& r, const std::string& path, const std::string& text) {
  for (const auto& e : r.errors)
    if (e.path == path && e.message.find(text) != std::string::npos) return testing::AssertionSuccess();
  return testing::AssertionFailure() << "no error at \"" << path << "\" containing \"" << text << "\"; got:\n"
                                     << r.error_text();
}

TEST(IpsecLocalAddressConfig, TwoPeersOfOneIdentityOnTwoOfOurAddresses) {
  ConfigResult ok = load_config_text(
      with_two_sites(", local_address: 172.16.0.1", ", local_address: 172.16.0.3"));  // address, waypoint address
  ASSERT_TRUE(ok.ok()) << ok.error_text();
  EXPECT_EQ(ok.config.ipsec_peers(1).local_address(), "172.16.0.3");
  ConfigResult same = load_config_text(with_two_sites(", local_address: 172.16.0.3", ", local_address: 172.16.0.3"));
  EXPECT_TRUE(HasError(same, "ipsec_peers[1].remote_id", "each has its own local_address"));
  ConfigResult one = load_config_text(with_two_sites("", ", local_address: 172.16.0.3"));
  EXPECT_TRUE(HasError(one, "ipsec_peers[1].remote_id", "is the remote_id of another IPsec peer"));
}

TEST(IpsecLocalAddressConfig, LocalAddressIsOneOfOurWanAddresses) {
  ConfigResult other = load_config_text(with_two_sites(", local_address: 172.16.0.1", ", local_address: 172.16.0.9"));
  EXPECT_TRUE(HasError(other, "ipsec_peers[1].local_address", "not one of our WAN addresses"));
  ConfigResult lan = load_config_text(with_two_sites(", local_address: 10.1.0.1", ", local_address: 172.16.0.3"));
  EXPECT_TRUE(HasError(lan, "ipsec_peers[0].local_address", "not one of our WAN addresses"));
  ConfigResult bad = load_config_text(with_two_sites(", local_address: hub-b", ", local_address: 172.16.0.3"));
  EXPECT_TRUE(HasError(bad, "ipsec_peers[0].local_address", "not an IPv4 address"));
  // In an HA pair the peer node's WAN address counts (the record travels with it).
  const std::string ha = "ha: {node_id: 1, group: wp-pair, peer_waypoints: [172.16.0.2], peer_lan: [10.1.0.2]}\n";
  ConfigResult pair = load_config_text(with_two_sites(", local_address: 172.16.0.1", ", local_address: 172.16.0.2", ha));
  EXPECT_TRUE(pair.ok()) << pair.error_text();
  ConfigResult alone = load_config_text(with_two_sites(", local_address: 172.16.0.1", ", local_address: 172.16.0.2"));
  EXPECT_TRUE(HasError(alone, "ipsec_peers[1].local_address", "not one of our WAN addresses"));
}

TEST(IpsecLocalAddressConfig, InitiateFromMustAgree) {
  ConfigResult same = load_config_text(with_two_sites(
      ", local_address: 172.16.0.1", ", local_address: 172.16.0.3, initiate: true, initiate_from: 172.16.0.3"));
  EXPECT_TRUE(same.ok()) << same.error_text();
  ConfigResult differ = load_config_text(with_two_sites(
      ", local_address: 172.16.0.1", ", local_address: 172.16.0.3, initiate: true, initiate_from: 172.16.0.1"));
  EXPECT_TRUE(HasError(differ, "ipsec_peers[1].local_address", "differs from initiate_from"));
}

}  // namespace
}  // namespace wp::mgmt
