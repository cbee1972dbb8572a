// waypointd's ipsec_peers/tunnels as the IKE responder's configuration
// (dataplane/control/ike/responder_config.h): every proposal name the
// validator accepts maps to its transforms, the IKE suites are the union of
// the peers' in first-listed order, omitted lists take the documented
// defaults (0.0.0.0/0 selectors for route-based), and a peer's tunnel index
// is the one its inbound SPIs will carry.
#include <gtest/gtest.h>

#include "dataplane/control/ike/responder_config.h"
#include "dataplane/ipsec/esp_owner.h"
#include "mgmt/config_load.h"

namespace wp::ike {
namespace {

using Bytes4 = Bytes;

TEST(ResponderConfig, EveryDocumentedNameMaps) {
  IkeSuite i;
  EspSuite e;
  for (const char* n : {"aes256-sha256-modp2048", "aes256-sha256-ecp256", "aes256gcm16-prfsha256-ecp256"})
    EXPECT_TRUE(ike_suite_by_name(n, i)) << n;
  for (const char* n : {"aes256gcm16", "aes256gcm16-esn", "aes256-sha256", "aes256-sha256-esn"})
    EXPECT_TRUE(esp_suite_by_name(n, e)) << n;
  EXPECT_FALSE(ike_suite_by_name("3des-md5-modp1024", i));
  EXPECT_FALSE(esp_suite_by_name("aes128gcm16", e));
  ASSERT_TRUE(ike_suite_by_name("aes256gcm16-prfsha256-ecp256", i));
  EXPECT_TRUE(i.aead());
  EXPECT_EQ(i.dh, kDhEcp256);
  ASSERT_TRUE(esp_suite_by_name("aes256-sha256-esn", e));
  EXPECT_EQ(e.integ, kIntegHmacSha256_128);
  EXPECT_TRUE(e.esn);
}

TEST(ResponderConfig, EspProposalsWithAPfsGroup) {
  std::string base;
  uint16_t g = 1;
  ASSERT_TRUE(split_esp_group("aes256gcm16", base, g));
  EXPECT_EQ(base, "aes256gcm16");
  EXPECT_EQ(g, 0);
  ASSERT_TRUE(split_esp_group("aes256-sha256-esn-modp2048", base, g));
  EXPECT_EQ(base, "aes256-sha256-esn");
  EXPECT_EQ(g, kDhModp2048);
  ASSERT_TRUE(split_esp_group("aes256gcm16-ecp256-esn", base, g));
  EXPECT_EQ(base, "aes256gcm16-esn");
  EXPECT_EQ(g, kDhEcp256);
  EXPECT_FALSE(split_esp_group("aes256gcm16-modp1536", base, g));
  EXPECT_FALSE(split_esp_group("aes256gcm16-ecp256-modp2048", base, g));
  waypoint::config::Config cfg;
  for (const char* name : {"a", "b"}) {
    auto* p = cfg.add_ipsec_peers();
    p->set_name(name);
    p->set_remote_id(std::string(name) + ".example");
  }
  cfg.mutable_ipsec_peers(0)->add_esp_proposals("aes256gcm16-ecp256");
  cfg.mutable_ipsec_peers(0)->add_esp_proposals("aes256-sha256-esn-ecp256");
  const ResponderConfig rc = responder_config(cfg);
  ASSERT_EQ(rc.peers[0].esp_suites.size(), 2u);
  EXPECT_TRUE(rc.peers[0].esp_suites[0].aead());
  EXPECT_TRUE(rc.peers[0].esp_suites[1].esn);
  EXPECT_EQ(rc.peers[0].pfs_group, kDhEcp256);
  EXPECT_EQ(rc.peers[1].pfs_group, 0);  // the defaults: no PFS
}

TEST(ResponderConfig, FromWaypointConfig) {
  waypoint::config::Config cfg;
  auto* a = cfg.add_ipsec_peers();
  a->set_name("a");
  a->set_local_id("headend.example");
  a->set_remote_id("a.example");
  a->set_psk("psk-of-site-a-0123");
  a->add_ike_proposals("aes256gcm16-prfsha256-ecp256");
  a->add_esp_proposals("aes256-sha256-esn");
  a->add_local_ts("10.60.0.0/24");
  a->add_remote_ts("10.50.0.0/16");
  auto* b = cfg.add_ipsec_peers();
  b->set_name("b");
  b->set_remote_id("b.example");
  auto* t0 = cfg.add_tunnels();
  t0->set_name("ipsec0");
  t0->set_peer("b");
  auto* t1 = cfg.add_tunnels();
  t1->set_name("ipsec1");
  t1->set_peer("a");
  const ResponderConfig rc = responder_config(cfg);
  // a's one suite first, then b's defaults without repeating it.
  ASSERT_EQ(rc.ike_suites.size(), 3u);
  EXPECT_EQ(rc.ike_suites[0].encr, kEncrAesGcm16);
  EXPECT_EQ(rc.ike_suites[1].dh, kDhModp2048);
  EXPECT_EQ(rc.ike_suites[2].dh, kDhEcp256);
  EXPECT_FALSE(rc.ike_suites[2].aead());
  ASSERT_EQ(rc.peers.size(), 2u);
  const PeerConfig& pa = rc.peers[0];
  EXPECT_EQ(pa.remote_id, "a.example");
  EXPECT_EQ(pa.psk, Bytes(a->psk().begin(), a->psk().end()));
  ASSERT_EQ(pa.esp_suites.size(), 1u);
  EXPECT_TRUE(pa.esp_suites[0].esn);
  ASSERT_EQ(pa.local_ts.size(), 1u);
  EXPECT_EQ(pa.local_ts[0].start_addr, (Bytes4{10, 60, 0, 0}));
  EXPECT_EQ(pa.local_ts[0].end_addr, (Bytes4{10, 60, 0, 255}));
  EXPECT_EQ(pa.remote_ts[0].end_addr, (Bytes4{10, 50, 255, 255}));
  EXPECT_EQ(pa.tunnel, 1u);
  const PeerConfig& pb = rc.peers[1];
  EXPECT_EQ(pb.tunnel, 0u);
  ASSERT_EQ(pb.esp_suites.size(), 2u);  // aes256gcm16, aes256-sha256
  EXPECT_TRUE(pb.esp_suites[0].aead());
  EXPECT_FALSE(pb.esp_suites[1].aead());
  ASSERT_EQ(pb.local_ts.size(), 2u);  // route-based: everything, both families (docs/ipsec.md § IPv6 inside tunnels)
  EXPECT_EQ(pb.local_ts[0].start_addr, (Bytes4{0, 0, 0, 0}));
  EXPECT_EQ(pb.local_ts[0].end_addr, (Bytes4{255, 255, 255, 255}));
  EXPECT_EQ(pb.local_ts[1].type, kTsIpv6Range);
  EXPECT_EQ(pb.local_ts[1].start_addr, Bytes(16, 0));
  EXPECT_EQ(pb.local_ts[1].end_addr, Bytes(16, 0xff));
}

}  // namespace
}  // namespace wp::ike
