// The IKEv2 initiator (dataplane/control/ike/ike_initiator.h) against our
// responder in-process: the full exchange (keys of both sides compared),
// INVALID_KE_PAYLOAD and COOKIE retries, wrong PSK, no proposal,
// retransmission with backoff and timeout, liveness (DPD) answered and dead,
// Delete from either side, the peer's liveness request answered; a Child SA
// carrying both families (TS_IPV6_ADDR_RANGE beside IPv4, docs/ipsec.md
// § IPv6 inside tunnels) narrowed alike on both sides; NAT detection over
// IPv6 outer addresses (docs/ipsec.md § IPv6 outer addresses).
#include <gtest/gtest.h>

#include <algorithm>

#include "dataplane/control/ike/ike_initiator.h"
#include "dataplane/control/ike/ike_responder.h"
#include "dataplane/control/ike/responder_config.h"
#include "dataplane/ipsec/esp_owner.h"
#include "tests/unit/ike_test_initiator.h"

namespace wp::ike {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const IkeSuite kCbc14{kEncrAesCbc, 256, kIntegHmacSha256_128, kPrfHmacSha256, kDhModp2048};
const IkeSuite kGcm19{kEncrAesGcm16, 256, 0, kPrfHmacSha256, kDhEcp256};

ResponderConfig responder_config() {
  PeerConfig p = site1_psk_peer();
  p.esp_suites = {EspSuite{kEncrAesGcm16, 0, false}, EspSuite{kEncrAesCbc, kIntegHmacSha256_128, false}};
  p.tunnel = 37;
  ResponderConfig c;
  c.ike_suites = {kCbc14, kGcm19};
  c.peers = {p};
  return c;
}

InitiatorConfig initiator_config() {
  InitiatorConfig c;
  c.peer.name = "headend";
  c.peer.local_id = "site1.example";
  c.peer.remote_id = "headend.example";
  c.peer.psk = bytes(kPsk);
  c.peer.esp_suites = {EspSuite{kEncrAesCbc, kIntegHmacSha256_128, false}, EspSuite{kEncrAesGcm16, 0, false}};
  c.peer.local_ts = {ts({10, 50, 0, 0}, {10, 50, 255, 255})};  // wider: the responder narrows it
  c.peer.remote_ts = {ts({10, 60, 0, 0}, {10, 60, 0, 255})};
  c.peer.tunnel = 5;
  c.ike_suites = {kCbc14, kGcm19};
  c.local = kSite;
  c.remote = kHeadend;
  c.retransmit_base = 500ms;
  c.tries = 4;
  return c;
}

struct IkeInitiatorTest : ::testing::Test {
  std::vector<std::string> logs;
  ResponderConfig rc = responder_config();
  InitiatorConfig ic = initiator_config();
  std::unique_ptr<Responder> r;
  std::unique_ptr<Initiator> i;
  Clock::time_point now = Clock::now();

  void make() {
    r = std::make_unique<Responder>(rc, [this](const std::string& l) { logs.push_back(l); });
    i = std::make_unique<Initiator>(ic, [this](const std::string& l) { logs.push_back(l); });
  }
  // Runs the exchange until neither side has anything to send.
  void run(Bytes d) {
    for (int n = 0; n < 16 && !d.empty(); ++n) {
      const Bytes answer = r->handle(d, kSite, kHeadend);
      if (answer.empty()) return;
      d = i->handle(answer, now);
    }
  }
  const IkeSa& responder_sa() {
    EXPECT_EQ(r->sas().size(), 1u);
    return *r->sas().begin()->second;
  }
  void establish() {
    make();
    run(i->start(now));
    ASSERT_EQ(i->state(), InitiatorState::established);
  }
};

TEST_F(IkeInitiatorTest, FullExchangeAgreesWithTheResponderOnEveryKey) {
  establish();
  const IkeSa& rs = responder_sa();
  EXPECT_EQ(rs.state, IkeSaState::established);
  EXPECT_EQ(rs.remote_id, "site1.example");
  EXPECT_EQ(i->sa()->spi_r, rs.spi_r);
  EXPECT_EQ(i->sa()->keys.sk_d, rs.keys.sk_d);
  ASSERT_EQ(rs.children.size(), 1u);
  const ChildSa& theirs = rs.children.begin()->second;
  const ChildSa* ours = i->child();
  ASSERT_NE(ours, nullptr);
  // The first suite we offered, which the responder has.
  EXPECT_EQ(ours->suite, (EspSuite{kEncrAesCbc, kIntegHmacSha256_128, false}));
  EXPECT_EQ(ours->spi_out, theirs.spi_in);
  EXPECT_EQ(ours->spi_in, theirs.spi_out);
  EXPECT_EQ(ours->enc_out, theirs.enc_in);
  EXPECT_EQ(ours->integ_out, theirs.integ_in);
  EXPECT_EQ(ours->enc_in, theirs.enc_out);
  EXPECT_EQ(ours->integ_in, theirs.integ_out);
  EXPECT_NE(ours->enc_in, ours->enc_out);
  EXPECT_EQ(ours->enc_out.size(), 32u);
  EXPECT_EQ(class_of_spi(ours->spi_in), tunnel_class(5));  // our inbound SPI carries the tunnel's class
  EXPECT_GE(ours->spi_in, 256u);
  // Narrowed by the responder to its configured /24.
  ASSERT_EQ(ours->ts_local.size(), 1u);
  EXPECT_EQ(ours->ts_local[0].end_addr, (Bytes{10, 50, 0, 255}));
  EXPECT_EQ(i->counters().ike_sas_established, 1u);
  EXPECT_EQ(i->counters().child_sas_installed, 1u);
  for (const std::string& l : logs) EXPECT_EQ(l.find("test-psk"), std::string::npos) << l;
}

TrafficSelector ts_of(const char* prefix) {
  if (auto p = parse_prefix(prefix)) return selector_of(*p);
  return selector_of(*parse_prefix6(prefix));
}

// Route-based and dual stack: each side offers 0.0.0.0/0 and ::/0 for the
// other's side and its own IPv4 and IPv6 prefixes; the responder narrows each
// family on its own and the initiator accepts exactly what it offered a
// subset of. Both Child SAs hold the same four selectors.
TEST_F(IkeInitiatorTest, AChildSaCarriesIpv6SelectorsBesideIpv4) {
  rc.peers[0].local_ts = {ts_of("10.60.0.0/24"), ts_of("2001:db8:60::/48")};
  rc.peers[0].remote_ts = {ts_of("0.0.0.0/0"), ts_of("::/0")};
  ic.peer.local_ts = {ts_of("10.50.0.0/24"), ts_of("2001:db8:50::/48")};
  ic.peer.remote_ts = {ts_of("0.0.0.0/0"), ts_of("::/0")};
  establish();
  const ChildSa& theirs = responder_sa().children.begin()->second;
  const ChildSa* ours = i->child();
  ASSERT_NE(ours, nullptr);
  const std::vector<TrafficSelector> site = {ts_of("10.50.0.0/24"), ts_of("2001:db8:50::/48")};
  const std::vector<TrafficSelector> headend = {ts_of("10.60.0.0/24"), ts_of("2001:db8:60::/48")};
  EXPECT_EQ(theirs.ts_remote, site);
  EXPECT_EQ(theirs.ts_local, headend);
  EXPECT_EQ(ours->ts_local, site);
  EXPECT_EQ(ours->ts_remote, headend);
  ASSERT_EQ(theirs.ts_local.size(), 2u);
  EXPECT_EQ(theirs.ts_local[1].type, kTsIpv6Range);
  EXPECT_EQ(theirs.ts_local[1].start_addr, (Bytes{0x20, 0x01, 0x0d, 0xb8, 0, 0x60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(theirs.ts_local[1].end_addr, (Bytes{0x20, 0x01, 0x0d, 0xb8, 0, 0x60, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                                0xff, 0xff, 0xff, 0xff}));
}

// A site that offers IPv4 only (as strongSwan with IPv4 selectors) against
// our route-based default of both families: the Child SA is IPv4 only, and
// an IPv6-only offer against an IPv4-only configuration fails.
TEST_F(IkeInitiatorTest, FamiliesNarrowOnTheirOwn) {
  rc.peers[0].local_ts = {ts_of("0.0.0.0/0"), ts_of("::/0")};
  rc.peers[0].remote_ts = {ts_of("0.0.0.0/0"), ts_of("::/0")};
  establish();
  EXPECT_EQ(i->child()->ts_local, (std::vector<TrafficSelector>{ts_of("10.50.0.0/16")}));
  EXPECT_EQ(i->child()->ts_remote, (std::vector<TrafficSelector>{ts_of("10.60.0.0/24")}));

  rc = responder_config();  // IPv4 only
  ic.peer.local_ts = {ts_of("2001:db8:50::/48")};
  ic.peer.remote_ts = {ts_of("::/0")};
  make();
  run(i->start(now));
  EXPECT_EQ(i->failure(), InitFailure::ts_unacceptable);
}

TEST_F(IkeInitiatorTest, RetriesWithTheGroupInvalidKePayloadAsksFor) {
  rc.ike_suites = {kGcm19};  // we offer CBC/14 first with a KE of group 14
  establish();
  EXPECT_EQ(i->counters().ke_retries, 1u);
  EXPECT_EQ(i->suite().dh, kDhEcp256);
  EXPECT_EQ(r->counters()[Refusal::invalid_ke_payload], 1u);
}

TEST_F(IkeInitiatorTest, FailsWhenAskedForAGroupItDidNotOffer) {
  ic.ike_suites = {kCbc14};
  make();
  Message req;
  ASSERT_TRUE(parse_message(i->start(now), req).ok());
  Message m;  // INVALID_KE_PAYLOAD asking for group 19, which we did not offer
  m.header.spi_i = req.header.spi_i;
  m.header.flags = kFlagResponse;
  m.payloads.push_back(make_notify(kNotifyInvalidKePayload, {0, 19}));
  EXPECT_TRUE(i->handle(encode_message(m), now).empty());
  EXPECT_EQ(i->state(), InitiatorState::failed);
  EXPECT_EQ(i->failure(), InitFailure::invalid_ke_payload);
  EXPECT_EQ(i->counters().ke_retries, 0u);
}

TEST_F(IkeInitiatorTest, RetriesWithTheCookie) {
  rc.cookie_threshold = 0;  // every IKE_SA_INIT without a valid COOKIE gets one
  establish();
  EXPECT_EQ(i->counters().cookie_retries, 1u);
  EXPECT_EQ(r->counters()[Refusal::cookie_required], 1u);
}

TEST_F(IkeInitiatorTest, WrongPskFailsOnBothSides) {
  ic.peer.psk = bytes("another-psk");
  make();
  run(i->start(now));
  EXPECT_EQ(i->state(), InitiatorState::failed);
  EXPECT_EQ(i->failure(), InitFailure::authentication_failed);
  EXPECT_EQ(i->counters()[InitFailure::authentication_failed], 1u);
  EXPECT_EQ(r->counters()[Refusal::authentication_failed], 1u);
  EXPECT_EQ(i->child(), nullptr);
}

TEST_F(IkeInitiatorTest, NoIkeProposalFails) {
  ic.ike_suites = {IkeSuite{kEncrAesCbc, 128, kIntegHmacSha256_128, kPrfHmacSha256, kDhModp2048}};
  make();
  run(i->start(now));
  EXPECT_EQ(i->failure(), InitFailure::no_proposal_chosen);
}

TEST_F(IkeInitiatorTest, NoEspProposalFailsTheChildSa) {
  rc.peers[0].esp_suites = {EspSuite{kEncrAesCbc, kIntegHmacSha256_128, true}};
  make();
  run(i->start(now));
  EXPECT_EQ(i->failure(), InitFailure::child_no_proposal_chosen);
}

TEST_F(IkeInitiatorTest, DisjointTrafficSelectorsFail) {
  ic.peer.local_ts = {ts({10, 99, 0, 0}, {10, 99, 0, 255})};
  make();
  run(i->start(now));
  EXPECT_EQ(i->failure(), InitFailure::ts_unacceptable);
}

TEST_F(IkeInitiatorTest, RetransmitsWithBackoffThenTimesOut) {
  make();
  const Bytes first = i->start(now);
  EXPECT_TRUE(i->tick(now + 499ms).empty());
  EXPECT_EQ(i->tick(now + 500ms), first);           // 2nd send; next after 1 s
  EXPECT_TRUE(i->tick(now + 1499ms).empty());
  EXPECT_EQ(i->tick(now + 1500ms), first);          // 3rd; next after 2 s
  EXPECT_TRUE(i->tick(now + 3499ms).empty());
  EXPECT_EQ(i->tick(now + 3500ms), first);          // 4th (last); then 4 s more
  EXPECT_TRUE(i->tick(now + 7499ms).empty());
  EXPECT_EQ(i->state(), InitiatorState::sa_init_sent);
  EXPECT_TRUE(i->tick(now + 7500ms).empty());
  EXPECT_EQ(i->failure(), InitFailure::timeout);
  EXPECT_EQ(i->counters().retransmits, 3u);
}

TEST_F(IkeInitiatorTest, ARetransmittedAuthIsAnsweredOnce) {
  make();
  const Bytes init_answer = r->handle(i->start(now), kSite, kHeadend);
  const Bytes auth = i->handle(init_answer, now);
  ASSERT_FALSE(auth.empty());
  EXPECT_EQ(i->tick(now + 500ms), auth);  // the answer was lost: the same bytes again
  const Bytes answer = r->handle(auth, kSite, kHeadend);
  EXPECT_EQ(r->handle(auth, kSite, kHeadend), answer);  // the responder's stored answer
  EXPECT_TRUE(i->handle(answer, now).empty());
  EXPECT_EQ(i->state(), InitiatorState::established);
  EXPECT_TRUE(i->handle(answer, now).empty());  // the duplicate dropped
  EXPECT_EQ(i->counters()[InitFailure::old_message_id], 1u);
}

TEST_F(IkeInitiatorTest, LivenessAnswered) {
  establish();
  const Bytes req = i->liveness(now);
  ASSERT_FALSE(req.empty());
  EXPECT_TRUE(i->liveness(now).empty());  // one outstanding
  run(req);
  EXPECT_EQ(i->counters().liveness_answered, 1u);
  EXPECT_FALSE(i->request_outstanding());
  run(i->liveness(now + 10s));
  EXPECT_EQ(i->counters().liveness_answered, 2u);
  EXPECT_EQ(i->state(), InitiatorState::established);
}

TEST_F(IkeInitiatorTest, UnansweredLivenessDeclaresThePeerDead) {
  establish();
  ASSERT_FALSE(i->liveness(now).empty());
  auto t = now;
  for (int n = 0; n < 10 && i->state() == InitiatorState::established; ++n) {
    t += 10s;
    i->tick(t);
  }
  EXPECT_EQ(i->failure(), InitFailure::dead_peer);
  EXPECT_EQ(i->counters()[InitFailure::dead_peer], 1u);
  EXPECT_EQ(i->child(), nullptr);  // keys wiped with the Child SA
}

TEST_F(IkeInitiatorTest, DeleteRemovesTheSaOnBothSides) {
  establish();
  run(i->delete_sa(now));
  EXPECT_EQ(i->state(), InitiatorState::deleted);
  EXPECT_TRUE(r->sas().empty());
  EXPECT_EQ(r->counters().ike_sas_deleted, 1u);
}

// A request the responder side sends on our SA, sealed with its keys.
Bytes peer_request(const IkeSa& rs, uint32_t id, const std::vector<Payload>& inner) {
  Header h;
  h.spi_i = rs.spi_i;
  h.spi_r = rs.spi_r;
  h.exchange = Exchange::informational;
  h.message_id = id;
  PayloadType first = PayloadType::none;
  const Bytes plain = encode_payload_chain(inner, first);
  return seal_sk(rs.suite, rs.keys.sk_er, rs.keys.sk_ar, h, first, plain, Bytes(rs.suite.iv_len(), 7));
}

TEST_F(IkeInitiatorTest, AnswersThePeersLivenessAndDelete) {
  establish();
  const IkeSa& rs = responder_sa();
  const Bytes ping = peer_request(rs, 0, {});
  const Bytes pong = i->handle(ping, now);
  ASSERT_FALSE(pong.empty());
  Message m;
  ASSERT_TRUE(parse_message(pong, m).ok());
  EXPECT_TRUE(m.header.response());
  EXPECT_EQ(m.header.message_id, 0u);
  Bytes plain;
  EXPECT_EQ(open_sk(rs.suite, rs.keys.sk_ei, rs.keys.sk_ai, pong, m, plain), SkError::ok);
  EXPECT_EQ(i->handle(ping, now), pong);  // retransmitted: the same answer
  EXPECT_EQ(i->counters().peer_requests, 1u);
  Bytes bad = peer_request(rs, 1, {});
  bad[bad.size() - 1] ^= 1;
  EXPECT_TRUE(i->handle(bad, now).empty());
  EXPECT_EQ(i->counters()[InitFailure::integrity_failed], 1u);
  EXPECT_FALSE(i->handle(peer_request(rs, 1, {{PayloadType::del, false, DeletePayload{Protocol::ike, 0, {}}}}), now)
                   .empty());
  EXPECT_EQ(i->state(), InitiatorState::deleted);
  EXPECT_EQ(i->counters().deleted_by_peer, 1u);
}

TEST_F(IkeInitiatorTest, RestartsAfterAFailure) {
  ic.peer.psk = bytes("another-psk");
  make();
  run(i->start(now));
  ASSERT_EQ(i->state(), InitiatorState::failed);
  // Same object, fresh SA: now against a responder that has our PSK.
  rc.peers[0].psk = bytes("another-psk");
  r = std::make_unique<Responder>(rc);
  run(i->start(now));
  EXPECT_EQ(i->state(), InitiatorState::established);
  EXPECT_FALSE(i->failure().has_value());
}


// The responder's Child SA matching ours: same keys in opposite directions.
void expect_pair(const ChildSa& ours, const IkeSa& rs) {
  const auto it = std::find_if(rs.children.begin(), rs.children.end(),
                               [&](const auto& c) { return c.second.spi_out == ours.spi_in; });
  ASSERT_NE(it, rs.children.end());
  const ChildSa& theirs = it->second;
  EXPECT_EQ(ours.spi_out, theirs.spi_in);
  EXPECT_EQ(ours.enc_out, theirs.enc_in);
  EXPECT_EQ(ours.integ_out, theirs.integ_in);
  EXPECT_EQ(ours.enc_in, theirs.enc_out);
  EXPECT_EQ(ours.integ_in, theirs.integ_out);
}

TEST_F(IkeInitiatorTest, ChildRekeyMakesBeforeItBreaks) {
  establish();
  const uint32_t old_in = i->child()->spi_in;
  const Bytes old_key = i->child()->enc_out;
  const Bytes req = i->rekey_child(now);
  ASSERT_FALSE(req.empty());
  EXPECT_TRUE(i->rekey_child(now).empty());  // one at a time
  const Bytes del = i->handle(r->handle(req, kSite, kHeadend), now);
  ASSERT_FALSE(del.empty());  // the Delete of the old SA, after the new one is in place
  EXPECT_EQ(i->child_count(), 2u);
  EXPECT_EQ(responder_sa().children.size(), 2u);
  EXPECT_NE(i->child()->spi_in, old_in);
  EXPECT_NE(i->child()->enc_out, old_key);
  expect_pair(*i->child(), responder_sa());
  EXPECT_EQ(class_of_spi(i->child()->spi_in), tunnel_class(5));
  EXPECT_TRUE(i->handle(r->handle(del, kSite, kHeadend), now).empty());
  EXPECT_EQ(i->child_count(), 1u);
  EXPECT_EQ(responder_sa().children.size(), 1u);
  expect_pair(*i->child(), responder_sa());
  EXPECT_EQ(i->counters().child_sas_rekeyed, 1u);
  EXPECT_EQ(i->counters().child_sas_deleted, 1u);
  EXPECT_EQ(r->counters().child_sas_deleted, 1u);
  // And again, on the rekeyed SA.
  run(i->rekey_child(now));
  EXPECT_EQ(i->child_count(), 1u);
  expect_pair(*i->child(), responder_sa());
  EXPECT_EQ(i->counters().child_sas_rekeyed, 2u);
}

TEST_F(IkeInitiatorTest, ChildRekeyWithPfs) {
  establish();
  const uint32_t old_in = i->child()->spi_in;
  run(i->rekey_child(now, kDhEcp256));
  EXPECT_EQ(i->counters().child_sas_rekeyed, 1u);
  EXPECT_EQ(i->counters()[InitFailure::rekey_refused], 0u);
  EXPECT_EQ(i->child_count(), 1u);
  EXPECT_NE(i->child()->spi_in, old_in);
  expect_pair(*i->child(), responder_sa());
  EXPECT_TRUE(std::any_of(logs.begin(), logs.end(), [](const std::string& l) {
    return l.find("rekeyed") != std::string::npos && l.find("(PFS)") != std::string::npos;
  }));
}

TEST_F(IkeInitiatorTest, UnansweredRekeyFailsTheSa) {
  establish();
  ASSERT_FALSE(i->rekey_child(now).empty());
  auto t = now;
  for (int n = 0; n < 10 && i->state() == InitiatorState::established; ++n) i->tick(t += 10s);
  EXPECT_EQ(i->failure(), InitFailure::timeout);
}


TEST_F(IkeInitiatorTest, GarbageOnAnEstablishedSaChangesNothing) {
  establish();
  const Bytes req = i->liveness(now);
  const Bytes answer = r->handle(req, kSite, kHeadend);
  ASSERT_FALSE(answer.empty());
  uint64_t dropped = 0;
  for (size_t n = 0; n < answer.size(); n += 7) {  // every truncation
    EXPECT_TRUE(i->handle(CSpan(answer.data(), n), now).empty());
    ++dropped;
  }
  for (size_t n = 0; n < answer.size(); n += 5) {  // every flipped byte
    Bytes bad = answer;
    bad[n] ^= 0x40;
    EXPECT_TRUE(i->handle(bad, now).empty());
    ++dropped;
  }
  uint64_t counted = 0;
  for (uint64_t c : i->counters().failures) counted += c;
  EXPECT_EQ(counted, dropped);  // each drop counted once, by some reason
  EXPECT_EQ(i->state(), InitiatorState::established);
  EXPECT_EQ(i->counters().liveness_answered, 0u);
  EXPECT_TRUE(i->handle(answer, now).empty());  // the real answer still accepted
  EXPECT_EQ(i->counters().liveness_answered, 1u);
}

// § 2.17: KEYMAT is initiator->responder encryption, integrity, then
// responder->initiator; the initiator's outbound keys are the responder's
// inbound ones.
TEST(SplitChildKeys, InitiatorToResponderKeysFirst) {
  Bytes km(2 * (32 + 32));
  for (size_t n = 0; n < km.size(); ++n) km[n] = static_cast<uint8_t>(n);
  const auto part = [&](size_t off, size_t len) { return Bytes(km.begin() + long(off), km.begin() + long(off + len)); };
  ChildSa ini, resp;
  ini.suite = resp.suite = EspSuite{kEncrAesCbc, kIntegHmacSha256_128, false};
  split_child_keys(ini, km, true);
  split_child_keys(resp, km, false);
  EXPECT_EQ(ini.enc_out, part(0, 32));
  EXPECT_EQ(ini.integ_out, part(32, 32));
  EXPECT_EQ(ini.enc_in, part(64, 32));
  EXPECT_EQ(ini.integ_in, part(96, 32));
  EXPECT_EQ(resp.enc_in, ini.enc_out);
  EXPECT_EQ(resp.integ_in, ini.integ_out);
  EXPECT_EQ(resp.enc_out, ini.enc_in);
  EXPECT_EQ(resp.integ_out, ini.integ_in);
}

TEST(SplitChildKeys, AeadHasNoIntegrityKey) {
  Bytes km(2 * 36);
  for (size_t n = 0; n < km.size(); ++n) km[n] = static_cast<uint8_t>(0x80 + n);
  ChildSa c;
  c.suite = EspSuite{kEncrAesGcm16, 0, false};  // 32-byte key + 4-byte salt
  split_child_keys(c, km, false);
  EXPECT_EQ(c.enc_in, Bytes(km.begin(), km.begin() + 36));
  EXPECT_EQ(c.enc_out, Bytes(km.begin() + 36, km.end()));
  EXPECT_TRUE(c.integ_in.empty());
  EXPECT_TRUE(c.integ_out.empty());
}

// NAT-T (RFC 7296 § 2.23): the hashes are nat_hash's, which
// IkeNatDetection.MatchesStrongSwansResponse checks against strongSwan's own.
// The IKE_SA_INIT answer without its NAT_DETECTION payloads: a responder without NAT-T.
Bytes without_natd(const Bytes& answer) {
  Message m;
  EXPECT_TRUE(parse_message(answer, m).ok());
  std::erase_if(m.payloads, [](const Payload& p) {
    const auto* n = std::get_if<NotifyPayload>(&p.body);
    return n && (n->type == kNotifyNatSourceIp || n->type == kNotifyNatDestinationIp);
  });
  return encode_message(m);
}

TEST_F(IkeInitiatorTest, SaInitCarriesBothNatDetectionHashes) {
  make();
  Message req;
  ASSERT_TRUE(parse_message(i->start(now), req).ok());
  const NotifyPayload* src = req.notify(kNotifyNatSourceIp);
  const NotifyPayload* dst = req.notify(kNotifyNatDestinationIp);
  ASSERT_NE(src, nullptr);
  ASSERT_NE(dst, nullptr);
  EXPECT_EQ(req.header.spi_r, 0u);
  EXPECT_EQ(src->data, nat_hash(req.header.spi_i, 0, kSite));     // our address and port 500
  EXPECT_EQ(dst->data, nat_hash(req.header.spi_i, 0, kHeadend));  // the peer's
  EXPECT_EQ(src->data.size(), 20u);
  EXPECT_FALSE(i->nat_t());  // not before the answer
}

TEST_F(IkeInitiatorTest, NatDetectionAnsweredMovesToPort4500WithoutNat) {
  establish();
  EXPECT_TRUE(i->nat_t());
  EXPECT_FALSE(i->nat_local());
  EXPECT_FALSE(i->nat_remote());
  EXPECT_FALSE(i->sa()->nat_detected);
  EXPECT_EQ(i->sa()->peer.port, 4500);
  EXPECT_EQ(i->sa()->local.port, 4500);
  EXPECT_FALSE(responder_sa().nat_detected);  // our request's hashes matched at the responder
  // Both ends: no NAT, so plain ESP (IP protocol 50) although IKE moved to 4500.
  EXPECT_FALSE(i->sa()->udp_encap);
  EXPECT_FALSE(responder_sa().udp_encap);
}

TEST_F(IkeInitiatorTest, AnswerHashOfAnotherAddressMeansANatInFrontOfUs) {
  make();
  // The responder sees us as 192.0.2.7:61000 (a NAT rewrote us): its
  // NAT_DETECTION_DESTINATION_IP hashes that, not our address.
  const Endpoint translated{{192, 0, 2, 7}, 61000};
  const Bytes answer = r->handle(i->start(now), translated, kHeadend);
  ASSERT_FALSE(answer.empty());
  EXPECT_TRUE(responder_sa().nat_detected);
  EXPECT_FALSE(i->handle(answer, now).empty());  // IKE_AUTH
  EXPECT_EQ(i->state(), InitiatorState::auth_sent);
  EXPECT_TRUE(i->nat_t());
  EXPECT_TRUE(i->nat_local());
  EXPECT_FALSE(i->nat_remote());
  EXPECT_TRUE(i->sa()->nat_detected);
  EXPECT_TRUE(i->sa()->udp_encap);  // ESP in UDP 4500 at both ends
  EXPECT_TRUE(responder_sa().udp_encap);
  EXPECT_TRUE(std::any_of(logs.begin(), logs.end(),
                          [](const std::string& l) { return l.find("NAT in front of us") != std::string::npos; }));
}

TEST_F(IkeInitiatorTest, AnswerSourceHashOfAnotherAddressMeansANatInFrontOfThePeer) {
  make();
  // The responder behind a NAT: it hashes its own (private) address.
  const Bytes answer = r->handle(i->start(now), kSite, Endpoint{{172, 31, 0, 2}, 500});
  EXPECT_FALSE(i->handle(answer, now).empty());
  EXPECT_TRUE(i->nat_t());
  EXPECT_FALSE(i->nat_local());
  EXPECT_TRUE(i->nat_remote());
  EXPECT_TRUE(i->sa()->nat_detected);
  EXPECT_TRUE(i->sa()->udp_encap);
  EXPECT_TRUE(responder_sa().udp_encap);  // our source hash is not of the address it saw: NAT too
}

// IPv6 outer addresses (docs/ipsec.md § IPv6 outer addresses): § 2.23's
// hashes take the 16-byte addresses as they are on the wire. Without a NAT
// both ends find their hashes matching and agree on plain ESP; an address
// rewritten on the way (NAT66) is detected at both ends. The Child SA's
// selectors (IPv4 here) do not depend on the outer family.
TEST_F(IkeInitiatorTest, NatDetectionHashesIpv6OuterAddresses) {
  const Endpoint site6{{0x20, 0x01, 0x0d, 0xb8, 0xee, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9}, 500};
  const Endpoint headend6{{0x20, 0x01, 0x0d, 0xb8, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 500};
  ic.local = site6;
  ic.remote = headend6;
  make();
  Bytes d = i->start(now);
  Message req;
  ASSERT_TRUE(parse_message(d, req).ok());
  ASSERT_NE(req.notify(kNotifyNatSourceIp), nullptr);
  EXPECT_EQ(req.notify(kNotifyNatSourceIp)->data, nat_hash(req.header.spi_i, 0, site6));
  EXPECT_EQ(req.notify(kNotifyNatDestinationIp)->data, nat_hash(req.header.spi_i, 0, headend6));
  EXPECT_NE(nat_hash(req.header.spi_i, 0, site6), nat_hash(req.header.spi_i, 0, kSite));
  for (int n = 0; n < 16 && !d.empty(); ++n) {
    const Bytes answer = r->handle(d, site6, headend6);
    if (answer.empty()) break;
    d = i->handle(answer, now);
  }
  ASSERT_EQ(i->state(), InitiatorState::established);
  EXPECT_FALSE(i->sa()->nat_detected);
  EXPECT_FALSE(responder_sa().nat_detected);
  EXPECT_FALSE(i->sa()->udp_encap);
  EXPECT_FALSE(responder_sa().udp_encap);
  EXPECT_EQ(responder_sa().peer.addr, site6.addr);
  ASSERT_NE(i->child(), nullptr);
  EXPECT_EQ(i->child()->ts_local[0].end_addr, (Bytes{10, 50, 0, 255}));
  // A NAT66 in front of the site: the responder sees another address and port.
  make();
  const Endpoint translated6{{0x20, 0x01, 0x0d, 0xb8, 0xaa, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7}, 61000};
  const Bytes answer = r->handle(i->start(now), translated6, headend6);
  ASSERT_FALSE(answer.empty());
  EXPECT_TRUE(responder_sa().nat_detected);
  EXPECT_FALSE(i->handle(answer, now).empty());
  EXPECT_TRUE(i->nat_local());
  EXPECT_FALSE(i->nat_remote());
  EXPECT_TRUE(i->sa()->udp_encap);
  EXPECT_TRUE(responder_sa().udp_encap);
}

TEST_F(IkeInitiatorTest, AnswerWithoutNatDetectionStaysOnPort500) {
  make();
  const Bytes answer = without_natd(r->handle(i->start(now), kSite, kHeadend));
  EXPECT_FALSE(i->handle(answer, now).empty());  // IKE_AUTH, on port 500
  EXPECT_EQ(i->state(), InitiatorState::auth_sent);
  EXPECT_FALSE(i->nat_t());
  EXPECT_FALSE(i->sa()->nat_detected);
  EXPECT_FALSE(i->sa()->udp_encap);
  EXPECT_EQ(i->sa()->peer.port, 500);
}

TEST_F(IkeInitiatorTest, RestartForgetsNatT) {
  establish();
  ASSERT_TRUE(i->nat_t());
  i->start(now);
  EXPECT_FALSE(i->nat_t());
  EXPECT_EQ(i->sa()->peer.port, 500);
}

}  // namespace
}  // namespace wp::ike
