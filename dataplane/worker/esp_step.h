// ESP in the worker loop (docs/ipsec.md § ESP in the worker loop): the
// route-based tunnels' packets on the worker that owns each tunnel.
//
// Input: ESP to one of our WAN addresses (IP protocol 50, or UDP to 4500
// whose first four bytes are not IKE's zero marker, RFC 3948) is dispatched
// by its SPI alone (owner_of_spi, ipsec/esp_owner.h) to the tunnel's owner,
// which queues it here; at the end of the burst the queue is opened in one
// esp_input_burst against the published SA table (DataplaneShared::esp, read
// once per burst as the FIB is) and each inner IPv4 packet comes back as a
// frame marked with its tunnel (from_tunnel_port) for the session path,
// where it is a LAN packet of the tunnel's tenant (an IPv6 one, next header
// 41, a frame with the IPv6 EtherType for worker/route6_step.h).
//
// Output: a session side (or a route) that leaves through a tunnel is
// `iface == kIfaceTunnel`, next hop = the tunnel's index. The packet goes to
// the tunnel's owner (owner_of_tunnel) through the handoff rings, marked
// with to_tunnel_port, so one worker numbers each outbound SA; there it is
// queued and sealed in one esp_output_burst at the end of the iteration,
// then transmitted out of the WAN interface that routes to the SA's peer.
//
// IPv6 outer addresses (docs/ipsec.md § IPv6 outer addresses): ESP over
// IPv6 to one of a WAN interface's IPv6 addresses (next header 50, or UDP
// 4500, right after the IPv6 header) dispatches by its SPI alike (spi6_of,
// input6); an SA with IPv6 outer addresses leaves by the IPv6 route to its
// peer, its next hop resolved by Neighbor Discovery (Tx::transmit6).
//
// TCP SYNs crossing a tunnel have their MSS clamped to the tunnel MTU less
// 40, so TCP never sends what the tunnel would have to drop. Counters per
// tunnel and direction go to DataplaneShared::esp_counters (one writer per
// slot: this worker), per SA to DataplaneShared::esp_sa_counters (this
// worker's row, through EspWorkerState). No lock, no
// allocation after construction.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>
#include <memory>

#include "dataplane/crypto/engine.h"
#include "dataplane/crypto/iv_source.h"
#include "dataplane/ip/ipv6.h"
#include "dataplane/ip/packet.h"
#include "dataplane/ipsec/esp_owner.h"
#include "dataplane/worker/context.h"
#include "dataplane/worker/handoff.h"
#include "dataplane/worker/tx.h"

namespace wp {

// ipsec/esp_sa.h (not included here: IPsec-MB's header must stay out of what
// the OpenSSL users of worker.h, waypointd's REST included, see).
class EspWorkerState;
struct EspSa;

// mbuf->port markers of inner packets between workers (never a DPDK port id).
inline constexpr uint16_t kPortFromTunnel = 0x8000;  // | tunnel: decrypted, for the session path
inline constexpr uint16_t kPortToTunnel = 0xC000;    // | tunnel: for sealing on the tunnel's owner
inline constexpr uint16_t kPortTunnelMask = 0xC000;
inline uint16_t from_tunnel_port(uint32_t tunnel) { return static_cast<uint16_t>(kPortFromTunnel | tunnel); }
inline uint16_t to_tunnel_port(uint32_t tunnel) { return static_cast<uint16_t>(kPortToTunnel | tunnel); }
inline int tunnel_from(uint16_t port) { return (port & kPortTunnelMask) == kPortFromTunnel ? port & 0x3fff : kNone; }
inline int tunnel_to(uint16_t port) { return (port & kPortTunnelMask) == kPortToTunnel ? port & 0x3fff : kNone; }

// What is ESP to us: IP protocol 50, or UDP to 4500 with a non-zero SPI.
// 0 when it is not (IKE, a NAT-T keepalive, anything else).
uint32_t esp_spi_of(const rte_mbuf* m, const ParsedPacket& pp);

class EspStep {
 public:
  EspStep(WorkerContext& ctx, Tx& tx, Handoff& handoff);
  ~EspStep();
  EspStep(const EspStep&) = delete;
  EspStep& operator=(const EspStep&) = delete;

  bool ok() const { return eng_.ok() && ivs_.ok(); }
  // Whether the IKE service published a table (ipsec_peers configured).
  bool enabled() const { return ctx_.shared.esp.load(std::memory_order_relaxed) != nullptr; }

  // An ESP frame this worker owns (owner_of_spi): queued for open_pending().
  void input(rte_mbuf* m, const ParsedPacket& pp);
  // The SPI of an IPv6 frame received on `iface` that is ESP to one of that
  // WAN interface's IPv6 addresses; 0 when it is not (or no table is published).
  uint32_t spi6_of(const rte_mbuf* m, int iface) const;
  // Such a frame, this worker owning its SPI: queued for open_pending().
  void input6(rte_mbuf* m);
  // Opens what input() queued; the inner packets, frames again with their
  // port marked from_tunnel_port, are written to `inner` (kMaxBurst at
  // most); returns how many.
  uint16_t open_pending(rte_mbuf** inner);

  // A frame routed into `tunnel`: handed to the tunnel's owner, or queued
  // here for seal_pending() when this worker owns it.
  void output(rte_mbuf* m, const ParsedPacket& pp, uint32_t tunnel);
  // An IPv6 frame routed into `tunnel` (a session side or an IPv6 route into
  // it, worker/route6_step.h): as output(), sealed with next header 41.
  void output6(rte_mbuf* m, const Ipv6View& v, uint32_t tunnel);
  // A frame another worker handed over for sealing (its port says the tunnel; IPv4 or IPv6).
  void output_handed(rte_mbuf* m);
  // Seals what output() queued and transmits it toward the SAs' peers.
  void seal_pending();
  // Whether the published SA table has an outbound SA for `tunnel` (it is up).
  bool has_outbound(uint32_t tunnel) const;

  // Clamps a TCP SYN's MSS to what fits `tunnel` (both directions).
  void clamp(rte_mbuf* m, const ParsedPacket& pp, uint32_t tunnel);
  void clamp6(rte_mbuf* m, const Ipv6View& v, uint32_t tunnel);  // IPv6: the MTU less 60
  const EspWorkerState& state() const { return *state_; }

 private:
  EspTunnelCounters* counters(uint32_t tunnel) { return ctx_.shared.esp_tunnel_counters(ctx_.id, tunnel); }
  void queue_out(rte_mbuf* m, uint16_t tunnel);
  // A sealed packet out toward its SA's peer (IPv4 or IPv6 route); false: dropped for `why`.
  bool transmit_sealed(rte_mbuf* m, const EspSa& sa, DropReason& why);
  static void inner_only(rte_mbuf* m, uint32_t l3, uint32_t end);  // the frame cut to [l3, end)

  WorkerContext& ctx_;
  Tx& tx_;
  Handoff& handoff_;
  CryptoEngine eng_;
  IvSource ivs_{eng_};
  std::unique_ptr<EspWorkerState> state_;  // replay windows, sequence numbers, per-SA counters
  rte_mbuf* in_[kMaxBurst];
  uint16_t n_in_ = 0;
  rte_mbuf* out_[kMaxBurst];
  uint16_t out_tunnel_[kMaxBurst];
  uint16_t n_out_ = 0;
};

}  // namespace wp
