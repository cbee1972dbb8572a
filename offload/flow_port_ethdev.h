// FlowPort over the real DPDK rte_flow API of a port.
//
// Two ways in, chosen per port by enable_templates():
//  - template/async (rte_flow_configure, pattern + actions templates, a
//    template table, rte_flow_async_create/destroy, rte_flow_push/pull):
//    the PMD pre-compiles the rule shape once, so inserting is filling in
//    values; this is what gets mlx5 to its published insertion rates;
//  - classic rte_flow_create/destroy otherwise (and for rules whose shape is
//    not the session template, like the cookie punt rules).
// Async operations are pushed and their completions pulled before the call
// returns: the manager posts rules one session at a time and needs to know
// the result (a failed insert leaves the session in software).
#pragma once

#include <map>
#include <string>
#include <unordered_set>
#include <vector>

#include "offload/flow_port.h"
#include "offload/flow_rule.h"

namespace wp::offload {

class EthdevFlowPort final : public FlowPort {
 public:
  ~EthdevFlowPort() override;
  const char* name() const override { return "rte_flow"; }
  // Sets up the template API for session rules on `port` (shape taken from
  // `sample`, a built session rule). False with `why` when the port does not
  // support it; classic create is used then.
  bool enable_templates(uint16_t port, const FlowRule& sample, uint32_t max_rules, std::string& why);
  bool templates_enabled(uint16_t port) const { return tables_.count(port) != 0; }

  int validate(uint16_t port, const rte_flow_attr* attr, const rte_flow_item items[], const rte_flow_action actions[],
               rte_flow_error* error) override;
  rte_flow* create(uint16_t port, const rte_flow_attr* attr, const rte_flow_item items[],
                   const rte_flow_action actions[], rte_flow_error* error) override;
  int destroy(uint16_t port, rte_flow* flow, rte_flow_error* error) override;
  int query_count(uint16_t port, rte_flow* flow, rte_flow_query_count* out, rte_flow_error* error) override;
  int get_aged_flows(uint16_t port, void** contexts, uint32_t n, rte_flow_error* error) override;

 private:
  struct Templates {
    rte_flow_pattern_template* pattern = nullptr;
    rte_flow_actions_template* actions = nullptr;
    rte_flow_template_table* table = nullptr;
    rte_flow_attr attr{};
    // The sample's item and action types: only rules of that very shape go
    // through the table (an IPv6 or TCP rule does not fit a UDP-over-IPv4 template).
    std::vector<rte_flow_item_type> item_types;
    std::vector<rte_flow_action_type> action_types;
    bool fits(const rte_flow_item items[], const rte_flow_action actions[]) const;
  };
  bool wait_completion(uint16_t port, rte_flow_error* error);
  std::map<uint16_t, Templates> tables_;
  std::unordered_set<rte_flow*> async_rules_;
};

}  // namespace wp::offload
