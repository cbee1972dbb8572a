// rte_flow on a real port; see flow_port_ethdev.h.
#include "offload/flow_port_ethdev.h"

#include <rte_errno.h>

#include <cerrno>
#include <cstring>

namespace wp::offload {
namespace {
constexpr uint32_t kQueue = 0;            // one flow queue: one offload thread
constexpr int kCompletionSpins = 100000;  // bounded wait for the PMD's completion
bool same_attr(const rte_flow_attr& a, const rte_flow_attr& b) {
  return a.group == b.group && a.priority == b.priority && a.ingress == b.ingress && a.egress == b.egress &&
         a.transfer == b.transfer;
}
}  // namespace

EthdevFlowPort::~EthdevFlowPort() {
  for (auto& [port, t] : tables_) {
    rte_flow_error e{};
    if (t.table) rte_flow_template_table_destroy(port, t.table, &e);
    if (t.actions) rte_flow_actions_template_destroy(port, t.actions, &e);
    if (t.pattern) rte_flow_pattern_template_destroy(port, t.pattern, &e);
  }
}

bool EthdevFlowPort::enable_templates(uint16_t port, const FlowRule& sample, uint32_t max_rules, std::string& why) {
  rte_flow_port_info pinfo{};
  rte_flow_queue_info qinfo{};
  rte_flow_error e{};
  if (int rc = rte_flow_info_get(port, &pinfo, &qinfo, &e); rc != 0)
    return why = "rte_flow_info_get: " + flow_error_text(rc, e), false;
  rte_flow_port_attr pattr{};
  pattr.nb_counters = max_rules;
  pattr.nb_aging_objects = max_rules;
  rte_flow_queue_attr qattr{};
  qattr.size = 1024;
  const rte_flow_queue_attr* qa[] = {&qattr};
  if (int rc = rte_flow_configure(port, &pattr, 1, qa, &e); rc != 0)
    return why = "rte_flow_configure: " + flow_error_text(rc, e), false;
  Templates t;
  t.attr = sample.attr;
  for (const rte_flow_item* i = sample.items.data();; ++i) {
    t.item_types.push_back(i->type);
    if (i->type == RTE_FLOW_ITEM_TYPE_END) break;
  }
  for (const rte_flow_action* a = sample.actions.data();; ++a) {
    t.action_types.push_back(a->type);
    if (a->type == RTE_FLOW_ACTION_TYPE_END) break;
  }
  rte_flow_pattern_template_attr pta{};
  pta.transfer = sample.attr.transfer;
  pta.ingress = sample.attr.ingress;
  // The pattern template carries the masks; rules fill in the values.
  t.pattern = rte_flow_pattern_template_create(port, &pta, sample.items.data(), &e);
  if (!t.pattern) return why = "pattern template: " + flow_error_text(-rte_errno, e), false;
  rte_flow_actions_template_attr ata{};
  ata.transfer = sample.attr.transfer;
  ata.ingress = sample.attr.ingress;
  // Actions with a NULL mask conf take their values per rule.
  decltype(sample.actions) masks{};
  for (size_t i = 0; i < masks.size(); ++i) masks[i] = {sample.actions[i].type, nullptr};
  t.actions = rte_flow_actions_template_create(port, &ata, sample.actions.data(), masks.data(), &e);
  if (!t.actions) {
    rte_flow_pattern_template_destroy(port, t.pattern, &e);
    return why = "actions template: " + flow_error_text(-rte_errno, e), false;
  }
  rte_flow_template_table_attr tta{};
  tta.flow_attr = sample.attr;
  tta.nb_flows = max_rules;
  t.table = rte_flow_template_table_create(port, &tta, &t.pattern, 1, &t.actions, 1, &e);
  if (!t.table) {
    rte_flow_actions_template_destroy(port, t.actions, &e);
    rte_flow_pattern_template_destroy(port, t.pattern, &e);
    return why = "template table: " + flow_error_text(-rte_errno, e), false;
  }
  tables_[port] = t;
  return true;
}

bool EthdevFlowPort::Templates::fits(const rte_flow_item items[], const rte_flow_action actions[]) const {
  for (size_t i = 0; i < item_types.size(); ++i)
    if (items[i].type != item_types[i]) return false;
  for (size_t i = 0; i < action_types.size(); ++i)
    if (actions[i].type != action_types[i]) return false;
  return true;
}

bool EthdevFlowPort::wait_completion(uint16_t port, rte_flow_error* error) {
  if (rte_flow_push(port, kQueue, error) != 0) return false;
  rte_flow_op_result res{};
  for (int i = 0; i < kCompletionSpins; ++i) {
    int n = rte_flow_pull(port, kQueue, &res, 1, error);
    if (n < 0) return false;
    if (n == 1) return res.status == RTE_FLOW_OP_SUCCESS;
  }
  flow_refuse(error, ETIMEDOUT, RTE_FLOW_ERROR_TYPE_UNSPECIFIED, nullptr, "no completion from the PMD");
  return false;
}

int EthdevFlowPort::validate(uint16_t port, const rte_flow_attr* attr, const rte_flow_item items[],
                             const rte_flow_action actions[], rte_flow_error* error) {
  return rte_flow_validate(port, attr, items, actions, error);
}

rte_flow* EthdevFlowPort::create(uint16_t port, const rte_flow_attr* attr, const rte_flow_item items[],
                                 const rte_flow_action actions[], rte_flow_error* error) {
  auto it = tables_.find(port);
  if (it == tables_.end() || !same_attr(*attr, it->second.attr) || !it->second.fits(items, actions))
    return rte_flow_create(port, attr, items, actions, error);
  rte_flow_op_attr op{};
  rte_flow* f = rte_flow_async_create(port, kQueue, &op, it->second.table, items, 0, actions, 0, nullptr, error);
  if (!f) return nullptr;
  if (!wait_completion(port, error)) return nullptr;
  async_rules_.insert(f);
  return f;
}

int EthdevFlowPort::destroy(uint16_t port, rte_flow* flow, rte_flow_error* error) {
  // Rules of a template table leave through the async path too.
  if (async_rules_.erase(flow)) {
    rte_flow_op_attr op{};
    if (int rc = rte_flow_async_destroy(port, kQueue, &op, flow, nullptr, error); rc != 0) return rc;
    return wait_completion(port, error) ? 0 : -EIO;
  }
  return rte_flow_destroy(port, flow, error);
}

int EthdevFlowPort::query_count(uint16_t port, rte_flow* flow, rte_flow_query_count* out, rte_flow_error* error) {
  const rte_flow_action count[] = {{RTE_FLOW_ACTION_TYPE_COUNT, nullptr}, {RTE_FLOW_ACTION_TYPE_END, nullptr}};
  std::memset(out, 0, sizeof *out);
  return rte_flow_query(port, flow, count, out, error);
}

int EthdevFlowPort::get_aged_flows(uint16_t port, void** contexts, uint32_t n, rte_flow_error* error) {
  return rte_flow_get_aged_flows(port, contexts, n, error);
}

}  // namespace wp::offload
