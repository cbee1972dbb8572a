// The rte_flow calls the offload manager makes, behind one interface
// (docs/architecture.md § Offload).
//
// EthdevFlowPort passes them to DPDK (a SmartNIC's PMD; net_tap validates);
// NicModel (nic_model.h) implements them in software for machines without a
// NIC that creates rules. Both take the very same rte_flow_attr /
// rte_flow_item[] / rte_flow_action[] arrays, built once by flow_rule.h, and
// report refusals the way a PMD does: a negative errno and rte_flow_error
// with a type and a message. Virtual calls are fine here: this is the control
// path (rule install), never per packet.
#pragma once

#include <rte_flow.h>

#include <cstdint>
#include <string>

namespace wp::offload {

class FlowPort {
 public:
  virtual ~FlowPort() = default;
  virtual const char* name() const = 0;
  virtual int validate(uint16_t port, const rte_flow_attr* attr, const rte_flow_item items[],
                       const rte_flow_action actions[], rte_flow_error* error) = 0;
  virtual rte_flow* create(uint16_t port, const rte_flow_attr* attr, const rte_flow_item items[],
                           const rte_flow_action actions[], rte_flow_error* error) = 0;
  virtual int destroy(uint16_t port, rte_flow* flow, rte_flow_error* error) = 0;
  // COUNT query of the rule's (only) counter: absolute hits and bytes since creation.
  virtual int query_count(uint16_t port, rte_flow* flow, rte_flow_query_count* out, rte_flow_error* error) = 0;
  // Contexts of rules whose AGE expired (each reported once); count, or negative errno.
  virtual int get_aged_flows(uint16_t port, void** contexts, uint32_t n, rte_flow_error* error) = 0;
};

// "type N: message" for logs.
std::string flow_error_text(int rc, const rte_flow_error& e);

// Sets `e` the way a PMD does and returns -errno_value.
int flow_refuse(rte_flow_error* e, int errno_value, rte_flow_error_type type, const void* cause, const char* message);

}  // namespace wp::offload
