// Tests for the `ipsec_peers` and `tunnels` sections (mgmt/config_validate_ipsec.cc).
//
// The baseline is r1.yaml (tests/data/config) with one legacy site and its
// tunnel appended as YAML; every rule is exercised by breaking exactly one
// thing and asserting the exact path plus a message substring. The PSK is a
// secret: it is read from psk_file relative to the config, and never quoted
// in an error.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "dataplane/control/ike/ike_cert.h"
#include "dataplane/control/ike/responder_config.h"
#include "mgmt/config_load.h"
#include "tests/unit/test_certs.h"
#include "tests/unit/test_data.h"

namespace wp::mgmt {
namespace {

namespace fs = std::filesystem;

constexpr const char* kPsk = "site1-psk-0123456789";

using test::r1_text;

// One site at 172.16.0.50 (on wan0's link) and its tunnel; `peer` and
// `tunnel` are spliced into the entries as extra YAML lines.
std::string site_yaml(const std::string& peer = "", const std::string& tunnel = "") {
  return "ipsec_peers:\n"
         "  - name: site1\n"
         "    address: 172.16.0.50\n"
         "    local_id: headend.example\n"
         "    remote_id: site1.example\n" +
         peer +
         "tunnels:\n"
         "  - name: ipsec0\n"
         "    peer: site1\n"
         "    tenant: branch\n" +
         tunnel;
}

ConfigResult load(const std::string& peer = "    psk: " + std::string(kPsk) + "\n", const std::string& tunnel = "") {
  return load_config_text(r1_text() + site_yaml(peer, tunnel));
}

testing::AssertionResult HasError(const ConfigResult& r, const std::string& path, const std::string& text) {
  for (const auto& e : r.errors) {
    if (e.path == path && e.message.find(text) != std::string::npos) return testing::AssertionSuccess();
  }
  return testing::AssertionFailure() << "no error at \"" << path << "\" containing \"" << text << "\"; got:\n"
                                     << r.error_text();
}

const std::string kPskLine = "    psk: " + std::string(kPsk) + "\n";

TEST(IpsecConfig, ValidSiteLoads) {
  ConfigResult r = load();
  ASSERT_TRUE(r.ok()) << r.error_text();
  ASSERT_EQ(r.config.ipsec_peers_size(), 1);
  EXPECT_EQ(r.config.ipsec_peers(0).psk(), kPsk);
  EXPECT_EQ(r.config.tunnels(0).peer(), "site1");
  ConfigResult full = load(kPskLine +
                               "    ike_proposals: [aes256gcm16-prfsha256-ecp256]\n"
                               "    esp_proposals: [aes256gcm16-esn, aes256-sha256]\n"
                               "    ike_lifetime_s: 3600\n    child_lifetime_s: 1200\n    dpd_interval_s: 10\n"
                               "    local_ts: [10.1.0.0/24]\n    remote_ts: [10.50.0.0/16]\n",
                           "    mtu: 1380\n");
  EXPECT_TRUE(full.ok()) << full.error_text();
}

// A static route may name a tunnel as its interface, without a next hop
// (docs/ipsec.md § ESP in the worker loop); the model points it into the tunnel.
TEST(IpsecConfig, RoutesIntoATunnel) {
  auto with_route = [](const std::string& route) {
    std::string text = r1_text();
    const size_t at = text.find("routes:\n");
    text.insert(at + 8, route);
    return load_config_text(text + site_yaml(kPskLine));
  };
  ConfigResult ok = with_route("  - {prefix: 10.50.0.0/24, interface: ipsec0}\n");
  ASSERT_TRUE(ok.ok()) << ok.error_text();
  ConfigResult hop = with_route("  - {prefix: 10.50.0.0/24, interface: ipsec0, next_hop: 172.16.0.50}\n");
  int idx = -1;
  for (int i = 0; i < hop.config.routes_size(); ++i)
    if (hop.config.routes(i).interface() == "ipsec0") idx = i;
  ASSERT_GE(idx, 0);
  EXPECT_TRUE(HasError(hop, "routes[" + std::to_string(idx) + "].next_hop", "has no next hop"));
  ConfigResult unknown = with_route("  - {prefix: 10.50.0.0/24, interface: ipsec9}\n");
  EXPECT_FALSE(unknown.ok());
}

// IPv6 routes may lead into a tunnel too, with the same rule: no next hop
// (docs/ipsec.md § IPv6 inside tunnels).
TEST(IpsecConfig, Ipv6RoutesIntoATunnel) {
  auto with_route = [](const std::string& route) {
    std::string text = r1_text();
    const size_t at = text.find("routes:\n");
    text.insert(at + 8, route);
    return load_config_text(text + site_yaml(kPskLine));
  };
  ConfigResult ok = with_route("  - {prefix: \"2001:db8:50::/48\", interface: ipsec0}\n");
  ASSERT_TRUE(ok.ok()) << ok.error_text();
  ConfigResult hop = with_route("  - {prefix: \"2001:db8:50::/48\", interface: ipsec0, next_hop: \"2001:db8::1\"}\n");
  EXPECT_TRUE(HasError(hop, "routes[0].next_hop", "a route into tunnel \"ipsec0\" has no next hop"));
  ConfigResult unknown = with_route("  - {prefix: \"2001:db8:50::/48\", interface: ipsec9}\n");
  EXPECT_TRUE(HasError(unknown, "routes[0].interface", "unknown interface \"ipsec9\""));
  ConfigResult host_bits = with_route("  - {prefix: \"2001:db8:50::1/48\", interface: ipsec0}\n");
  EXPECT_TRUE(HasError(host_bits, "routes[0].prefix", "host bits set"));
}

// An IPv6 link is at least 1280 bytes (RFC 8200 § 5): a tunnel with IPv6 inside (its
// ipv6_address, or an IPv6 route into it) must have an mtu of 1280 or more; IPv4 only may be less.
TEST(IpsecConfig, TunnelCarryingIpv6NeedsTheIpv6MinimumMtu) {
  const std::string v4 = "    address: 169.254.10.1/30\n";
  const std::string v6 = v4 + "    ipv6_address: 2001:db8:10::1/126\n";
  EXPECT_TRUE(load(kPskLine, v6 + "    mtu: 1280\n").ok()) << load(kPskLine, v6 + "    mtu: 1280\n").error_text();
  EXPECT_TRUE(load(kPskLine, v6).ok()) << "the default 1400";
  EXPECT_TRUE(load(kPskLine, v4 + "    mtu: 1000\n").ok()) << "IPv4 inside only";
  EXPECT_TRUE(HasError(load(kPskLine, v6 + "    mtu: 1279\n"), "tunnels[0].mtu",
                       "1279 is below 1280, the IPv6 minimum link MTU (RFC 8200 § 5), and tunnel \"ipsec0\" carries "
                       "IPv6 (tunnels[0].ipv6_address 2001:db8:10::1/126): raise the mtu to 1280 or more"));
  std::string text = r1_text();
  text.insert(text.find("routes:\n") + 8, "  - {prefix: \"2001:db8:50::/48\", interface: ipsec0}\n");
  ConfigResult routed = load_config_text(text + site_yaml(kPskLine, "    mtu: 1200\n"));
  EXPECT_TRUE(HasError(routed, "tunnels[0].mtu", "carries IPv6 (routes[0] (2001:db8:50::/48 into it))")) << "a route";
}

TEST(IpsecConfig, PeerFieldsAreRequired) {
  ConfigResult r = load_config_text(r1_text() + "ipsec_peers:\n  - name: s\n");
  EXPECT_TRUE(HasError(r, "ipsec_peers[0].address", "required"));
  EXPECT_TRUE(HasError(r, "ipsec_peers[0].local_id", "required"));
  EXPECT_TRUE(HasError(r, "ipsec_peers[0].remote_id", "required"));
  EXPECT_TRUE(HasError(r, "ipsec_peers[0].psk", "required"));
}

// ipsec_peers[].initiate (docs/ipsec.md § Initiating): loads like any peer;
// the router names itself and proves the PSK, so those stay required.
TEST(IpsecConfig, InitiatingPeer) {
  ConfigResult r = load(kPskLine + "    initiate: true\n");
  ASSERT_TRUE(r.ok()) << r.error_text();
  EXPECT_TRUE(r.config.ipsec_peers(0).initiate());
  EXPECT_FALSE(load().config.ipsec_peers(0).initiate());  // waits for the site by default
  ConfigResult bare = load_config_text(r1_text() + "ipsec_peers:\n  - name: s\n    initiate: true\n");
  EXPECT_TRUE(HasError(bare, "ipsec_peers[0].address", "required"));
  EXPECT_TRUE(HasError(bare, "ipsec_peers[0].local_id", "required"));
  EXPECT_TRUE(HasError(bare, "ipsec_peers[0].remote_id", "required"));
  EXPECT_TRUE(HasError(bare, "ipsec_peers[0].psk", "required"));
  EXPECT_TRUE(HasError(load(kPskLine + "    initiate: maybe\n"), "ipsec_peers[0].initiate", ""));
}

TEST(IpsecConfig, AddressMustBeReachableFromAWan) {
  std::string text = r1_text() + site_yaml(kPskLine);
  text.replace(text.find("172.16.0.50"), 11, "10.1.0.77");
  EXPECT_TRUE(HasError(load_config_text(text), "ipsec_peers[0].address", "not reachable from any WAN interface"));
  text.replace(text.find("10.1.0.77"), 9, "site1");
  EXPECT_TRUE(HasError(load_config_text(text), "ipsec_peers[0].address", "is not an IPv4 address"));
}

// IPv6 outer addresses (docs/ipsec.md § IPv6 outer addresses): an IPv6
// site address is checked as an IPv6 waypoint is (global unicast, reachable
// from a WAN interface with ipv6_addresses), local_address in its family and
// one of our WAN IPv6 addresses, and the tunnel's MTU plus ESP in UDP over
// IPv6 must fit the WAN interface's MTU.
TEST(IpsecConfig, Ipv6OuterAddressesAreChecked) {
  std::string base = r1_text();
  base.insert(base.find("      mtu: 1500\n"), "      ipv6_addresses: [2001:db8:ff::1/64]\n");
  // The site at `address` with extra peer lines and tunnel lines.
  auto site = [&](const std::string& address, const std::string& peer, const std::string& tunnel = "") {
    std::string text = base + site_yaml(kPskLine + peer, tunnel);
    text.replace(text.find("172.16.0.50"), 11, address);
    return load_config_text(text);
  };
  auto with = [&](const std::string& address, const std::string& local = "", const std::string& tunnel = "") {
    return site(address, local.empty() ? "" : "    local_address: " + local + "\n", tunnel);
  };
  ASSERT_TRUE(with("172.16.0.50").ok()) << with("172.16.0.50").error_text();
  const std::string mtu1395 = "    mtu: 1395\n";
  EXPECT_TRUE(with("2001:db8:ff::50", "", mtu1395).ok()) << with("2001:db8:ff::50", "", mtu1395).error_text();
  EXPECT_TRUE(with("2001:db8:ff::50", "2001:db8:ff::1", mtu1395).ok()) << "local_address is one of ours";
  // The tunnel's 1400 (default) + 105 (CBC's worst case, the default proposals offer it) does not
  // fit 1500, 1395 does; GCM only: 85 (1415 fits).
  EXPECT_TRUE(HasError(with("2001:db8:ff::50"), "tunnels[0].mtu", "1400 plus 105 bytes of ESP in UDP over IPv6"));
  EXPECT_TRUE(HasError(with("2001:db8:ff::50", "", "    mtu: 1450\n"), "tunnels[0].mtu",
                       "1450 plus 105 bytes of ESP in UDP over IPv6 toward IPsec peer \"site1\" is 1555, more than "
                       "router.wan[0].mtu 1500 (lower the tunnel's mtu to 1395"));
  EXPECT_TRUE(HasError(with("2001:db8:ff::50", "", "    mtu: 1424\n"), "tunnels[0].mtu", "is 1529"));
  EXPECT_TRUE(site("2001:db8:ff::50", "    esp_proposals: [aes256gcm16]\n").ok()) << "1400 + 85";
  EXPECT_TRUE(site("2001:db8:ff::50", "    esp_proposals: [aes256gcm16]\n", "    mtu: 1415\n").ok());
  EXPECT_TRUE(HasError(site("2001:db8:ff::50", "    esp_proposals: [aes256gcm16]\n", "    mtu: 1416\n"),
                       "tunnels[0].mtu", "1416 plus 85 bytes"));
  // We initiate to it from local_address (or the route's WAN address), never from initiate_from.
  EXPECT_TRUE(site("2001:db8:ff::50", "    initiate: true\n", mtu1395).ok());
  EXPECT_TRUE(HasError(site("2001:db8:ff::50", "    initiate: true\n    initiate_from: 172.16.0.1\n", mtu1395),
                       "ipsec_peers[0].initiate_from", "an IPv6 peer is initiated from local_address"));
  EXPECT_TRUE(with("172.16.0.50", "", "    mtu: 1450\n").ok()) << "IPv4 outer: not this rule";
  EXPECT_TRUE(HasError(with("2001:db8:77::50"), "ipsec_peers[0].address", "not reachable from any WAN interface"));
  EXPECT_TRUE(HasError(with("fe80::50"), "ipsec_peers[0].address", "global unicast"));
  EXPECT_TRUE(HasError(with("2001:db8:ff::50", "172.16.0.1"), "ipsec_peers[0].local_address", "different families"));
  EXPECT_TRUE(HasError(with("172.16.0.50", "2001:db8:ff::1"), "ipsec_peers[0].local_address", "different families"));
  EXPECT_TRUE(HasError(with("2001:db8:ff::50", "2001:db8:ff::2"), "ipsec_peers[0].local_address",
                       "not one of our WAN IPv6 addresses"));
  EXPECT_TRUE(HasError(with("2001:db8:ff::50", "fe80::1"), "ipsec_peers[0].local_address", "link-local"));
}

TEST(IpsecConfig, IdentitiesAreTypedAndRemoteIdsUnique) {
  std::string text = r1_text() + site_yaml(kPskLine) + "  - name: ipsec1\n    peer: site2\n    tenant: branch\n";
  text.replace(text.find("tunnels:"), 0,
               "  - name: site2\n    address: 172.16.0.51\n    local_id: \"head end\"\n"
               "    remote_id: site1.example\n" +
                   kPskLine);
  ConfigResult r = load_config_text(text);
  EXPECT_TRUE(HasError(r, "ipsec_peers[1].local_id", "has a space but no '='"));
  EXPECT_TRUE(HasError(r, "ipsec_peers[1].remote_id", "remote_id of another IPsec peer"));
  EXPECT_EQ(r.errors.size(), 2u) << r.error_text();
}

// strongSwan's forms (docs/ipsec.md § Identities): an address, user@domain, a DN.
TEST(IpsecConfig, IdentitiesOtherThanFqdns) {
  auto with_ids = [](const std::string& local, const std::string& remote) {
    std::string site = site_yaml(kPskLine);
    site.replace(site.find("headend.example"), std::string("headend.example").size(), local);
    site.replace(site.find("site1.example"), std::string("site1.example").size(), remote);
    return load_config_text(r1_text() + site);
  };
  for (const auto& [local, remote] : std::vector<std::pair<std::string, std::string>>{
           {"172.16.0.1", "172.16.0.50"},
           {"\"2001:db8::1\"", "\"2001:db8::50\""},
           {"vpn@headend.example", "vpn@site1.example"},
           {"\"C=CH, O=Example, CN=headend\"", "\"C=CH, O=Example, CN=site1\""}}) {
    ConfigResult r = with_ids(local, remote);
    EXPECT_TRUE(r.ok()) << local << ": " << r.error_text();
  }
  ConfigResult bad = with_ids("\"C=CH, XX=headend\"", "\"O=Example, CN=\"");
  EXPECT_TRUE(HasError(bad, "ipsec_peers[0].local_id", "unknown DN attribute \"XX\""));
  EXPECT_TRUE(HasError(bad, "ipsec_peers[0].remote_id", "has no value"));
  EXPECT_EQ(bad.errors.size(), 2u) << bad.error_text();
}

TEST(IpsecConfig, PskRules) {
  EXPECT_TRUE(HasError(load("    psk: short\n"), "ipsec_peers[0].psk", "at least 16 characters"));
  EXPECT_TRUE(HasError(load(kPskLine + "    psk_file: k\n"), "ipsec_peers[0]", "either psk or psk_file"));
  EXPECT_TRUE(HasError(load("    psk_file: site1.psk\n"), "ipsec_peers[0].psk_file", "only resolved when loading"));
}

TEST(IpsecConfig, PskNeverAppearsInErrors) {
  const std::string almost = "0123456789abcd";  // too short: the message must not quote it
  ConfigResult r = load("    psk: " + almost + "\n    psk_file: x\n    ike_proposals: [" + almost + "]\n");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(HasError(r, "ipsec_peers[0]", "either psk or psk_file"));
  // The proposal error would quote its own text; only the psk field is secret.
  ConfigResult r2 = load("    psk: " + almost + "\n");
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.error_text().find(almost), std::string::npos) << r2.error_text();
}

TEST(IpsecConfig, PskFileIsReadRelativeToTheConfig) {
  const fs::path dir = fs::temp_directory_path() / ("wp_ipsec_config_" + std::to_string(::getpid()));
  fs::create_directories(dir / "keys");
  std::ofstream(dir / "keys/site1.psk") << kPsk << "\n";
  std::ofstream(dir / "r1.yaml") << r1_text() + site_yaml("    psk_file: keys/site1.psk\n");
  ConfigResult r = load_config_file((dir / "r1.yaml").string());
  std::ofstream(dir / "r2.yaml") << r1_text() + site_yaml("    psk_file: keys/none.psk\n");
  ConfigResult missing = load_config_file((dir / "r2.yaml").string());
  fs::remove_all(dir);
  ASSERT_TRUE(r.ok()) << r.error_text();
  EXPECT_EQ(r.config.ipsec_peers(0).psk(), kPsk);
  EXPECT_TRUE(r.config.ipsec_peers(0).psk_file().empty());
  EXPECT_TRUE(HasError(missing, "ipsec_peers[0].psk_file", "cannot read key file"));
}

// Certificate authentication: three PEM files relative to the config, read
// into certificate / private_key / ca_certificates; checked as a whole.
TEST(IpsecConfig, CertificatesAreReadRelativeToTheConfigAndChecked) {
  using namespace wp::testcert;
  const Issued ca = issue("Test CA", {}, KeyType::p256, nullptr, true);
  const Issued ours = issue("headend", {"headend.example"}, KeyType::p256, &ca, false);
  const Issued wrong_name = issue("other", {"other.example"}, KeyType::p256, &ca, false);
  const fs::path dir = fs::temp_directory_path() / ("wp_ipsec_cert_" + std::to_string(::getpid()));
  fs::create_directories(dir / "pki");
  std::ofstream(dir / "pki/ca.pem") << ca.cert_pem;
  std::ofstream(dir / "pki/headend.pem") << ours.cert_pem;
  std::ofstream(dir / "pki/headend.key") << ours.key_pem;
  std::ofstream(dir / "pki/other.pem") << wrong_name.cert_pem;
  std::ofstream(dir / "pki/other.key") << wrong_name.key_pem;
  auto with = [&](const std::string& name, const std::string& peer) {
    std::ofstream(dir / name) << r1_text() + site_yaml(peer);
    return load_config_file((dir / name).string());
  };
  const std::string files =
      "    certificate_file: pki/headend.pem\n    private_key_file: pki/headend.key\n    ca_file: pki/ca.pem\n";
  ConfigResult r = with("ok.yaml", files);
  ConfigResult both = with("both.yaml", files + kPskLine);
  ConfigResult no_ca = with("no_ca.yaml", "    certificate_file: pki/headend.pem\n    private_key_file: pki/headend.key\n");
  ConfigResult mismatch =
      with("mismatch.yaml", "    certificate_file: pki/headend.pem\n    private_key_file: pki/other.key\n    ca_file: pki/ca.pem\n");
  ConfigResult not_named =
      with("name.yaml", "    certificate_file: pki/other.pem\n    private_key_file: pki/other.key\n    ca_file: pki/ca.pem\n");
  ConfigResult unreadable = with("missing.yaml", "    certificate_file: pki/none.pem\n    private_key_file: pki/headend.key\n    ca_file: pki/ca.pem\n");
  fs::remove_all(dir);
  ASSERT_TRUE(r.ok()) << r.error_text();
  EXPECT_EQ(r.config.ipsec_peers(0).certificate(), ours.cert_pem.substr(0, ours.cert_pem.size() - 1));  // stripped
  EXPECT_FALSE(r.config.ipsec_peers(0).private_key().empty());
  EXPECT_TRUE(r.config.ipsec_peers(0).private_key_file().empty());
  EXPECT_TRUE(HasError(both, "ipsec_peers[0]", "not both"));
  EXPECT_TRUE(HasError(no_ca, "ipsec_peers[0].ca_file", "required"));
  EXPECT_TRUE(HasError(mismatch, "ipsec_peers[0].certificate_file", "does not belong to the certificate"));
  EXPECT_TRUE(HasError(not_named, "ipsec_peers[0].local_id", "it names: other.example"));
  EXPECT_TRUE(HasError(unreadable, "ipsec_peers[0].certificate_file", "cannot read"));
  for (const ConfigResult* x : {&both, &no_ca, &mismatch, &not_named, &unreadable})
    EXPECT_EQ(x->error_text().find("PRIVATE KEY"), std::string::npos) << x->error_text();
}

// crl_file (docs/ipsec.md § Certificates): read like the certificate files,
// each CRL signed by a CA of ca_file; only with certificates. A DN or email
// local_id must be what our certificate names.
TEST(IpsecConfig, CrlFileAndIdentitiesOfTheCertificate) {
  using namespace wp::testcert;
  const Issued ca = issue("Test CA", {}, KeyType::p256, nullptr, true);
  const Issued other_ca = issue("Other CA", {}, KeyType::p256, nullptr, true);
  const Issued ours = issue("C=CH, O=Example, CN=headend", {"headend.example", "email:vpn@headend.example"},
                            KeyType::p256, &ca, false);
  const fs::path dir = fs::temp_directory_path() / ("wp_ipsec_crl_" + std::to_string(::getpid()));
  fs::create_directories(dir / "pki");
  std::ofstream(dir / "pki/ca.pem") << ca.cert_pem;
  std::ofstream(dir / "pki/headend.pem") << ours.cert_pem;
  std::ofstream(dir / "pki/headend.key") << ours.key_pem;
  std::ofstream(dir / "pki/ca.crl") << crl_pem(ca, {});
  std::ofstream(dir / "pki/other.crl") << crl_pem(other_ca, {});
  auto with = [&](const std::string& name, const std::string& peer, const std::string& local_id = "") {
    std::string site = site_yaml(peer);
    if (!local_id.empty()) site.replace(site.find("headend.example"), std::string("headend.example").size(), local_id);
    std::ofstream(dir / name) << r1_text() + site;
    return load_config_file((dir / name).string());
  };
  const std::string files =
      "    certificate_file: pki/headend.pem\n    private_key_file: pki/headend.key\n    ca_file: pki/ca.pem\n";
  ConfigResult r = with("ok.yaml", files + "    crl_file: pki/ca.crl\n");
  ConfigResult other = with("other.yaml", files + "    crl_file: pki/other.crl\n");
  ConfigResult missing = with("missing.yaml", files + "    crl_file: pki/none.crl\n");
  ConfigResult psk = with("psk.yaml", kPskLine + "    crl_file: pki/ca.crl\n");
  ConfigResult by_dn = with("dn.yaml", files, "\"C=CH, O=Example, CN=headend\"");
  ConfigResult by_email = with("email.yaml", files, "vpn@headend.example");
  ConfigResult wrong_dn = with("wrong_dn.yaml", files, "\"C=CH, O=Example, CN=other\"");
  ConfigResult wrong_email = with("wrong_email.yaml", files, "other@headend.example");
  fs::remove_all(dir);
  ASSERT_TRUE(r.ok()) << r.error_text();
  EXPECT_NE(r.config.ipsec_peers(0).crls().find("BEGIN X509 CRL"), std::string::npos);
  EXPECT_TRUE(r.config.ipsec_peers(0).crl_file().empty());
  const ike::ResponderConfig rc = ike::responder_config(r.config);
  ASSERT_TRUE(rc.peers.at(0).cert);
  EXPECT_EQ(ike::crl_count(*rc.peers[0].cert), 1u);
  EXPECT_TRUE(HasError(other, "ipsec_peers[0].crl_file", "not signed by one of the CA certificates"));
  EXPECT_TRUE(HasError(missing, "ipsec_peers[0].crl_file", "cannot read"));
  EXPECT_TRUE(HasError(psk, "ipsec_peers[0].crl_file", "need certificate authentication"));
  EXPECT_TRUE(by_dn.ok()) << by_dn.error_text();
  EXPECT_TRUE(by_email.ok()) << by_email.error_text();
  EXPECT_TRUE(HasError(wrong_dn, "ipsec_peers[0].local_id", "is not the certificate's subject (/C=CH/O=Example/CN=headend)"));
  EXPECT_TRUE(HasError(wrong_email, "ipsec_peers[0].local_id", "is not a subjectAltName"));
}

TEST(IpsecConfig, IkeProposalsWithEveryGroup) {
  for (const char* g : {"modp2048", "modp3072", "modp4096", "ecp256", "ecp384", "ecp521", "curve25519"}) {
    ConfigResult r = load(kPskLine + "    ike_proposals: [aes256-sha256-" + g + ", aes256gcm16-prfsha256-" + g +
                          "]\n    esp_proposals: [aes256gcm16-" + g + "]\n");
    EXPECT_TRUE(r.ok()) << g << ": " << r.error_text();
  }
  ConfigResult r = load(kPskLine + "    ike_proposals: [aes256-sha256-modp1536, aes256gcm16-prfsha256]\n");
  EXPECT_TRUE(HasError(r, "ipsec_peers[0].ike_proposals[0]", "GROUP one of modp2048, modp3072"));
  EXPECT_TRUE(HasError(r, "ipsec_peers[0].ike_proposals[1]", "unknown IKE proposal"));
}

TEST(IpsecConfig, ProposalsMustBeKnown) {
  ConfigResult r = load(kPskLine +
                        "    ike_proposals: [aes256-sha256-modp2048, 3des-md5-modp1024]\n"
                        "    esp_proposals: [aes128gcm16]\n");
  EXPECT_TRUE(HasError(r, "ipsec_peers[0].ike_proposals[1]", "unknown IKE proposal \"3des-md5-modp1024\""));
  EXPECT_TRUE(HasError(r, "ipsec_peers[0].esp_proposals[0]", "unknown ESP proposal"));
  EXPECT_EQ(r.errors.size(), 2u) << r.error_text();
}

TEST(IpsecConfig, EspProposalsMayNameOnePfsGroup) {
  // strongSwan's spelling: the DH group of CREATE_CHILD_SA's KE after the transforms.
  ConfigResult ok = load(kPskLine + "    esp_proposals: [aes256gcm16-ecp256, aes256-sha256-esn-ecp256]\n");
  EXPECT_TRUE(ok.ok()) << ok.error_text();
  EXPECT_TRUE(load(kPskLine + "    esp_proposals: [aes256-sha256-modp2048]\n").ok());
  EXPECT_TRUE(load(kPskLine + "    esp_proposals: [aes256gcm16-curve25519, aes256-sha256-curve25519]\n").ok());
  ConfigResult r = load(kPskLine + "    esp_proposals: [aes256gcm16-curve448, aes256gcm16-modp2048-ecp256]\n");
  EXPECT_TRUE(HasError(r, "ipsec_peers[0].esp_proposals[0]", "names a DH group Waypoint does not implement"));
  EXPECT_TRUE(HasError(r, "ipsec_peers[0].esp_proposals[1]", "or two"));
  EXPECT_TRUE(HasError(load(kPskLine + "    esp_proposals: [aes128gcm16-ecp256]\n"), "ipsec_peers[0].esp_proposals[0]",
                       "unknown ESP proposal \"aes128gcm16-ecp256\""));
  // One group for all of them (our rekey sends one KE), or none.
  ConfigResult mixed = load(kPskLine + "    esp_proposals: [aes256gcm16-ecp256, aes256-sha256]\n");
  EXPECT_TRUE(HasError(mixed, "ipsec_peers[0].esp_proposals[1]", "the same DH group (PFS) or none"));
  ConfigResult other = load(kPskLine + "    esp_proposals: [aes256gcm16, aes256-sha256-modp2048]\n");
  EXPECT_TRUE(HasError(other, "ipsec_peers[0].esp_proposals[1]", "\"aes256gcm16\" names none"));
  EXPECT_EQ(other.errors.size(), 1u) << other.error_text();
}

TEST(IpsecConfig, LifetimesAndDpd) {
  EXPECT_TRUE(HasError(load(kPskLine + "    ike_lifetime_s: 20\n"), "ipsec_peers[0].ike_lifetime_s", "30..86400"));
  EXPECT_TRUE(HasError(load(kPskLine + "    child_lifetime_s: 30\n"), "ipsec_peers[0].child_lifetime_s", "60..86400"));
  // We rekey IKE SAs (either end began them): a Child SA may outlive an IKE SA (issue #20).
  for (const char* initiate : {"true", "false"}) {
    const ConfigResult r = load(kPskLine + "    initiate: " + initiate + "\n    ike_lifetime_s: 30\n    child_lifetime_s: 600\n");
    EXPECT_TRUE(r.errors.empty()) << r.error_text();
  }
  EXPECT_TRUE(HasError(load(kPskLine + "    dpd_interval_s: 2\n"), "ipsec_peers[0].dpd_interval_s", "5..3600"));
}

TEST(IpsecConfig, ChildLifetimeBytesIsZeroOrAtLeastOneMebibyte) {
  EXPECT_TRUE(HasError(load(kPskLine + "    child_lifetime_bytes: 1048575\n"), "ipsec_peers[0].child_lifetime_bytes",
                       "at least 1048576 (1 MiB)"));
  EXPECT_TRUE(load(kPskLine + "    child_lifetime_bytes: 1048576\n").ok());
  EXPECT_TRUE(load(kPskLine + "    child_lifetime_bytes: 0\n").ok());
}

TEST(IpsecConfig, TrafficSelectorsAreNetworks) {
  ConfigResult r = load(kPskLine + "    local_ts: [10.1.0.1/24]\n    remote_ts: [nowhere]\n");
  EXPECT_TRUE(HasError(r, "ipsec_peers[0].local_ts[0]", "host bits set"));
  EXPECT_TRUE(HasError(r, "ipsec_peers[0].remote_ts[0]", "is not a CIDR"));
}

// TS_IPV6_ADDR_RANGE: IPv6 prefixes beside IPv4 ones, checked as networks too.
TEST(IpsecConfig, Ipv6TrafficSelectors) {
  ConfigResult ok = load(kPskLine + "    local_ts: [10.1.0.0/24, \"2001:db8:1::/48\"]\n    remote_ts: [\"::/0\"]\n");
  EXPECT_TRUE(ok.ok()) << ok.error_text();
  ConfigResult bad = load(kPskLine + "    local_ts: [\"2001:db8:1::1/48\"]\n    remote_ts: [\"2001:db8::zz/64\"]\n");
  EXPECT_TRUE(HasError(bad, "ipsec_peers[0].local_ts[0]", "host bits set"));
  EXPECT_TRUE(HasError(bad, "ipsec_peers[0].remote_ts[0]", "is not an IPv6 prefix"));
  // What the IKE side makes of them: one selector per prefix, of its family.
  const auto peer = ike::responder_config(ok.config).peers.at(0);
  ASSERT_EQ(peer.local_ts.size(), 2u);
  EXPECT_EQ(peer.local_ts[0].type, ike::kTsIpv4Range);
  EXPECT_EQ(peer.local_ts[1].type, ike::kTsIpv6Range);
  EXPECT_EQ(peer.local_ts[1].start_addr.size(), 16u);
  ASSERT_EQ(peer.remote_ts.size(), 1u);
  EXPECT_EQ(peer.remote_ts[0].end_addr, ike::Bytes(16, 0xff));
  // Route-based, nothing configured: everything of both families.
  const auto dflt = ike::responder_config(load().config).peers.at(0);
  EXPECT_EQ(dflt.local_ts, (std::vector<ike::TrafficSelector>{ike::selector_of(Ipv4Prefix{0, 0}),
                                                              ike::selector_of(Ipv6Prefix{})}));
  EXPECT_EQ(dflt.remote_ts, dflt.local_ts);
}

TEST(IpsecConfig, EveryPeerNeedsATunnel) {
  std::string text = r1_text() + site_yaml(kPskLine);
  text.replace(text.find("    peer: site1\n"), 16, "    peer: site9\n");
  ConfigResult r = load_config_text(text);
  EXPECT_TRUE(HasError(r, "ipsec_peers[0]", "no tunnel names IPsec peer \"site1\""));
  EXPECT_TRUE(HasError(r, "tunnels[0].peer", "unknown IPsec peer \"site9\""));
}

TEST(IpsecConfig, TunnelRules) {
  std::string text = r1_text() + site_yaml(kPskLine, "    mtu: 100\n") +
                     "  - name: wan0\n    peer: site1\n    tenant: nobody\n" +
                     "  - name: ipsec0\n    peer: ghost\n    tenant: branch\n";
  ConfigResult r = load_config_text(text);
  EXPECT_TRUE(HasError(r, "tunnels[0].mtu", "576..9000"));
  EXPECT_TRUE(HasError(r, "tunnels[1].name", "the router's interfaces"));
  EXPECT_TRUE(HasError(r, "tunnels[1].peer", "already has a tunnel"));
  EXPECT_TRUE(HasError(r, "tunnels[1].tenant", "unknown tenant \"nobody\""));
  EXPECT_TRUE(HasError(r, "tunnels[2].name", "duplicate tunnel name"));
  EXPECT_TRUE(HasError(r, "tunnels[2].peer", "unknown IPsec peer \"ghost\""));
  EXPECT_EQ(r.errors.size(), 6u) << r.error_text();
  EXPECT_TRUE(HasError(load_config_text(r1_text() + "tunnels:\n  - name: t\n"), "tunnels[0].peer", "required"));
}

// The workers' ESP tables hold kMaxEspTunnels (4 096) tunnels (issue #20):
// one more is refused at `tunnels`, that many is not.
TEST(IpsecConfig, AtMostFourThousandNinetySixTunnels) {
  auto with_tunnels = [](int n) {
    std::string text = r1_text() + "tunnels:\n";
    for (int i = 0; i < n; ++i)
      text += "  - name: t" + std::to_string(i) + "\n    peer: p" + std::to_string(i) + "\n    tenant: branch\n";
    return load_config_text(text);
  };
  EXPECT_TRUE(HasError(with_tunnels(4097), "tunnels", "4097 tunnels; at most 4096"));
  const ConfigResult r = with_tunnels(4096);
  for (const auto& e : r.errors) EXPECT_NE(e.path, "tunnels") << e.message;  // only the unknown peers
  EXPECT_TRUE(HasError(r, "tunnels[4095].peer", "unknown IPsec peer \"p4095\""));
}

// tunnels[].address (docs/ipsec.md § Dynamic routing over tunnels): a host
// address with its prefix, clear of the ports' and other tunnels' subnets.
TEST(IpsecConfig, TunnelAddress) {
  ConfigResult ok = load(kPskLine, "    address: 169.254.10.1/30\n");
  ASSERT_TRUE(ok.ok()) << ok.error_text();
  EXPECT_EQ(ok.config.tunnels(0).address(), "169.254.10.1/30");
  EXPECT_TRUE(load(kPskLine, "    address: 169.254.10.1/31\n").ok());
  EXPECT_TRUE(HasError(load(kPskLine, "    address: 169.254.10.1\n"), "tunnels[0].address",
                       "not an IPv4 address with a prefix"));
  EXPECT_TRUE(HasError(load(kPskLine, "    address: 169.254.10.0/30\n"), "tunnels[0].address", "network address"));
  EXPECT_TRUE(HasError(load(kPskLine, "    address: 169.254.10.3/30\n"), "tunnels[0].address", "broadcast address"));
  EXPECT_TRUE(HasError(load(kPskLine, "    address: 1.2.3.4/0\n"), "tunnels[0].address", "prefix length 0"));
  EXPECT_TRUE(HasError(load(kPskLine, "    address: 10.1.0.201/30\n"), "tunnels[0].address",
                       "overlaps router.lan (10.1.0.0/24)"));
  EXPECT_TRUE(HasError(load(kPskLine, "    address: 172.0.0.1/8\n"), "tunnels[0].address", "overlaps router.wan[0]"));
  // A second site whose tunnel's subnet overlaps the first tunnel's.
  std::string text = r1_text() + site_yaml(kPskLine, "    address: 169.254.10.1/30\n") +
                     "  - name: ipsec1\n    peer: site2\n    tenant: branch\n    address: 169.254.10.2/29\n";
  text.replace(text.find("tunnels:"), 0,
               "  - name: site2\n    address: 172.16.0.51\n    local_id: headend.example\n"
               "    remote_id: site2.example\n" +
                   kPskLine);
  ConfigResult two = load_config_text(text);
  EXPECT_TRUE(HasError(two, "tunnels[1].address", "overlaps tunnels[0].address (169.254.10.0/30)"));
  EXPECT_EQ(two.errors.size(), 1u) << two.error_text();
}

// tunnels[].ipv6_address (#19): a unicast host address with its prefix, on
// a tunnel with an `address`, clear of the ports' and other tunnels' IPv6
// prefixes.
TEST(IpsecConfig, TunnelIpv6Address) {
  const std::string v4 = "    address: 169.254.10.1/30\n";
  ConfigResult ok = load(kPskLine, v4 + "    ipv6_address: 2001:db8:10::1/126\n");
  ASSERT_TRUE(ok.ok()) << ok.error_text();
  EXPECT_EQ(ok.config.tunnels(0).ipv6_address(), "2001:db8:10::1/126");
  EXPECT_TRUE(load(kPskLine, v4 + "    ipv6_address: 2001:db8:10::1/64\n").ok());
  EXPECT_TRUE(HasError(load(kPskLine, v4 + "    ipv6_address: 2001:db8:10::1\n"), "tunnels[0].ipv6_address",
                       "not an IPv6 address with a prefix length"));
  EXPECT_TRUE(HasError(load(kPskLine, v4 + "    ipv6_address: 169.254.10.1/30\n"), "tunnels[0].ipv6_address",
                       "not an IPv6 address"));
  EXPECT_TRUE(HasError(load(kPskLine, v4 + "    ipv6_address: fe80::1/64\n"), "tunnels[0].ipv6_address", "link-local"));
  EXPECT_TRUE(HasError(load(kPskLine, v4 + "    ipv6_address: ff02::5/64\n"), "tunnels[0].ipv6_address", "multicast"));
  EXPECT_TRUE(HasError(load(kPskLine, v4 + "    ipv6_address: 2001:db8:10::/126\n"), "tunnels[0].ipv6_address",
                       "subnet-router anycast"));
  EXPECT_TRUE(HasError(load(kPskLine, "    ipv6_address: 2001:db8:10::1/126\n"), "tunnels[0].ipv6_address",
                       "needs tunnels[0].address"));
  // Overlaps: a port's IPv6 prefix, then another tunnel's.
  std::string text = r1_text();
  text.replace(text.find("    address: 10.1.0.1/24\n"), 25,
               "    address: 10.1.0.1/24\n    ipv6_addresses: [\"2001:db8:1::1/64\"]\n");
  ConfigResult lan = load_config_text(text + site_yaml(kPskLine, v4 + "    ipv6_address: 2001:db8:1::ff:1/126\n"));
  EXPECT_TRUE(HasError(lan, "tunnels[0].ipv6_address", "overlaps router.lan.ipv6_addresses[0] (2001:db8:1::/64)"));
  text = r1_text() + site_yaml(kPskLine, v4 + "    ipv6_address: 2001:db8:10::1/126\n") +
         "  - name: ipsec1\n    peer: site2\n    tenant: branch\n    address: 169.254.11.1/30\n"
         "    ipv6_address: 2001:db8:10::2/64\n";
  text.replace(text.find("tunnels:"), 0,
               "  - name: site2\n    address: 172.16.0.51\n    local_id: headend.example\n"
               "    remote_id: site2.example\n" +
                   kPskLine);
  ConfigResult two = load_config_text(text);
  EXPECT_TRUE(HasError(two, "tunnels[1].ipv6_address", "overlaps tunnels[0].ipv6_address (2001:db8:10::/126)"));
  EXPECT_EQ(two.errors.size(), 1u) << two.error_text();
}

// With punt on, the tunnel's tap is named ifname_prefix + tunnel name.
TEST(IpsecConfig, TunnelTapNameFitsTheKernel) {
  std::string text = r1_text();
  text.replace(text.find("router:\n"), 8, "router:\n  punt: {enabled: true, ifname_prefix: wp-}\n");
  std::string tun = site_yaml(kPskLine, "    address: 169.254.10.1/30\n");
  ConfigResult ok = load_config_text(text + tun);
  ASSERT_TRUE(ok.ok()) << ok.error_text();
  tun.replace(tun.find("name: ipsec0"), 12, "name: ipsec-to-the-site");
  EXPECT_TRUE(HasError(load_config_text(text + tun), "tunnels[0].name", "1-15 characters"));
}

}  // namespace
}  // namespace wp::mgmt
