// What a fuzz target and the seed writer (seeds.cc) must agree on, so that
// the committed seeds reach deep into their target: the BFD session's
// discriminator and key, and the router model the HA records decode against.
#pragma once

#include <cstdint>
#include <cstring>

#include "dataplane/paths/bfd.h"
#include "dataplane/session/events.h"

namespace wp::fuzz {

// fuzz_bfd: our session and the key of its authenticated mode.
inline constexpr uint32_t kBfdLocalDiscr = 0x11;
inline constexpr uint32_t kBfdPeerDiscr = 0x22;
inline constexpr char kBfdKey[] = "waypoint-fuzz";
inline constexpr uint8_t kBfdKeyId = 1;
inline constexpr uint8_t kBfdModeAuth = 1;       // byte 0, bit 0
inline constexpr uint8_t kBfdModeAdminDown = 8;  // byte 0, bit 3
inline constexpr uint32_t kBfdTickUs = 10000;    // a record's clock advance unit

// The session configuration byte 0 of a fuzz_bfd input selects.
inline BfdConfig bfd_config(uint8_t mode) {
  BfdConfig c;
  c.desired_min_tx_us = 100000;
  c.required_min_rx_us = 100000;
  c.detect_mult = static_cast<uint8_t>(1 + (mode >> 1 & 3));
  if (mode & kBfdModeAuth) {
    c.auth.id = kBfdKeyId;
    c.auth.len = sizeof(kBfdKey) - 1;
    std::memcpy(c.auth.key.data(), kBfdKey, c.auth.len);
  }
  return c;
}

// fuzz_ha_session: the receiving node is r2 of the demo with a second WAN
// and peer, so records name peers on either path, and one service no policy
// allows.
inline constexpr const char* kHaConfig = R"(
router:
  name: r2
  lan: {name: lan, device: d0, address: 10.2.0.1/24, ipv6_addresses: ["2001:db8:71::1/64"]}
  wan: [{name: wan0, device: d1, address: 172.16.0.2/24, ipv6_addresses: ["2001:db8:70::1/64"]}, {name: wan1, device: d2, address: 172.17.0.2/24}]
tenants: [{name: branch, prefixes: [10.1.0.0/25]}, {name: guests, prefixes: [10.1.0.128/25]}, {name: v6, ipv6_prefixes: ["2001:db8:71::/80"]}]
services:
  - {name: web, prefixes: [10.2.0.0/24], protocol: tcp, ports: ["80", "8000"]}
  - {name: dns, prefixes: [10.2.0.0/24], protocol: udp, ports: ["53"]}
  - {name: closed, prefixes: [10.2.0.0/24], protocol: tcp, ports: ["22"]}
  - {name: srv6, prefixes: ["2001:db8:72::/64"]}
policies: [{tenant: branch, service: web}, {tenant: guests, service: dns}, {tenant: v6, service: srv6}]
peers:
  - {name: r1, waypoints: [172.16.0.1], key: "ceadaf24a2966eaf7136022415ce5234925589639ea9b47c3416b22594ee400f"}
  - {name: r3, waypoints: [172.17.0.3], key: "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"}
ipsec_peers:
  - {name: site1, address: 172.16.0.9, local_id: r2.example, remote_id: site1.example, psk: "fuzz-site1-psk-0123456789"}
tunnels: [{name: ipsec0, peer: site1, tenant: branch}]
routes: [{prefix: 10.50.0.0/24, interface: ipsec0}, {prefix: "2001:db8:72::/64", next_hop: "2001:db8:70::2", interface: wan0}]
)";
inline constexpr DataplaneClock kHaClock{5000, 1700000000000};

}  // namespace wp::fuzz
