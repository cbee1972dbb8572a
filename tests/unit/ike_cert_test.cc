// Certificate authentication (dataplane/control/ike/ike_cert.h): credentials
// loaded and refused, RFC 7427 signatures made and checked (RSA and ECDSA),
// chains to the CA with and without an intermediate, the identity in the
// subjectAltName, expiry, tampering; identities other than FQDNs named by
// a certificate (email and IP subjectAltNames, the subject DN); CRLs
// (revoked, current, expired, not our CA's); then a whole IKE_SA_INIT +
// IKE_AUTH between our initiator and responder with certificates on both
// sides, with FQDN, DN and email identities, and a revoked site refused.
#include "dataplane/control/ike/ike_cert.h"

#include <gtest/gtest.h>
#include <openssl/sha.h>

#include <chrono>

#include "dataplane/control/ike/ike_initiator.h"
#include "dataplane/control/ike/ike_responder.h"
#include "tests/unit/ike_test_initiator.h"
#include "tests/unit/test_certs.h"

namespace wp::ike {
namespace {

using testcert::issue;
using testcert::Issued;
using testcert::KeyType;

struct Pki {
  Issued ca = issue("Test CA", {}, KeyType::p256, nullptr, true);
  Issued other_ca = issue("Other CA", {}, KeyType::p256, nullptr, true);
  Issued headend = issue("headend", {"headend.example"}, KeyType::rsa2048, &ca, false);
  Issued site = issue("site1", {"site1.example", "alt.example"}, KeyType::p256, &ca, false);
};

const Pki& pki() {
  static const Pki p;  // RSA key generation is slow: once per binary
  return p;
}

CertAuthPtr load(const Issued& who, const Issued& ca, std::string extra_chain = {}) {
  std::string error;
  CertAuthPtr a = load_cert_auth(who.cert_pem + extra_chain, who.key_pem, ca.cert_pem, error);
  EXPECT_TRUE(a) << error;
  return a;
}

const Bytes kOctets = {1, 2, 3, 4, 5, 6, 7, 8};

std::vector<Payload> certs_of(const CertAuth& a) { return cert_payloads(a); }

TEST(IkeCert, LoadRefusesWhatCannotWork) {
  const Pki& p = pki();
  std::string e;
  EXPECT_FALSE(load_cert_auth("", p.site.key_pem, p.ca.cert_pem, e));
  EXPECT_NE(e.find("no PEM certificate"), std::string::npos) << e;
  EXPECT_FALSE(load_cert_auth(p.site.cert_pem, "garbage", p.ca.cert_pem, e));
  EXPECT_NE(e.find("private key"), std::string::npos) << e;
  EXPECT_FALSE(load_cert_auth(p.site.cert_pem, p.headend.key_pem, p.ca.cert_pem, e));
  EXPECT_NE(e.find("does not belong"), std::string::npos) << e;
  EXPECT_FALSE(load_cert_auth(p.site.cert_pem, p.site.key_pem, "", e));
  EXPECT_NE(e.find("CA certificates"), std::string::npos) << e;
  const Issued weak = issue("weak", {"weak.example"}, KeyType::rsa1024, &p.ca, false);
  EXPECT_FALSE(load_cert_auth(weak.cert_pem, weak.key_pem, p.ca.cert_pem, e));
  EXPECT_NE(e.find("1024 bits"), std::string::npos) << e;
  ASSERT_TRUE(load_cert_auth(p.site.cert_pem, p.site.key_pem, p.ca.cert_pem, e)) << e;
  EXPECT_EQ(cert_dns_names(*load(p.site, p.ca)), (std::vector<std::string>{"site1.example", "alt.example"}));
}

// Signed by one side, checked by the other, for both key types.
TEST(IkeCert, SignaturesVerifyForRsaAndEcdsa) {
  const Pki& p = pki();
  for (const Issued* who : {&p.headend, &p.site}) {
    const CertAuthPtr signer = load(*who, p.ca);
    AuthPayload auth;
    std::string e;
    ASSERT_TRUE(sign_auth(*signer, kOctets, auth, e)) << e;
    EXPECT_EQ(auth.method, kAuthDigitalSignature);
    const CertAuthPtr checker = load(p.headend, p.ca);
    const std::string fqdn = who == &p.site ? "site1.example" : "headend.example";
    EXPECT_EQ(verify_peer_auth(*checker, certs_of(*signer), identity_of(fqdn), auth, kOctets, e), CertVerdict::ok) << e;
    // Other octets (another exchange), a flipped signature bit.
    EXPECT_EQ(verify_peer_auth(*checker, certs_of(*signer), identity_of(fqdn), auth, Bytes{9, 9}, e), CertVerdict::bad_signature);
    AuthPayload bad = auth;
    bad.data.back() ^= 1;
    EXPECT_EQ(verify_peer_auth(*checker, certs_of(*signer), identity_of(fqdn), bad, kOctets, e), CertVerdict::bad_signature);
    // A PSK MIC where a signature belongs.
    bad = auth;
    bad.method = kAuthPsk;
    EXPECT_EQ(verify_peer_auth(*checker, certs_of(*signer), identity_of(fqdn), bad, kOctets, e), CertVerdict::unsupported_method);
  }
}

TEST(IkeCert, TheCertificateMustChainToOurCaAndNameThePeer) {
  const Pki& p = pki();
  const CertAuthPtr site = load(p.site, p.ca);
  AuthPayload auth;
  std::string e;
  ASSERT_TRUE(sign_auth(*site, kOctets, auth, e));
  const CertAuthPtr trusts_other = load(p.headend, p.other_ca);
  EXPECT_EQ(verify_peer_auth(*trusts_other, certs_of(*site), identity_of("site1.example"), auth, kOctets, e),
            CertVerdict::bad_certificate);
  EXPECT_NE(e.find("does not verify"), std::string::npos) << e;
  const CertAuthPtr headend = load(p.headend, p.ca);
  EXPECT_EQ(verify_peer_auth(*headend, certs_of(*site), identity_of("site2.example"), auth, kOctets, e),
            CertVerdict::bad_certificate);
  EXPECT_NE(e.find("site2.example"), std::string::npos) << e;
  // The CN is not an identity: only the subjectAltName counts.
  EXPECT_EQ(verify_peer_auth(*headend, certs_of(*site), identity_of("site1"), auth, kOctets, e), CertVerdict::bad_certificate);
  EXPECT_EQ(verify_peer_auth(*headend, {}, identity_of("site1.example"), auth, kOctets, e), CertVerdict::bad_certificate);
  // Not DER.
  std::vector<Payload> junk{{PayloadType::cert, false, CertPayload{kCertX509Signature, Bytes{0x30, 0x03, 1, 2, 3}}}};
  EXPECT_EQ(verify_peer_auth(*headend, junk, identity_of("site1.example"), auth, kOctets, e), CertVerdict::bad_certificate);
}

TEST(IkeCert, ExpiredOrNotYetValidCertificatesAreRefused) {
  const Pki& p = pki();
  const CertAuthPtr headend = load(p.headend, p.ca);
  for (long not_before : {-2 * 86400L, 3600L}) {
    const Issued s = issue("site1", {"site1.example"}, KeyType::p256, &p.ca, false, not_before, 86400);
    const CertAuthPtr site = load(s, p.ca);
    AuthPayload auth;
    std::string e;
    ASSERT_TRUE(sign_auth(*site, kOctets, auth, e));
    EXPECT_EQ(verify_peer_auth(*headend, certs_of(*site), identity_of("site1.example"), auth, kOctets, e),
              CertVerdict::bad_certificate)
        << not_before;
  }
}

TEST(IkeCert, IntermediatesTravelAsFurtherCertPayloads) {
  const Pki& p = pki();
  const Issued sub = issue("Sub CA", {}, KeyType::p256, &p.ca, true);
  const Issued s = issue("site9", {"site9.example"}, KeyType::p384, &sub, false);
  const CertAuthPtr with_chain = load(s, p.ca, sub.cert_pem);
  const CertAuthPtr without = load(s, p.ca);
  EXPECT_EQ(cert_payloads(*with_chain).size(), 2u);
  AuthPayload auth;
  std::string e;
  ASSERT_TRUE(sign_auth(*with_chain, kOctets, auth, e));
  const CertAuthPtr headend = load(p.headend, p.ca);
  EXPECT_EQ(verify_peer_auth(*headend, certs_of(*with_chain), identity_of("site9.example"), auth, kOctets, e), CertVerdict::ok)
      << e;
  EXPECT_EQ(verify_peer_auth(*headend, certs_of(*without), identity_of("site9.example"), auth, kOctets, e),
            CertVerdict::bad_certificate);
}

// RFC 7296 § 3.7: SHA-1 of each trust anchor's SubjectPublicKeyInfo, once.
TEST(IkeCert, CertRequestNamesTheCasBySubjectPublicKeyInfoHash) {
  const Pki& p = pki();
  const CertAuthPtr a = load(p.headend, p.ca), b = load(p.site, p.ca);
  const Payload req = cert_request({a.get(), b.get()});
  const auto* c = std::get_if<CertPayload>(&req.body);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(req.type, PayloadType::certreq);
  EXPECT_EQ(c->encoding, kCertX509Signature);
  unsigned char* spki = nullptr;  // i2d_PUBKEY: the SubjectPublicKeyInfo of the CA's key
  const int n = i2d_PUBKEY(p.ca.key.get(), &spki);
  ASSERT_GT(n, 0);
  Bytes expected(SHA_DIGEST_LENGTH);
  SHA1(spki, static_cast<size_t>(n), expected.data());
  OPENSSL_free(spki);
  EXPECT_EQ(c->data, expected);
}

// The whole exchange: our initiator (site, ECDSA) to our responder (headend, RSA).
struct CertExchange : ::testing::Test {
  ResponderConfig rc;
  InitiatorConfig ic;
  std::vector<std::string> logs;
  std::unique_ptr<Responder> r;
  std::unique_ptr<Initiator> i;
  std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now();
  Bytes first_answer;

  CertExchange() {
    const Pki& p = pki();
    PeerConfig hp;
    hp.name = "site1";
    hp.local_id = "headend.example";
    hp.remote_id = "site1.example";
    hp.cert = load(p.headend, p.ca);
    hp.esp_suites = {EspSuite{kEncrAesGcm16, 0, false}};
    hp.local_ts = {ts({10, 60, 0, 0}, {10, 60, 0, 255})};
    hp.remote_ts = {ts({10, 50, 0, 0}, {10, 50, 0, 255})};
    rc.ike_suites = {IkeSuite{kEncrAesGcm16, 256, 0, kPrfHmacSha256, kDhEcp256}};
    rc.peers = {hp};
    ic.peer.name = "headend";
    ic.peer.local_id = "site1.example";
    ic.peer.remote_id = "headend.example";
    ic.peer.cert = load(p.site, p.ca);
    ic.peer.esp_suites = hp.esp_suites;
    ic.peer.local_ts = hp.remote_ts;
    ic.peer.remote_ts = hp.local_ts;
    ic.ike_suites = rc.ike_suites;
    ic.local = kSite;
    ic.remote = kHeadend;
  }
  void run() {
    r = std::make_unique<Responder>(rc, [this](const std::string& l) { logs.push_back(l); });
    i = std::make_unique<Initiator>(ic, [this](const std::string& l) { logs.push_back(l); });
    Bytes d = i->start(now);
    for (int n = 0; n < 8 && !d.empty(); ++n) {
      const Bytes answer = r->handle(d, kSite, kHeadend);
      if (n == 0) first_answer = answer;
      if (answer.empty()) return;
      d = i->handle(answer, now);
    }
  }
};

TEST_F(CertExchange, BothSidesAuthenticateByCertificate) {
  run();
  ASSERT_EQ(i->state(), InitiatorState::established);
  ASSERT_EQ(r->sas().size(), 1u);
  EXPECT_EQ(r->sas().begin()->second->state, IkeSaState::established);
  EXPECT_EQ(r->sas().begin()->second->remote_id, "site1.example");
  ASSERT_NE(i->child(), nullptr);
  // The IKE_SA_INIT answer asked for certificates and announced RFC 7427.
  Message m;
  ASSERT_TRUE(parse_message(first_answer, m).ok());
  EXPECT_NE(m.get<CertPayload>(PayloadType::certreq), nullptr);
  EXPECT_NE(m.notify(kNotifySignatureHashAlgorithms), nullptr);
}

TEST_F(CertExchange, ASiteWhoseCertificateWeDoNotTrustIsRefused) {
  const Pki& p = pki();
  ic.peer.cert = load(p.site, p.other_ca);  // the site trusts another CA; its own cert is still ours
  rc.peers[0].cert = load(p.headend, p.other_ca);
  run();
  EXPECT_EQ(i->state(), InitiatorState::failed);
  EXPECT_EQ(r->counters()[Refusal::bad_certificate], 1u);
  EXPECT_TRUE(r->sas().empty());
}

TEST_F(CertExchange, AHeadendWhoseCertificateTheSiteDoesNotTrustIsRefused) {
  const Pki& p = pki();
  ic.peer.cert = load(p.site, p.other_ca);
  run();
  EXPECT_EQ(i->state(), InitiatorState::failed);
  EXPECT_EQ(i->failure(), InitFailure::peer_bad_certificate);
  EXPECT_EQ(r->counters()[Refusal::bad_certificate], 0u);
}

TEST_F(CertExchange, APskSiteMeetingACertificatePeerIsRefused) {
  ic.peer.cert = nullptr;
  ic.peer.psk = bytes(kPsk);
  run();
  EXPECT_EQ(i->state(), InitiatorState::failed);
  EXPECT_EQ(r->counters()[Refusal::unsupported_auth_method], 1u);
}

TEST_F(CertExchange, ACertificatePeerWhoseCredentialsDidNotLoadNeverFallsBackToAnEmptyPsk) {
  rc.peers[0].cert = nullptr;  // and no PSK: what responder_config leaves if loading failed
  ic.peer.cert = nullptr;
  ic.peer.psk = {};
  run();
  EXPECT_EQ(i->state(), InitiatorState::failed);
  EXPECT_EQ(r->counters()[Refusal::authentication_failed], 1u);
}

TEST(IkeCert, IdentitiesOtherThanFqdnsAreNamedBySubjectAltNameOrSubject) {
  const Pki& p = pki();
  const Issued s = issue("C=CH, O=Site Corp, CN=site7", {"email:vpn@site7.example", "IP:192.0.2.7", "IP:2001:db8::7"},
                         KeyType::p256, &p.ca, false);
  const CertAuthPtr site = load(s, p.ca);
  AuthPayload auth;
  std::string e;
  ASSERT_TRUE(sign_auth(*site, kOctets, auth, e));
  const CertAuthPtr headend = load(p.headend, p.ca);
  for (const char* id : {"vpn@site7.example", "192.0.2.7", "2001:db8::7", "C=CH, O=Site Corp, CN=site7",
                         "C=ch,O=site corp,CN=SITE7", "/C=CH/O=Site Corp/CN=site7"})
    EXPECT_EQ(verify_peer_auth(*headend, certs_of(*site), identity_of(id), auth, kOctets, e), CertVerdict::ok)
        << id << ": " << e;
  for (const char* id : {"other@site7.example", "192.0.2.8", "2001:db8::8", "C=CH, O=Site Corp, CN=site8",
                         "O=Site Corp, C=CH, CN=site7", "C=CH, O=Site Corp", "site7"}) {
    EXPECT_EQ(verify_peer_auth(*headend, certs_of(*site), identity_of(id), auth, kOctets, e),
              CertVerdict::bad_certificate)
        << id;
    EXPECT_NE(e.find("does not name"), std::string::npos) << e;
  }
  EXPECT_TRUE(cert_names(*site, identity_of("C=CH, O=Site Corp, CN=site7")));
  EXPECT_FALSE(cert_names(*site, identity_of("site7.example")));
  EXPECT_EQ(cert_subject(*site), "/C=CH/O=Site Corp/CN=site7");
}

TEST(IkeCert, ARevokedCertificateIsRefusedAsRevoked) {
  const Pki& p = pki();
  const Issued revoked = issue("site3", {"site3.example"}, KeyType::p256, &p.ca, false);
  const Issued good = issue("site4", {"site4.example"}, KeyType::p256, &p.ca, false);
  std::string e;
  const std::string crl = testcert::crl_pem(p.ca, {&revoked});
  const CertAuthPtr headend = load_cert_auth(p.headend.cert_pem, p.headend.key_pem, p.ca.cert_pem, e, crl);
  ASSERT_TRUE(headend) << e;
  EXPECT_EQ(crl_count(*headend), 1u);
  for (const Issued* who : {&revoked, &good}) {
    const CertAuthPtr site = load(*who, p.ca);
    AuthPayload auth;
    ASSERT_TRUE(sign_auth(*site, kOctets, auth, e));
    const Identity id = identity_of(who == &revoked ? "site3.example" : "site4.example");
    const CertVerdict v = verify_peer_auth(*headend, certs_of(*site), id, auth, kOctets, e);
    if (who == &revoked) {
      EXPECT_EQ(v, CertVerdict::revoked);
      EXPECT_NE(e.find("revoked"), std::string::npos) << e;
    } else {
      EXPECT_EQ(v, CertVerdict::ok) << e;
    }
    // Without the CRL the same certificate passes: the CRL is what refuses it.
    EXPECT_EQ(verify_peer_auth(*load(p.headend, p.ca), certs_of(*site), id, auth, kOctets, e), CertVerdict::ok);
  }
  // A CRL past its nextUpdate fails closed (not "revoked": nothing says so).
  const CertAuthPtr stale =
      load_cert_auth(p.headend.cert_pem, p.headend.key_pem, p.ca.cert_pem, e, testcert::crl_pem(p.ca, {}, -30));
  ASSERT_TRUE(stale) << e;
  const CertAuthPtr site = load(good, p.ca);
  AuthPayload auth;
  ASSERT_TRUE(sign_auth(*site, kOctets, auth, e));
  EXPECT_EQ(verify_peer_auth(*stale, certs_of(*site), identity_of("site4.example"), auth, kOctets, e),
            CertVerdict::bad_certificate);
  EXPECT_NE(e.find("CRL has expired"), std::string::npos) << e;
}

TEST(IkeCert, CrlsMustBeOurCasAndPem) {
  const Pki& p = pki();
  std::string e;
  EXPECT_FALSE(load_cert_auth(p.headend.cert_pem, p.headend.key_pem, p.ca.cert_pem, e,
                              testcert::crl_pem(p.other_ca, {})));
  EXPECT_NE(e.find("not signed by one of the CA certificates"), std::string::npos) << e;
  EXPECT_FALSE(load_cert_auth(p.headend.cert_pem, p.headend.key_pem, p.ca.cert_pem, e, "not a CRL"));
  EXPECT_NE(e.find("no PEM CRL"), std::string::npos) << e;
  // Two CAs, a CRL of each.
  const std::string two = testcert::crl_pem(p.ca, {}) + testcert::crl_pem(p.other_ca, {});
  const CertAuthPtr a = load_cert_auth(p.headend.cert_pem, p.headend.key_pem, p.ca.cert_pem + p.other_ca.cert_pem, e, two);
  ASSERT_TRUE(a) << e;
  EXPECT_EQ(crl_count(*a), 2u);
}

TEST_F(CertExchange, DistinguishedNameAndEmailIdentities) {
  const Pki& p = pki();
  const Issued site = issue("C=CH, O=Site Corp, CN=site1", {}, KeyType::p256, &p.ca, false);
  const Issued headend = issue("headend", {"email:vpn@headend.example"}, KeyType::p256, &p.ca, false);
  rc.peers[0].local_id = ic.peer.remote_id = "vpn@headend.example";
  rc.peers[0].remote_id = "C=CH, O=Site Corp, CN=site1";
  ic.peer.local_id = "C=CH,O=Site Corp,CN=site1";  // another spelling of the same DN
  rc.peers[0].cert = load(headend, p.ca);
  ic.peer.cert = load(site, p.ca);
  run();
  ASSERT_EQ(i->state(), InitiatorState::established);
  ASSERT_EQ(r->sas().size(), 1u);
  EXPECT_EQ(r->sas().begin()->second->remote_id, "C=CH, O=Site Corp, CN=site1");  // as configured
}

TEST_F(CertExchange, AnIdentityTheCertificateDoesNotNameIsRefused) {
  const Pki& p = pki();
  const Issued site = issue("C=CH, O=Site Corp, CN=site2", {}, KeyType::p256, &p.ca, false);
  rc.peers[0].remote_id = ic.peer.local_id = "C=CH, O=Site Corp, CN=site1";  // the certificate says site2
  ic.peer.cert = load(site, p.ca);
  run();
  EXPECT_EQ(i->state(), InitiatorState::failed);
  EXPECT_EQ(r->counters()[Refusal::bad_certificate], 1u);
}

TEST_F(CertExchange, ARevokedSiteIsAuthenticationFailedAndCounted) {
  const Pki& p = pki();
  const Issued revoked = issue("site1", {"site1.example"}, KeyType::p256, &p.ca, false);
  std::string e;
  rc.peers[0].cert = load_cert_auth(p.headend.cert_pem, p.headend.key_pem, p.ca.cert_pem, e,
                                    testcert::crl_pem(p.ca, {&revoked}));
  ASSERT_TRUE(rc.peers[0].cert) << e;
  ic.peer.cert = load(revoked, p.ca);
  run();
  EXPECT_EQ(i->state(), InitiatorState::failed);
  EXPECT_EQ(i->failure(), InitFailure::authentication_failed);  // the responder answered AUTHENTICATION_FAILED
  EXPECT_EQ(r->counters()[Refusal::certificate_revoked], 1u);
  EXPECT_EQ(r->counters()[Refusal::bad_certificate], 0u);
  EXPECT_TRUE(r->sas().empty());
  // The site (p.site) that is not on the CRL still comes up with that headend.
  ic.peer.cert = load(p.site, p.ca);
  run();
  EXPECT_EQ(i->state(), InitiatorState::established);
}

// A live reload (Responder::reconfigure, as ike_service_reload does it) that
// brings a CRL revoking the site: its SA up now stays (peer_reload.h:
// credentials), its next IKE_AUTH is refused and counted.
TEST_F(CertExchange, ACrlFromALiveReloadRefusesTheNextIkeAuth) {
  run();
  ASSERT_EQ(i->state(), InitiatorState::established);
  const Pki& p = pki();
  std::string e;
  ResponderConfig next = rc;
  next.peers[0].cert = load_cert_auth(p.headend.cert_pem, p.headend.key_pem, p.ca.cert_pem, e,
                                      testcert::crl_pem(p.ca, {&p.site}));
  ASSERT_TRUE(next.peers[0].cert) << e;
  r->reconfigure(next);
  EXPECT_EQ(r->sas().size(), 1u);
  Initiator again(ic);
  Bytes d = again.start(now);
  for (int n = 0; n < 8 && !d.empty(); ++n) {
    const Bytes answer = r->handle(d, kSite, kHeadend);
    if (answer.empty()) break;
    d = again.handle(answer, now);
  }
  EXPECT_EQ(again.state(), InitiatorState::failed);
  EXPECT_EQ(r->counters()[Refusal::certificate_revoked], 1u);
  EXPECT_EQ(r->sas().size(), 1u);  // the first SA, authenticated before the CRL
}

TEST_F(CertExchange, ARevokedHeadendIsRefusedByTheInitiator) {
  const Pki& p = pki();
  std::string e;
  ic.peer.cert = load_cert_auth(p.site.cert_pem, p.site.key_pem, p.ca.cert_pem, e,
                                testcert::crl_pem(p.ca, {&p.headend}));
  ASSERT_TRUE(ic.peer.cert) << e;
  run();
  EXPECT_EQ(i->state(), InitiatorState::failed);
  EXPECT_EQ(i->failure(), InitFailure::peer_certificate_revoked);
}

}  // namespace
}  // namespace wp::ike
