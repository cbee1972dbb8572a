// A live commit's re-check of sessions through tunnels (dataplane/svr/
// policy_recheck.cc, docs/ipsec.md § Live reload): a session sealed into a
// tunnel the commit removed, or whose position another tunnel took, ends
// (sessions_policy_closed); one through a tunnel that stays is kept.
#include <gtest/gtest.h>

#include <initializer_list>

#include "dataplane/worker/worker.h"
#include "tests/unit/svr_harness.h"

namespace wp {
namespace {

using test::add_policy;
using test::add_service;
using test::add_tenant;
using test::ip;

// A headend whose LAN (tenant hq) reaches the sites' LANs through `tunnels`, in that order.
config::Config headend(std::initializer_list<const char*> tunnels) {
  config::Config c = test::router_base("hub", "10.2.0.1/24", {{"wan0", "172.16.0.2/24"}});
  add_tenant(c, "hq", "10.2.0.0/24");
  add_service(c, {"sites", "10.50.0.0/16", "tcp", "", ""});
  add_policy(c, "hq", "sites", "");
  int n = 0;
  for (const char* name : tunnels) {
    auto* t = c.add_tunnels();
    t->set_name(name);
    t->set_peer("site1");
    t->set_tenant("hq");
    auto* r = c.add_routes();
    r->set_prefix("10.50." + std::to_string(n++) + ".0/24");
    r->set_interface(name);
  }
  return c;
}

// The server's session to a site's host, routed into tunnel `tunnel`.
Session* into_tunnel(test::Router& r, int tunnel, uint16_t port) {
  const RouterModel& rm = r.model();
  Session s;
  s.original = {test::kServer, ip("10.50.0.7"), port, 22, 6};
  s.out_rev = {s.original.reversed(), test::kServer, 0, -1};
  s.out_fwd = {s.original, static_cast<Ipv4>(tunnel), static_cast<int8_t>(kIfaceTunnel), -1};
  s.tenant = static_cast<int16_t>(rm.tenant_by_name("hq"));
  s.service = static_cast<int16_t>(rm.service_by_name("sites"));
  s.security = static_cast<int16_t>(rm.policy(s.tenant, s.service));
  s.in_use = 1;
  Session* p = r.worker().table().allocate();
  *p = s;
  EXPECT_TRUE(r.worker().table().insert(p));
  return p;
}

TEST(TunnelRecheck, SessionsThroughARemovedOrReplacedTunnelEnd) {
  test::Router r(headend({"ipsec0", "ipsec1"}));
  into_tunnel(r, 0, 40000);
  into_tunnel(r, 1, 40001);
  const FiveTuple via0 = {test::kServer, ip("10.50.0.7"), 40000, 22, 6};
  const FiveTuple via1 = {test::kServer, ip("10.50.0.7"), 40001, 22, 6};
  r.commit(headend({"ipsec0"}));  // ipsec1 (the last) goes
  EXPECT_EQ(r.count(Counter::sessions_policy_closed), 1u);
  EXPECT_TRUE(r.worker().table().lookup(via0));
  EXPECT_FALSE(r.worker().table().lookup(via1));
  r.commit(headend({"ipsec0", "ipsec1"}));  // back at its position: nothing to close
  EXPECT_EQ(r.count(Counter::sessions_policy_closed), 1u);
  EXPECT_TRUE(r.worker().table().lookup(via0));
  r.commit(headend({"ipsec9", "ipsec1"}));  // another tunnel takes ipsec0's position
  EXPECT_EQ(r.count(Counter::sessions_policy_closed), 2u);
  EXPECT_FALSE(r.worker().table().lookup(via0));
}

}  // namespace
}  // namespace wp
