// The r1/r2 pair of the tests of IPv6 sessions over SVR (svr6v6_test.cc,
// svr6_ptb_test.cc): real workers of both routers, frames carried between
// them by the test, IPv6 waypoints when both WAN interfaces have an IPv6
// address (v6wp_config's `wan6`), IPv4 waypoints otherwise.
//
//   client 2001:db8:71::5 - [r1] 2001:db8:70::1 ==WAN== 2001:db8:70::2 [r2] - server 2001:db8:72::10
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <vector>

#include "tests/unit/pkt6_builder.h"
#include "tests/unit/route6_test_config.h"
#include "tests/unit/svr6_frames.h"
#include "tests/unit/svr_pair_steps.h"

namespace wp::test {

inline constexpr const char* kV6Client = "2001:db8:71::5";
inline constexpr const char* kV6Guest = "2001:db8:71:0:1::5";
inline constexpr const char* kV6Server = "2001:db8:72::10";
inline constexpr const char* kR1Wan6 = "2001:db8:70::1";
inline constexpr const char* kR2Wan6 = "2001:db8:70::2";
inline constexpr Mac kV6ServerMac = {2, 0, 0, 0, 0x72, 0x10};

inline config::Config v6wp_config(bool r1, bool wan6 = true) {
  config::Config c = router_base(r1 ? "r1" : "r2", r1 ? "10.1.0.1/24" : "10.2.0.1/24",
                                 {{"wan0", r1 ? "172.16.0.1/24" : "172.16.0.2/24"}});
  c.mutable_router()->mutable_lan()->add_ipv6_addresses(r1 ? "2001:db8:71::1/64" : "2001:db8:72::1/64");
  if (wan6) c.mutable_router()->mutable_wan(0)->add_ipv6_addresses(r1 ? "2001:db8:70::1/64" : "2001:db8:70::2/64");
  add_v6_tenants(c);
  add_web_and_dns(c, r1, "2001:db8:72::/64", "v6", "6");
  add_peer(c, r1 ? "r2" : "r1", {r1 ? "172.16.0.2" : "172.16.0.1", r1 ? kR2Wan6 : kR1Wan6}, kKey12);
  return c;
}

// Every policy of `c` encrypts (AES-256-CBC, HMAC on every packet).
inline config::Config encrypted(config::Config c) {
  add_security(c, "encrypt", "aes256-cbc", "every-packet", false);
  for (auto& p : *c.mutable_policies()) p.set_security("encrypt");
  return c;
}

class Svr6Pair : public ::testing::Test {
 protected:
  void SetUp() override { make(v6wp_config(true), v6wp_config(false)); }
  void make(const config::Config& c1, const config::Config& c2, const RouterOptions& o = RouterOptions()) {
    r1 = std::make_unique<Router>(c1, o);
    r2 = std::make_unique<Router>(c2, o);
    r1->neighbor(1, kR2Wan, kR2Mac);
    r2->neighbor(1, kR1Wan, kR1Mac);
    learn6_on(*r1, 1, ip6(kR2Wan6), kR2Mac);
    learn6_on(*r2, 1, ip6(kR1Wan6), kR1Mac);
    learn6_on(*r1, 0, ip6(kV6Client), kRouteClientMac);
    learn6_on(*r2, 0, ip6(kV6Server), kV6ServerMac);
  }
  std::vector<uint8_t> client_frame(const Pkt6& p) const { return lan_frame6(*r1, kRouteClientMac, p); }
  std::vector<uint8_t> server_frame(const Pkt6& p) const { return lan_frame6(*r2, kV6ServerMac, p); }
  std::unique_ptr<Router> r1, r2;
};

}  // namespace wp::test
