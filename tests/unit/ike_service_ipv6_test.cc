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
//
// HA takeover over IPv6 (docs/ipsec.md § HA, § IPv6 outer addresses): node 1
// holds the site's IPv6 SA, node 2 keeps the synced copy while node 1 holds
// its IPv6 address (waypointd's rule, ike_ha_answers over an HaDataplane
// with ha.peer_addresses6), takes it over when HA takes that address, answers
// the site's DPD to it with the synced keys, opens the site's ESP to it and
// seals ESP to the site from it with the synced keys, numbers past the margin.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <nlohmann/json.hpp>

#include "dataplane/control/ike/ike_sa_sync.h"
#include "dataplane/control/ike_ha_answers.h"
#include "dataplane/control/ike_service.h"
#include "dataplane/ip/packet.h"
#include "dataplane/ipsec/esp_input.h"
#include "dataplane/ipsec/esp_output.h"
#include "tests/unit/eal_env.h"
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
  EXPECT_EQ(st["ike_sas"][0]["remote"], "[2001:db8:78::1]:4500");  // floated at IKE_AUTH, no NAT
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
  encode_ike_sa(sa, 1, std::chrono::steady_clock::now(), {}, rec);
  EXPECT_EQ(rec.peer_addr().size(), 16u);
  ChildSeqs seqs;
  std::string error;
  auto back = decode_ike_sa(rec, svc.responder().config(), std::chrono::steady_clock::now(), seqs, error);
  ASSERT_NE(back, nullptr) << error;
  EXPECT_EQ(back->peer, sa.peer);
  EXPECT_EQ(back->local, sa.local);
  EXPECT_EQ(record_address(back->local.addr), kHeadOuter6);
  rec.set_local_addr(std::string(4, '\x0a'));  // an IPv4 local address with an IPv6 peer
  EXPECT_EQ(decode_ike_sa(rec, svc.responder().config(), std::chrono::steady_clock::now(), seqs, error), nullptr);
  EXPECT_NE(error.find("two IPv4 or two IPv6"), std::string::npos) << error;
}

// `svc`'s queued datagrams to the in-process site responder and back until
// nobody sends; each must go from kHeadOuter6 to the site. The ports they went to.
std::vector<uint16_t> run_with_site(IkeService& svc, Responder& site, std::vector<IkeDatagram> q,
                                    std::chrono::steady_clock::time_point now) {
  std::vector<uint16_t> ports;
  for (int n = 0; n < 8 && !q.empty(); ++n) {
    const IkeDatagram d = q.front();
    q.erase(q.begin());
    EXPECT_EQ(d.src, kHeadOuter6);
    EXPECT_EQ(d.dst, kSiteOuter6);
    ports.push_back(d.dport);
    Bytes msg = d.payload;
    if (d.dport == kIkeNattPort) msg.erase(msg.begin(), msg.begin() + 4);
    Bytes answer = site.handle(msg, site6_ep(kHeadOuter6, d.sport), site6_ep(kSiteOuter6, d.dport), now);
    if (answer.empty()) continue;
    if (d.dport == kIkeNattPort) answer.insert(answer.begin(), 4, 0);
    const Bytes r = svc.input(answer, kSiteOuter6, d.dport, kHeadOuter6, d.sport, now);
    if (!r.empty()) q.push_back({kHeadOuter6, kSiteOuter6, d.sport, d.dport, r});
    for (IkeDatagram& o : svc.take_outgoing()) q.push_back(std::move(o));
  }
  return ports;
}

ResponderConfig esn_site_config() {
  EspSuite esn;
  EXPECT_TRUE(esp_suite_by_name("aes256-sha256-esn", esn));
  return site_responder_config(esn);
}

TEST(IkeServiceIpv6Initiator, RequestsLeaveOverIpv6AndTheChildSaSealsTowardTheSite) {
  std::atomic<const EspSaTable*> table{nullptr};
  std::atomic<uint64_t> epoch{0};
  IkeService svc{ipv6_site_config(true), table, {&epoch}};
  svc.set_source([](const IpAddress& peer) { return peer == kSiteOuter6 ? kHeadOuter6 : IpAddress(Ipv6{}); });
  Responder site(esn_site_config());
  const auto now = std::chrono::steady_clock::now();
  svc.poll(now);
  std::vector<IkeDatagram> q = svc.take_outgoing();
  ASSERT_EQ(q.size(), 1u);
  const std::vector<uint16_t> ports = run_with_site(svc, site, q, now);
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

// Node 1 (the fixture's service, at kHeadOuter6) and node 2 (its HA peer,
// whose ha.peer_addresses6 is kHeadOuter6), joined as the HA threads join
// them; each answers for addresses by waypointd's rule (ike_ha_answers).
struct IkeHaIpv6Test : IkeServiceIpv6Test {
  HaDataplane ha1, ha2;
  EspSeqMarks marks1, marks2;
  std::atomic<const EspSaTable*> table2{nullptr};
  std::atomic<uint64_t> epoch2{0};
  IkeService svc2{ipv6_site_config(false), table2, {&epoch2}};
  CryptoEngine eng;
  IvSource ivs{eng};

  void SetUp() override {
    ha1.enabled = ha2.enabled = true;
    ha1.peer_addresses6.push_back({*parse_ipv6("2001:db8:78::3"), 0});  // node 2's own
    ha2.peer_addresses6.push_back({kHeadOuter6.addr6, 0});
    svc.set_ha(&ha1.ike, 1, &marks1, [this](const IpAddress& a) { return ike_ha_answers(ha1, a); });
    svc2.set_ha(&ha2.ike, 2, &marks2, [this](const IpAddress& a) { return ike_ha_answers(ha2, a); });
  }
  void carry() {
    for (std::string& b : ha1.ike.take_to_peer()) ha2.ike.from_peer(std::move(b));
    svc2.poll(std::chrono::steady_clock::now());
  }
  std::string role2() const { return nlohmann::json::parse(svc2.status_json())["ike_sas"][0]["ha"]; }
  // `inner` sealed into tunnel 0 of `t` (the outer packet), or opened by `t` (the inner one); empty when refused.
  Bytes esp(const EspSaTable& t, EspWorkerState& w, const Bytes& pkt, bool seal) {
    rte_mbuf* m = rte_pktmbuf_alloc(test::test_pool());
    std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(pkt.size())), pkt.data(), pkt.size());
    EspResult r;
    const uint16_t tunnel = 0;
    if (seal)
      esp_output_burst(eng, ivs, t, w, &m, &tunnel, 1, &r);
    else
      esp_input_burst(eng, t, w, &m, 1, &r);
    Bytes out;
    if (r.ok) out.assign(rte_pktmbuf_mtod(m, const uint8_t*), rte_pktmbuf_mtod(m, const uint8_t*) + m->data_len);
    rte_pktmbuf_free(m);
    return out;
  }
};

// An inner IPv4 UDP packet from the site's LAN host 10.50.0.7 to 10.2.0.10 (or back).
Bytes inner_ipv4(bool from_site) {
  Bytes p = {0x45, 0, 0, 32, 0, 1, 0, 0, 64, 17, 0, 0, 10, 50, 0, 7, 10, 2, 0, 10,
             0x9c, 0x40, 0, 80, 0, 12, 0, 0, 'p', 'i', 'n', 'g'};
  if (!from_site) std::swap_ranges(p.begin() + 12, p.begin() + 16, p.begin() + 16);
  uint32_t sum = 0;
  for (size_t k = 0; k < 20; k += 2) sum += static_cast<uint32_t>(p[k] << 8 | p[k + 1]);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  p[10] = static_cast<uint8_t>(~sum >> 8), p[11] = static_cast<uint8_t>(~sum);
  return p;
}

TEST_F(IkeHaIpv6Test, SurvivorTakesTheIpv6SaOverAnswersDpdAndCarriesEsp) {
  ASSERT_NE(establish(site6_ep(kSiteOuter6, kIkePort)), nullptr);
  const IkeSa& sa = *svc.responder().sas().begin()->second;
  const ChildSa& child = sa.children.begin()->second;
  // Node 1's owner worker published 6400 sealed and 1280 opened; node 2 gets the record and the marks.
  {
    const EspSaTable& t1 = *table.load();
    EspWorkerState w1;
    w1.set_marks(&marks1);
    w1.mark(t1, *t1.outbound(0), 6400);
    w1.mark(t1, *t1.inbound(child.spi_in), 1280);
  }
  svc.poll(std::chrono::steady_clock::now() + std::chrono::seconds(2));
  carry();
  EXPECT_EQ(svc2.counter(IkeServiceCounter::ike_ha_sas_applied), 1u);
  // Node 1 holds its IPv6 address: node 2 keeps a copy only (neither resumed as its own nor installed).
  EXPECT_EQ(ike_ha_answers(ha2, kHeadOuter6), IkeService::HaAddress::not_ours_now);
  EXPECT_EQ(role2(), "peer copy");
  EXPECT_TRUE(table2.load() == nullptr || table2.load()->inbound(child.spi_in) == nullptr);
  EXPECT_FALSE(ha2.holds_peer_address6(kHeadOuter6.addr6, 0)) << "the workers and ND leave it to node 1";

  // Node 1 dies; node 2's HA thread takes its addresses, ha.peer_addresses6 included.
  ha2.peer_taken.store(true);
  svc2.poll(std::chrono::steady_clock::now());
  EXPECT_EQ(svc2.counter(IkeServiceCounter::ike_ha_taken_over), 1u);
  EXPECT_EQ(role2(), "taken over");
  EXPECT_TRUE(ha2.holds_peer_address6(kHeadOuter6.addr6, 0)) << "its workers hand IKE and ESP to it up";

  // The site's DPD to node 1's IPv6 address on 4500, answered by node 2 with the synced keys.
  const uint32_t id = i.next_id++;
  Bytes dpd(4, 0);
  const Bytes req = i.request(Exchange::informational, {}, id);
  dpd.insert(dpd.end(), req.begin(), req.end());
  Bytes reply = svc2.input(dpd, kSiteOuter6, kIkeNattPort, kHeadOuter6, kIkeNattPort);
  ASSERT_GT(reply.size(), 4u);
  reply.erase(reply.begin(), reply.begin() + 4);
  Message m;
  ASSERT_TRUE(parse_message(reply, m).ok());
  EXPECT_EQ(m.header.message_id, id);
  Bytes plain;
  EXPECT_EQ(open_sk(i.suite, i.keys.sk_er, i.keys.sk_ar, reply, m, plain), SkError::ok);

  // The ESP of the taken-over Child SA: from and to node 1's IPv6 address, past the margin.
  const EspSaTable* t2 = table2.load();
  ASSERT_NE(t2, nullptr);
  const EspSa* out = t2->outbound(0);
  ASSERT_NE(out, nullptr);
  EXPECT_TRUE(out->outer6);
  EXPECT_EQ(out->local6, kHeadOuter6.addr6);
  EXPECT_EQ(out->peer6, kSiteOuter6.addr6);
  EXPECT_EQ(out->seq_start, 6400 + kIkeHaSeqMargin);
  // The site's two SAs, from its own KEYMAT (RFC 7296 § 2.17: it initiated).
  ChildSa site_child;
  site_child.suite = child.suite;
  site_child.spi_in = child.spi_out;
  site_child.spi_out = child.spi_in;
  derive_child_keys(site_child, i.keys.sk_d, i.ni, i.nr, {}, /*initiator=*/true);
  EspSaBook site_book;
  std::string error;
  TunnelEndpoint ep;
  ep.local = kSiteOuter6, ep.peer = kHeadOuter6, ep.udp_encap = out->udp_encap;
  ep.seq_out_start = 1281;  // the site goes on past what node 1 had opened (1280)
  ASSERT_TRUE(site_book.add(eng, site_child, ep, error)) << error;
  const std::unique_ptr<EspSaTable> site_table = site_book.build();
  EspWorkerState site_w, w2;
  // The site's ESP to node 1's address, opened by node 2.
  const Bytes from_site = esp(*site_table, site_w, inner_ipv4(true), true);
  ASSERT_GT(from_site.size(), 40u);
  EXPECT_EQ(load_ipv6(from_site.data() + 24), kHeadOuter6.addr6);
  EXPECT_EQ(esp(*t2, w2, from_site, false), inner_ipv4(true));
  // Node 2's ESP to the site: from node 1's address, numbered past node 1's mark + the margin, opened by the site.
  const Bytes to_site = esp(*t2, w2, inner_ipv4(false), true);
  ASSERT_GT(to_site.size(), 48u);
  EXPECT_EQ(load_ipv6(to_site.data() + 8), kHeadOuter6.addr6);
  EXPECT_EQ(load_ipv6(to_site.data() + 24), kSiteOuter6.addr6);
  const size_t esp_at = 40 + (out->udp_encap ? 8 : 0);
  EXPECT_EQ(load_be32(to_site.data() + esp_at), child.spi_out);
  EXPECT_EQ(load_be32(to_site.data() + esp_at + 4), static_cast<uint32_t>(6400 + kIkeHaSeqMargin + 1));
  EXPECT_EQ(esp(*site_table, site_w, to_site, false), inner_ipv4(false));

  // Node 1 returns and claims its address back: node 2 hands the SA back without a Delete.
  ha2.peer_taken.store(false);
  svc2.poll(std::chrono::steady_clock::now());
  EXPECT_EQ(svc2.counter(IkeServiceCounter::ike_ha_given_back), 1u);
  EXPECT_EQ(role2(), "peer copy");
  EXPECT_TRUE(svc2.take_outgoing().empty()) << "no Delete to the site";
}

// docs/ipsec.md § HA "Who initiates in a pair", over IPv6: both nodes have
// `initiate` toward the IPv6 site with local_address node 1's IPv6 address;
// only the node that answers for it initiates: node 1, while node 2 stands
// by with the synced copy; after the takeover node 2 carries node 1's SA on
// (no IKE_SA_INIT), its DPD leaves from node 1's address under the SA's
// keys and the site answers it, and its Child SA seals from that address.
TEST(IkeHaIpv6Initiator, OnlyTheHolderOfLocalAddressInitiatesAndTheSurvivorCarriesTheSaOn) {
  const IpAddress node2_own(*parse_ipv6("2001:db8:78::3"));
  HaDataplane ha1, ha2;
  ha1.enabled = ha2.enabled = true;
  ha1.peer_addresses6.push_back({node2_own.addr6, 0});
  ha2.peer_addresses6.push_back({kHeadOuter6.addr6, 0});
  EspSeqMarks marks1, marks2;
  std::atomic<const EspSaTable*> t1{nullptr}, t2{nullptr};
  std::atomic<uint64_t> e1{0}, e2{0};
  IkeService n1{ipv6_site_config(true), t1, {&e1}}, n2{ipv6_site_config(true), t2, {&e2}};
  n1.set_source([](const IpAddress&) { return kHeadOuter6; });
  n2.set_source([&](const IpAddress&) { return node2_own; });
  n1.set_ha(&ha1.ike, 1, &marks1, [&](const IpAddress& a) { return ike_ha_answers(ha1, a); });
  n2.set_ha(&ha2.ike, 2, &marks2, [&](const IpAddress& a) { return ike_ha_answers(ha2, a); });
  Responder site(esn_site_config());
  auto now = std::chrono::steady_clock::now();
  n2.poll(now);
  EXPECT_TRUE(n2.take_outgoing().empty()) << "node 1 answers for local_address: node 2 does not initiate";
  EXPECT_EQ(n2.counter(IkeServiceCounter::initiate_standby), 1u);
  n1.poll(now);
  EXPECT_EQ(run_with_site(n1, site, n1.take_outgoing(), now), (std::vector<uint16_t>{kIkePort, kIkeNattPort}));
  ASSERT_NE(n1.initiator(0), nullptr);
  ASSERT_EQ(n1.initiator(0)->state(), InitiatorState::established);
  n1.poll(now);
  for (std::string& b : ha1.ike.take_to_peer()) ha2.ike.from_peer(std::move(b));
  n2.poll(now);
  EXPECT_EQ(n2.counter(IkeServiceCounter::ike_ha_sas_applied), 1u);
  EXPECT_TRUE(n2.take_outgoing().empty());

  ha2.peer_taken.store(true);  // node 1 died: node 2 holds its IPv6 address
  now += std::chrono::seconds(1);
  n2.poll(now);
  EXPECT_EQ(n2.counter(IkeServiceCounter::ike_ha_taken_over), 1u);
  ASSERT_NE(n2.initiator(0), nullptr);
  EXPECT_EQ(n2.initiator(0)->state(), InitiatorState::established);
  EXPECT_TRUE(n2.take_outgoing().empty()) << "no IKE_SA_INIT: the SA is carried on";
  const EspSa* out = t2.load() ? t2.load()->outbound(0) : nullptr;
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(out->local6, kHeadOuter6.addr6);
  EXPECT_EQ(out->peer6, kSiteOuter6.addr6);
  // Past dpd_interval_s: node 2's DPD from node 1's address, answered by the site on the same SA.
  now += std::chrono::seconds(31);
  n2.poll(now);
  std::vector<IkeDatagram> dpd = n2.take_outgoing();
  ASSERT_EQ(dpd.size(), 1u);
  run_with_site(n2, site, dpd, now);
  EXPECT_EQ(site.sas().size(), 1u) << "the site still has one IKE SA: no new one";
  EXPECT_EQ(n2.initiator(0)->state(), InitiatorState::established);
  EXPECT_EQ(n2.counter(IkeServiceCounter::initiator_timeouts), 0u);
}

}  // namespace
}  // namespace wp::ike
