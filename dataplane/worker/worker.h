// A dataplane worker: one per lcore, run to completion, shared-nothing
// (docs/architecture.md § Threads).
//
// The Worker owns the loop and the dispatch; every feature keeps its
// per-worker state and steps in a component of its own (the members below,
// in the order they are built: each may call those above it):
//   WorkerContext   id, shared state, model, counters, session table, keys, clock
//   QosTx           shaped WAN ports: DSCP, handoff to the port's owner, its scheduler
//   Tx, Handoff     transmit buffers; batched handoff to other workers
//   EspStep         IPsec tunnels: ESP opened by SPI owner, sealed by tunnel owner
//   Fragments       reassembly in, fragmentation and TLV 1 out
//   CryptoBatch     session keys, the seal and open bursts, TLV 16
//   MetadataOnly    metadata in a packet of its own
//   FlowMonitor     TLV 26 in-line flow monitoring
//   AppInspect      application classification (ingress), TLV 35, application policy
//   Duplication     duplicated sessions: sequence numbers, the second path's copy, the receiver's window
//   Emit            a session packet on its way out (metadata, NAT, sealing)
//   PolicyRecheck   re-checking sessions after a config commit
//   PathMigration   moving sessions between paths
//   LanInput        LAN packets, the ingress first packet
//   WanInput        WAN packets: verification, handshake, egress/transit first packet
//   Aging, HaFollower, OffloadFollower   idle sessions; the HA peer; the NIC
//   Nat64Step, Ipv6Input   stateful NAT64 (IPv6 LAN clients, IPv4 pool replies); IPv6 frames
//   Nat46Step   NAT46 (IPv4 LAN clients to on-link IPv6 servers, and the replies)
// worker.cc reads top to bottom as the steps of poll_once().
#pragma once

#include <rte_mbuf.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "dataplane/ip/packet.h"
#include "dataplane/svr/app_inspect.h"
#include "dataplane/svr/crypto_batch.h"
#include "dataplane/svr/emit.h"
#include "dataplane/svr/flow_monitor.h"
#include "dataplane/svr/fragments.h"
#include "dataplane/svr/lan_input.h"
#include "dataplane/svr/metadata_only.h"
#include "dataplane/svr/migration.h"
#include "dataplane/svr/policy_recheck.h"
#include "dataplane/svr/route_follow.h"
#include "dataplane/svr/svr6_lan.h"
#include "dataplane/svr/svr_icmp4.h"
#include "dataplane/svr/wan_input.h"
#include "dataplane/worker/aging.h"
#include "dataplane/worker/context.h"
#include "dataplane/worker/esp_step.h"
#include "dataplane/worker/ha_follower.h"
#include "dataplane/worker/handoff.h"
#include "dataplane/worker/ipv6_input.h"
#include "dataplane/worker/nat46_step.h"
#include "dataplane/worker/nat64_step.h"
#include "dataplane/worker/offload_follower.h"
#include "dataplane/worker/punt_class.h"
#include "dataplane/worker/punt_meter.h"
#include "dataplane/worker/rate_limit.h"
#include "dataplane/worker/route6_follow.h"
#include "dataplane/worker/qos_tx.h"
#include "dataplane/worker/tx.h"

namespace wp {

class Worker {
 public:
  using TxFn = Tx::TxFn;
  using RxFn = uint16_t (*)(void* ctx, uint16_t port, uint16_t queue, rte_mbuf** pkts, uint16_t n);
  // ARP a worker passes to the control thread, per port: enough for a
  // router's neighbors re-resolving at once, far below what would keep the
  // control thread from its timers (docs/security.md § Dataplane).
  static constexpr uint32_t kArpPerSecond = 1000;
  static constexpr uint32_t kArpBurst = 256;
  static constexpr size_t kArpPorts = 16;

  Worker(uint32_t id, DataplaneShared& shared, uint32_t max_sessions, int socket);
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  bool ok() const { return ctx_.table.ok() && ctx_.keys.ok() && crypto_.ok() && esp_.ok() && route6_.ok(); }
  uint32_t id() const { return ctx_.id; }
  SessionTable& table() { return ctx_.table; }
  WorkerCounters& counters() { return *ctx_.counters; }
  HmacEngine& hmac() { return crypto_.hmac(); }
  const KeySlab& key_slab() const { return ctx_.keys; }
  const NatPorts& nat_ports() const { return ctx_.nat_ports; }
  HaFollower& ha() { return ha_; }
  OffloadFollower& offload() { return offload_; }
  const Handoff& handoff() const { return handoff_; }
  const Nat64Step& nat64() const { return nat64_; }
  const Nat46Step& nat46() const { return nat46_; }
  const Route6Step& route6() const { return route6_; }
  Route6Step& route6() { return route6_; }
  const EspStep& esp() const { return esp_; }
  const Duplication& duplication() const { return dup_; }

  // Application classification on this worker (its own nDPI, made here: control path,
  // before the worker runs). False with `error` when nDPI cannot start.
  bool enable_apps(const app::AppClassifierConfig& config, std::string& error) {
    ctx_.apps = app::AppClassifier::create(config, error);
    return ctx_.apps != nullptr;
  }
  const app::AppClassifier* apps() const { return ctx_.apps.get(); }
  // Port I/O: real ethdev by default; tests install capturing functions.
  void set_io(RxFn rx, TxFn tx, void* io_ctx);
  void set_ports(std::vector<uint16_t> ports, uint16_t queue, uint16_t burst);

  void run();  // until shared.running is false
  // Debug hook (waypointd --debug-hooks, off by default): while set, the
  // loop does nothing but sleep, as a worker stuck in a bug would, so the
  // systemd watchdog test can see the pings stop. Written by the control
  // thread, read once per loop iteration.
  void set_debug_stall(bool stall) { debug_stall_.store(stall, std::memory_order_relaxed); }
  // One iteration of the loop; returns the packets handled. Public for tests and benchmarks.
  uint32_t poll_once();
  void receive(rte_mbuf** pkts, uint16_t n);   // dispatch a burst (m->port = ingress port id)
  void dispatch(rte_mbuf** pkts, uint16_t n);  // receive() without counting rx (reassembled datagrams)
  uint32_t drain_handoff();
  // The punt path of an IPsec tunnel, docs/ipsec.md § Dynamic routing over tunnels:
  // a frame (any MACs, EtherType IPv4 or IPv6) the kernel wrote on the
  // tunnel's tap, handed here by the control thread on the main lcore, where
  // this worker is the dispatcher. Goes to the tunnel's owner for sealing
  // into its current outbound SA (handoff ring, no lock; IPv6 with next
  // header 41); dropped with a reason when it is not an unfragmented IPv4 or
  // IPv6 packet (punt_kernel_unsent) or the tunnel has no outbound SA
  // (punt_tunnel_down).
  void tunnel_output(rte_mbuf* m, uint32_t tunnel);
  uint32_t flush();  // seals what waits for it, sends the tx bursts; returns what the QoS schedulers sent
  void set_now_ms(uint32_t ms) { ctx_.now_ms = ms; }
  uint32_t now_ms() const { return ctx_.now_ms; }
  uint32_t expire(uint32_t budget) { return aging_.expire(budget); }
  void post_event(SessionEventKind kind, const Session& s, SessionEndReason reason = SessionEndReason::none) {
    ctx_.post_event(kind, s, reason);
  }

 private:
  // A packet this worker owns, parsed, waiting for the staged lookup.
  struct Owned {
    rte_mbuf* m;
    ParsedPacket pp;
    int iface;
    bool wan;
    uint32_t sig;
    int tunnel = kNone;  // came out of this IPsec tunnel (iface kNone)
  };
  void update_clock();
  uint32_t read_ports();
  // The owner rule for one received packet; kNone when it was consumed
  // (dropped, handed to the control thread, or a fragment taken).
  int owner_of(rte_mbuf*& m, ParsedPacket& pp, int iface);
  void to_control(rte_mbuf* m);
  void arp_to_control(rte_mbuf* m, int iface);  // metered per port
  void local_to_control(rte_mbuf* m, const ParsedPacket& pp);  // metered per punt class when punting
  void stage(Owned& o);                      // the key's signature (slots: process_owned)
  void process_owned(Owned* o, uint32_t n);  // prefetch sessions, then the SVR steps
  // Inner packets out of ESP (frames, port marked with their tunnel), by the
  // session owner rule as LAN packets.
  void dispatch_inner(rte_mbuf** pkts, uint16_t n);
  bool tunnel_punts(int tunnel, int to, bool multicast) const;  // up `tunnel`'s kernel tap (docs/ipsec.md)
  bool tunnel_punt6(rte_mbuf* m, int tunnel);  // IPv6 for `tunnel`'s ipv6_address: metered up its tap (true)
  void end_iteration();

  std::atomic<bool> debug_stall_{false};  // set_debug_stall

  WorkerContext ctx_;
  QosTx qos_{ctx_};
  Tx tx_{ctx_, &qos_};
  Handoff handoff_{ctx_};
  EspStep esp_{ctx_, tx_, handoff_};
  Fragments fragments_{ctx_, handoff_, tx_};
  CryptoBatch crypto_{ctx_, fragments_};
  MetadataOnly metadata_only_{ctx_, crypto_, fragments_, tx_};
  FlowMonitor flow_{ctx_, metadata_only_};
  AppInspect apps_{ctx_, metadata_only_};
  Duplication dup_{ctx_};
  Emit emit_{ctx_, crypto_, fragments_, flow_, metadata_only_, apps_, dup_};
  SvrIcmp4 icmp4_{ctx_, fragments_, crypto_, metadata_only_};  // ICMPv4 errors through IPv4 SVR sessions (TLV 20)
  PolicyRecheck recheck_{ctx_};
  RouteFollow routes_{ctx_};
  PathMigration migration_{ctx_, emit_, metadata_only_, flow_, recheck_};
  LanInput lan_{ctx_, emit_, crypto_, migration_, recheck_, apps_, dup_};
  WanInput wan_{ctx_, emit_, crypto_, fragments_, migration_, flow_, metadata_only_, recheck_, apps_, dup_};
  Aging aging_{ctx_};
  HaFollower ha_{ctx_, crypto_};
  OffloadFollower offload_{ctx_};
  Nat64Step nat64_{ctx_, tx_, handoff_};
  Nat46Step nat46_{ctx_, tx_, handoff_};  // #19: IPv4 clients to IPv6 servers
  Svr6Lan svr6_{ctx_, tx_, emit_, crypto_, metadata_only_};  // before route6_, which attaches its IPv6 table
  Route6Step route6_{ctx_, tx_, handoff_};
  Route6Follow routes6_{ctx_, route6_, recheck_};  // #19: routed IPv6 sessions after route changes and commits
  HaFollower6 ha6_{ctx_, route6_};  // #19: attached to ha_ by the constructor
  PuntMeter punt_{ctx_};  // both families spend it (ipv6_ too)
  Ipv6Input ipv6_{ctx_, nat64_, nat46_, route6_, punt_, handoff_};

  RxFn rx_;
  void* io_ctx_ = nullptr;
  std::vector<uint16_t> ports_;
  uint16_t queue_ = 0;
  uint16_t burst_ = 32;
  uint64_t tsc_per_ms_ = 1;
  std::array<TokenBucket, kArpPorts> arp_rate_{};  // by interface index, modulo kArpPorts
};

}  // namespace wp
