// A rule of the software NIC model (nic_model.h): what it matches and does,
// compiled from the rte_flow arrays (nic_model_compile.cc), and the slot that
// holds it in the model's table (nic_model.cc). Private to the model.
#pragma once

#include <rte_flow.h>

#include <atomic>
#include <cstdint>

#include "dataplane/ip/tuple.h"
#include "offload/nic_model.h"

namespace wp::offload {

constexpr uint8_t kMaxRaw = 16;  // RAW item: pattern bytes a rule may match

// Which network layer the pattern names (its IPV4 or IPV6 item); `any`: none.
enum class L3Match : uint8_t { any, ipv4, ipv6 };

struct RuleSpec {
  uint16_t in_port = 0;
  uint32_t priority = 0;
  bool exact = false;  // full 5-tuple: hash table; otherwise a wildcard rule
  L3Match l3 = L3Match::any;
  FiveTuple key;       // host order; proto 0 = any (wildcard only). IPv6: ports and proto only
  Ipv6 src6, dst6;     // the IPV6 item's addresses (l3 == ipv6)
  uint8_t tcp_flags_spec = 0, tcp_flags_mask = 0;
  uint8_t raw_len = 0;
  uint8_t raw[kMaxRaw] = {};
  bool set_mac_src = false, set_mac_dst = false;
  uint8_t mac_src[6] = {}, mac_dst[6] = {};
  bool set_ip_src = false, set_ip_dst = false, set_tp_src = false, set_tp_dst = false;
  Ipv4 ip_src = 0, ip_dst = 0;
  bool set_ip6_src = false, set_ip6_dst = false;
  Ipv6 ip6_src, ip6_dst;
  uint16_t tp_src = 0, tp_dst = 0;
  // MODIFY_FIELD: bits [clear_from, clear_from + clear_bits) of the frame set to 0 (the IPv6 flow label).
  uint16_t clear_from = 0, clear_bits = 0;
  bool dec_ttl = false, count = false, age = false;
  uint32_t age_ms = 0;
  void* age_context = nullptr;
  bool to_host = false;  // fate: PORT_REPRESENTOR (the host) instead of out_port
  uint16_t out_port = 0;
};

struct NicModel::Rule {
  RuleSpec spec;
  bool live = false;  // control side: created and not destroyed
  // Lcore side.
  bool linked = false;
  bool aged_reported = false;
  uint32_t last_hit_ms = 0;
  std::atomic<uint64_t> hits{0}, bytes{0};
};

// Compiles what the model supports into `out`; refuses the rest the way a PMD
// does (flow_refuse: -errno, rte_flow_error type, cause and message).
int compile_rule(const rte_flow_attr* attr, const rte_flow_item items[], const rte_flow_action actions[],
                 rte_flow_error* error, RuleSpec& out);

}  // namespace wp::offload
