// FRR's routes into the tunnel of esp_site.h (esp_worker_test.cc,
// esp_svr6_test.cc): the router's FIBs built from zebra's FPM frames, with the
// route table's interfaces taken from the model (fpm::route_interfaces: ports,
// then tunnels), published to the workers as the FPM listener does, IPv4's
// (DataplaneShared::fib) and IPv6's (fib6).
// See docs/ipsec.md § Dynamic routing over tunnels.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "dataplane/control/fpm/fpm_listener.h"
#include "tests/unit/esp_site.h"
#include "tests/unit/fpm_stream.h"

namespace wp::test {

struct TunnelFrrRoutes {
  explicit TunnelFrrRoutes(Router& router)
      : r(router), table(fpm::route_interfaces(router.model()), [](uint32_t ifindex) {
          return ifindex == kTunIfindex ? std::string("ipsec0") : std::string();  // the tunnel's TUN
        }) {}
  ~TunnelFrrRoutes() {
    r.shared().fib.store(nullptr);
    r.shared().fib6.store(nullptr);
  }
  // Both families' FIBs from the table after `w`'s frames.
  void publish(const fpm::FpmWriter& w) {
    apply_stream(table, w);
    fibs.push_back(table.build());
    r.shared().fib.store(fibs.back().get());
    fibs6.push_back(table.build6());
    r.shared().fib6.store(fibs6.back().get());
  }
  static constexpr uint32_t kTunIfindex = 40;
  Router& r;
  fpm::RouteTable table;
  // Kept alive: the workers may hold any of them.
  std::vector<std::unique_ptr<const FibTable>> fibs;
  std::vector<std::unique_ptr<const FibTable6>> fibs6;
};

}  // namespace wp::test
