// Process-wide dataplane state shared by workers and the control thread.
//
// Only read-mostly data lives here: the committed RouterModel (published as
// an atomic pointer; the control side keeps the owning shared_ptr alive), the
// neighbor table (single writer: control), and the bounded rings that are the
// only way threads hand packets to each other (docs/architecture.md § Threads).
// Ring matrix: handoff[from * workers + to] is single-producer/single-consumer.
// Producer index `workers` is the control thread's dispatcher, which polls the
// extra rx queue every port has (af_packet spreads rx over all its qpairs).
#pragma once

#include <rte_mbuf.h>
#include <rte_ring.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "dataplane/control/neighbor.h"
#include "dataplane/control/neighbor6.h"
#include "dataplane/control/router_model.h"
#include "dataplane/ipsec/esp_counters.h"
#include "dataplane/ipsec/esp_path_mtu.h"
#include "dataplane/ip/fib.h"
#include "dataplane/ip/fib6.h"
#include "dataplane/paths/path_table.h"
#include "dataplane/session/events.h"
#include "dataplane/session/table.h"
#include "dataplane/worker/counters.h"
#include "dataplane/worker/ha_dataplane.h"
#include "dataplane/worker/qos_shared.h"

namespace wp {

class EspSaTable;

}  // namespace wp
namespace waypoint::config {
class Config;
}  // namespace waypoint::config
namespace wp {

// A live commit that changes ipsec_peers or tunnels (docs/ipsec.md
// § Live reload): the ConfigStore (mgmt thread) posts
// the committed config here and waits until the control thread's IKE
// service applied it (IkeService::reload) and published its SA table.
struct IpsecReload {
  std::mutex mu;
  std::shared_ptr<const waypoint::config::Config> next;  // guarded by mu
  std::atomic<uint64_t> posted{0};   // the ConfigStore's count of posts
  std::atomic<uint64_t> applied{0};  // the last post the control thread applied
};

struct DataplaneShared {
  std::atomic<const RouterModel*> model{nullptr};
  // Routes from FRR (dataplane/control/fpm/): published by the FPM listener,
  // retired after every worker's epoch moved twice; null = none.
  std::atomic<const FibTable*> fib{nullptr};
  // FRR's IPv6 routes, published and retired with `fib`; null = none.
  std::atomic<const FibTable6*> fib6{nullptr};
  // ESP SAs and tunnels from the IKE service (control/ike_service.h):
  // published whole by the control thread, retired after every worker's
  // epoch moved twice; null = no ipsec_peers. The SA owners read it once a
  // burst (worker/esp_step.h).
  std::atomic<const EspSaTable*> esp{nullptr};
  // (workers + 1) x kEspCounterTunnels, made by create_rings.
  std::unique_ptr<EspTunnelCounters[]> esp_counters;
  // The SA owners' latest ESP sequence numbers per slot (HA sync of the IKE
  // service, docs/ipsec.md § HA); made by create_rings.
  std::unique_ptr<EspSeqMarks> esp_seq_marks;
  // Per SA: (workers + 1) x kMaxEspSas, each worker counts the SAs it owns in
  // its own row (read_esp_sa_counters sums them); made by create_rings.
  std::unique_ptr<EspSaCounterSlot[]> esp_sa_counters;
  // Per tunnel, the outer path MTU learned from ICMPv6 Packet Too Big
  // (esp_path_mtu.h): the control thread writes, the workers read it as
  // each packet enters a tunnel.
  EspPathMtu esp_path_mtu;
  IpsecReload ipsec_reload;
  EspTunnelCounters* esp_tunnel_counters(uint32_t worker, uint32_t tunnel) {
    return &esp_counters[worker * kEspCounterTunnels + tunnel % kEspCounterTunnels];
  }
  NeighborTable neighbors;
  Neighbor6Table neighbors6;  // IPv6 (Neighbor Discovery), the control thread resolves
  uint32_t workers = 1;
  std::vector<rte_ring*> handoff;              // (workers + 1) x workers, [from * workers + to]
  std::vector<rte_ring*> to_control;           // per worker + dispatcher: ARP, ICMP, local input
  std::vector<rte_ring*> resolve;              // per worker + dispatcher: packets waiting for ARP
  std::unique_ptr<WorkerCounters[]> counters;  // per worker; [workers] = control thread + dispatcher
  // Session event rings, [consumer][worker]; empty while that consumer is off.
  std::array<std::vector<rte_ring*>, kEventConsumers> events;
  // Per consumer, the event kinds it wants (event_bit); set by enable_events.
  std::array<uint8_t, kEventConsumers> event_kinds{kAllEventKinds, kAllEventKinds, kAllEventKinds};
  // IPv6 session event rings (session/events6.h), per worker, for the `ipfix`
  // consumer (the mgmt feed) only; empty unless enable_events6 ran.
  std::vector<rte_ring*> events6;
  // The offload manager's IPv6 session event rings (session/offload_events6.h:
  // routed sessions and those between IPv6 waypoints), per worker; empty
  // unless enable_offload_events6 ran.
  std::vector<rte_ring*> offload_events6;
  std::atomic<bool> running{true};
  Timeouts timeouts;
  // Period of `update` events for live sessions (IPFIX active
  // timeout, REST snapshot freshness); 0 = none. Set before workers start.
  uint32_t session_update_ms = 0;
  // IPv6 session table capacity per worker (worker/route6_step.h), allocated at
  // start when a service has IPv6 prefixes. Not in the config yet; the
  // foundation bench sets it to its IPv4 table size.
  uint32_t sessions6_per_worker = 16384;
  PathTable* paths = nullptr;           // null = first reachable waypoint, no monitoring
  rte_mempool* control_pool = nullptr;  // mbufs for packets workers originate (keep-alives)
  HaDataplane ha;                       // inbound peer sessions, address ownership (off unless configured)
  QosShared qos;                        // shaped WAN ports (qos_shared.h); empty = none

  // KeySlab size per worker (sessions that encrypt/HMAC every packet).
  uint32_t key_slots = 0;

  // Per peer index, the pair-key version a worker last moved to toward it,
  // tied to the peer's name: (name_hash << 8) | version, 0 = no move yet.
  // Written only when a worker switches versions (rare); read by the key
  // retirement (mgmt/key_retirement.h).
  std::array<std::atomic<uint64_t>, kMaxKeyPeers> key_switched{};
  static uint64_t key_switch(uint32_t name_hash, uint8_t version) {
    return (static_cast<uint64_t>(name_hash) << 8) | version;
  }

  rte_ring* handoff_ring(uint32_t from, uint32_t to) const { return handoff[from * workers + to]; }
  WorkerCounters& control_counters() { return counters[workers]; }

  // Creates all rings (sizes: power of two). A ring lives on its consumer's
  // NUMA socket: worker_sockets[w] when given, else `socket`. False with
  // `error` set on failure.
  bool create_rings(uint32_t worker_count, uint32_t ring_size, int socket, std::string& error,
                    const std::vector<int>* worker_sockets = nullptr);
  // One SPSC SessionEvent ring per worker for consumer `c`, on `socket` (the
  // consumer's), taking the event kinds in `kinds` only. Call after
  // create_rings and before the workers start.
  bool enable_events(EventConsumer c, uint32_t ring_size, int socket, std::string& error,
                     uint8_t kinds = kAllEventKinds);
  // One SPSC Session6Event ring per worker for the mgmt feed, taking the
  // `ipfix` consumer's event kinds. Call after enable_events(ipfix).
  bool enable_events6(uint32_t ring_size, int socket, std::string& error);
  rte_ring* event6_ring(uint32_t worker) const { return events6.empty() ? nullptr : events6[worker]; }
  // One SPSC Offload6Event ring per worker for the offload manager.
  bool enable_offload_events6(uint32_t ring_size, int socket, std::string& error);
  rte_ring* offload_event6_ring(uint32_t worker) const {
    return offload_events6.empty() ? nullptr : offload_events6[worker];
  }
  rte_ring* event_ring(EventConsumer c, uint32_t worker) const {
    const auto& v = events[static_cast<size_t>(c)];
    return v.empty() ? nullptr : v[worker];
  }
  void free_rings();
};

// Packet handed to the control thread for ARP resolution: which interface
// and next hop it waits for, kept in the mbuf itself (no side allocation).
inline void mark_resolve(rte_mbuf* m, int iface, Ipv4 next_hop) {
  m->hash.usr = next_hop;
  m->port = static_cast<uint16_t>(iface);
}
// An IPv6 packet waiting for Neighbor Discovery: its next hop is its on-link
// destination (the IPv6 header's), so only the interface is kept; the marker
// is the limited broadcast address, never an IPv4 next hop.
inline constexpr uint32_t kResolveIpv6 = 0xffffffff;
inline void mark_resolve6(rte_mbuf* m, int iface) {
  m->hash.usr = kResolveIpv6;
  m->port = static_cast<uint16_t>(iface);
}
// A routed IPv6 packet waiting for its gateway's resolution: the next hop is
// not in the header, so its 16 bytes go in the headroom just before the frame
// (no side allocation); false when the headroom is shorter.
inline constexpr uint32_t kResolveIpv6Via = 0xfffffffe;
inline constexpr uint16_t kResolveIpv6ViaBytes = 16;
inline bool mark_resolve6_via(rte_mbuf* m, int iface, const Ipv6& next_hop) {
  if (rte_pktmbuf_headroom(m) < kResolveIpv6ViaBytes) return false;
  store_ipv6(rte_pktmbuf_mtod(m, uint8_t*) - kResolveIpv6ViaBytes, next_hop);
  m->hash.usr = kResolveIpv6Via;
  m->port = static_cast<uint16_t>(iface);
  return true;
}
// The next hop mark_resolve6_via kept, or the packet's destination.
inline Ipv6 resolve6_target(const rte_mbuf* m, const Ipv6& dst) {
  return m->hash.usr == kResolveIpv6Via ? load_ipv6(rte_pktmbuf_mtod(m, const uint8_t*) - kResolveIpv6ViaBytes) : dst;
}

}  // namespace wp
