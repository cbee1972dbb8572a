// The fixture of the tests of the peer's requests on an IKE SA we initiated
// (ike_initiator_peer_test, ike_initiator_ike_rekey_test): our Initiator
// established with our Responder in-process as the peer (the responder of
// our IKE SA), helpers to deliver, seal the peer's requests by hand and
// compare both sides' Child SAs.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>

#include "dataplane/control/ike/ike_bytes.h"
#include "dataplane/control/ike/ike_initiator.h"
#include "dataplane/control/ike/ike_lifetime.h"
#include "dataplane/control/ike/ike_responder.h"
#include "dataplane/control/ike/ike_sa_rekey.h"
#include "dataplane/ipsec/esp_owner.h"
#include "tests/unit/ike_test_initiator.h"

namespace wp::ike {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const IkeSuite kCbc14{kEncrAesCbc, 256, kIntegHmacSha256_128, kPrfHmacSha256, kDhModp2048};

ResponderConfig peer_side_config() {
  PeerConfig p = site1_psk_peer();
  p.esp_suites = {EspSuite{kEncrAesGcm16, 0, false}, EspSuite{kEncrAesCbc, kIntegHmacSha256_128, false}};
  p.tunnel = 37;
  ResponderConfig c;
  c.ike_suites = {kCbc14};
  c.peers = {p};
  return c;
}

InitiatorConfig our_config() {
  InitiatorConfig c;
  c.peer.name = "headend";
  c.peer.local_id = "site1.example";
  c.peer.remote_id = "headend.example";
  c.peer.psk = bytes(kPsk);
  c.peer.esp_suites = {EspSuite{kEncrAesGcm16, 0, false}, EspSuite{kEncrAesCbc, kIntegHmacSha256_128, false}};
  c.peer.local_ts = {ts({10, 50, 0, 0}, {10, 50, 0, 255})};
  c.peer.remote_ts = {ts({10, 60, 0, 0}, {10, 60, 0, 255})};
  c.peer.tunnel = 5;
  c.ike_suites = {kCbc14};
  c.local = kSite;
  c.remote = kHeadend;
  return c;
}

struct InitiatorPeerTest : ::testing::Test {
  std::vector<std::string> logs;
  std::unique_ptr<Responder> r;  // the peer: the responder of our IKE SA
  std::unique_ptr<Initiator> i;  // us
  Clock::time_point now = Clock::now();

  void SetUp() override {
    r = std::make_unique<Responder>(peer_side_config(), [this](const std::string& l) { logs.push_back(l); });
    i = std::make_unique<Initiator>(our_config(), [this](const std::string& l) { logs.push_back(l); });
    Bytes d = i->start(now);
    for (int n = 0; n < 8 && !d.empty(); ++n) d = i->handle(to_peer(d), now);
    ASSERT_EQ(i->state(), InitiatorState::established);
  }
  Bytes to_peer(const Bytes& d) { return r->handle(d, kSite, kHeadend, now); }
  IkeSa& peer_sa() { return *r->sas().begin()->second; }
  uint64_t peer_spi() { return r->sas().begin()->first; }
  // The peer's inbound SPI of its Child SA that pairs with our `spi_in`.
  uint32_t peer_child_of(uint32_t our_in) {
    for (const auto& [spi, c] : peer_sa().children)
      if (c.spi_out == our_in) return spi;
    return 0;
  }
  // Both sides hold exactly the same Child SAs (SPIs crossed, keys crossed).
  void expect_pairs() {
    ASSERT_EQ(i->child_count(), peer_sa().children.size());
    for (const auto& [spi, ours] : i->sa()->children) {
      const auto it = peer_sa().children.find(ours.spi_out);
      ASSERT_NE(it, peer_sa().children.end()) << std::hex << spi;
      const ChildSa& theirs = it->second;
      EXPECT_EQ(theirs.spi_out, ours.spi_in);
      EXPECT_EQ(ours.enc_out, theirs.enc_in);
      EXPECT_EQ(ours.integ_out, theirs.integ_in);
      EXPECT_EQ(ours.enc_in, theirs.enc_out);
      EXPECT_EQ(ours.integ_in, theirs.integ_out);
    }
  }
  // Delivers `d` (a request of either side) and every answer and follow-up
  // until neither side has anything more to send.
  void exchange(Bytes d, bool to_initiator) {
    for (int n = 0; n < 16 && !d.empty(); ++n, to_initiator = !to_initiator)
      d = to_initiator ? i->handle(d, now) : to_peer(d);
  }
  // A request of the peer's own on our SA, sealed by hand with its keys
  // (neither the Initiator nor the Response flag), and our answer opened.
  Bytes peer_request(Exchange ex, const std::vector<Payload>& inner, uint32_t id) {
    const IkeSa& s = peer_sa();
    Header h;
    h.spi_i = s.spi_i;
    h.spi_r = s.spi_r;
    h.exchange = ex;
    h.message_id = id;
    PayloadType first = PayloadType::none;
    const Bytes plain = encode_payload_chain(inner, first);
    return seal_sk(s.suite, s.keys.sk_er, s.keys.sk_ar, h, first, plain, Bytes(s.suite.iv_len(), 0x44));
  }
  std::vector<Payload> open_answer(const Bytes& d, Header& h) {
    Message m;
    EXPECT_TRUE(parse_message(d, m).ok());
    h = m.header;
    Bytes plain;
    EXPECT_EQ(open_sk(peer_sa().suite, peer_sa().keys.sk_ei, peer_sa().keys.sk_ai, d, m, plain), SkError::ok);
    return decode(m.get<SkPayload>(PayloadType::sk)->first_inner, plain);
  }
  bool logged(const std::string& s) {
    return std::any_of(logs.begin(), logs.end(), [&](const std::string& l) { return l.find(s) != std::string::npos; });
  }
};

}  // namespace
}  // namespace wp::ike
