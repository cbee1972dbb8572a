// One test router's offload as waypointd's threads would run it (offload_waypoint6_test.cc,
// ha_svr6_test.cc): its OffloadManager and the software NIC model (docs/ipv6.md § Offload of
// IPv6 sessions between IPv6 waypoints), the worker's feedback rings attached.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/worker/worker.h"
#include "offload/nic_model.h"
#include "offload/offload_manager.h"
#include "tests/unit/svr_harness.h"

namespace wp::offload {

// `frame` arriving on `port` of `nic` at `now`: the frames the NIC forwards (their port in
// Frame::port); what it hands the host goes to `r`'s worker (whatever that sends waits in the
// router's output: Router::idle() or its next send).
inline std::vector<test::Frame> nic_pass(NicModel& nic, test::Router& r, uint16_t port,
                                         const std::vector<uint8_t>& frame, uint32_t now) {
  rte_mbuf* m = test::Pkt::to_mbuf(test::test_pool(), frame, port);
  rte_mbuf *f[1], *h[1];
  uint16_t fp[1], nf, nh;
  nic.process(port, &m, 1, now, f, fp, nf, h, nh);
  std::vector<test::Frame> out;
  for (uint16_t i = 0; i < nf; ++i) {
    test::Frame fr = test::frame_of(f[i]);
    fr.port = fp[i];
    out.push_back(fr);
    rte_pktmbuf_free(f[i]);
  }
  for (uint16_t i = 0; i < nh; ++i) {
    r.worker().receive(&h[i], 1);
    r.worker().flush();
  }
  return out;
}

struct Offloaded {
  // The manager (16 rules, 100 ms polls) and NIC of `router`, the WAN ports' cookie punt rules in.
  void start(test::Router& router) {
    r = &router;
    nic = std::make_unique<NicModel>(32);
    mgr = std::make_unique<OffloadManager>(r->shared(), *nic, OffloadOptions{16, 100});
    std::string err;
    ASSERT_TRUE(mgr->init(64, SOCKET_ID_ANY, err)) << err;
    ASSERT_TRUE(mgr->install_port_rules(err)) << err;
    ASSERT_NE(mgr->feedback6_ring(0), nullptr);
    r->worker().offload().set_ring(mgr->feedback_ring(0));
    r->worker().offload().set_ring6(mgr->feedback6_ring(0));
  }
  void stop() {
    if (mgr) mgr->shutdown();
    mgr.reset();
    nic.reset();
  }
  // The manager's events and the NIC's counts and ages at `ms`, their feedback into the worker.
  void tick(uint32_t ms) {
    for (int i = 0; i < 2; ++i) {
      mgr->poll(ms);
      nic->service(ms);
      r->worker().offload().drain();
    }
  }
  // The frames the NIC forwards for `frame` arriving on `port` at `now`; what it hands the host
  // goes to the worker (whatever that sends waits in the router's output: Router::idle() or its next send).
  std::vector<test::Frame> send(uint16_t port, const std::vector<uint8_t>& frame, uint32_t now) {
    return nic_pass(*nic, *r, port, frame, now);
  }

  test::Router* r = nullptr;
  std::unique_ptr<NicModel> nic;
  std::unique_ptr<OffloadManager> mgr;
};

}  // namespace wp::offload
