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
// owns (a new one admitted first by the tenant's flood limits,
// worker/session_gate.h, as a new session is; a binding is not counted in
// the tenant's max_sessions); then the RFC 7915 translation in place and the
// IPv4 transmit (ARP).
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
// QoS (docs/qos.md § Dataplane): translated packets and their fragments, both
// ways, take the class of the service they are translated for, for a shaped
// WAN port; translated ICMP errors and our own stay best-effort.
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
// Fragments (docs/ipv6.md § NAT64 fragments). An IPv6 datagram a client sent
// in fragments is reassembled, then translated whole. Fragments after the
// first carry no ports, so the binding's owner cannot be known from them:
// every fragment goes to the worker of its datagram's key (a hash of source,
// destination and fragment id to an affinity class), which reassembles it in
// its Ipv6ReassemblyTable (ip/ipv6_reassembly.h: preallocated, bounded per
// /64 and per bucket, timeouts; RFC 5722 overlaps drop the whole datagram).
// The whole datagram (up to 4 KiB, more than an mbuf holds) is copied into
// the worker's flat buffer and goes through the same checks as a packet;
// when the binding's owner is another worker it is handed there as an mbuf
// chain, which the owner copies into its own flat buffer. Translated, it
// leaves as one IPv4 packet if it fits the IPv4 MTU, else as IPv4 fragments
// with DF clear (RFC 7915 § 5.1.1 clears DF on translated fragments: the
// client fragmented, so it accepts fragmentation; a Packet Too Big would not
// help a datagram it already fragmented), their ids from a per-worker
// sequence stepped by the worker count.
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
#include "dataplane/ip/ipv6_reassembly.h"
#include "dataplane/ip/packet.h"
#include "dataplane/session/nat64_bindings.h"
#include "dataplane/worker/context.h"
#include "dataplane/worker/handoff.h"
#include "dataplane/worker/icmp6_error_sender.h"
#include "dataplane/worker/rate_limit.h"
#include "dataplane/worker/tx.h"

namespace wp {

class Nat64Step {
 public:
  static constexpr uint32_t kBindings = 16384;   // per worker
  static constexpr uint32_t kExpireBudget = 64;  // binding slots swept per loop iteration
  // ICMPv6 errors a worker sends clients (Time Exceeded, Packet Too Big), RFC 4443 § 2.4 (f).
  static constexpr uint32_t kIcmp6ErrorsPerSecond = kIcmpErrorRate;
  static constexpr uint32_t kIcmp6ErrorBurst = kIcmpErrorRateBurst;
  // ICMPv4 errors a worker sends IPv4 servers (Time Exceeded, Fragmentation Needed), the same rate
  // in a bucket of their own (RFC 1812 § 4.3.2.8).
  static constexpr uint32_t kIcmp4ErrorsPerSecond = kIcmpErrorRate;
  static constexpr uint32_t kIcmp4ErrorBurst = kIcmpErrorRateBurst;

  Nat64Step(WorkerContext& ctx, Tx& tx, Handoff& handoff);

  // An IPv6 frame from LAN interface `iface` (parsed, not for us): true
  // when it was a NAT64 packet (sent or dropped), false when its
  // destination is under no NAT64 prefix.
  bool input6(rte_mbuf* m, const Ipv6View& v, int iface);
  // An IPv6 fragment (status `fragment`) from LAN interface `iface`, to our
  // MAC: true when its destination is under a NAT64 prefix (handed to the
  // worker that reassembles it, held, dropped, or completed and translated).
  bool fragment6(rte_mbuf* m, const Ipv6View& v, int iface);
  // A reassembled datagram another worker handed here as an mbuf chain.
  void whole6(rte_mbuf* m, int iface);
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
  // IPv6 datagrams half reassembled here; 0 without tables.
  uint32_t reassembling() const { return reasm_ ? reasm_->in_use() : 0; }

  static constexpr uint32_t kReassemblySlots = 256;  // per worker: ~1.1 MB
  // The LAN's clients often share one /64 (the store's unit of a source): a quarter each.
  static constexpr uint32_t kReassemblyPerSource = kReassemblySlots / 4;
  static constexpr uint32_t kReassemblyExpireBudget = 32;
  // A whole frame: Ethernet, the IPv6 header and extensions, the fragmentable part.
  static constexpr uint32_t kFlatBytes = kEthHdrLen + DatagramStore::kMaxHeader + DatagramStore::kMaxDatagram;
  static constexpr uint32_t kMaxFragments4 = 16;  // IPv4 fragments of one translated datagram

 private:
  void adopt_model();
  // input6's body: `d` the frame `v` was parsed from (the mbuf's, or flat_
  // with `whole` set: a reassembled datagram `m` only carries).
  bool translate6(rte_mbuf* m, uint8_t* d, const Ipv6View& v, int iface, bool whole);
  // The whole frame in flat_ (`len` bytes) parsed and translated; `m` carries it.
  void flat6(rte_mbuf* m, uint32_t len, int iface);
  // The translated IPv4 frame in flat_ (at `at`, `len` bytes) out of `iface`
  // to `next_hop`: in `m`, or in IPv4 fragments of at most `mtu` bytes.
  void send4_flat(rte_mbuf* m, uint32_t at, uint32_t len, int iface, Ipv4 next_hop, uint32_t mtu);
  // `m` becomes a single empty segment at the headroom (its chain freed).
  static void reset(rte_mbuf* m);
  // `m` (reset) holds the `len` bytes at `src` in a chain of at least two mbufs from its pool (what
  // marks a reassembled datagram for the worker it is handed to); false: the pool is empty.
  static bool chain(rte_mbuf* m, const uint8_t* src, uint32_t len);
  void icmp_error4(rte_mbuf* m, const ParsedPacket& pp);
  void send6(rte_mbuf* m, const Ipv6& client);
  // The LAN interface the client is on-link on; kNone: none.
  int client_link(const Ipv6& client) const;
  // An ICMPv4 error about the IPv4 packet in `m` (left as it is) to its
  // source, by the route toward it, counted as `sent`.
  void icmp4_error(rte_mbuf* m, const ParsedPacket& pp, uint8_t type, uint8_t code, uint32_t rest, Counter sent);
  // The translated IPv6 packet in `m` (no extension headers) out of LAN
  // interface `iface` in fragments of at most `mtu` bytes (RFC 7915 § 4).
  void send6_fragments(rte_mbuf* m, int iface, uint32_t mtu);

  WorkerContext& ctx_;
  Tx& tx_;
  Handoff& handoff_;
  std::unique_ptr<Nat64Bindings> bindings_;  // null: no NAT64 service at start
  const RouterModel* pool_of_ = nullptr;     // the model whose pool bindings_ has
  uint16_t ip_id_ = 0;
  Icmp6ErrorSender icmp6_errors_;  // the ICMPv6 errors this worker sends clients on their link
  TokenBucket icmp4_rate_;  // the ICMPv4 errors this worker sends
  uint32_t frag6_id_ = 0;   // IPv6 fragment ids of our replies: stepped by the worker count
  std::unique_ptr<Ipv6ReassemblyTable> reasm_;  // null: no NAT64 service at start
  std::unique_ptr<uint8_t[]> flat_;             // kFlatBytes: one whole datagram, translated in place
  uint32_t frag_id_ = 0;                        // IPv4 ids of our fragments: stepped by the worker count
};

}  // namespace wp
