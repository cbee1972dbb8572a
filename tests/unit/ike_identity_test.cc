// IKE identities (dataplane/control/ike/ike_identity.h): each configured
// form to its ID type and data, refusals, matching a received ID (a DN by
// its canonical form), the log text; then PSK exchanges between our
// initiator and responder with address, email and DN identities, and a
// responder that refuses an IDi of the right text but the wrong type.
#include "dataplane/control/ike/ike_identity.h"

#include <gtest/gtest.h>

#include <chrono>

#include "dataplane/control/ike/ike_initiator.h"
#include "dataplane/control/ike/ike_responder.h"
#include "tests/unit/ike_test_initiator.h"

namespace wp::ike {
namespace {

TEST(IkeIdentity, ConfiguredFormsToTypes) {
  std::string e;
  auto id = parse_identity("site1.example", e);
  ASSERT_TRUE(id);
  EXPECT_EQ(id->type, kIdFqdn);
  EXPECT_EQ(id->data, bytes("site1.example"));
  id = parse_identity("@site1.example", e);  // strongSwan's "not an address, an FQDN"
  ASSERT_TRUE(id);
  EXPECT_EQ(id->type, kIdFqdn);
  EXPECT_EQ(id->data, bytes("site1.example"));
  id = parse_identity("192.0.2.1", e);
  ASSERT_TRUE(id);
  EXPECT_EQ(id->type, kIdIpv4Addr);
  EXPECT_EQ(id->data, (Bytes{192, 0, 2, 1}));
  id = parse_identity("2001:db8::1", e);
  ASSERT_TRUE(id);
  EXPECT_EQ(id->type, kIdIpv6Addr);
  ASSERT_EQ(id->data.size(), 16u);
  EXPECT_EQ(id->data[0], 0x20);
  EXPECT_EQ(id->data[15], 1);
  id = parse_identity("vpn@site1.example", e);
  ASSERT_TRUE(id);
  EXPECT_EQ(id->type, kIdRfc822Addr);
  EXPECT_EQ(id->data, bytes("vpn@site1.example"));
  id = parse_identity("C=CH, O=Example Corp, CN=site1", e);
  ASSERT_TRUE(id) << e;
  EXPECT_EQ(id->type, kIdDerAsn1Dn);
  EXPECT_EQ(id->data.at(0), 0x30);  // a DER SEQUENCE (RDNSequence)
  EXPECT_EQ(identity_text({id->type, id->data}), "dn:/C=CH/O=Example Corp/CN=site1");
  EXPECT_EQ(identity_of("E=vpn@site1.example, CN=site1"), *parse_identity("emailAddress=vpn@site1.example,CN=site1", e));
}

TEST(IkeIdentity, Refusals) {
  std::string e;
  EXPECT_FALSE(parse_identity("", e));
  EXPECT_FALSE(parse_identity(std::string(256, 'a'), e));
  EXPECT_FALSE(parse_identity("site\x01.example", e));
  EXPECT_NE(e.find("printable"), std::string::npos) << e;
  EXPECT_FALSE(parse_identity("site one", e));
  EXPECT_NE(e.find("distinguished name"), std::string::npos) << e;
  EXPECT_FALSE(parse_identity("C=CH, XX=1", e));
  EXPECT_NE(e.find("unknown DN attribute \"XX\""), std::string::npos) << e;
  EXPECT_FALSE(parse_identity("C=CH, O=", e));
  EXPECT_NE(e.find("no value"), std::string::npos) << e;
  EXPECT_FALSE(parse_identity("C=CH, Example", e));
  EXPECT_NE(e.find("ATTRIBUTE=value"), std::string::npos) << e;
  EXPECT_FALSE(parse_identity("C=CHE", e));  // a country is two letters (OpenSSL's string table)
  EXPECT_FALSE(parse_identity("@", e));
}

TEST(IkeIdentity, MatchingAReceivedId) {
  const Identity dn = identity_of("C=CH, O=Example Corp, CN=site1");
  // Another spelling of the same DN, as a peer may encode it.
  EXPECT_TRUE(identity_matches(dn, {kIdDerAsn1Dn, identity_of("/C=CH/O=example corp/CN=SITE1").data}));
  EXPECT_TRUE(identity_matches(dn, {kIdDerAsn1Dn, identity_of("C=CH,O=Example  Corp,CN=site1").data}));
  EXPECT_FALSE(identity_matches(dn, {kIdDerAsn1Dn, identity_of("C=CH, O=Example Corp, CN=site2").data}));
  EXPECT_FALSE(identity_matches(dn, {kIdDerAsn1Dn, identity_of("O=Example Corp, C=CH, CN=site1").data}));
  EXPECT_FALSE(identity_matches(dn, {kIdDerAsn1Dn, Bytes{0x30, 0x03, 1, 2}}));  // not DER
  EXPECT_FALSE(identity_matches(dn, {kIdFqdn, dn.data}));
  const Identity v4 = identity_of("192.0.2.1");
  EXPECT_TRUE(identity_matches(v4, {kIdIpv4Addr, {192, 0, 2, 1}}));
  EXPECT_FALSE(identity_matches(v4, {kIdFqdn, bytes("192.0.2.1")}));  // the text is not the address
  EXPECT_FALSE(identity_matches(v4, {kIdIpv4Addr, {192, 0, 2, 2}}));
  EXPECT_TRUE(identity_matches(identity_of("a@b.example"), {kIdRfc822Addr, bytes("a@b.example")}));
  EXPECT_FALSE(identity_matches(identity_of("a@b.example"), {kIdFqdn, bytes("a@b.example")}));
  EXPECT_EQ(identity_text({kIdIpv4Addr, {192, 0, 2, 1}}), "ipv4:192.0.2.1");
  EXPECT_EQ(identity_text({kIdIpv6Addr, identity_of("2001:db8::1").data}), "ipv6:2001:db8::1");
  EXPECT_EQ(identity_text({kIdRfc822Addr, bytes("a@b.example")}), "email:a@b.example");
  EXPECT_EQ(identity_text({kIdFqdn, Bytes{'a', 0x07, 'b'}}), "fqdn:a?b");
  EXPECT_EQ(identity_text({11, bytes("key")}), "id11:key");
}

using Clock = std::chrono::steady_clock;

struct IdentityExchange : ::testing::Test {
  ResponderConfig rc;
  InitiatorConfig ic;
  std::unique_ptr<Responder> r;
  std::unique_ptr<Initiator> i;

  IdentityExchange() {
    PeerConfig hp;
    hp.name = "site1";
    hp.psk = bytes(kPsk);
    hp.esp_suites = {EspSuite{kEncrAesGcm16, 0, false}};
    hp.local_ts = {ts({10, 60, 0, 0}, {10, 60, 0, 255})};
    hp.remote_ts = {ts({10, 50, 0, 0}, {10, 50, 0, 255})};
    rc.ike_suites = {IkeSuite{kEncrAesGcm16, 256, 0, kPrfHmacSha256, kDhCurve25519}};
    rc.peers = {hp};
    ic.peer = hp;
    ic.peer.name = "headend";
    ic.peer.local_ts = hp.remote_ts;
    ic.peer.remote_ts = hp.local_ts;
    ic.ike_suites = rc.ike_suites;
    ic.local = kSite;
    ic.remote = kHeadend;
  }
  // The headend is `headend`, the site `site`, as each side configures them.
  void ids(const std::string& headend_at_headend, const std::string& site_at_headend,
           const std::string& headend_at_site, const std::string& site_at_site) {
    rc.peers[0].local_id = headend_at_headend;
    rc.peers[0].remote_id = site_at_headend;
    ic.peer.remote_id = headend_at_site;
    ic.peer.local_id = site_at_site;
  }
  void run() {
    r = std::make_unique<Responder>(rc);
    i = std::make_unique<Initiator>(ic);
    const auto now = Clock::now();
    Bytes d = i->start(now);
    for (int n = 0; n < 8 && !d.empty(); ++n) {
      const Bytes answer = r->handle(d, kSite, kHeadend);
      if (answer.empty()) return;
      d = i->handle(answer, now);
    }
  }
};

TEST_F(IdentityExchange, AddressEmailAndDnIdentitiesWithAPsk) {
  const std::string forms[][2] = {{"10.78.0.2", "10.78.0.1"},
                                  {"2001:db8::2", "2001:db8::1"},
                                  {"vpn@headend.example", "vpn@site1.example"},
                                  {"C=CH, O=Example, CN=headend", "C=CH, O=Example, CN=site1"}};
  for (const auto& f : forms) {
    ids(f[0], f[1], f[0], f[1]);
    run();
    ASSERT_EQ(i->state(), InitiatorState::established) << f[0];
    ASSERT_EQ(r->sas().size(), 1u);
    EXPECT_EQ(r->sas().begin()->second->remote_id, f[1]);
  }
  // A DN the site spells otherwise is the same DN.
  ids("C=CH, O=Example, CN=headend", "C=CH, O=Example, CN=site1", "/C=CH/O=EXAMPLE/CN=headend",
      "C=CH,O=Example,CN=site1");
  run();
  EXPECT_EQ(i->state(), InitiatorState::established);
}

TEST_F(IdentityExchange, TheTypeCountsNotJustTheText) {
  // The site sends IDi ID_FQDN "vpn.site1.example"; we expect the email vpn@...
  ids("headend.example", "vpn@site1.example", "headend.example", "vpn.site1.example");
  run();
  EXPECT_EQ(i->state(), InitiatorState::failed);
  EXPECT_EQ(r->counters()[Refusal::unknown_id], 1u);
  // The site names us (IDr) by the FQDN headend.example; we are the DN CN=headend.example.
  ids("CN=headend.example", "site1.example", "headend.example", "site1.example");
  run();
  EXPECT_EQ(i->state(), InitiatorState::failed);
  EXPECT_EQ(r->counters()[Refusal::unknown_id], 1u);
}

}  // namespace
}  // namespace wp::ike
