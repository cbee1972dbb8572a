// A dataplane worker: one per lcore, run to completion, shared-nothing
// (DESIGN.md § Threads of waypointd).
//
// Loop: rx burst on every port's queue -> parse -> dispatch to the owning
// worker (handoff ring when not self; ARP/ICMP/local input to control) ->
// drain inbound handoff rings -> session lookup -> fast path or first-packet
// path -> per-port tx buffers flushed once per iteration. Idle workers back off
// with a short sleep that grows while idle, so 2-core test machines stay
// responsive. The SVR steps live in svr_lan.cc (LAN input, ingress first
// packet), svr_wan.cc (WAN input, egress/transit first packet, handshake) and
// svr_emit.cc (rewrite, metadata insert, L2, tx).
#pragma once

#include <rte_mbuf.h>

#include <cstdint>
#include <random>
#include <vector>

#include "dataplane/dataplane.h"
#include "dataplane/hmac.h"
#include "dataplane/metadata.h"
#include "dataplane/packet.h"
#include "dataplane/session_table.h"

namespace wp {

inline constexpr uint16_t kMaxBurst = 64;

class Worker {
 public:
  using TxFn = uint16_t (*)(void* ctx, uint16_t port, uint16_t queue, rte_mbuf** pkts, uint16_t n);
  using RxFn = uint16_t (*)(void* ctx, uint16_t port, uint16_t queue, rte_mbuf** pkts, uint16_t n);

  Worker(uint32_t id, DataplaneShared& shared, uint32_t max_sessions, int socket);
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  bool ok() const { return table_.ok() && hmac_.ok(); }
  uint32_t id() const { return id_; }
  SessionTable& table() { return table_; }
  WorkerCounters& counters() { return *counters_; }
  HmacEngine& hmac() { return hmac_; }

  // Port I/O: real ethdev by default; tests install capturing functions.
  void set_io(RxFn rx, TxFn tx, void* ctx) {
    rx_ = rx;
    tx_ = tx;
    io_ctx_ = ctx;
  }
  void set_ports(std::vector<uint16_t> ports, uint16_t queue, uint16_t burst);

  void run();  // until shared.running is false

  // One iteration's steps, public for tests and benchmarks.
  uint32_t poll_once();                       // rx + handoff + aging + flush; returns packets handled
  void receive(rte_mbuf** pkts, uint16_t n);  // dispatch a burst (m->port = ingress port id)
  uint32_t drain_handoff();
  void flush();
  void set_now_ms(uint32_t ms) { now_ms_ = ms; }
  uint32_t now_ms() const { return now_ms_; }
  uint32_t expire(uint32_t budget);
  // Aging paced by the clock: a full sweep of the table every kSweepPeriodMs,
  // spread over the loop iterations in which the millisecond clock advanced.
  static constexpr uint32_t kSweepPeriodMs = 2000;
  void age();
  // Copies the session into every enabled consumer's event ring; a full ring
  // drops the event and counts it (session_events.h).
  void post_event(SessionEventKind kind, const Session& s, SessionEndReason reason = SessionEndReason::none);

  // #6 HA (worker_ha.cc): apply the HA thread's inbound peer sessions, follow
  // ownership changes and republish requests (ha_dataplane.h). Returns work done.
  uint32_t ha_poll();
  void apply_peer_session(const PeerSessionOp& op);

 private:
  const RouterModel& model() const { return *model_; }
  // A packet this worker owns, parsed, waiting for the staged lookup.
  struct Owned {
    rte_mbuf* m;
    ParsedPacket pp;
    int iface;
    bool wan;
    uint32_t sig;
  };
  void stage(Owned& o);                      // hash + prefetch the index slot
  void process_owned(Owned* o, uint32_t n);  // prefetch sessions, then SVR steps
  void lan_input(rte_mbuf* m, ParsedPacket& pp, int iface);
  void wan_input(rte_mbuf* m, ParsedPacket& pp, int iface);
  void first_packet_lan(rte_mbuf* m, ParsedPacket& pp, int iface);
  void first_packet_wan(rte_mbuf* m, ParsedPacket& pp, int iface, const Metadata& md, int peer);
  bool pick_wan_side(Session& s, int peer, uint32_t cls, DropReason& why);
  void emit(rte_mbuf* m, ParsedPacket& pp, Session& s, Dir dir);
  bool add_metadata(rte_mbuf* m, ParsedPacket& pp, const Session& s, Dir dir, const SideOut& out);
  void transmit(rte_mbuf* m, int iface, Ipv4 next_hop);
  // Metadata packets wait here, trailer reserved, until the end of the burst,
  // when they are signed together (lanes full) and transmitted.
  void queue_for_signing(rte_mbuf* m, const ParsedPacket& pp, const HmacKey& key, int iface, Ipv4 next_hop);
  void sign_pending();
  void note_established(Session& s);  // posts "established" once the handshake is done
  void to_control(rte_mbuf* m);
  // #9 paths (svr_lan.cc, path_migration.cc, svr_metadata_only.cc)
  bool pick_port_pair(FiveTuple& out, uint32_t cls);
  bool bind_path(Session& s, int path, uint32_t cls, DropReason& why);
  bool follow_path(Session& s);
  bool rebind_migrated(rte_mbuf* m, ParsedPacket& pp, int iface, const Metadata& md, int peer);
  bool metadata_only_due(const ParsedPacket& pp, const Session& s, const SideOut& out) const;
  void send_metadata_only(rte_mempool* pool, Session& s, Dir dir, const SideOut& out);
  void consume_metadata_only(rte_mbuf* m, Session& s, Dir dir);
  void sweep_paths();  // moves idle sessions too when ranks changed (path_migration.cc)
  uint32_t path_epoch_ = 0;
  uint32_t path_sweep_hand_ = 0;
  bool path_sweeping_ = false;
  void drop(rte_mbuf* m, DropReason why) {
    counters_->drop(why);
    rte_pktmbuf_free(m);
  }
  SessionUuid new_uuid();
  void update_clock();
  // #6 HA
  void follow_ownership();
  uint32_t republish_some();
  uint32_t ownership_seen_ = 0;
  uint32_t republish_seen_ = 0;
  bool republishing_ = false;
  uint32_t republish_hand_ = 0;

  uint32_t id_;
  DataplaneShared& shared_;
  const RouterModel* model_ = nullptr;
  WorkerCounters* counters_;
  SessionTable table_;
  HmacEngine hmac_;
  std::mt19937_64 rng_;
  uint32_t now_ms_ = 0;
  uint32_t last_sweep_ms_ = 0;
  uint64_t tsc_per_ms_ = 1;

  std::vector<uint16_t> ports_;
  uint16_t queue_ = 0;
  uint16_t burst_ = 32;
  RxFn rx_;
  TxFn tx_;
  void* io_ctx_ = nullptr;
  struct TxBuffer {
    uint16_t count = 0;
    rte_mbuf* pkts[kMaxBurst];
  };
  std::vector<TxBuffer> tx_buffers_;  // by interface index
  struct PendingSign {
    rte_mbuf* m;
    ParsedPacket pp;
    const HmacKey* key;
    int iface;
    Ipv4 next_hop;
  };
  PendingSign sign_queue_[HmacEngine::kMaxSignBurst];
  uint32_t sign_count_ = 0;
};

}  // namespace wp
