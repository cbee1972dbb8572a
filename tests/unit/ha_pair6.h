// The HA headend pair over IPv6 waypoints of ha_svr6_test.cc and ha_waypoint6_test.cc
// (#19; docs/ipv6.md § HA of sessions between IPv6 waypoints): a site router r1 and the
// pair hub-a/hub-b (real Workers and HaNodes on the loopback bus, tests/unit/ha_loop_bus.h).
//
//   [r1] 2001:db8:70::1 ==IPv6 WAN== 2001:db8:70::2 [hub-a]
//                                    2001:db8:70::3 [hub-b]
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "dataplane/control/waypoint6_addr.h"
#include "dataplane/worker/worker.h"
#include "ha/ha_node.h"
#include "tests/unit/ha_loop_bus.h"
#include "tests/unit/svr6_frames.h"

namespace wp::ha::pair6 {

using namespace wp::test;  // Router, Mac, the config builders (svr_harness.h)

inline constexpr const char* kR1Wan6 = "2001:db8:70::1";
inline constexpr const char* kHubAWan6 = "2001:db8:70::2";
inline constexpr const char* kHubBWan6 = "2001:db8:70::3";
inline constexpr Mac kHubAMac = {2, 0, 0, 0xaa, 0, 2};

// A hub's router, WAN (IPv4 and IPv6) and HA, before its tenants and services: each lists
// the other's IPv4 and IPv6 waypoints in ha.peer_waypoints; hub-b knows one more peer,
// listed first, so the stand-in of r1's waypoint differs between the hubs (the record
// carries the address).
inline config::Config hub_base(bool a) {
  config::Config c = router_base(a ? "hub-a" : "hub-b", a ? "10.2.0.1/24" : "10.2.0.3/24",
                                 {{"wan0", a ? "172.16.0.2/24" : "172.16.0.3/24"}});
  c.mutable_router()->mutable_wan(0)->add_ipv6_addresses(a ? "2001:db8:70::2/64" : "2001:db8:70::3/64");
  if (!a) add_peer(c, "other", {"2001:db8:70::9"}, kKey12);
  add_peer(c, "r1", {kR1Wan6}, kKey12);
  config::Ha* ha = c.mutable_ha();
  ha->set_node_id(a ? 1 : 2);
  ha->set_group("wp-pair");
  ha->add_peer_waypoints(a ? "172.16.0.3" : "172.16.0.2");
  ha->add_peer_waypoints(a ? kHubBWan6 : kHubAWan6);
  return c;
}

// One node of the pair: its router (HA event ring, the IPv6 ring too with `ring6`), its
// neighbors (`learn`: the server on port 0; r1's waypoint is learned here) and its HaNode.
struct Hub {
  Hub(loopback::Bus& bus, bool a, const config::Config& cfg, bool ring6, const std::function<void(Router&)>& learn)
      : node_id(a ? 1 : 2),
        router(cfg, RouterOptions()
                        .with_events(EventConsumer::ha, 4096)
                        .with_prepare([ring6](DataplaneShared& sh) {
                          take_peer_waypoints6(*sh.model.load(), sh.ha);
                          std::string err;
                          if (!sh.ha.create(1, 4096, SOCKET_ID_ANY, err) ||
                              (ring6 && !sh.ha.create6(1, 1024, SOCKET_ID_ANY, err)))
                            throw std::runtime_error(err);
                        })),
        shared(router.shared()) {
    learn(router);
    learn6_on(router, 1, ip6(kR1Wan6), kR1Mac);
    HaSettings s;
    s.node_id = node_id;
    node = std::make_unique<HaNode>(shared, s, [this, &bus](std::string&) -> std::unique_ptr<Transport> {
      return std::make_unique<loopback::LoopTransport>(bus, Member{this->node_id, 100 + this->node_id});
    });
  }
  void step(uint64_t now_ms) {
    router.worker().set_now_ms(static_cast<uint32_t>(now_ms));
    router.worker().ha().poll();
    node->poll(now_ms);
  }
  uint32_t node_id;
  Router router;
  DataplaneShared& shared;
  std::unique_ptr<HaNode> node;
};

// r1 and the pair, stepped together on one clock.
class PairTest : public ::testing::Test {
 protected:
  // r1 from `r1_cfg` (`learn_r1`: the client on its port 0; hub-a's waypoint is learned
  // here), then both hubs from `hub_cfg`, then 30 steps so that the nodes see each other.
  void start(const config::Config& r1_cfg, const std::function<void(Router&)>& learn_r1,
             const std::function<config::Config(bool)>& hub_cfg, bool ring6,
             const std::function<void(Router&)>& learn_hub) {
    r1 = std::make_unique<Router>(r1_cfg);
    learn_r1(*r1);
    learn6_on(*r1, 1, ip6(kHubAWan6), kHubAMac);
    a = std::make_unique<Hub>(bus, true, hub_cfg(true), ring6, learn_hub);
    b = std::make_unique<Hub>(bus, false, hub_cfg(false), ring6, learn_hub);
    run(30);
  }
  void run(int steps = 20) {
    for (int i = 0; i < steps; ++i) {
      now += 2;
      if (a) a->step(now);
      b->step(now);
    }
  }
  loopback::Bus bus;
  uint64_t now = 1'000'000;
  std::unique_ptr<Router> r1;
  std::unique_ptr<Hub> a, b;
};

}  // namespace wp::ha::pair6
