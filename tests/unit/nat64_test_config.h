// The NAT64 router of the unit tests (nat64_config_test.cc, nat64_worker_test.cc):
//
//   client 2001:db8:1::5 (tenant v6), guest 2001:db8:1::1:5 (tenant guest6, no policy)
//     - [r1] lan 10.1.0.1/24 + 2001:db8:1::1/64, wan0 172.16.0.1/24, pool 172.16.0.64
//     -- gateway 172.16.0.254 -- internet (8.8.4.4 and the rest of 0.0.0.0/0)
#pragma once

#include <memory>
#include <string>

#include "dataplane/ip/ndp.h"
#include "mgmt/config_load.h"
#include "tests/unit/pkt6_builder.h"
#include "tests/unit/svr_harness.h"

namespace wp::test {

inline config::Config nat64_config() {
  config::Config c = router_base("r1", "10.1.0.1/24", {{"wan0", "172.16.0.1/24"}});
  c.mutable_router()->mutable_lan()->add_ipv6_addresses("2001:db8:1::1/64");
  add_route(c, "0.0.0.0/0", "172.16.0.254", "wan0");
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

// The NAT64 router itself (nat64_worker_test.cc, nat64_fragment_test.cc): its
// neighbors (the gateway, the client) already resolved.
inline const Ipv4 kGateway = ip("172.16.0.254");
inline const Ipv4 kPool = ip("172.16.0.64");
inline const Ipv4 kServer4 = ip("8.8.4.4");
inline constexpr Mac kGatewayMac = {2, 0, 0, 0, 0xfe, 1};
inline constexpr Mac kClient6Mac = {2, 0, 0, 0, 6, 5};
inline constexpr const char* kClient6 = "2001:db8:1::5";
inline constexpr const char* kGuest6 = "2001:db8:1:0:1::5";
inline constexpr const char* kServer6 = "64:ff9b::808:404";  // 8.8.4.4 under the Well-Known Prefix

inline std::unique_ptr<Router> nat64_router(RouterOptions opts = {}, const config::Config& cfg = nat64_config()) {
  auto r = std::make_unique<Router>(cfg, std::move(opts));
  r->neighbor(1, kGateway, kGatewayMac);
  Neighbor6Table& n6 = r->shared().neighbors6;
  n6.begin(0, ip6(kClient6), 0);
  n6.advert(0, ip6(kClient6), kClient6Mac.data(), kNaSolicited | kNaOverride, 0);
  return r;
}

}  // namespace wp::test
