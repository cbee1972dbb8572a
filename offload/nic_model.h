// Software model of a SmartNIC's flow engine (docs/architecture.md § Offload).
//
// No NIC on our machines creates rte_flow rules and DPDK's driver headers are
// not installed, so this model stands in for the PMD behind FlowPort. It
// takes the same attr/item/action arrays the real path passes to DPDK,
// compiles what it supports and refuses the rest the way a PMD does (errno +
// rte_flow_error type + message):
//   attr     transfer only (E-Switch rules: match an ingress port, forward to a port)
//   items    REPRESENTED_PORT | PORT_ID, ETH (no spec), one of IPV4 | IPV6 (exact
//            src/dst/proto; IPv6's next header is the fixed header's, so packets
//            with extension headers never match), UDP | TCP (exact ports; TCP
//            flags under a mask), RAW (relative, at the L4 payload start;
//            wildcard rules only), VOID, END
//   actions  SET_MAC_SRC/DST, SET_IPV4_SRC/DST (IPV4 rules), SET_IPV6_SRC/DST
//            (IPV6 rules), SET_TP_SRC/DST, DEC_TTL (TTL or hop limit), COUNT,
//            AGE, MODIFY_FIELD (SET of a zero immediate into bits of the IPv6
//            header's first word, traffic class and flow label, addressed from
//            START: IPV6 rules), fate REPRESENTED_PORT | PORT_ID (out of a port) or
//            PORT_REPRESENTOR (up to the host = the workers), VOID, END
// Rewrites keep the packet valid as a NIC does: the IPv4 header checksum and
// the L4 checksum (its pseudo-header covers addresses and ports) follow each
// change; IPv6 has no header checksum and its hop limit is not in the L4 one.
// Exact 5-tuple rules (IPv4 or IPv6) live in a hash table; rules with a wildcard (no
// addresses, e.g. "payload starts with the SVR cookie -> host") are checked
// first, in priority order, like a NIC's higher-priority group.
//
// Threads, like a NIC's command queue: create/destroy/query/get_aged are
// called by one control thread (the offload manager). create compiles and
// validates there, then posts the rule to the model's lcore through an SPSC
// ring; the lcore applies rule commands between bursts (service()), so its
// lookup table has a single writer and needs no lock. A destroyed rule's slot
// comes back through a second ring once the lcore has unlinked it. Counters
// are written by the lcore only and read with relaxed loads.
#pragma once

#include <rte_flow.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <atomic>
#include <cstdint>
#include <vector>

#include "dataplane/ip/packet.h"
#include "dataplane/ip/tuple.h"
#include "offload/flow_port.h"

namespace wp::offload {

struct NicModelCounters {
  std::atomic<uint64_t> rx{0}, hits{0}, misses{0}, punted{0}, tx{0}, tx_dropped{0}, to_host_dropped{0};
  std::atomic<uint64_t> rules_installed{0}, rules_removed{0}, rules_refused{0}, rules_aged{0};
};

class NicModel final : public FlowPort {
 public:
  // `capacity`: rules the model holds (its table size, like a NIC's).
  explicit NicModel(uint32_t capacity);
  ~NicModel() override;
  NicModel(const NicModel&) = delete;
  NicModel& operator=(const NicModel&) = delete;
  bool ok() const { return commands_ && freed_ && aged_; }

  const char* name() const override { return "nic-model"; }
  int validate(uint16_t port, const rte_flow_attr* attr, const rte_flow_item items[], const rte_flow_action actions[],
               rte_flow_error* error) override;
  rte_flow* create(uint16_t port, const rte_flow_attr* attr, const rte_flow_item items[],
                   const rte_flow_action actions[], rte_flow_error* error) override;
  int destroy(uint16_t port, rte_flow* flow, rte_flow_error* error) override;
  int query_count(uint16_t port, rte_flow* flow, rte_flow_query_count* out, rte_flow_error* error) override;
  int get_aged_flows(uint16_t port, void** contexts, uint32_t n, rte_flow_error* error) override;

  // --- the model's lcore -----------------------------------------------------
  // Applies pending rule commands and runs one step of the age sweep.
  void service(uint32_t now_ms);
  // Packets received on `port`. Matched ones are rewritten per their rule and
  // returned in `fwd` with `fwd_port[i]` (the port to transmit on); the rest,
  // untouched, in `host` (for the workers). Returns nothing: counts are the
  // out parameters.
  void process(uint16_t port, rte_mbuf** pkts, uint16_t n, uint32_t now_ms, rte_mbuf** fwd, uint16_t* fwd_port,
               uint16_t& n_fwd, rte_mbuf** host, uint16_t& n_host);

  NicModelCounters& counters() { return counters_; }
  uint32_t rules_active() const { return active_.load(std::memory_order_relaxed); }
  uint32_t capacity() const { return capacity_; }
  uint32_t pending_commands() const { return rte_ring_count(commands_); }

  struct Rule;   // a compiled rule in its table slot (nic_model_rule.h)
  struct Frame;  // the headers of one packet a rule matches and rewrites (nic_model.cc)

 private:
  void link(uint32_t slot);
  void unlink(uint32_t slot);
  Rule* match(uint16_t port, const uint8_t* frame, uint32_t len, Frame& f);
  void age_step(uint32_t now_ms);

  uint32_t capacity_;
  Rule* rules_ = nullptr;  // [capacity_]
  // Control side: free slots (refilled from freed_).
  std::vector<uint32_t> free_;
  rte_ring* commands_ = nullptr;  // control -> lcore: slot | kRemove
  rte_ring* freed_ = nullptr;     // lcore -> control: slots unlinked after destroy
  rte_ring* aged_ = nullptr;      // lcore -> control: age contexts
  // Lcore side: exact-match index (linear probing, slot + 1, 0 = empty) and wildcard rules.
  std::vector<uint32_t> index_;
  uint32_t index_mask_ = 0;
  std::vector<uint32_t> wildcard_;  // slots, highest priority (lowest value) first
  uint32_t age_cursor_ = 0;
  std::atomic<uint32_t> active_{0};
  NicModelCounters counters_;
};

}  // namespace wp::offload
