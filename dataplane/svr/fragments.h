// IPv4 fragments in and out of a worker (docs/svr-wire-format.md § Fragments;
// ip/fragment.h and ip/reassembly.h hold the mechanics, this component the policy).
//
// Receiving. Non-first fragments carry no ports, so the owner rule cannot
// place them. Every fragment of a datagram goes to the worker chosen by
// fragment_class(src, dst, proto, IP id) (handoff ring if that is not the
// receiving worker); that worker reassembles it, and the whole datagram is
// then dispatched by the normal owner rule, a second handoff if its session
// lives elsewhere. The same path takes fragments arriving on the LAN.
// Reassembly happens before the HMAC is checked and before decryption:
// the trailer and ciphertext are only whole in the whole datagram.
//
// Sending. A packet over the egress MTU is fragmented after sealing (the
// HMAC covers L4 and up, never the IP header, so the IP id and flags may
// change). DF set: a UDP datagram is fragmented anyway: the overhead is
// ours, not the host's, and a UDP application rarely does path MTU discovery,
// so refusing it would black-hole it (counted as frag_df_cleared; the egress
// puts DF back from TLV 1). A TCP segment with DF that is still too big after
// MSS clamping is dropped as mtu_exceeded (the host's own PMTUD is the
// remedy). Our WAN fragments get a fresh IP id from a per-worker sequence
// stepping by the worker count (no two workers share one), because every
// session between two waypoints shares src, dst and proto: hosts' own ids
// would collide in the peer's reassembly table. First (metadata) packets
// that will be fragmented carry TLV 1 with that id and the host's original id
// and flags; the egress router restores them.
//
// Between IPv6 waypoints (svr/waypoint6.h) the same policy cuts the outer
// IPv6 header instead (RFC 8200 § 4.5: we are its source): a Fragment header
// with a 32-bit identification from the same per-worker sequence, 8-byte
// multiples; a TCP segment with DF is dropped (`waypoint6_too_big`), the rest
// is fragmented. No TLV 1: the IPv4 id and DF do not cross IPv6 waypoints
// (RFC 7915 translation at both ends). The receiver hands each fragment from a
// peer's IPv6 waypoint to the worker of fragment_class6(src, dst, id), which
// makes it whole in its own IPv6 table (ip/ipv6_reassembly.h), then the whole
// datagram takes waypoint6_input as any other.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>
#include <optional>

#include "dataplane/ip/ipv6_reassembly.h"
#include "dataplane/ip/packet.h"
#include "dataplane/ip/reassembly.h"
#include "dataplane/session/session.h"
#include "dataplane/svr/lan_link.h"
#include "dataplane/svr/metadata.h"
#include "dataplane/worker/context.h"
#include "dataplane/worker/handoff.h"
#include "dataplane/worker/rate_limit.h"
#include "dataplane/worker/tx.h"

namespace wp {

class EspStep;

// Bytes sealing adds to a packet of a session that carries no metadata
// (crypto/session_data.h): IV, padding, sequence number and HMAC when its data
// is (or may yet be) encrypted; sequence number and HMAC when it HMACs every
// packet; none otherwise. What a steady-state packet grows by on the WAN.
uint16_t sealed_overhead(uint8_t crypto);

class Fragments {
 public:
  Fragments(WorkerContext& ctx, Handoff& handoff, Tx& tx);

  // A fragment received here: handed to the worker that reassembles its
  // datagram, or added to our table. True when `m` is now a whole datagram
  // of ours (pp parsed again); false when it was consumed.
  bool take(rte_mbuf*& m, ParsedPacket& pp);
  // Adds a fragment this worker reassembles; the whole datagram once complete, else nullptr.
  rte_mbuf* reassemble(rte_mbuf* m, ParsedPacket& pp);
  void age();  // a few expired datagrams per iteration

  // An IPv6 fragment to our IPv6 waypoint from a peer's (Waypoint6In::fragment):
  // handed to the worker that reassembles its datagram, or added to our IPv6
  // table. True when `m` is now the whole IPv6 datagram; false when consumed.
  bool take6(rte_mbuf*& m);
  // Adds such a fragment another worker handed here; the whole datagram once complete, else nullptr.
  rte_mbuf* reassemble6(rte_mbuf* m);
  static constexpr uint32_t kWaypoint6Slots = 256;  // per worker: ~1.1 MB
  // Peers' IPv6 waypoints often share one /64 (the table's unit of a source): a quarter each.
  static constexpr uint32_t kWaypoint6PerSource = kWaypoint6Slots / 4;

  // Sending: whether a first (metadata) packet will leave in fragments and
  // so must carry TLV 1, the IP id its fragments get, and the egress side
  // putting the host's id and DF back.
  bool tlv_due(const ParsedPacket& pp, const SideOut& out, size_t block_len, bool encrypt) const;
  FragmentInfo reserve_id(rte_mbuf* m, const ParsedPacket& pp);
  void restore_header(rte_mbuf* m, const ParsedPacket& pp, const FragmentInfo& f);

  // Where sides that leave through an IPsec tunnel (iface kIfaceTunnel) go.
  void set_tunnels(EspStep* esp) { tunnels_ = esp; }
  // Tx::transmit, fragmenting what exceeds the interface MTU (DF policy above);
  // into an IPsec tunnel (iface kIfaceTunnel, next_hop = the tunnel) the ESP step takes it.
  void transmit(rte_mbuf* m, const ParsedPacket& pp, int iface, Ipv4 next_hop, bool id_reserved = false);
  // True when it consumed `m`: a TCP segment with DF too big once sealed
  // (ICMP frag-needed to a LAN sender, then dropped as mtu_exceeded).
  bool refuse_oversize_tcp(rte_mbuf* m, const ParsedPacket& pp, const Session& s, Dir dir, const SideOut& out,
                           bool need_md);
  // ICMP errors this worker sends, at most (RFC 1812 § 4.3.2.8: rate-limited;
  // as NAT64's ICMPv6 errors): beyond, counted icmp_frag_needed_rate_limited.
  static constexpr uint32_t kIcmpErrorsPerSecond = kIcmpErrorRate;
  static constexpr uint32_t kIcmpErrorBurst = kIcmpErrorRateBurst;

 private:
  uint32_t next_id();
  template <class Send>
  void cut(rte_mbuf* m, const ParsedPacket& pp, uint16_t mtu, uint16_t id, Counter datagrams, Counter fragments,
           Send&& send);
  template <class Send>
  void send_all(rte_mbuf** out, uint32_t n, Counter datagrams, Counter fragments, Send&& send);
  void to_waypoint6(rte_mbuf* m, const ParsedPacket& pp, int iface, Ipv4 standin);
  rte_mbuf* hold6(rte_mbuf* m, const Ipv6View& v);
  void into_tunnel(rte_mbuf* m, const ParsedPacket& pp, Ipv4 tunnel);
  void frag_needed_to_sender(rte_mbuf* m, const ParsedPacket& pp, uint16_t mtu);
  std::optional<LanLink> answerable(int iface, Ipv4 next_hop);
  bool frag_needed_to(const ParsedPacket& pp, const uint8_t* ip, int iface, Ipv4 next_hop, uint16_t mtu,
                      rte_mempool* pool);
  WorkerContext& ctx_;
  Handoff& handoff_;
  Tx& tx_;
  EspStep* tunnels_ = nullptr;
  ReassemblyTable table_;
  Ipv6ReassemblyTable table6_{kWaypoint6Slots, DatagramStore::kDefaultTimeoutMs, kWaypoint6PerSource};
  uint32_t seq_;  // stepped by the worker count, so workers never share a fragment id
  TokenBucket icmp_rate_;
};

}  // namespace wp
