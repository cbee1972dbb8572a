// The NAT46 router of the unit tests (nat46_config_test.cc, nat46_worker_test.cc):
//
//   client 10.1.0.5 (tenant lan), guest 10.1.0.200 (tenant guest, no policy)
//     - [r1] lan 10.1.0.1/24, wan0 172.16.0.1/24 + 2001:db8:46::1/64
//     -- IPv6-only servers 2001:db8:46::<IPv4> (server_prefix 2001:db8:46::/96)
//
// Service v6srv: 10.46.0.0/24 (what the clients use), clients written as
// 2001:db8:4646::<IPv4> (source_prefix 2001:db8:4646::/96).
#pragma once

#include <memory>

#include "dataplane/ip/ndp.h"
#include "tests/unit/pkt6_builder.h"
#include "tests/unit/svr_harness.h"

namespace wp::test {

inline config::Config nat46_config() {
  config::Config c = router_base("r1", "10.1.0.1/24", {{"wan0", "172.16.0.1/24"}});
  c.mutable_router()->mutable_wan(0)->add_ipv6_addresses("2001:db8:46::1/64");
  add_tenant(c, "lan", "10.1.0.0/25");
  add_tenant(c, "guest", "10.1.0.128/25");
  config::Service* s = add_service(c, {"v6srv", "10.46.0.0/24", "any", "", ""});
  s->mutable_nat46()->set_interface("wan0");
  s->mutable_nat46()->set_server_prefix("2001:db8:46::/96");
  s->mutable_nat46()->set_source_prefix("2001:db8:4646::/96");
  add_policy(c, "lan", "v6srv", "");  // none for guest: denied
  return c;
}

// The router itself (nat46_worker_test.cc): its neighbors (the client by ARP,
// the server 10.46.0.10 = 2001:db8:46::a2e:a by Neighbor Discovery) already resolved.
inline constexpr const char* kNat46Server6 = "2001:db8:46::a2e:a";
inline constexpr const char* kNat46Client6 = "2001:db8:4646::a01:5";  // 10.1.0.5 under the source prefix
inline const Ipv4 kNat46Server4 = ip("10.46.0.10");
inline constexpr Mac kNat46ServerMac = {2, 0, 0, 0, 0x46, 10};

// `addr` resolved on wan0 (interface 1) to `mac`, as an answered Neighbor Solicitation leaves it.
inline void learn_on_wan(Router& r, const char* addr, const Mac& mac, uint8_t flags = kNaSolicited | kNaOverride) {
  Neighbor6Table& n6 = r.shared().neighbors6;
  n6.begin(1, ip6(addr), 0);
  n6.advert(1, ip6(addr), mac.data(), flags, 0);
}

inline std::unique_ptr<Router> nat46_router(RouterOptions opts = {}, const config::Config& cfg = nat46_config()) {
  auto r = std::make_unique<Router>(cfg, std::move(opts));
  r->neighbor(0, kClient, kClientMac);
  learn_on_wan(*r, kNat46Server6, kNat46ServerMac);
  return r;
}

}  // namespace wp::test
