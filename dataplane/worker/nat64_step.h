// Stateful NAT64 (RFC 6146) on the ingress router (docs/ipv6.md § NAT64):
// IPv6 clients on a LAN reach the IPv4 destinations of a NAT64 service by
// their IPv4-embedded addresses (RFC 6052), and leave the service's
// interface as IPv4 from a pool address.
//
// Out (input6): a packet is handled by the worker that owns the class of its
// (IPv6 source, port, protocol), the key of its binding, and handed off there
// by the worker that received it (so one client port has one binding, and
// the control thread's dispatcher, which holds no ports, binds nothing). The service its
// destination embeds, the client's tenant (tenants[].ipv6_prefixes, then the
// interface) and the policy (deny by default), the route out of the NAT64
// interface, then the binding (v6 source, port) -> (pool address, port) of
// this worker's Nat64Bindings, whose ports are of the classes this worker
// owns; then the RFC 7915 translation in place and the IPv4 transmit (ARP).
//
// In (input4, the owner of the pool port: Worker::owner_of dispatches IPv4
// to a pool address by the class of its destination port, or of the port
// inside an ICMP error): the binding, the service whose prefix the reply's
// IPv6 source is written with, the translation, and the transmit to the
// on-link client (Neighbor Discovery). ICMPv4 errors about a binding's
// packet (Destination Unreachable, Fragmentation Needed -> Packet Too Big
// with the MTU + 20, Time Exceeded, Parameter Problem) are translated with
// their inner packet; echo requests to the pool are the control thread's.
//
// Every packet that is not sent is dropped with a nat64_* reason. The
// dataplane answers two of those refusals to the client itself (RFC 7915
// § 5.1, RFC 4443): a hop limit <= 1 with Time Exceeded, a packet whose
// translation exceeds the IPv4 egress MTU with Packet Too Big (MTU = IPv4
// MTU + 20, at least 1280), from our address on the client's link, quoting
// what fits 1280 bytes, rate-limited per worker, never about an ICMPv6
// error or a multicast packet. A policy refusal stays silent (deny by
// default: no Destination Unreachable, docs/ipv6.md § NAT64).
//
// The bindings (~1.2 MB of heap a worker) are allocated by the constructor only when
// the model published when the worker is created (the startup model) has a
// NAT64 service; a live commit that adds the first one is refused
// (mgmt/live_commit.cc restart_only, docs/ipv6.md § NAT64). Without tables
// input6 is false (plain IPv6) and input4 drops nat64_no_binding.
#pragma once

#include <rte_mbuf.h>

#include <memory>

#include "dataplane/ip/ipv6.h"
#include "dataplane/ip/packet.h"
#include "dataplane/session/nat64_bindings.h"
#include "dataplane/worker/context.h"
#include "dataplane/worker/handoff.h"
#include "dataplane/worker/rate_limit.h"
#include "dataplane/worker/tx.h"

namespace wp {

class Nat64Step {
 public:
  static constexpr uint32_t kBindings = 16384;   // per worker
  static constexpr uint32_t kExpireBudget = 64;  // binding slots swept per loop iteration
  // ICMPv6 errors a worker sends clients (Time Exceeded, Packet Too Big), RFC 4443 § 2.4 (f).
  static constexpr uint32_t kIcmp6ErrorsPerSecond = 100;
  static constexpr uint32_t kIcmp6ErrorBurst = 20;

  Nat64Step(WorkerContext& ctx, Tx& tx, Handoff& handoff);

  // An IPv6 frame from LAN interface `iface` (parsed, not for us): true
  // when it was a NAT64 packet (sent or dropped), false when its
  // destination is under no NAT64 prefix.
  bool input6(rte_mbuf* m, const Ipv6View& v, int iface);
  // An IPv4 packet to a pool address, on the worker that owns its port.
  void input4(rte_mbuf* m, const ParsedPacket& pp);
  // The owner worker of an IPv4 packet to a pool address: by the class of
  // the destination port (TCP, UDP, echo reply identifier) or of the source
  // port inside an ICMP error; kNone when it has none (the caller decides).
  static int owner4(const uint8_t* frame, const ParsedPacket& pp, uint32_t workers);
  // Idle bindings, a budget per call.
  void age();
  // Bindings in use; 0 without tables.
  uint32_t bindings() const { return bindings_ ? bindings_->size() : 0; }
  bool has_tables() const { return bindings_ != nullptr; }

 private:
  void adopt_model();
  void icmp_error4(rte_mbuf* m, const ParsedPacket& pp);
  void send6(rte_mbuf* m, const Ipv6& client);
  // An ICMPv6 error about the packet in `m` (left as it is) to its source on `iface`, counted as `sent`.
  void icmp6_error(rte_mbuf* m, const Ipv6View& v, int iface, uint8_t type, uint32_t rest, Counter sent);

  WorkerContext& ctx_;
  Tx& tx_;
  Handoff& handoff_;
  std::unique_ptr<Nat64Bindings> bindings_;  // null: no NAT64 service at start
  const RouterModel* pool_of_ = nullptr;     // the model whose pool bindings_ has
  uint16_t ip_id_ = 0;
  TokenBucket icmp6_rate_;  // the ICMPv6 errors this worker sends
};

}  // namespace wp
