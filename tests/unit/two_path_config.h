// Two in-process routers joined by two WAN paths, the topology of the path tests
// (paths_test.cc: IPv4 sessions; svr6_paths_test.cc: IPv6 sessions between the IPv4 waypoints).
#pragma once

#include <string>

#include "tests/unit/svr_harness.h"

namespace wp::test {

inline constexpr uint16_t kWanA = kWan, kWanB = 2;  // port ids = interface indexes

// r1/r2: WAN "mpls" 172.16.0.0/24, "internet" 172.17.0.0/24. Services:
// web (prefers mpls), bulk (no preference), sla (prefers mpls, 30 ms max RTT).
inline config::Config two_path_config(bool r1) {
  const char* host = r1 ? "1" : "2";
  config::Config c = router_base(
      r1 ? "r1" : "r2", r1 ? "10.1.0.1/24" : "10.2.0.1/24",
      {{"mpls", std::string("172.16.0.") + host + "/24"}, {"internet", std::string("172.17.0.") + host + "/24"}});
  add_tenant(c, "branch", "10.1.0.0/24");
  struct S {
    const char* name;
    const char* port;
    bool prefer_mpls;
    uint32_t max_latency_ms;
  } svcs[] = {{"web", "80", true, 0}, {"bulk", "81", false, 0}, {"sla", "82", true, 30}};
  for (const S& s : svcs) {
    auto* sv = add_service(c, {s.name, "10.2.0.0/24", "tcp", s.port, r1 ? "r2" : ""});
    if (r1) {
      if (s.prefer_mpls) sv->add_paths("mpls"), sv->add_paths("internet");
      if (s.max_latency_ms) sv->mutable_sla()->set_max_latency_ms(s.max_latency_ms);
    }
    add_policy(c, "branch", s.name, "");
  }
  add_peer(c, r1 ? "r2" : "r1", {r1 ? "172.16.0.2" : "172.16.0.1", r1 ? "172.17.0.2" : "172.17.0.1"}, kKey12);
  return c;
}

}  // namespace wp::test
