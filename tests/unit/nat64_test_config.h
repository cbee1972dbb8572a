// The NAT64 router of the unit tests (nat64_config_test.cc, nat64_worker_test.cc):
//
//   client 2001:db8:1::5 (tenant v6), guest 2001:db8:1::1:5 (tenant guest6, no policy)
//     - [r1] lan 10.1.0.1/24 + 2001:db8:1::1/64, wan0 172.16.0.1/24, pool 172.16.0.64
//     -- gateway 172.16.0.254 -- internet (8.8.4.4 and the rest of 0.0.0.0/0)
#pragma once

#include <string>

#include "mgmt/config_load.h"
#include "tests/unit/svr_harness.h"

namespace wp::test {

inline config::Config nat64_config() {
  config::Config c = router_base("r1", "10.1.0.1/24", {{"wan0", "172.16.0.1/24"}});
  c.mutable_router()->mutable_lan()->add_ipv6_addresses("2001:db8:1::1/64");
  auto* rt = c.add_routes();
  rt->set_prefix("0.0.0.0/0");
  rt->set_next_hop("172.16.0.254");
  rt->set_interface("wan0");
  auto* t = c.add_tenants();
  t->set_name("v6");
  t->add_ipv6_prefixes("2001:db8:1::/80");
  t = c.add_tenants();
  t->set_name("guest6");
  t->add_ipv6_prefixes("2001:db8:1:0:1::/80");
  config::Service* s = add_service(c, {"v4", "0.0.0.0/0", "any", "", ""});
  s->mutable_nat64()->set_interface("wan0");
  s->mutable_nat64()->add_pool("172.16.0.64");
  add_policy(c, "v6", "v4", "");  // none for guest6: denied
  return c;
}

// Every validation error of `c`, a line each ("path: message").
inline std::string config_errors(const config::Config& c) {
  std::string out;
  for (const auto& e : mgmt::validate_config(c)) out += e.path + ": " + e.message + "\n";
  return out;
}

// Whether validation reports an error at `path` whose message contains `text`.
inline bool has_config_error(const config::Config& c, const std::string& path, const std::string& text) {
  for (const auto& e : mgmt::validate_config(c))
    if (e.path == path && e.message.find(text) != std::string::npos) return true;
  return false;
}

}  // namespace wp::test
