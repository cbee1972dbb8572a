// The DH groups beyond MODP-2048 and ECP-256 (dataplane/control/ike/ike_crypto.h):
// strongSwan's keywords for each, IKE and ESP proposal names with them,
// Curve25519's refusals (a wrong length, the low-order points of RFC 7748
// whose shared secret is all zero, RFC 8031 § 2.3), a KE payload of the
// wrong length for its group refused and counted by the responder; then,
// for every group, a whole IKE SA between our initiator and responder with
// that group, and a Child SA rekey with PFS in it, keys equal on both sides.
#include <gtest/gtest.h>

#include <chrono>

#include "dataplane/control/ike/ike_initiator.h"
#include "dataplane/control/ike/ike_responder.h"
#include "tests/unit/ike_test_initiator.h"

namespace wp::ike {
namespace {

using Clock = std::chrono::steady_clock;

TEST(IkeDhGroups, StrongSwanKeywords) {
  const std::pair<const char*, uint16_t> names[] = {{"modp2048", 14}, {"modp3072", 15}, {"modp4096", 16},
                                                    {"ecp256", 19},   {"ecp384", 20},   {"ecp521", 21},
                                                    {"curve25519", 31}};
  for (const auto& [name, id] : names) {
    EXPECT_EQ(dh_group_by_name(name), id) << name;
    EXPECT_EQ(dh_group_name(id), name);
    IkeSuite s;
    ASSERT_TRUE(ike_suite_by_name(std::string("aes256-sha256-") + name, s)) << name;
    EXPECT_EQ(s.dh, id);
    EXPECT_FALSE(s.aead());
    EXPECT_EQ(ike_suite_name(s), std::string("aes256-sha256-") + name);
    ASSERT_TRUE(ike_suite_by_name(std::string("aes256gcm16-prfsha256-") + name, s)) << name;
    EXPECT_TRUE(s.aead());
    EXPECT_EQ(ike_suite_name(s), std::string("aes256gcm16-prfsha256-") + name);
    std::string base;
    uint16_t g = 0;
    ASSERT_TRUE(split_esp_group(std::string("aes256gcm16-esn-") + name, base, g));
    EXPECT_EQ(base, "aes256gcm16-esn");
    EXPECT_EQ(g, id);
  }
  EXPECT_EQ(dh_group_by_name("modp1536"), 0);
  EXPECT_EQ(dh_group_name(5), "");
  IkeSuite s;
  EXPECT_FALSE(ike_suite_by_name("aes256-sha256", s));  // an IKE proposal needs its group
  EXPECT_FALSE(ike_suite_by_name("aes256-sha256-modp1536", s));
  EXPECT_FALSE(ike_suite_by_name("aes128-sha256-ecp384", s));
  std::string base;
  uint16_t g = 0;
  for (const char* n : {"aes256gcm16-modp1536", "aes256gcm16-curve448", "aes256gcm16-x448", "aes256gcm16-ffdhe2048",
                        "aes256gcm16-ecp384-curve25519"})
    EXPECT_FALSE(split_esp_group(n, base, g)) << n;
  EXPECT_EQ(dh_group_names(), "modp2048, modp3072, modp4096, ecp256, ecp384, ecp521, curve25519");
}

TEST(IkeDhGroups, Curve25519RoundTripAndRefusals) {
  std::string err;
  auto a = DhKey::generate(kDhCurve25519, err), b = DhKey::generate(kDhCurve25519, err);
  ASSERT_TRUE(a && b) << err;
  EXPECT_EQ(a->public_value().size(), 32u);
  Bytes ab, ba;
  ASSERT_TRUE(a->shared_secret(b->public_value(), ab, err)) << err;
  ASSERT_TRUE(b->shared_secret(a->public_value(), ba, err)) << err;
  EXPECT_EQ(ab, ba);
  EXPECT_EQ(ab.size(), 32u);
  Bytes out;
  for (size_t len : {31u, 33u, 0u}) {
    EXPECT_FALSE(a->shared_secret(Bytes(len, 9), out, err));
    EXPECT_NE(err.find("expected 32"), std::string::npos) << err;
  }
  // RFC 7748's points of small order (little-endian u): 0, 1, the two of
  // order 8, p - 1, p, p + 1. Each gives the all-zero shared secret.
  auto hex = [](const char* h) {
    Bytes b;
    for (size_t i = 0; h[i] && h[i + 1]; i += 2) b.push_back(static_cast<uint8_t>(std::stoi(std::string(h + i, 2), nullptr, 16)));
    return b;
  };
  Bytes one(32, 0);
  one[0] = 1;
  const Bytes low_order[] = {
      Bytes(32, 0),
      one,
      hex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
      hex("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157"),
      hex("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
      hex("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
      hex("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
  };
  for (const Bytes& u : low_order) {
    ASSERT_EQ(u.size(), 32u);
    out = Bytes(3, 1);
    EXPECT_FALSE(a->shared_secret(u, out, err));
    EXPECT_NE(err.find("all-zero"), std::string::npos) << err;
    EXPECT_TRUE(out.empty());  // nothing of the derivation is left behind
  }
}

// A KE of the chosen group but not of its length: refused before any DH,
// counted as bad_ke_data, no state kept.
TEST(IkeDhGroups, KeOfTheWrongLengthForItsGroupIsRefusedAndCounted) {
  for (uint16_t g : kDhGroupIds) {
    PeerConfig p;
    p.name = "site1";
    p.local_id = "headend.example";
    p.remote_id = "site1.example";
    p.psk = bytes(kPsk);
    p.esp_suites = {EspSuite{kEncrAesGcm16, 0, false}};
    ResponderConfig rc;
    const IkeSuite suite{kEncrAesCbc, 256, kIntegHmacSha256_128, kPrfHmacSha256, g};
    rc.ike_suites = {suite};
    rc.peers = {p};
    Responder r(rc);
    TestInitiator i;
    Message m;
    ASSERT_TRUE(parse_message(i.sa_init({ike_proposal(1, suite)}, g), m).ok());
    for (Payload& pl : m.payloads)
      if (auto* ke = std::get_if<KePayload>(&pl.body)) ke->data.push_back(0);  // one byte too many
    const Bytes answer = r.handle(encode_message(m), kSite, kHeadend);
    Message a;
    ASSERT_TRUE(parse_message(answer, a).ok()) << g;
    EXPECT_NE(a.notify(kNotifyInvalidSyntax), nullptr) << g;
    EXPECT_EQ(r.counters()[Refusal::bad_ke_data], 1u) << g;
    EXPECT_TRUE(r.sas().empty());
  }
}

class IkeDhGroupExchange : public ::testing::TestWithParam<uint16_t> {};

// Our initiator offers only suites of the group (CBC and GCM), the responder
// takes it; then a Child SA rekey with PFS in the same group.
TEST_P(IkeDhGroupExchange, IkeSaAndPfsRekeyInTheGroup) {
  const uint16_t g = GetParam();
  PeerConfig hp = site1_psk_peer();
  ResponderConfig rc;
  const IkeSuite gcm{kEncrAesGcm16, 256, 0, kPrfHmacSha256, g};
  rc.ike_suites = {IkeSuite{kEncrAesCbc, 256, kIntegHmacSha256_128, kPrfHmacSha256, kDhModp2048}, gcm};
  rc.peers = {hp};
  InitiatorConfig ic;
  ic.peer.name = "headend";
  ic.peer.local_id = "site1.example";
  ic.peer.remote_id = "headend.example";
  ic.peer.psk = bytes(kPsk);
  ic.peer.esp_suites = hp.esp_suites;
  ic.peer.local_ts = hp.remote_ts;
  ic.peer.remote_ts = hp.local_ts;
  ic.ike_suites = {gcm};
  ic.local = kSite;
  ic.remote = kHeadend;
  Responder r(rc);
  Initiator i(ic);
  const auto now = Clock::now();
  auto run = [&](Bytes d) {
    for (int n = 0; n < 8 && !d.empty(); ++n) {
      const Bytes answer = r.handle(d, kSite, kHeadend);
      if (answer.empty()) return;
      d = i.handle(answer, now);
    }
  };
  run(i.start(now));
  ASSERT_EQ(i.state(), InitiatorState::established) << g;
  ASSERT_EQ(r.sas().size(), 1u);
  const IkeSa& rs = *r.sas().begin()->second;
  EXPECT_EQ(rs.suite.dh, g);
  EXPECT_EQ(i.sa()->suite.dh, g);
  EXPECT_EQ(i.sa()->keys.sk_d, rs.keys.sk_d);
  const uint32_t old_in = i.child()->spi_in;
  run(i.rekey_child(now, g));
  EXPECT_EQ(i.counters().child_sas_rekeyed, 1u) << g;
  ASSERT_NE(i.child(), nullptr);
  EXPECT_NE(i.child()->spi_in, old_in);
  const auto theirs = rs.children.find(i.child()->spi_out);
  ASSERT_NE(theirs, rs.children.end());
  EXPECT_EQ(i.child()->enc_out, theirs->second.enc_in);
  EXPECT_EQ(i.child()->enc_in, theirs->second.enc_out);
  EXPECT_EQ(r.counters().peer_child_rekeys, 1u);
}

INSTANTIATE_TEST_SUITE_P(Groups, IkeDhGroupExchange,
                         ::testing::Values(kDhModp3072, kDhModp4096, kDhEcp384, kDhEcp521, kDhCurve25519));

}  // namespace
}  // namespace wp::ike
