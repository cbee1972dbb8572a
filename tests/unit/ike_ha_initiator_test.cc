// IKE SAs our own initiator established (ipsec_peers[].initiate) across the
// HA pair (docs/ipsec.md § HA, issue #20; ike_service_ha_init.cc,
// ike/ike_initiator_ha.cc). Two IKE services joined by their IkeHaChannels
// as the HA threads join them, both with `initiate` toward site1 and
// initiate_from 10.78.0.2 (node 1's WAN address), and the site as an
// in-process responder. Node 1 initiates, node 2 stands by and keeps a
// copy (never a second IKE_SA_INIT); a broken copy is refused and counted
// without a key in the log; when node 2 takes 10.78.0.2 over it carries the
// SA on as its initiator: it answers the site's retransmitted request with
// node 1's stored answer and its next request with the next ID, its own
// next request (DPD) takes our next message ID with the Initiator flag, its
// Child SA starts past the margin; a restarted node 1 gets it back (resumed)
// and node 2 lets it go without a Delete.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "dataplane/control/ike/ike_sa_sync.h"
#include "dataplane/control/ike_service.h"
#include "tests/unit/ike_service_test_config.h"
#include "tests/unit/ike_test_initiator.h"

namespace wp::ike {
namespace {

using namespace std::chrono;
using A = IkeService::HaAddress;
constexpr Ipv4 kSiteAddr = 0x0a4e0001, kHeadendAddr = 0x0a4e0002, kNode2Addr = 0x0a4e0003;

waypoint::config::Config initiating_pair_config() {
  waypoint::config::Config cfg;
  cfg.add_tenants()->set_name("corp");
  add_site1(cfg, "corp");
  cfg.mutable_ipsec_peers(0)->set_initiate(true);
  cfg.mutable_ipsec_peers(0)->set_initiate_from("10.78.0.2");
  return cfg;
}

ResponderConfig site_config() {
  EspSuite esn;
  EXPECT_TRUE(esp_suite_by_name("aes256-sha256-esn", esn));
  return site_responder_config(esn);
}

// A datagram without its non-ESP marker.
Bytes ike_of(const IkeDatagram& d) {
  Bytes m = d.payload;
  if (d.dport == kIkeNattPort && m.size() >= 4) m.erase(m.begin(), m.begin() + 4);
  return m;
}

struct Node {
  uint32_t id;
  Ipv4 wan;  // its own WAN address (the route's source)
  std::vector<std::string> logs;
  std::atomic<const EspSaTable*> table{nullptr};
  IkeHaChannel channel;
  EspSeqMarks marks;
  A headend;  // how it answers for 10.78.0.2
  std::unique_ptr<IkeService> svc;
  std::vector<IkeDatagram> sent;  // every datagram it sent toward the site
  Node(uint32_t n, Ipv4 own, A h) : id(n), wan(own), headend(h) {
    svc = std::make_unique<IkeService>(initiating_pair_config(), table, IkeService::Readers{},
                                       [this](const std::string& l) { logs.push_back(l); });
    svc->set_source([this](const IpAddress& peer) { return peer == kSiteAddr ? wan : 0; });
    svc->set_ha(&channel, id, &marks, [this](const IpAddress& a) {
      if (a == kHeadendAddr) return headend;
      return a == wan ? A::own : A::not_ours_now;
    });
  }
  nlohmann::json status() const { return nlohmann::json::parse(svc->status_json()); }
  uint64_t counter(IkeServiceCounter c) const { return svc->counter(c); }
  size_t sa_inits() const {
    size_t n = 0;
    for (const IkeDatagram& d : sent) {
      const Bytes m = ike_of(d);
      n += m.size() > 18 && m[18] == static_cast<uint8_t>(Exchange::ike_sa_init);
    }
    return n;
  }
};

void carry(Node& from, Node& to) {
  for (std::string& b : from.channel.take_to_peer()) to.channel.from_peer(std::move(b));
}

struct IkeHaInitiatorTest : ::testing::Test {
  steady_clock::time_point now = steady_clock::now();
  Node n1{1, kHeadendAddr, A::own}, n2{2, kNode2Addr, A::not_ours_now};
  std::unique_ptr<Responder> site = std::make_unique<Responder>(site_config());

  // `n`'s queued datagrams to the site and back until nobody sends.
  void run(Node& n, std::vector<IkeDatagram> q) {
    for (int k = 0; k < 8 && !q.empty(); ++k) {
      const IkeDatagram d = q.front();
      q.erase(q.begin());
      n.sent.push_back(d);
      EXPECT_EQ(d.dst, kSiteAddr);
      Bytes answer = site->handle(ike_of(d), {d.src.bytes(), d.sport}, {kSite.addr, d.dport}, now);
      if (answer.empty()) continue;
      if (d.dport == kIkeNattPort) answer.insert(answer.begin(), 4, 0);
      const Bytes r = n.svc->input(answer, kSiteAddr, d.dport, d.src, d.sport, now);
      if (!r.empty()) q.push_back({d.src, kSiteAddr, d.sport, d.dport, r});
      for (IkeDatagram& o : n.svc->take_outgoing()) q.push_back(std::move(o));
    }
  }
  void poll(Node& n) {
    n.svc->poll(now);
    run(n, n.svc->take_outgoing());
  }
  static Bytes bytes_of(Ipv4 a) {
    return {static_cast<uint8_t>(a >> 24), static_cast<uint8_t>(a >> 16), static_cast<uint8_t>(a >> 8),
            static_cast<uint8_t>(a)};
  }
  uint64_t site_spi() const { return site->sas().begin()->first; }
  uint32_t site_child() const { return site->sas().begin()->second->children.begin()->first; }
  // Requests the site starts (a Child SA rekey, which we answer, then the
  // site's Delete of the old Child SA) delivered to `n`; returns n's answer
  // to the last one (no marker), that request in *request.
  Bytes site_request(Node& n, Bytes* request = nullptr) {
    Bytes req = site->rekey_child(site_spi(), site_child(), now);
    EXPECT_FALSE(req.empty());
    Bytes answer;
    for (int k = 0; k < 4 && !req.empty(); ++k) {
      if (request) *request = req;
      answer = deliver(n, req);
      if (answer.empty()) break;
      req = site->handle(answer, {kHeadend.addr, kIkeNattPort}, {kSite.addr, kIkeNattPort}, now);
    }
    return answer;
  }
  Bytes deliver(Node& n, Bytes req) {
    req.insert(req.begin(), 4, 0);
    Bytes r = n.svc->input(req, kSiteAddr, kIkeNattPort, kHeadendAddr, kIkeNattPort, now);
    if (r.size() >= 4) r.erase(r.begin(), r.begin() + 4);
    return r;
  }
  void establish_at_n1() {
    poll(n2);  // node 2 does not answer for initiate_from: stands by
    EXPECT_EQ(n2.counter(IkeServiceCounter::initiate_standby), 1u);
    poll(n1);
    ASSERT_NE(n1.svc->initiator(0), nullptr);
    ASSERT_EQ(n1.svc->initiator(0)->state(), InitiatorState::established);
    EXPECT_EQ(n1.sent.front().src, kHeadendAddr);  // initiate_from
    carry(n1, n2);
    poll(n2);
  }
};

TEST_F(IkeHaInitiatorTest, InitiatedSaIsSyncedAndTheStandbyNeverStartsOne) {
  establish_at_n1();
  EXPECT_EQ(n1.counter(IkeServiceCounter::ike_ha_sas_synced), 1u);
  EXPECT_EQ(n2.counter(IkeServiceCounter::ike_ha_sas_applied), 1u);
  const auto st2 = n2.status();
  ASSERT_EQ(st2["ike_sas"].size(), 1u);
  EXPECT_EQ(st2["ike_sas"][0]["ha"], "peer copy");
  EXPECT_EQ(st2["ike_sas"][0]["role"], "initiator");
  EXPECT_EQ(n1.status()["ike_sas"][0]["ha"], "own");
  // The copy keeps the wire order: SPIi ours, as node 1 shows it.
  EXPECT_EQ(st2["ike_sas"][0]["spi_i"], n1.status()["ike_sas"][0]["spi_i"]);
  EXPECT_EQ(n2.table.load()->outbound(0), nullptr);  // a copy only
  for (int i = 0; i < 40; ++i) {  // minutes: node 2 never initiates while node 1 holds the address
    now += seconds(5);
    poll(n2);
  }
  EXPECT_EQ(n2.counter(IkeServiceCounter::initiations), 0u);
  EXPECT_TRUE(n2.sent.empty());
  EXPECT_EQ(n2.svc->initiator(0), nullptr);
  EXPECT_EQ(site->sas().size(), 1u);
}

TEST_F(IkeHaInitiatorTest, BrokenCopyIsRefusedAndCountedWithoutAKey) {
  poll(n1);
  ASSERT_EQ(n1.svc->initiator(0)->state(), InitiatorState::established);
  auto bodies = n1.channel.take_to_peer();
  ASSERT_EQ(bodies.size(), 1u);
  waypoint::ha::IkeSync msg;
  ASSERT_TRUE(msg.ParseFromString(bodies.front()));
  ASSERT_EQ(msg.sas_size(), 1);
  const waypoint::ha::IkeSaRecord good = msg.sas(0);
  EXPECT_TRUE(good.initiator());
  EXPECT_TRUE(good.nat_t());  // the site answered NAT_DETECTION: IKE on 4500
  EXPECT_EQ(good.spi_i(), n1.svc->initiator(0)->sa()->spi_i);
  EXPECT_EQ(good.own_next_request_id(), 2u);  // IKE_SA_INIT 0, IKE_AUTH 1
  const IkeSa& sa = *n1.svc->initiator(0)->sa();
  const std::vector<std::string> keys = {hex_of(sa.keys.sk_ei), hex_of(sa.keys.sk_d),
                                         hex_of(sa.children.begin()->second.enc_out)};
  waypoint::ha::IkeSync bad;
  *bad.add_sas() = good;
  bad.mutable_sas(0)->set_sk_ei(good.sk_ei().substr(1));  // key length
  *bad.add_sas() = good;
  bad.mutable_sas(1)->set_peer_config("elsewhere");  // no such peer
  *bad.add_sas() = good;
  bad.mutable_sas(2)->set_tunnel(7);  // another tunnel
  n2.channel.from_peer(bad.SerializeAsString());
  poll(n2);
  EXPECT_EQ(n2.counter(IkeServiceCounter::ike_ha_decode_errors), 3u);
  EXPECT_EQ(n2.counter(IkeServiceCounter::ike_ha_sas_applied), 0u);
  EXPECT_TRUE(n2.status()["ike_sas"].empty());
  // Taking the address over with no copy: node 2 starts its own SA (from initiate_from).
  n2.headend = A::peers_taken_over;
  now += seconds(3);  // its standby postponed the start by 2 s
  poll(n2);
  EXPECT_EQ(n2.counter(IkeServiceCounter::ike_ha_taken_over), 0u);
  EXPECT_EQ(n2.counter(IkeServiceCounter::initiations), 1u);
  ASSERT_FALSE(n2.sent.empty());
  EXPECT_EQ(n2.sent.front().src, kHeadendAddr);
  for (const auto& logs : {n1.logs, n2.logs})
    for (const std::string& l : logs)
      for (const std::string& k : keys) EXPECT_EQ(l.find(k), std::string::npos) << l;
  bool named = false;
  for (const std::string& l : n2.logs) named |= l.find("elsewhere") != std::string::npos;
  EXPECT_TRUE(named);
  for (const std::string& k : keys) EXPECT_EQ(n2.svc->status_json().find(k), std::string::npos);
}

TEST_F(IkeHaInitiatorTest, TakeoverKeepsMessageIdsRoleAndTimers) {
  establish_at_n1();
  // The site's Child SA rekey at node 1 (and its Delete of the old SA), then our DPD.
  Bytes request;
  const Bytes n1_answer = site_request(n1, &request);
  ASSERT_FALSE(n1_answer.empty());
  now += seconds(31);
  poll(n1);  // liveness, message ID 2, answered
  EXPECT_EQ(n1.svc->initiator(0)->counters().liveness_answered, 1u);
  n1.svc->poll(now + milliseconds(1500));  // ESP marks, a changed fingerprint
  carry(n1, n2);
  poll(n2);
  const uint32_t child_out = site->sas().begin()->second->children.begin()->first;

  n2.headend = A::peers_taken_over;  // node 1 died; node 2 took 10.78.0.2 over
  now += seconds(1);
  poll(n2);
  EXPECT_EQ(n2.counter(IkeServiceCounter::ike_ha_taken_over), 1u);
  ASSERT_NE(n2.svc->initiator(0), nullptr);
  EXPECT_EQ(n2.svc->initiator(0)->state(), InitiatorState::established);
  const auto st = n2.status();
  ASSERT_EQ(st["ike_sas"].size(), 1u);
  EXPECT_EQ(st["ike_sas"][0]["role"], "initiator");
  EXPECT_EQ(st["ike_sas"][0]["ha"], "taken over");
  EXPECT_EQ(st["ike_sas"][0]["local"], "10.78.0.2:4500");
  const EspSaTable* t = n2.table.load();
  ASSERT_NE(t->outbound(0), nullptr);
  EXPECT_EQ(t->outbound(0)->spi, child_out);
  EXPECT_GE(t->outbound(0)->seq_start, kIkeHaSeqMargin);
  // The site's retransmission: node 1's answer byte for byte; its next request: answered.
  EXPECT_EQ(deliver(n2, request), n1_answer);
  Bytes next;
  const Bytes a2 = site_request(n2, &next);
  ASSERT_FALSE(a2.empty());
  Message m;
  ASSERT_TRUE(parse_message(a2, m).ok());
  Message req;
  ASSERT_TRUE(parse_message(next, req).ok());
  EXPECT_EQ(m.header.message_id, req.header.message_id);
  EXPECT_TRUE(m.header.response());
  EXPECT_TRUE(m.header.initiator());  // we are the SA's initiator
  // Our DPD after dpd_interval_s of silence: message ID 3, the Initiator flag, answered by the site.
  now += seconds(31);
  n2.sent.clear();
  poll(n2);
  ASSERT_FALSE(n2.sent.empty());
  Message dpd;
  ASSERT_TRUE(parse_message(ike_of(n2.sent.front()), dpd).ok());
  EXPECT_EQ(dpd.header.exchange, Exchange::informational);
  EXPECT_EQ(dpd.header.message_id, 3u);
  EXPECT_TRUE(dpd.header.initiator());
  EXPECT_FALSE(dpd.header.response());
  EXPECT_EQ(n2.sent.front().src, kHeadendAddr);
  EXPECT_EQ(n2.sent.front().dport, kIkeNattPort);
  EXPECT_EQ(n2.svc->initiator(0)->counters().liveness_answered, 1u);
  EXPECT_EQ(site->counters()[Refusal::old_message_id] + site->counters()[Refusal::future_message_id], 0u);
  // Never a second SA: no IKE_SA_INIT from node 2, however long.
  for (int i = 0; i < 20; ++i) {
    now += seconds(10);
    poll(n2);
  }
  EXPECT_EQ(n2.sa_inits(), 0u);
  EXPECT_EQ(n2.counter(IkeServiceCounter::initiations), 0u);
  EXPECT_EQ(site->sas().size(), 1u);
  EXPECT_EQ(n2.svc->initiator(0)->state(), InitiatorState::established);
  EXPECT_GE(n2.svc->initiator(0)->counters().liveness_answered, 2u);  // DPD kept running
}

TEST_F(IkeHaInitiatorTest, ReturningOwnerResumesAndTheSurvivorGivesItBack) {
  establish_at_n1();
  n2.headend = A::peers_taken_over;
  poll(n2);
  ASSERT_EQ(n2.counter(IkeServiceCounter::ike_ha_taken_over), 1u);
  now += seconds(31);
  poll(n2);  // DPD, message ID 2 at node 2
  ASSERT_EQ(n2.svc->initiator(0)->counters().liveness_answered, 1u);
  // Node 1 restarts: a fresh process that does not hold its address yet.
  Node back{1, kHeadendAddr, A::not_ours_now};
  poll(back);
  EXPECT_EQ(back.counter(IkeServiceCounter::initiate_standby), 1u);
  n2.channel.dump_req.fetch_add(1);  // the HA thread asks for a full dump at the rejoin
  poll(n2);
  carry(n2, back);
  poll(back);
  EXPECT_GE(back.counter(IkeServiceCounter::ike_ha_sas_applied), 1u);  // the takeover's records and the dump
  back.headend = A::own;  // it claimed 10.78.0.2 back after the resync
  now += seconds(3);
  poll(back);
  EXPECT_EQ(back.counter(IkeServiceCounter::ike_ha_resumed), 1u);
  EXPECT_EQ(back.counter(IkeServiceCounter::initiations), 0u);
  EXPECT_EQ(back.sa_inits(), 0u);
  ASSERT_NE(back.svc->initiator(0), nullptr);
  EXPECT_EQ(back.status()["ike_sas"][0]["ha"], "own");
  n2.headend = A::not_ours_now;  // the Takeback
  n2.sent.clear();
  poll(n2);
  EXPECT_EQ(n2.counter(IkeServiceCounter::ike_ha_given_back), 1u);
  EXPECT_EQ(n2.svc->initiator(0), nullptr);
  EXPECT_TRUE(n2.sent.empty());  // no Delete to the site
  EXPECT_EQ(n2.table.load()->outbound(0), nullptr);
  EXPECT_EQ(n2.status()["ike_sas"][0]["ha"], "peer copy");
  // The returning node goes on with our message ID 3.
  now += seconds(31);
  poll(back);
  ASSERT_FALSE(back.sent.empty());
  Message dpd;
  ASSERT_TRUE(parse_message(ike_of(back.sent.back()), dpd).ok());
  EXPECT_EQ(dpd.header.message_id, 3u);
  EXPECT_EQ(back.svc->initiator(0)->counters().liveness_answered, 1u);
  EXPECT_EQ(site->sas().size(), 1u);
  // Its SA gone (the site deletes it): node 2 forgets its copy at the DELETE.
  const Bytes del = site->delete_sa(site_spi(), now);
  ASSERT_FALSE(del.empty());
  deliver(back, del);
  back.svc->poll(now);
  EXPECT_EQ(back.counter(IkeServiceCounter::ike_ha_deletes_synced), 1u);
  carry(back, n2);
  poll(n2);
  EXPECT_EQ(n2.counter(IkeServiceCounter::ike_ha_deletes_applied), 1u);
  EXPECT_TRUE(n2.status()["ike_sas"].empty());
}

}  // namespace
}  // namespace wp::ike
