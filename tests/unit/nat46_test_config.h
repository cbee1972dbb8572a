// The NAT46 router of the unit tests (nat46_config_test.cc):
//
//   client 10.1.0.5 (tenant lan), guest 10.1.0.200 (tenant guest, no policy)
//     - [r1] lan 10.1.0.1/24, wan0 172.16.0.1/24 + 2001:db8:46::1/64
//     -- IPv6-only servers 2001:db8:46::<IPv4> (server_prefix 2001:db8:46::/96)
//
// Service v6srv: 10.46.0.0/24 (what the clients use), clients written as
// 2001:db8:4646::<IPv4> (source_prefix 2001:db8:4646::/96).
#pragma once

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

}  // namespace wp::test
