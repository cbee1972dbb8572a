// RFC 7296 § 2.23 for IKE SAs we initiated (Initiator::follow_peer): with a
// NAT in front of the peer and none in front of us, an authenticated message
// of the SA from a new port (the NAT's new mapping) moves the peer there,
// counted peer_moved; a message that does not verify moves nothing; with a
// NAT in front of us we never follow (§ 2.23: a host behind a NAT SHOULD
// NOT, a DoS vector). Against our responder in-process.
#include <gtest/gtest.h>

#include "dataplane/control/ike/ike_initiator.h"
#include "dataplane/control/ike/ike_responder.h"
#include "tests/unit/ike_test_initiator.h"

namespace wp::ike {
namespace {

using Clock = std::chrono::steady_clock;

const IkeSuite kNatCbc14{kEncrAesCbc, 256, kIntegHmacSha256_128, kPrfHmacSha256, kDhModp2048};

struct IkeNatFollowTest : ::testing::Test {
  std::vector<std::string> logs;
  std::unique_ptr<Responder> r;
  std::unique_ptr<Initiator> i;
  Clock::time_point now = Clock::now();
  // The headend's public mapping: the peer's NAT, 4500 -> 4500 at first.
  Endpoint mapped{kHeadend.addr, 4500};

  // The responder behind a NAT (`behind_nat`: it hashes its private address)
  // or we behind one (the responder sees us translated).
  void establish(bool peer_behind_nat) {
    ResponderConfig rc;
    PeerConfig p = site1_psk_peer();
    p.tunnel = 37;
    rc.ike_suites = {kNatCbc14};
    rc.peers = {p};
    r = std::make_unique<Responder>(rc, [this](const std::string& l) { logs.push_back(l); });
    InitiatorConfig c;
    c.peer.name = "headend";
    c.peer.local_id = "site1.example";
    c.peer.remote_id = "headend.example";
    c.peer.psk = bytes(kPsk);
    c.peer.esp_suites = {EspSuite{kEncrAesGcm16, 0, false}};
    c.peer.local_ts = {ts({10, 50, 0, 0}, {10, 50, 0, 255})};
    c.peer.remote_ts = {ts({10, 60, 0, 0}, {10, 60, 0, 255})};
    c.peer.tunnel = 5;
    c.ike_suites = {kNatCbc14};
    c.local = kSite;
    c.remote = kHeadend;
    i = std::make_unique<Initiator>(c, [this](const std::string& l) { logs.push_back(l); });
    const Endpoint headend_private{{172, 31, 0, 2}, 500}, site_translated{{192, 0, 2, 7}, 61000};
    const Endpoint seen = peer_behind_nat ? kSite : site_translated;
    const Endpoint local = peer_behind_nat ? headend_private : kHeadend;
    const Bytes auth = i->handle(r->handle(i->start(now), seen, local, now), now, &kHeadend);
    ASSERT_FALSE(auth.empty());
    Endpoint seen4500 = seen, local4500 = local;
    seen4500.port = peer_behind_nat ? 4500 : 61001;
    local4500.port = 4500;
    EXPECT_TRUE(i->handle(r->handle(auth, seen4500, local4500, now), now, &mapped).empty());
    ASSERT_EQ(i->state(), InitiatorState::established);
    ASSERT_EQ(i->nat_remote(), peer_behind_nat);
    ASSERT_EQ(i->nat_local(), !peer_behind_nat);
    ASSERT_EQ(i->sa()->peer, mapped);
  }
  // Our DPD and the responder's answer, arriving from `from`.
  void dpd_answer_from(const Endpoint& from, bool tamper = false) {
    const Bytes ping = i->liveness(now);
    ASSERT_FALSE(ping.empty());
    Bytes pong = r->handle(ping, kSite, kHeadend, now);
    ASSERT_FALSE(pong.empty());
    if (tamper) pong.back() ^= 1;
    EXPECT_TRUE(i->handle(pong, now, &from).empty());
  }
};

TEST_F(IkeNatFollowTest, AuthenticatedAnswerFromANewPortMovesThePeer) {
  establish(true);
  const Endpoint moved{kHeadend.addr, 31337};
  dpd_answer_from(moved);
  EXPECT_EQ(i->counters().liveness_answered, 1u);
  EXPECT_EQ(i->sa()->peer, moved);
  EXPECT_EQ(i->counters().peer_moved, 1u);
  EXPECT_TRUE(std::any_of(logs.begin(), logs.end(),
                          [](const std::string& l) { return l.find("the peer moved") != std::string::npos; }));
  // The same port again: no second move.
  dpd_answer_from(moved);
  EXPECT_EQ(i->counters().peer_moved, 1u);
}

TEST_F(IkeNatFollowTest, AuthenticatedRequestFromANewPortMovesThePeer) {
  establish(true);
  // The responder's own request (a Delete of the Child SA) from the new mapping.
  const uint64_t spi_r = r->sas().begin()->first;
  const Bytes del = r->delete_child(spi_r, r->sas().begin()->second->children.begin()->first, now);
  ASSERT_FALSE(del.empty());
  const Endpoint moved{kHeadend.addr, 40000};
  EXPECT_FALSE(i->handle(del, now, &moved).empty());  // answered
  EXPECT_EQ(i->sa()->peer, moved);
  EXPECT_EQ(i->counters().peer_moved, 1u);
}

TEST_F(IkeNatFollowTest, UnauthenticatedMessageFromANewPortMovesNothing) {
  establish(true);
  const Endpoint moved{kHeadend.addr, 31337};
  dpd_answer_from(moved, /*tamper=*/true);
  EXPECT_EQ(i->counters()[InitFailure::integrity_failed], 1u);
  EXPECT_EQ(i->sa()->peer, mapped);
  EXPECT_EQ(i->counters().peer_moved, 0u);
}

TEST_F(IkeNatFollowTest, NotFollowedWhenTheNatIsInFrontOfUs) {
  establish(false);
  dpd_answer_from(Endpoint{kHeadend.addr, 31337});
  EXPECT_EQ(i->counters().liveness_answered, 1u);
  EXPECT_EQ(i->sa()->peer, mapped);
  EXPECT_EQ(i->counters().peer_moved, 0u);
}

}  // namespace
}  // namespace wp::ike
