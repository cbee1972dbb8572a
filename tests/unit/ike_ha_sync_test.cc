// IKE and Child SA state across the HA pair (docs/ipsec.md § HA,
// dataplane/control/ike/ike_sa_sync.h, ike_service_ha.cc): two IKE services,
// node 1 holding the site's SA and node 2 its peer, joined by their
// IkeHaChannels as the HA threads join them. The record round-trips and no
// key appears in an error or log line; the peer's copy is installed when its
// address is taken over and answers the site's next INFORMATIONAL (DPD) with
// the right message ID and keys, and a retransmitted request with the stored
// response; the outbound counter starts at the synced mark + margin and the
// replay window at the synced top; a Delete reaches the copy; the returning
// owner resumes the SA the survivor advanced, and the survivor removes it;
// our own SA is set aside while we do not answer for our address; our DPD
// on a taken-over SA counts from the takeover.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "dataplane/control/ike/ike_sa_sync.h"
#include "dataplane/control/ike/responder_config.h"
#include "dataplane/control/ike_service.h"
#include "tests/unit/ike_service_test_config.h"
#include "tests/unit/ike_test_initiator.h"

namespace wp::ike {
namespace {

using namespace std::chrono;
using A = IkeService::HaAddress;
constexpr Ipv4 kSiteAddr = 0x0a4e0001, kHeadendAddr = 0x0a4e0002;  // kSite, kHeadend: node 1's WAN address

waypoint::config::Config service_config(uint32_t ike_lifetime_s = 0) {
  waypoint::config::Config cfg;
  cfg.add_tenants()->set_name("corp");
  add_site1(cfg, "corp");
  if (ike_lifetime_s) cfg.mutable_ipsec_peers(0)->set_ike_lifetime_s(ike_lifetime_s);
  return cfg;
}

// One node: its service, table, channel, sequence marks and what it answers for.
struct Node {
  uint32_t id;
  std::vector<std::string> logs;
  std::atomic<const EspSaTable*> table{nullptr};
  IkeHaChannel channel;
  EspSeqMarks marks;
  A own = A::own, peer = A::not_ours_now;  // for kHeadendAddr, as node 1 / node 2 sees it
  std::unique_ptr<EspTunnelCounters[]> tunnels{new EspTunnelCounters[kEspCounterTunnels]};  // one worker's
  std::unique_ptr<IkeService> svc;
  explicit Node(uint32_t n, bool holds_headend, uint32_t ike_lifetime_s = 0) : id(n) {
    svc = std::make_unique<IkeService>(service_config(ike_lifetime_s), table, IkeService::Readers{},
                                       [this](const std::string& l) { logs.push_back(l); });
    svc->set_tunnel_counters(tunnels.get(), 1);
    svc->set_ha(&channel, id, &marks, [this, holds_headend](const IpAddress& a) {
      if (a != kHeadendAddr) return A::not_ours_now;
      return holds_headend ? own : peer;
    });
  }
  nlohmann::json status() const { return nlohmann::json::parse(svc->status_json()); }
  uint64_t counter(const char* c) const { return status()["counters"][c].get<uint64_t>(); }
  Bytes send(const Bytes& d, steady_clock::time_point t = steady_clock::now()) {
    return svc->input(d, kSiteAddr, kIkePort, kHeadendAddr, kIkePort, t);
  }
};

// What one HA thread hands the other (both ways).
void carry(Node& from, Node& to) {
  for (std::string& b : from.channel.take_to_peer()) to.channel.from_peer(std::move(b));
}

struct IkeHaSyncTest : ::testing::Test {
  Node n1{1, true}, n2{2, false};
  TestInitiator site;
  Bytes auth_request, auth_response, last_reply;

  void SetUp() override {
    IkeSuite s;
    ASSERT_TRUE(ike_suite_by_name("aes256-sha256-modp2048", s));
    ASSERT_TRUE(site.accept(n1.send(site.sa_init({ike_proposal(1, s)}, kDhModp2048))));
    auth_request = site.auth(kPsk);
    auth_response = n1.send(auth_request);
    ASSERT_NE(find<AuthPayload>(site.open(auth_response), PayloadType::auth), nullptr);
    carry(n1, n2);
    n2.svc->poll(steady_clock::now());
  }
  uint32_t our_spi() const { return n1.svc->responder().sas().begin()->second->children.begin()->first; }
  // An empty INFORMATIONAL (the site's DPD) to `n`; true when `n` answered
  // it with the site's next message ID under the IKE SA's keys.
  bool dpd(Node& n) {
    const uint32_t id = site.next_id++;
    const Bytes reply = n.send(site.request(Exchange::informational, {}, id));
    last_reply = reply;
    if (reply.empty()) return false;
    Message m;
    if (!parse_message(reply, m).ok() || m.header.message_id != id) return false;
    Bytes plain;
    return open_sk(site.suite, site.keys.sk_er, site.keys.sk_ar, reply, m, plain) == SkError::ok;
  }
};

TEST_F(IkeHaSyncTest, RecordRoundTripsAndErrorsNeverHoldAKey) {
  const IkeSa& sa = *n1.svc->responder().sas().begin()->second;
  waypoint::ha::IkeSaRecord rec;
  encode_ike_sa(sa, 1, steady_clock::now(), {{our_spi(), {6400, 1280}}}, rec);
  ChildSeqs seqs;
  std::string error;
  auto back = decode_ike_sa(rec, n2.svc->responder().config(), steady_clock::now(), seqs, error);
  ASSERT_NE(back, nullptr) << error;
  EXPECT_EQ(back->spi_i, sa.spi_i);
  EXPECT_EQ(back->spi_r, sa.spi_r);
  EXPECT_EQ(back->peer, sa.peer);
  EXPECT_EQ(back->local, sa.local);
  EXPECT_EQ(back->keys.sk_ei, sa.keys.sk_ei);
  EXPECT_EQ(back->keys.sk_ar, sa.keys.sk_ar);
  EXPECT_EQ(back->keys.sk_d, sa.keys.sk_d);
  EXPECT_EQ(back->next_request_id, sa.next_request_id);
  EXPECT_EQ(back->own_next_request_id, sa.own_next_request_id);
  // Our own requests' next ID (rekeys, deletes) travels too, and a change of it is a change to sync.
  rec.set_own_next_request_id(sa.own_next_request_id + 3);
  ChildSeqs seqs2;
  auto moved = decode_ike_sa(rec, n2.svc->responder().config(), steady_clock::now(), seqs2, error);
  ASSERT_NE(moved, nullptr) << error;
  EXPECT_EQ(moved->own_next_request_id, sa.own_next_request_id + 3);
  EXPECT_NE(sync_fingerprint(*moved), sync_fingerprint(*back));
  EXPECT_EQ(back->last_response, sa.last_response);
  EXPECT_EQ(back->config->name, "site1");
  EXPECT_EQ(back->remote_id, "site1.example");
  ASSERT_EQ(back->children.size(), 1u);
  const ChildSa& c = back->children.begin()->second, &orig = sa.children.begin()->second;
  EXPECT_EQ(c.spi_out, orig.spi_out);
  EXPECT_EQ(c.enc_in, orig.enc_in);
  EXPECT_EQ(c.integ_out, orig.integ_out);
  EXPECT_EQ(c.ts_remote, orig.ts_remote);
  EXPECT_EQ(c.suite, orig.suite);
  EXPECT_EQ(seqs[our_spi()], (ChildSeq{6400, 1280}));

  // Refusals name SPIs and peers, never a key.
  const std::vector<std::string> keys = {hex_of(sa.keys.sk_ei), hex_of(sa.keys.sk_d), hex_of(orig.enc_in)};
  auto no_key = [&](const std::string& text) {
    for (const std::string& k : keys) {
      EXPECT_EQ(text.find(k), std::string::npos);
      EXPECT_EQ(text.find(std::string(sa.keys.sk_ei.begin(), sa.keys.sk_ei.end())), std::string::npos);
    }
  };
  waypoint::ha::IkeSaRecord bad = rec;
  bad.set_peer_config("elsewhere");
  EXPECT_EQ(decode_ike_sa(bad, n2.svc->responder().config(), steady_clock::now(), seqs, error), nullptr);
  EXPECT_NE(error.find("elsewhere"), std::string::npos);
  no_key(error);
  bad = rec;
  bad.set_sk_ei(bad.sk_ei().substr(1));
  EXPECT_EQ(decode_ike_sa(bad, n2.svc->responder().config(), steady_clock::now(), seqs, error), nullptr);
  EXPECT_NE(error.find("key lengths"), std::string::npos);
  no_key(error);
  bad = rec;
  bad.set_tunnel(7);
  EXPECT_EQ(decode_ike_sa(bad, n2.svc->responder().config(), steady_clock::now(), seqs, error), nullptr);
  EXPECT_NE(error.find("same tunnels"), std::string::npos);
  waypoint::ha::IkeSaRecord old = rec;  // an age no SA reaches (fuzz_ike_ha_sync: it overflowed the clock)
  old.set_age_ms(2815312717059981311ull);
  EXPECT_EQ(decode_ike_sa(old, n2.svc->responder().config(), steady_clock::now(), seqs, error), nullptr);
  EXPECT_NE(error.find("past a week"), std::string::npos);
  // Through the service: counted, logged without a key.
  n2.channel.from_peer([&] {
    waypoint::ha::IkeSync m;
    *m.add_sas() = bad;
    return m.SerializeAsString();
  }());
  n2.channel.from_peer("\xff\xff not protobuf");
  n2.svc->poll(steady_clock::now());
  EXPECT_EQ(n2.counter("ike_ha_decode_errors"), 2u);
  for (const std::string& l : n1.logs) no_key(l);
  for (const std::string& l : n2.logs) no_key(l);
  no_key(n1.svc->status_json());
  no_key(n2.svc->status_json());
}

// A Child SA's start travels as an age whatever the clock reads, its zero included; a record
// without one (an older peer's) decodes as not known.
TEST_F(IkeHaSyncTest, AChildSasAgeTravelsOnAnyClock) {
  const IkeSa& sa = *n1.svc->responder().sas().begin()->second;
  const steady_clock::time_point zero{};
  waypoint::ha::IkeSaRecord rec;
  encode_ike_sa(sa, 1, zero + seconds(1000), {{our_spi(), {6400, 1280, 0, zero}}}, rec);
  ASSERT_EQ(rec.children_size(), 1);
  ASSERT_TRUE(rec.children(0).has_age_ms());
  EXPECT_EQ(rec.children(0).age_ms(), 1000000u);
  ChildSeqs seqs;
  std::string error;
  ASSERT_NE(decode_ike_sa(rec, n2.svc->responder().config(), zero + seconds(1500), seqs, error), nullptr) << error;
  EXPECT_EQ(seqs[our_spi()].born, zero + seconds(500));
  rec.mutable_children(0)->clear_age_ms();
  ASSERT_NE(decode_ike_sa(rec, n2.svc->responder().config(), zero + seconds(1500), seqs, error), nullptr) << error;
  EXPECT_FALSE(seqs[our_spi()].born.has_value());
}

TEST_F(IkeHaSyncTest, TakenOverCopyAnswersDpdAndRetransmissions) {
  EXPECT_EQ(n1.counter("ike_ha_sas_synced"), 1u);
  EXPECT_EQ(n2.counter("ike_ha_sas_applied"), 1u);
  EXPECT_EQ(n2.status()["ike_sas"][0]["ha"], "peer copy");
  EXPECT_EQ(n1.status()["ike_sas"][0]["ha"], "own");
  EXPECT_EQ(n2.table.load()->inbound(our_spi()), nullptr);  // a copy only
  ASSERT_TRUE(dpd(n1));  // message ID 2 at node 1, synced
  carry(n1, n2);
  n2.svc->poll(steady_clock::now());

  n2.peer = A::peers_taken_over;  // node 1 died, node 2 took its address
  n2.svc->poll(steady_clock::now());
  EXPECT_EQ(n2.counter("ike_ha_taken_over"), 1u);
  EXPECT_EQ(n2.status()["ike_sas"][0]["ha"], "taken over");
  ASSERT_NE(n2.table.load()->inbound(our_spi()), nullptr);
  ASSERT_NE(n2.table.load()->outbound(0), nullptr);
  EXPECT_EQ(n2.table.load()->outbound(0)->spi, 0xc0ffee01u);
  // The DPD node 1 answered, retransmitted (its answer lost): node 2
  // resends node 1's stored answer byte for byte.
  const Bytes n1_answer = last_reply;
  EXPECT_EQ(n2.send(site.request(Exchange::informational, {}, site.next_id - 1)), n1_answer);
  EXPECT_EQ(n2.svc->responder().counters().retransmits, 1u);
  EXPECT_TRUE(dpd(n2));  // message ID 3, answered with the IKE SA's keys
  EXPECT_TRUE(n2.send(site.request(Exchange::informational, {}, site.next_id - 2)).empty());  // ID 2: old now
}

TEST_F(IkeHaSyncTest, OutboundCounterStartsPastTheMarginReplayAtTheSyncedTop) {
  // Node 1's owner worker published 6400 sealed and 1280 opened.
  const EspSaTable* t1 = n1.table.load();
  EspWorkerState w;
  w.set_marks(&n1.marks);
  const EspSa* out = t1->outbound(0);
  const EspSa* in = t1->inbound(our_spi());
  ASSERT_TRUE(out && in);
  w.mark(*t1, *out, 6400);
  w.mark(*t1, *in, 1280);
  w.mark(*t1, *out, 6401);  // not a multiple of kEspMarkEvery: not published
  n1.svc->poll(steady_clock::now() + seconds(2));
  EXPECT_EQ(n1.counter("ike_ha_seq_synced"), 1u);
  carry(n1, n2);
  n2.peer = A::peers_taken_over;
  n2.svc->poll(steady_clock::now());
  const EspSaTable* t2 = n2.table.load();
  ASSERT_NE(t2->outbound(0), nullptr);
  EXPECT_EQ(t2->outbound(0)->seq_start, 6400 + kIkeHaSeqMargin);
  ASSERT_NE(t2->inbound(our_spi()), nullptr);
  EXPECT_EQ(t2->inbound(our_spi())->seq_start, 1280u);
  // Node 2's worker starts there: the next number sealed, the window's top.
  EspWorkerState w2;
  EXPECT_EQ(w2.of(*t2, *t2->outbound(0)).seq_out, 6400 + kIkeHaSeqMargin);
  const EspReplayWindow& rw = w2.of(*t2, *t2->inbound(our_spi())).replay;
  EXPECT_EQ(rw.top, 1280u);
  EXPECT_EQ(esn_check(rw, 1281), EspReplay::fresh);
  EXPECT_EQ(esn_check(rw, 1280 - kEspWindow), EspReplay::too_old);
}

// An IKE SA rekey (RFC 7296 § 2.18) at node 1 reaches node 2: the new SA
// synced (its Child SA moved to it), then the old one's Delete; after a
// takeover node 2 answers the site's DPD on the new SA from message ID 0.
TEST_F(IkeHaSyncTest, RekeyedIkeSaReachesTheCopy) {
  const uint32_t child = our_spi();
  std::string err;
  auto dh = DhKey::generate(site.suite.dh, err);
  ASSERT_TRUE(dh) << err;
  const uint64_t new_spi_i = 0x99aabbccddeeff00;
  const Bytes ni(32, 0x6b);
  const Bytes answer = n1.send(site.request(Exchange::create_child_sa,
                                            {{PayloadType::sa, false, ike_answer(1, site.suite, new_spi_i)},
                                             {PayloadType::nonce, false, NoncePayload{ni}},
                                             {PayloadType::ke, false, KePayload{site.suite.dh, dh->public_value()}}},
                                            site.next_id++));
  const auto in = site.open(answer);
  const auto* sa_p = find<SaPayload>(in, PayloadType::sa);
  ASSERT_NE(sa_p, nullptr);
  uint64_t new_spi_r = 0;
  for (uint8_t x : sa_p->proposals.at(0).spi) new_spi_r = new_spi_r << 8 | x;
  Bytes g_ir;
  ASSERT_TRUE(dh->shared_secret(find<KePayload>(in, PayloadType::ke)->data, g_ir, err)) << err;
  const Bytes nr = find<NoncePayload>(in, PayloadType::nonce)->data;
  carry(n1, n2);
  n2.svc->poll(steady_clock::now());
  EXPECT_EQ(n2.status()["ike_sas"].size(), 2u);  // the new SA synced beside the old one
  // The site deletes the old SA on it, then goes on with the new one.
  const DeletePayload del{Protocol::ike, 0, {}};
  EXPECT_FALSE(n1.send(site.request(Exchange::informational, {{PayloadType::del, false, del}}, site.next_id++)).empty());
  site.keys = derive_rekeyed_ike_keys(site.suite, site.keys.sk_d, ni, nr, g_ir, new_spi_i, new_spi_r);
  site.spi_i = new_spi_i;
  site.spi_r = new_spi_r;
  site.next_id = 0;
  ASSERT_EQ(n1.svc->responder().sas().size(), 1u);
  EXPECT_EQ(n1.svc->responder().sas().begin()->first, new_spi_r);
  carry(n1, n2);
  n2.svc->poll(steady_clock::now());
  EXPECT_GE(n2.counter("ike_ha_deletes_applied"), 1u);
  const nlohmann::json st = n2.status();
  ASSERT_EQ(st["ike_sas"].size(), 1u);
  EXPECT_EQ(st["ike_sas"][0]["ha"], "peer copy");
  char want[20];
  std::snprintf(want, sizeof want, "%016llx", static_cast<unsigned long long>(new_spi_r));
  EXPECT_EQ(st["ike_sas"][0]["spi_r"], want);
  n2.peer = A::peers_taken_over;
  n2.svc->poll(steady_clock::now());
  EXPECT_EQ(n2.counter("ike_ha_taken_over"), 1u);
  ASSERT_NE(n2.table.load()->inbound(child), nullptr);  // the Child SA moved with the IKE SA
  EXPECT_TRUE(dpd(n2));  // message ID 0 on the new SA, its keys
}

// Our own rekey of the site's IKE SA at node 1 (soft lifetime of
// ike_lifetime_s 600): the new SA, ours as initiator (IkeSa::we_initiated),
// reaches node 2 with that flag; after a takeover node 2 answers the site's
// DPD on it with the wire header of an SA we initiated and its keys.
TEST(IkeHaSyncRekey, OurRekeyOfTheSitesIkeSaReachesTheCopy) {
  Node n1{1, true, 600}, n2{2, false, 600};
  TestInitiator site;
  IkeSuite s;
  ASSERT_TRUE(ike_suite_by_name("aes256-sha256-modp2048", s));
  ASSERT_TRUE(site.accept(n1.send(site.sa_init({ike_proposal(1, s)}, kDhModp2048))));
  ASSERT_NE(find<AuthPayload>(site.open(n1.send(site.auth(kPsk))), PayloadType::auth), nullptr);
  const uint32_t child = n1.svc->responder().sas().begin()->second->children.begin()->first;
  carry(n1, n2);
  n2.svc->poll(steady_clock::now());
  n1.svc->poll(steady_clock::now() + seconds(580));  // past the soft lifetime (510..570 s)
  const auto out = n1.svc->take_outgoing();
  ASSERT_EQ(out.size(), 1u);
  Header h;
  const auto in = site.open_request(out[0].payload, h);
  const auto* offer = find<SaPayload>(in, PayloadType::sa);
  ASSERT_NE(offer, nullptr);
  uint64_t ours = 0;
  for (uint8_t x : offer->proposals.at(0).spi) ours = ours << 8 | x;
  std::string err;
  auto dh = DhKey::generate(kDhModp2048, err);
  ASSERT_TRUE(dh) << err;
  Bytes g_ir;
  ASSERT_TRUE(dh->shared_secret(find<KePayload>(in, PayloadType::ke)->data, g_ir, err)) << err;
  const Bytes nr(32, 0x77);
  const uint64_t theirs = 0x0badc0de0badc0deULL;
  const Bytes del = n1.send(site.answer(Exchange::create_child_sa, h.message_id,
                                        {{PayloadType::sa, false, ike_answer(1, s, theirs)},
                                         {PayloadType::nonce, false, NoncePayload{nr}},
                                         {PayloadType::ke, false, KePayload{kDhModp2048, dh->public_value()}}}));
  ASSERT_FALSE(del.empty());
  site.open_request(del, h);
  EXPECT_TRUE(n1.send(site.answer(Exchange::informational, h.message_id, {})).empty());
  const IkeKeys real = derive_rekeyed_ike_keys(s, site.keys.sk_d, find<NoncePayload>(in, PayloadType::nonce)->data, nr,
                                               g_ir, ours, theirs);
  carry(n1, n2);
  n2.svc->poll(steady_clock::now());
  const nlohmann::json st = n2.status();
  ASSERT_EQ(st["ike_sas"].size(), 1u);
  EXPECT_EQ(st["ike_sas"][0]["ha"], "peer copy");
  EXPECT_EQ(st["ike_sas"][0]["role"], "initiator");
  n2.peer = A::peers_taken_over;
  n2.svc->poll(steady_clock::now());
  EXPECT_EQ(n2.counter("ike_ha_taken_over"), 1u);
  ASSERT_NE(n2.table.load()->inbound(child), nullptr);
  // The site (the new SA's responder) sends its DPD: our SPI first, no flags.
  Header sh;
  sh.spi_i = ours;
  sh.spi_r = theirs;
  sh.exchange = Exchange::informational;
  sh.message_id = 0;
  PayloadType first = PayloadType::none;
  const Bytes empty = encode_payload_chain({}, first);
  const Bytes ping = seal_sk(s, real.sk_er, real.sk_ar, sh, first, empty, Bytes(16, 5));
  const Bytes pong = n2.send(ping);
  ASSERT_FALSE(pong.empty());
  Message m;
  ASSERT_TRUE(parse_message(pong, m).ok());
  EXPECT_EQ(m.header.flags, kFlagInitiator | kFlagResponse);
  EXPECT_EQ(m.header.spi_i, ours);
  Bytes plain;
  EXPECT_EQ(open_sk(s, real.sk_ei, real.sk_ai, pong, m, plain), SkError::ok);
}

// The IKE SA's age travels on the callers' clocks (injected here, ten
// hours ahead of steady_clock): taken over 1000 s after it was made, it is
// 1000 s old at the survivor, its hard lifetime 2600 s away.
TEST(IkeHaSyncAge, ATakenOverIkeSaKeepsItsAgeOnTheCallersClock) {
  Node n1{1, true, 3600}, n2{2, false, 3600};
  TestInitiator site;
  IkeSuite s;
  ASSERT_TRUE(ike_suite_by_name("aes256-sha256-modp2048", s));
  const steady_clock::time_point t0 = steady_clock::now() + hours(10);
  ASSERT_TRUE(site.accept(n1.send(site.sa_init({ike_proposal(1, s)}, kDhModp2048), t0)));
  ASSERT_NE(find<AuthPayload>(site.open(n1.send(site.auth(kPsk), t0)), PayloadType::auth), nullptr);
  carry(n1, n2);
  n2.svc->poll(t0);
  n2.peer = A::peers_taken_over;
  n2.svc->poll(t0 + seconds(1000));
  ASSERT_EQ(n2.counter("ike_ha_taken_over"), 1u);
  EXPECT_EQ(n2.svc->rekey_counters()[RekeyCounter::ike_sas_expired], 0u);
  const nlohmann::json sa = n2.status()["ike_sas"][0];
  EXPECT_EQ(sa["age_s"], 1000);
  EXPECT_EQ(sa["expires_in_s"], 2600);
}

// Our Child SA lifetime goes on at the survivor: taken over 1000 s after
// its install it is 1000 s old there, and the bytes node 1 counted toward
// child_lifetime_bytes (synced with the marks) are counted on.
TEST_F(IkeHaSyncTest, ATakenOverChildSaKeepsItsAgeAndBytes) {
  const steady_clock::time_point installed = steady_clock::now();  // SetUp's, about
  EspTunnelCounters::bump(n1.tunnels[0].in_bytes, 2 << 20);
  EspTunnelCounters::bump(n1.tunnels[0].out_bytes, 1 << 20);
  n1.svc->poll(installed + seconds(2));
  carry(n1, n2);
  n2.svc->poll(installed + seconds(2));
  n2.peer = A::peers_taken_over;
  n2.svc->poll(installed + seconds(1000));
  ASSERT_EQ(n2.counter("ike_ha_taken_over"), 1u);
  EspTunnelCounters::bump(n2.tunnels[0].out_bytes, 1 << 20);
  n2.svc->poll(installed + seconds(1002));
  const nlohmann::json child = n2.status()["child_sas"][0];
  EXPECT_NEAR(child["age_s"].get<int64_t>(), 1002, 1);
  EXPECT_NEAR(child["expires_in_s"].get<int64_t>(), 2598, 1);
  EXPECT_EQ(child["bytes"], 4 << 20);
}

TEST_F(IkeHaSyncTest, DeleteReachesTheCopy) {
  const DeletePayload del{Protocol::ike, 0, {}};
  n1.send(site.request(Exchange::informational, {{PayloadType::del, false, del}}, site.next_id++));
  EXPECT_TRUE(n1.svc->responder().sas().empty());
  EXPECT_EQ(n1.counter("ike_ha_deletes_synced"), 1u);
  carry(n1, n2);
  n2.svc->poll(steady_clock::now());
  EXPECT_EQ(n2.counter("ike_ha_deletes_applied"), 1u);
  EXPECT_TRUE(n2.status()["ike_sas"].empty());
  n2.peer = A::peers_taken_over;  // nothing left to take over
  n2.svc->poll(steady_clock::now());
  EXPECT_EQ(n2.counter("ike_ha_taken_over"), 0u);
}

// What HA keeps per Child SA goes with it: taken over, then deleted by the site, nothing is left.
TEST_F(IkeHaSyncTest, ATakenOverSaTheSiteDeletesLeavesNoHaState) {
  n2.peer = A::peers_taken_over;
  n2.svc->poll(steady_clock::now());
  ASSERT_EQ(n2.counter("ike_ha_taken_over"), 1u);
  EXPECT_GE(n2.svc->ha_children_tracked(), 1u);
  const DeletePayload del{Protocol::ike, 0, {}};
  n2.send(site.request(Exchange::informational, {{PayloadType::del, false, del}}, site.next_id++));
  EXPECT_TRUE(n2.svc->responder().sas().empty());
  n2.svc->poll(steady_clock::now());
  EXPECT_EQ(n2.svc->ha_children_tracked(), 0u);
}

// Our DPD on a taken-over SA counts the site's silence from the takeover (the
// holder's last-inbound time is not synced): its first liveness check 30 s
// later, with the synced message ID under the IKE SA's keys.
TEST_F(IkeHaSyncTest, OurDpdOnATakenOverSaCountsFromTheTakeover) {
  const auto later = steady_clock::now() + 10min;
  n2.peer = A::peers_taken_over;
  n2.svc->poll(later);
  ASSERT_EQ(n2.counter("ike_ha_taken_over"), 1u);
  EXPECT_TRUE(n2.svc->take_outgoing().empty());
  n2.svc->poll(later + 29s);
  EXPECT_TRUE(n2.svc->take_outgoing().empty());
  n2.svc->poll(later + 30s);
  const auto out = n2.svc->take_outgoing();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].src, kHeadendAddr);
  Header h;
  EXPECT_TRUE(site.open_request(out[0].payload, h).empty());
  EXPECT_EQ(h.exchange, Exchange::informational);
  EXPECT_EQ(h.message_id, 0u);
}

// The node that lost its address sends no request of its own on the SA (its DPD here) in the
// poll that sets the SA aside: the peer may carry it by then from the synced message ID.
TEST_F(IkeHaSyncTest, NoLivenessCheckFromTheNodeThatLostTheAddress) {
  const auto later = steady_clock::now() + 10min;
  n1.own = A::not_ours_now;
  n1.svc->poll(later);
  EXPECT_EQ(n1.counter("ike_ha_set_aside"), 1u);
  EXPECT_TRUE(n1.svc->take_outgoing().empty());
  EXPECT_EQ(n1.counter("responder_liveness_sent"), 0u);
}

TEST_F(IkeHaSyncTest, ReturningOwnerResumesWhatTheSurvivorAdvanced) {
  n2.peer = A::peers_taken_over;
  n2.svc->poll(steady_clock::now());
  ASSERT_TRUE(dpd(n2));  // message ID 2 at the survivor
  // Node 1 restarts empty and does not answer for its address yet.
  n1.svc.reset();
  Node back{1, true};
  back.own = A::not_ours_now;
  // The survivor's full dump (the HA thread asks when the peer joins).
  n2.channel.dump_req.fetch_add(1);
  n2.svc->poll(steady_clock::now());
  EXPECT_EQ(n2.channel.dump_done.load(), n2.channel.dump_req.load());
  carry(n2, back);
  back.svc->poll(steady_clock::now());
  EXPECT_EQ(back.status()["ike_sas"][0]["ha"], "peer copy");
  // It claims its address; the survivor stops answering for it.
  back.own = A::own;
  back.svc->poll(steady_clock::now());
  EXPECT_EQ(back.counter("ike_ha_resumed"), 1u);
  EXPECT_EQ(back.status()["ike_sas"][0]["ha"], "own");
  n2.peer = A::not_ours_now;
  carry(back, n2);
  n2.svc->poll(steady_clock::now());
  EXPECT_EQ(n2.counter("ike_ha_given_back"), 1u);
  EXPECT_EQ(n2.table.load()->outbound(0), nullptr);
  EXPECT_EQ(n2.status()["ike_sas"][0]["ha"], "peer copy");
  EXPECT_EQ(n2.counter("ike_ha_deletes_synced"), 0u);  // handed back, not deleted
  ASSERT_NE(back.table.load()->outbound(0), nullptr);
  EXPECT_TRUE(dpd(back));  // message ID 3: the survivor's advance came back
}

// fuzz_ike_ha_sync's seed is a record that decodes (the fuzzer starts on
// the success path), with its Child SA's marks.
TEST(IkeHaSyncSeed, FuzzSeedDecodes) {
  std::ifstream f(WP_SOURCE_DIR "/tests/fuzz/corpus/ike_ha_sync/established_gcm_child", std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  waypoint::ha::IkeSaRecord rec;
  ASSERT_TRUE(rec.ParseFromString(bytes));
  ResponderConfig c;
  c.peers.emplace_back().name = "site1";
  ChildSeqs seqs;
  std::string error;
  auto sa = decode_ike_sa(rec, c, steady_clock::now(), seqs, error);
  ASSERT_NE(sa, nullptr) << error;
  EXPECT_EQ(sa->children.size(), 1u);
  EXPECT_EQ(seqs.begin()->second, (ChildSeq{6400, 1280}));
}

// Quorum or corosync lost: we stop answering for our own address and the
// peer may carry our SA meanwhile; ours is set aside (no Delete sent, no
// DELETE synced) and resumed with its outbound numbers past the margin.
TEST_F(IkeHaSyncTest, OwnSaSetAsideWhileWeDoNotAnswerResumesPastTheMargin) {
  const EspSaTable* t1 = n1.table.load();
  EspWorkerState w;
  w.set_marks(&n1.marks);
  w.mark(*t1, *t1->outbound(0), 128);
  n1.own = A::not_ours_now;
  n1.svc->poll(steady_clock::now());
  EXPECT_EQ(n1.counter("ike_ha_set_aside"), 1u);
  EXPECT_EQ(n1.counter("ike_ha_deletes_synced"), 0u);
  EXPECT_TRUE(n1.svc->responder().sas().empty());
  EXPECT_EQ(n1.table.load()->outbound(0), nullptr);
  EXPECT_FALSE(dpd(n1));  // not answered while set aside
  site.next_id--;
  n1.own = A::own;
  n1.svc->poll(steady_clock::now());
  EXPECT_EQ(n1.counter("ike_ha_resumed"), 1u);
  ASSERT_NE(n1.table.load()->outbound(0), nullptr);
  EXPECT_EQ(n1.table.load()->outbound(0)->seq_start, 128 + kIkeHaSeqMargin);
  EXPECT_TRUE(dpd(n1));
}

}  // namespace
}  // namespace wp::ike
