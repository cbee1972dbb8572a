// The configs the IKE service tests share (ike_service_test,
// ike_service_rekey_test, ike_ha_sync_test): waypointd's side, one PSK peer
// "site1" at 10.78.0.1 (kSite) with its tunnel ipsec0, and the site's side,
// a responder whose peer "headend" is waypointd (waypointd as initiator).
#pragma once

#include <cstdio>
#include <string>

#include "config.pb.h"
#include "dataplane/control/ike/responder_config.h"
#include "tests/unit/ike_test_initiator.h"

namespace wp::ike {
namespace {

// Adds ipsec_peers "site1" (aes256-sha256-modp2048, ESP aes256-sha256-esn,
// 10.60.0.0/24 ours, 10.50.0.0/16 the site's) and tunnel ipsec0 into
// `tenant` (which the caller adds to cfg.tenants).
inline void add_site1(waypoint::config::Config& cfg, const std::string& tenant) {
  auto* p = cfg.add_ipsec_peers();
  p->set_name("site1");
  p->set_address("10.78.0.1");
  p->set_local_id("headend.example");
  p->set_remote_id("site1.example");
  p->set_psk(kPsk);
  p->add_ike_proposals("aes256-sha256-modp2048");
  p->add_esp_proposals("aes256-sha256-esn");
  p->add_local_ts("10.60.0.0/24");
  p->add_remote_ts("10.50.0.0/16");
  auto* t = cfg.add_tunnels();
  t->set_name("ipsec0");
  t->set_peer("site1");
  t->set_tenant(tenant);
}

// The site's responder for waypointd as initiator: our peer "headend", ESP `esp`.
inline ResponderConfig site_responder_config(const EspSuite& esp) {
  PeerConfig p;
  p.name = "headend";
  p.local_id = "site1.example";
  p.remote_id = "headend.example";
  p.psk = bytes(kPsk);
  p.esp_suites = {esp};
  p.local_ts = {ts({10, 50, 0, 0}, {10, 50, 255, 255})};
  p.remote_ts = {ts({10, 60, 0, 0}, {10, 60, 0, 255})};
  ResponderConfig c;
  IkeSuite s;
  EXPECT_TRUE(ike_suite_by_name("aes256-sha256-modp2048", s));
  c.ike_suites = {s};
  c.peers = {p};
  return c;
}

// Bytes as lowercase hex (a key looked for in logs and REST bodies).
inline std::string hex_of(const Bytes& b) {
  std::string s;
  for (uint8_t c : b) {
    char x[3];
    std::snprintf(x, sizeof x, "%02x", c);
    s += x;
  }
  return s;
}

}  // namespace
}  // namespace wp::ike
