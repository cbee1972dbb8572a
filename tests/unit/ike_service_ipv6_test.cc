// IKE over IPv6 outer addresses in waypointd's IKE service (docs/ipsec.md § IPv6 outer addresses):
// the test initiator (the site) against the service as responder over
// IPv6, with NAT_DETECTION hashes of 16-byte addresses (no NAT: ESP as IP
// protocol 50; a NAT66 in front of the site: ESP in UDP 4500), the Child
// SA published as an `outer6` ESP SA with the IKE SA's IPv6 addresses; an
// IPv6 peer's IPv4 twin and another of our addresses refused; the HA record
// of an IPv6 IKE SA round-trips (16-byte endpoints) and one with endpoints
// of two families is refused. The service as initiator to an in-process
// responder over IPv6: its requests leave from and to IPv6 addresses, the
// SA comes up (IKE_AUTH on 4500 after NAT-T's move) and its Child SA seals
// toward the site's IPv6 address.
#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>

#include "dataplane/control/ike/ike_sa_sync.h"
#include "dataplane/control/ike_service.h"
#include "tests/unit/ike_service_test_config.h"
#include "tests/unit/ike_test_initiator.h"

namespace wp::ike {
namespace {

const IpAddress kSiteOuter6(*parse_ipv6("2001:db8:78::1")), kHeadOuter6(*parse_ipv6("2001:db8:78::2"));

Endpoint site6_ep(const IpAddress& a, uint16_t port) { return {a.bytes(), port}; }

waypoint::config::Config ipv6_site_config(bool initiate) {
  waypoint::config::Config cfg;
  cfg.add_tenants()->set_name("branch");
  add_site1(cfg, "branch");
  cfg.mutable_ipsec_peers(0)->set_address("2001:db8:78::1");
  cfg.mutable_ipsec_peers(0)->set_local_address("2001:db8:78::2");
  cfg.mutable_ipsec_peers(0)->set_initiate(initiate);
  return cfg;
}

struct IkeServiceIpv6Test : ::testing::Test {
  std::atomic<const EspSaTable*> table{nullptr};
  std::atomic<uint64_t> epoch{0};
  IkeService svc{ipv6_site_config(false), table, {&epoch}};
  TestInitiator i;

  // `d` from the site on `port` (4500: behind the non-ESP marker), the answer without it.
  Bytes send(const Bytes& d, uint16_t port, const IpAddress& from = kSiteOuter6, const IpAddress& to = kHeadOuter6) {
    Bytes msg(port == kIkeNattPort ? 4 : 0, 0);
    msg.insert(msg.end(), d.begin(), d.end());
    Bytes r = svc.input(msg, from, port, to, port);
    if (port == kIkeNattPort && r.size() >= 4) r.erase(r.begin(), r.begin() + 4);
    return r;
  }
  // IKE_SA_INIT on 500 with NAT_DETECTION (the site's source as `site_src`), IKE_AUTH on 4500.
  const EspSa* establish(const Endpoint& site_src) {
    i.init_extra = {make_notify(kNotifyNatSourceIp, nat_hash(i.spi_i, 0, site_src)),
                    make_notify(kNotifyNatDestinationIp, nat_hash(i.spi_i, 0, site6_ep(kHeadOuter6, kIkePort)))};
    IkeSuite s;
    EXPECT_TRUE(ike_suite_by_name("aes256-sha256-modp2048", s));
    EXPECT_TRUE(i.accept(send(i.sa_init({ike_proposal(1, s)}, kDhModp2048), kIkePort)));
    EXPECT_NE(find<AuthPayload>(i.open(send(i.auth(kPsk), kIkeNattPort)), PayloadType::auth), nullptr);
    const EspSaTable* t = table.load();
    return t ? t->outbound(0) : nullptr;
  }
};

TEST_F(IkeServiceIpv6Test, ResponderPublishesAnOuter6ChildSaAsPlainEspWithoutNat) {
  const EspSa* o = establish(site6_ep(kSiteOuter6, kIkePort));
  ASSERT_NE(o, nullptr);
  EXPECT_TRUE(o->outer6);
  EXPECT_EQ(o->peer6, kSiteOuter6.addr6);
  EXPECT_EQ(o->local6, kHeadOuter6.addr6);
  EXPECT_FALSE(o->udp_encap) << "the 16-byte hashes matched: no NAT, IP protocol 50";
  const IkeSa& sa = *svc.responder().sas().begin()->second;
  const EspSa* in = table.load()->inbound(sa.children.begin()->second.spi_in);
  ASSERT_NE(in, nullptr);
  EXPECT_TRUE(in->outer6);
  EXPECT_EQ(in->peer6, kSiteOuter6.addr6);
  const auto st = nlohmann::json::parse(svc.status_json());
  EXPECT_EQ(st["ike_sas"][0]["remote"], "[2001:db8:78::1]:500");
  EXPECT_EQ(st["ike_sas"][0]["state"], "ESTABLISHED");
}

TEST_F(IkeServiceIpv6Test, Nat66InFrontOfTheSiteIsEspInUdp) {
  const EspSa* o = establish(site6_ep(IpAddress(*parse_ipv6("fd00::9")), 4000));  // the site's own, before the NAT66
  ASSERT_NE(o, nullptr);
  EXPECT_TRUE(o->outer6);
  EXPECT_TRUE(o->udp_encap);
  EXPECT_EQ(o->peer_port, kIkeNattPort);
}

TEST_F(IkeServiceIpv6Test, OtherAddressesOfThePeerOrOursAreRefused) {
  IkeSuite s;
  ASSERT_TRUE(ike_suite_by_name("aes256-sha256-modp2048", s));
  const Bytes init = i.sa_init({ike_proposal(1, s)}, kDhModp2048);
  EXPECT_TRUE(send(init, kIkePort, IpAddress(0x0a4e0001), IpAddress(0x0a4e0002)).empty());  // IPv4 twin
  EXPECT_EQ(svc.counter(IkeServiceCounter::unknown_peer), 1u);
  EXPECT_TRUE(send(init, kIkePort, kSiteOuter6, IpAddress(*parse_ipv6("2001:db8:78::3"))).empty());
  EXPECT_EQ(svc.counter(IkeServiceCounter::wrong_local_address), 1u);
  EXPECT_TRUE(svc.responder().sas().empty());
}

TEST_F(IkeServiceIpv6Test, HaRecordCarriesIpv6Endpoints) {
  ASSERT_NE(establish(site6_ep(kSiteOuter6, kIkePort)), nullptr);
  const IkeSa& sa = *svc.responder().sas().begin()->second;
  waypoint::ha::IkeSaRecord rec;
  encode_ike_sa(sa, 1, {}, rec);
  EXPECT_EQ(rec.peer_addr().size(), 16u);
  ChildSeqs seqs;
  std::string error;
  auto back = decode_ike_sa(rec, svc.responder().config(), seqs, error);
  ASSERT_NE(back, nullptr) << error;
  EXPECT_EQ(back->peer, sa.peer);
  EXPECT_EQ(back->local, sa.local);
  EXPECT_EQ(record_address(back->local.addr), kHeadOuter6);
  rec.set_local_addr(std::string(4, '\x0a'));  // an IPv4 local address with an IPv6 peer
  EXPECT_EQ(decode_ike_sa(rec, svc.responder().config(), seqs, error), nullptr);
  EXPECT_NE(error.find("two IPv4 or two IPv6"), std::string::npos) << error;
}

TEST(IkeServiceIpv6Initiator, RequestsLeaveOverIpv6AndTheChildSaSealsTowardTheSite) {
  std::atomic<const EspSaTable*> table{nullptr};
  std::atomic<uint64_t> epoch{0};
  IkeService svc{ipv6_site_config(true), table, {&epoch}};
  svc.set_source([](const IpAddress& peer) { return peer == kSiteOuter6 ? kHeadOuter6 : IpAddress(Ipv6{}); });
  EspSuite esn;
  ASSERT_TRUE(esp_suite_by_name("aes256-sha256-esn", esn));
  Responder site(site_responder_config(esn));
  const auto now = std::chrono::steady_clock::now();
  svc.poll(now);
  std::vector<IkeDatagram> q = svc.take_outgoing();
  ASSERT_EQ(q.size(), 1u);
  std::vector<uint16_t> ports;
  for (int n = 0; n < 8 && !q.empty(); ++n) {
    const IkeDatagram d = q.front();
    q.erase(q.begin());
    EXPECT_EQ(d.src, kHeadOuter6);
    EXPECT_EQ(d.dst, kSiteOuter6);
    ports.push_back(d.dport);
    Bytes msg = d.payload;
    if (d.dport == kIkeNattPort) msg.erase(msg.begin(), msg.begin() + 4);
    Bytes answer = site.handle(msg, site6_ep(kHeadOuter6, d.sport), site6_ep(kSiteOuter6, d.dport));
    if (answer.empty()) continue;
    if (d.dport == kIkeNattPort) answer.insert(answer.begin(), 4, 0);
    const Bytes r = svc.input(answer, kSiteOuter6, d.dport, kHeadOuter6, d.sport, now);
    if (!r.empty()) q.push_back({kHeadOuter6, kSiteOuter6, d.sport, d.dport, r});
    for (IkeDatagram& o : svc.take_outgoing()) q.push_back(std::move(o));
  }
  EXPECT_EQ(ports, (std::vector<uint16_t>{kIkePort, kIkeNattPort})) << "IKE_AUTH after NAT-T's move";
  ASSERT_NE(svc.initiator(0), nullptr);
  EXPECT_EQ(svc.initiator(0)->state(), InitiatorState::established);
  ASSERT_EQ(site.sas().size(), 1u);
  EXPECT_EQ(site.sas().begin()->second->peer.addr, kHeadOuter6.bytes());
  const EspSa* o = table.load()->outbound(0);
  ASSERT_NE(o, nullptr);
  EXPECT_TRUE(o->outer6);
  EXPECT_EQ(o->peer6, kSiteOuter6.addr6);
  EXPECT_EQ(o->local6, kHeadOuter6.addr6);
  EXPECT_FALSE(o->udp_encap);
}

}  // namespace
}  // namespace wp::ike
