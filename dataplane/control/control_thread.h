// The control thread's packet work (docs/architecture.md § Threads: ARP/ICMP for own
// addresses, neighbor resolution, timers).
//
// Workers hand it two kinds of packets over per-worker SPSC rings: local
// input (ARP, ICMP and anything else addressed to one of our addresses) and
// packets whose next hop has no ARP entry yet. ARP (RFC 826): we answer
// requests for our addresses, learn only what arp_learn() allows (answers to
// our requests, gratuitous ARP of known neighbors; control/neighbor.h ages
// and probes the entries), and resolve next
// hops with requests retried every second, three times, queueing at most
// kPendingPerNeighbor packets per neighbor meanwhile (like Linux's
// unres_qlen, at most kMaxPendingNeighbors neighbors at once) so a session's
// first packet is not lost to resolution. ICMP
// (RFC 792): echo requests to our addresses get echo replies; the rest is
// dropped with a reason. Control transmits on its own tx queue of each port.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "dataplane/control/dad6.h"
#include "dataplane/control/ha_arp_claim.h"
#include "dataplane/control/linux_cp/tunnel_links.h"
#include "dataplane/control/mld_listener.h"
#include "dataplane/ip/ip_address.h"
#include "dataplane/ip/ndp.h"
#include "dataplane/ip/router_advert.h"
#include "dataplane/worker/shared.h"
#include "dataplane/worker/worker.h"

namespace wp {

class IkeService;
class PathMonitor;
class PuntInterfaces;

inline constexpr uint8_t kZeroMacAddr[6] = {0, 0, 0, 0, 0, 0};

class Control {
 public:
  static constexpr size_t kPendingPerNeighbor = 16;
  // Neighbors being resolved at once: bounds memory and the linear scans
  // when something sprays packets at many unresolvable next hops.
  static constexpr size_t kMaxPendingNeighbors = 256;
  // Of those, resolutions only the kernel asked for (the punt path).
  static constexpr size_t kMaxKernelResolving = 64;
  static constexpr uint32_t kArpRetryMs = 1000;
  static constexpr int kArpTries = 3;
  // Neighbor slots the aging sweep visits per poll (the table in ~64 polls).
  static constexpr uint32_t kNeighborSweep = 64;
  // How often the MLD listener re-reads its groups (HA holds, DAD verdicts) between commits.
  static constexpr uint32_t kMldRecheckMs = 100;

  Control(DataplaneShared& shared, rte_mempool* pool, uint16_t tx_queue);
  ~Control();

  void set_tx(Worker::TxFn tx, void* ctx) {
    tx_ = tx;
    tx_ctx_ = ctx;
  }
  // Drains the rings, runs ARP timers. Returns packets handled.
  uint32_t poll_once(uint32_t now_ms);
  // Gratuitous ARP for every interface address we hold (on start and
  // takeover; with HA, also the peer's addresses while we hold them).
  void announce();
  void announce6();  // #19: the IPv6 addresses' claims (control_nd.cc)
  size_t pending_count() const;
  // BFD and path probes arrive through local input and leave
  // through send_ip (neighbor resolution as for any other packet).
  void set_path_monitor(PathMonitor* pm);
  void send_ip(rte_mbuf* m, int iface, Ipv4 next_hop);
  void send_ip6(rte_mbuf* m, int iface, const Ipv6& next_hop);  // paths over IPv6 waypoints
  // The punt path (control_punt.cc): what we do not answer goes up the
  // interface's kernel tap; what the kernel sends leaves through the port.
  // Each tunnel's kernel interface then follows the tunnel (linux_cp/tunnel_links.h).
  void set_punt(PuntInterfaces* p);
  // The dispatcher on this same lcore: what the kernel sends out of a
  // tunnel's tap is handed through it to the tunnel's owner worker for
  // sealing (its handoff rings; single producer, as this is its thread).
  void set_dispatcher(Worker* w) { dispatcher_ = w; }
  // The IKE responder (control_ike.cc, ike_service.h): UDP 500/4500 to our
  // WAN addresses goes to it instead of the punt path; null: none. Its
  // initiators' requests leave through ike_route/send_ip.
  void set_ike(IkeService* ike);
  // Final Router Advertisements (Router Lifetime 0, RFC 4861 § 6.2.5) on
  // every interface that advertised: hosts drop us as their default router
  // at once instead of at the lifetime's end. On shutdown, while the ports run.
  void retire_router_adverts();
  // MLDv2 (control_mld.cc): leave every group we listen to (shutdown, while the ports run).
  void retire_mld();

 private:
  const RouterModel& model() const { return *shared_.model.load(std::memory_order_acquire); }
  WorkerCounters& counters() { return shared_.control_counters(); }
  void local_input(rte_mbuf* m);
  void arp_input(rte_mbuf* m, const ParsedPacket& pp, int iface);
  void arp_learn(const ArpFields& a, int iface);
  bool resolving(int iface, Ipv4 addr) const;
  void age_neighbors(uint32_t now_ms);
  void icmp_input(rte_mbuf* m, const ParsedPacket& pp, int iface);
  // Fragmentation Needed about our ESP over IPv4: the tunnel's outer path MTU (ipsec/esp_ptb.h).
  void frag_needed4_input(rte_mbuf* m, const ParsedPacket& pp, int iface);
  void resolve(rte_mbuf* m, uint32_t now_ms);
  void neighbor_learned(int iface, Ipv4 addr);
  void note_ha_claim(const HaArpClaim& c, bool our_own, bool taken);
  void send_arp(int iface, uint16_t op, const uint8_t* tha, Ipv4 tpa, Ipv4 spa = 0);  // spa 0: the interface's
  void send_l2(rte_mbuf* m, int iface, const uint8_t* dst_mac);
  void not_ours(rte_mbuf* m, int iface);  // up to the kernel when punting, else dropped
  void punt_up(rte_mbuf* m, int iface);
  void punt_tunnel_up(rte_mbuf* m, int tunnel);  // decrypted, for the tunnel's address
  void kernel_tunnel_packet(rte_mbuf* m, int tunnel);
  uint32_t punt_poll();
  bool ike_wanted(const ParsedPacket& pp, int iface) const;
  void ike_input(rte_mbuf* m, const ParsedPacket& pp, int iface);
  // IKE over IPv6 outer addresses (control_ike.cc): UDP 500/4500 to one of
  // a WAN interface's IPv6 addresses, from icmp6_input's IPv6 stream.
  bool ike_wanted6(const Ipv6View& v, int iface) const;
  void ike_input6(rte_mbuf* m, const Ipv6View& v, int iface);
  // Both families: the service's answer to a datagram, sent back where it came from.
  void ike_answer(rte_mbuf* m, const uint8_t* payload, uint16_t len, const IpAddress& src, uint16_t sport,
                  const IpAddress& dst, uint16_t dport, int iface);
  void ike_poll();
  void ike_send_outgoing();  // the IKE service's queued requests, out through send_ip / resolve6
  rte_mbuf* ike_packet(const IpAddress& src, const IpAddress& dst, uint16_t sport, uint16_t dport,
                       const std::vector<uint8_t>& payload);
  std::optional<NextHop> ike_route(Ipv4 peer) const;
  std::optional<Route6> ike_route6(const Ipv6& peer) const;  // out of a WAN interface with a global address
  Ipv6 ike_source6(int iface, const Ipv6& peer) const;       // a WAN interface's global address toward `peer`
  void kernel_frame(rte_mbuf* m, int iface);
  void kernel_arp(rte_mbuf* m, const ParsedPacket& pp, int iface);
  void kernel_arp_reply(int iface, Ipv4 addr, const uint8_t* mac);
  bool kernel_icmp6(rte_mbuf* m, const Ipv6View& v, int iface);
  void kernel_solicit(const Ipv6View& v, const NdMessage& nd, int iface);
  void kernel_advert(int iface, const Ipv6& addr, const uint8_t* mac, const Ipv6& to);
  // IPv6: Neighbor Discovery and echo for our addresses (control_nd.cc).
  void icmp6_input(rte_mbuf* m, int iface);
  void nd_input(rte_mbuf* m, const Ipv6View& v, int iface);
  void nd_advert_input(const NdMessage& nd, int iface);
  void echo6_input(rte_mbuf* m, const Ipv6View& v, int iface);
  // Packet Too Big about our ESP over IPv6: the tunnel's outer path MTU (ipsec/esp_ptb.h).
  void ptb6_input(rte_mbuf* m, const Ipv6View& v, int iface);
  template <class Write>
  // `write` returns the frame's length; false: no mbuf (counted as `no_mbuf`
  // unless that is Counter::count), or the tx queue was full (tx_full).
  bool send_nd(int iface, Write&& write, uint16_t room = kNdFrameLen, Counter no_mbuf = Counter::count);
  // Router Advertisements (control_nd.cc, ip/router_advert.h).
  struct RaAdvertiser {
    bool active = false;
    RaSettings settings;
    std::vector<Ipv6Prefix> prefixes;
    uint32_t mtu = 0;
    uint8_t mac[6] = {};
    Ipv6 link_local;
    RaSchedule schedule;
    bool router = true;  // advertised as a default router (ra_router)
  };
  // Whether `iface` advertises a Router Lifetime: without HA always; with HA
  // while this node holds its own addresses or the peer's on that interface.
  bool ra_router(int iface) const;
  void rs_input(rte_mbuf* m, const Ipv6View& v, int iface);
  void ra_poll(uint32_t now_ms);
  void ra_reload(const RouterModel& rm, uint32_t now_ms);
  void send_ra(int iface, const RaAdvertiser& a, bool serving);
  void send_solicit(int iface, const Ipv6& target, const uint8_t* unicast_mac);  // null: multicast
  // The MLDv2 listener (control_mld.cc, mld_listener.h): our solicited-node
  // groups and all-routers, reported; queries answered.
  void mld_query_input(rte_mbuf* m, const Ipv6View& v, int iface);
  void mld_poll(uint32_t now_ms);
  std::vector<Ipv6> mld_groups(const RouterModel& rm, int iface) const;
  void mld_send(int iface, std::span<const MldRecord> records);
  void resolve6(rte_mbuf* m);
  void neighbor6_learned(int iface, const Ipv6& addr);
  void neighbor6_failed(int iface, const Ipv6& addr);
  void age_neighbors6(uint32_t now_ms);
  void dad6_poll(uint32_t now_ms);
  void drop(rte_mbuf* m, DropReason why) {
    counters().drop(why);
    rte_pktmbuf_free(m);
  }

  struct Pending {
    int iface;
    Ipv4 addr;
    uint32_t last_request_ms;
    int tries;
    std::vector<rte_mbuf*> packets;
  };
  DataplaneShared& shared_;
  rte_mempool* pool_;
  uint16_t tx_queue_;
  Worker::TxFn tx_;
  void* tx_ctx_ = nullptr;
  std::vector<Pending> pending_;
  struct Pending6 {
    int iface;
    Ipv6 addr;
    std::vector<rte_mbuf*> packets;  // retries are the neighbor cache's (INCOMPLETE)
  };
  std::vector<Pending6> pending6_;
  DadTable dad6_;                           // our IPv6 addresses' DAD (control_nd.cc)
  const RouterModel* dad6_model_ = nullptr;  // the model dad6_ was set from
  const RouterModel* path_mtu_model_ = nullptr;  // the model the learned path MTUs hold under
  std::vector<std::string> path_mtu_tunnels_;      // its tunnels' names, by index
  std::vector<RaAdvertiser> ra_;            // per interface index
  const RouterModel* ra_model_ = nullptr;    // the model ra_ was set from
  MldListener mld_;
  const RouterModel* mld_model_ = nullptr;  // the model mld_'s groups were last read from
  uint32_t mld_checked_ms_ = 0;             // and when (HA and DAD changes are seen within kMldRecheckMs)
  PathMonitor* paths_ = nullptr;
  PuntInterfaces* punt_ = nullptr;  // null: no punt path
  TunnelLinks tunnel_links_{0};     // the tunnels' kernel interfaces: down without an outbound SA
  Worker* dispatcher_ = nullptr;    // null: the kernel's tunnel packets are dropped
  IkeService* ike_ = nullptr;       // null: no ipsec_peers
  uint32_t now_ms_ = 0;
  uint64_t tsc_per_us_ = 1;
  uint64_t now_us() const;
  uint32_t announce_seen_ = 0;  // last HaDataplane::announce_gen acted on
  // Gratuitous ARP is repeated (a lost or reordered one would leave a
  // neighbor pointing at the node that just gave an address up).
  static constexpr uint32_t kReannounceMs[] = {300, 1000, 2500};
  uint32_t announced_ms_ = 0;
  uint32_t reannounce_step_ = 3;
};

// Control::send_nd is used by control_nd.cc and control_mld.cc.
template <class Write>
bool Control::send_nd(int iface, Write&& write, uint16_t room, Counter no_mbuf) {
  rte_mbuf* m = rte_pktmbuf_alloc(pool_);
  if (!m) {
    if (no_mbuf != Counter::count) counters().add(no_mbuf);
    return false;
  }
  auto* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, room));
  if (!p) return rte_pktmbuf_free(m), false;
  rte_pktmbuf_trim(m, static_cast<uint16_t>(room - write(p)));
  const InterfaceModel& out = model().interfaces[iface];
  if (tx_(tx_ctx_, out.port_id, tx_queue_, &m, 1) != 1) return drop(m, DropReason::tx_full), false;
  counters().add(Counter::tx_packets);
  return true;
}

}  // namespace wp
