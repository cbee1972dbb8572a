// A control thread over a test router for Neighbor Discovery tests
// (ndp_test.cc, ra_test.cc, ipv6_mld_test.cc): local input handed over as a worker does, one
// poll at a chosen time, what it sends captured; and a frame's IPv6 and
// ICMPv6 fields read back.
#pragma once

#include <gtest/gtest.h>

#include <utility>
#include <vector>

#include "dataplane/control/control_thread.h"
#include "dataplane/ip/mld.h"
#include "dataplane/ip/ndp.h"
#include "dataplane/ip/packet.h"
#include "tests/unit/svr_harness.h"

namespace wp::test {

struct Frame6 {
  std::vector<uint8_t> f;
  const uint8_t* ip() const { return f.data() + kEthHdrLen; }
  const uint8_t* icmp() const { return f.data() + kEthHdrLen + kIpv6HdrLen; }
  Ipv6 src() const { return load_ipv6(ip() + 8); }
  Ipv6 dst() const { return load_ipv6(ip() + 24); }
  uint32_t icmp_len() const { return load_be16(ip() + 4); }
  NdStatus parse(NdMessage& nd) const { return parse_nd(icmp(), icmp_len(), src(), dst(), ip()[7], nd); }
};

// One of the Reports the MLD listener sends (mld.h's layout: the hop-by-hop Router Alert first).
inline bool is_mld2_report(const uint8_t* d, size_t len) {
  constexpr size_t kType = kEthHdrLen + kIpv6HdrLen + kMldHbhLen;
  return len > kType && load_be16(d + 12) == kEtherTypeIpv6 && d[kEthHdrLen + 6] == 0 && d[kType] == kMld2Report;
}

inline rte_mempool* nd_control_pool() {
  static rte_mempool* pool = rte_pktmbuf_pool_create("ndp_test", 1023, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  return pool;
}

struct ControlRig {
  Router r1;
  Control control{r1.shared(), nd_control_pool(), 0};
  std::vector<std::vector<uint8_t>> out;
  uint32_t now = 1000;
  bool keep_mld = false;  // MLDv2 Reports (control_mld.cc) are left out of `out` unless set

  // settle: our addresses pass DAD first (their solicitations are not kept).
  explicit ControlRig(const config::Config& cfg, bool settle = true) : r1(cfg) {
    EXPECT_NE(nd_control_pool(), nullptr);
    control.set_tx(capture, this);
    if (!settle) return;
    poll();
    now += DadTable::kRetransMs;
    poll();
    now += 1;
  }
  static uint16_t capture(void* ctx, uint16_t, uint16_t, rte_mbuf** pkts, uint16_t n) {
    auto* rig = static_cast<ControlRig*>(ctx);
    for (uint16_t i = 0; i < n; ++i) {
      const uint8_t* d = rte_pktmbuf_mtod(pkts[i], const uint8_t*);
      if (rig->keep_mld || !is_mld2_report(d, pkts[i]->data_len)) rig->out.emplace_back(d, d + pkts[i]->data_len);
      rte_pktmbuf_free(pkts[i]);
    }
    return n;
  }
  // Local input as a worker hands it over, then one control poll.
  std::vector<std::vector<uint8_t>> local(const std::vector<uint8_t>& frame) {
    rte_mbuf* m = Pkt::to_mbuf(nd_control_pool(), frame, kLan);
    EXPECT_EQ(rte_ring_sp_enqueue(r1.shared().to_control[0], m), 0);
    return poll();
  }
  std::vector<std::vector<uint8_t>> poll() {
    control.poll_once(now);
    return std::exchange(out, {});
  }
  uint64_t count(Counter c) { return r1.shared().control_counters().get(c); }
  uint64_t drops(DropReason d) { return r1.shared().control_counters().get(d); }
};

}  // namespace wp::test
