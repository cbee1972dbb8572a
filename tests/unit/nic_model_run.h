// What the NIC model tests share (nic_model_test.cc for IPv4 sessions,
// nic_model_ipv6_test.cc for IPv6 ones): a model with its rules installed and
// the frames it forwards or leaves to the host, and readers of a built rule.
#pragma once

#include <gtest/gtest.h>
#include <rte_flow.h>

#include <cstdint>
#include <vector>

#include "offload/flow_rule.h"
#include "offload/nic_model.h"
#include "tests/unit/eal_env.h"
#include "tests/unit/pkt_builder.h"

namespace wp::offload::test_model {

inline const rte_flow_action* find_action(const FlowRule& r, rte_flow_action_type t) {
  for (const rte_flow_action& a : r.actions) {
    if (a.type == t) return &a;
    if (a.type == RTE_FLOW_ACTION_TYPE_END) break;
  }
  return nullptr;
}

inline std::vector<rte_flow_item_type> item_types(const FlowRule& r) {
  std::vector<rte_flow_item_type> v;
  for (const rte_flow_item& i : r.items) {
    v.push_back(i.type);
    if (i.type == RTE_FLOW_ITEM_TYPE_END) break;
  }
  return v;
}

inline std::vector<rte_flow_action_type> action_types(const FlowRule& r) {
  std::vector<rte_flow_action_type> v;
  for (const rte_flow_action& a : r.actions) {
    v.push_back(a.type);
    if (a.type == RTE_FLOW_ACTION_TYPE_END) break;
  }
  return v;
}

struct ModelRun {
  rte_mempool* pool = test::test_pool();  // the EAL first: the model's rings need it
  NicModel model{64};
  std::vector<std::vector<uint8_t>> fwd, host;
  std::vector<uint16_t> fwd_ports;
  rte_flow* install(const FlowRule& r, uint32_t now = 0) {
    rte_flow_error e{};
    rte_flow* f = model.create(r.ingress_port, &r.attr, r.items.data(), r.actions.data(), &e);
    EXPECT_NE(f, nullptr) << (e.message ? e.message : "");
    model.service(now);
    return f;
  }
  void send(uint16_t port, const std::vector<uint8_t>& frame, uint32_t now = 0) {
    rte_mbuf* m = test::Pkt::to_mbuf(test::test_pool(), frame, port);
    ASSERT_NE(m, nullptr);
    rte_mbuf *f[1], *h[1];
    uint16_t fp[1], nf, nh;
    model.process(port, &m, 1, now, f, fp, nf, h, nh);
    for (uint16_t i = 0; i < nf; ++i) {
      fwd.push_back(test::frame_of(f[i]).raw);
      fwd_ports.push_back(fp[i]);
      rte_pktmbuf_free(f[i]);
    }
    for (uint16_t i = 0; i < nh; ++i) {
      host.push_back(test::frame_of(h[i]).raw);
      rte_pktmbuf_free(h[i]);
    }
  }
};

}  // namespace wp::offload::test_model
