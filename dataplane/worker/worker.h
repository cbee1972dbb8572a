// A dataplane worker: one per lcore, run to completion, shared-nothing
// (docs/architecture.md § Threads).
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

#include "dataplane/crypto/engine.h"
#include "dataplane/crypto/hmac.h"
#include "dataplane/crypto/iv_source.h"
#include "dataplane/crypto/keys.h"
#include "dataplane/crypto/metadata_crypto.h"
#include "dataplane/crypto/packet_hmac.h"
#include "dataplane/crypto/session_data.h"
#include "dataplane/ip/packet.h"
#include "dataplane/ip/reassembly.h"
#include "dataplane/paths/flow_monitor.h"
#include "dataplane/session/owner.h"
#include "dataplane/session/table.h"
#include "dataplane/svr/metadata.h"
#include "dataplane/worker/offload_feedback.h"
#include "dataplane/worker/shared.h"

namespace wp {

inline constexpr uint16_t kMaxBurst = 64;

class Worker {
 public:
  using TxFn = uint16_t (*)(void* ctx, uint16_t port, uint16_t queue, rte_mbuf** pkts, uint16_t n);
  using RxFn = uint16_t (*)(void* ctx, uint16_t port, uint16_t queue, rte_mbuf** pkts, uint16_t n);

  Worker(uint32_t id, DataplaneShared& shared, uint32_t max_sessions, int socket);
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  bool ok() const { return table_.ok() && hmac_.ok() && crypto_.ok() && ivs_.ok() && keys_.ok(); }
  uint32_t id() const { return id_; }
  SessionTable& table() { return table_; }
  WorkerCounters& counters() { return *counters_; }
  HmacEngine& hmac() { return hmac_; }
  CryptoEngine& crypto() { return crypto_; }
  const KeySlab& key_slab() const { return keys_; }

  // Port I/O: real ethdev by default; tests install capturing functions.
  void set_io(RxFn rx, TxFn tx, void* ctx) {
    rx_ = rx;
    tx_ = tx;
    io_ctx_ = ctx;
  }
  void set_ports(std::vector<uint16_t> ports, uint16_t queue, uint16_t burst);

  void run();  // until shared.running is false

  // One iteration's steps, public for tests and benchmarks.
  uint32_t poll_once();                        // rx + handoff + aging + flush; returns packets handled
  void receive(rte_mbuf** pkts, uint16_t n);   // dispatch a burst (m->port = ingress port id)
  void dispatch(rte_mbuf** pkts, uint16_t n);  // receive() without counting rx (reassembled datagrams)
  uint32_t drain_handoff();
  // Handoff backpressure. A packet whose owner's handoff ring is full
  // is held (in order) instead of dropped; while any is held this worker reads
  // no more rx, so the burst waits in the device queue. Held packets are
  // retried every iteration and dropped as handoff_full only after
  // kHandoffHoldMs without progress (an owner that stopped draining) or when
  // the hold is full. 100 ms: on the shared 2-CPU test VM (load ~19) a worker
  // thread waits tens of ms for a CPU, and 20 ms still dropped 1307 packets in
  // test_basic; meanwhile the holder's own rx waits, ARP included.
  static constexpr uint32_t kHandoffHoldMs = 100;
  uint32_t retry_held();  // returns packets handed off
  uint32_t held() const { return held_n_; }
  void flush();
  void set_now_ms(uint32_t ms) { now_ms_ = ms; }
  uint32_t now_ms() const { return now_ms_; }
  uint32_t expire(uint32_t budget);
  // Aging paced by the clock: a full sweep of the table every
  // sweep_period_ms(), spread over the loop iterations in which the
  // millisecond clock advanced.
  static constexpr uint32_t kSweepPeriodMs = 2000;
  void age();
  // The sweep reads every session of the table, used or not (at 10 M
  // sessions 30 % of a starved worker's samples went there). One full pass per
  // quarter of the shortest idle timeout (a session expires at most 25 % late)
  // and per half update period (update events), never faster than
  // kSweepPeriodMs nor slower than kMaxSweepPeriodMs.
  static constexpr uint32_t kMaxSweepPeriodMs = 60000;
  static uint32_t sweep_period_ms(const Timeouts& t, uint32_t update_ms);
  // Copies the session into every enabled consumer's event ring; a full ring
  // drops the event and counts it (session_events.h).
  void post_event(SessionEventKind kind, const Session& s, SessionEndReason reason = SessionEndReason::none);

  // Counters and age verdicts for offloaded sessions
  // (offload_feedback.h), drained every iteration when set.
  void set_offload_feedback(rte_ring* r) { offload_feedback_ = r; }
  uint32_t drain_offload_feedback();
  // (worker_ha.cc): apply the HA thread's inbound peer sessions, follow
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
  size_t add_metadata(rte_mbuf* m, ParsedPacket& pp, const Session& s, Dir dir, const SideOut& out, bool data_encrypted,
                      bool* fragment_tlv = nullptr);
  void transmit(rte_mbuf* m, int iface, Ipv4 next_hop);
  // Metadata packets wait here, trailer reserved, until the end of the burst,
  // when they are signed together (lanes full) and transmitted.
  void queue_for_signing(rte_mbuf* m, const ParsedPacket& pp, const HmacKey& key, int iface, Ipv4 next_hop,
                         const AesKey* aes = nullptr, const SealLayout& layout = {}, bool frag_id_reserved = false);
  void sign_pending();
  // A new RouterModel was published; remap each session's entity
  // indexes by name and tear down those the new policy denies (policy_recheck.cc).
  void recheck_sessions(const RouterModel& old_model, const RouterModel& new_model);
  void note_established(Session& s);  // posts "established" once the handshake is done

  // #4 crypto (svr_crypto.cc): session keys, sealing on the way out,
  // opening on the way in (burst), MSS clamping, adaptive decision.
  bool start_session_crypto(Session& s, const ParsedPacket& pp, const Metadata* md, DropReason& why);
  void end_session_crypto(Session& s);
  void remove_session(Session* s);
  static void on_session_expired(void* ctx, Session& s);
  // A synced peer session carries the peer's slot numbers;
  // give it ours (`kept`, or fresh ones derived from pair key + UUID).
  void adopt_peer_crypto(Session& s, const uint32_t kept[2]);
  SessionKeys* keys_of(Session& s, int side) {
    return s.key_slot[side] == kNoKeySlot ? nullptr : &keys_.at(s.key_slot[side]);
  }
  void decide_adaptive(Session& s, const ParsedPacket& pp, const uint8_t* data, uint16_t len);
  void clamp_session_mss(rte_mbuf* m, ParsedPacket& pp, const Session& s);
  // Seals (encrypt + HMAC) a packet about to leave on a WAN leg; false means
  // dropped (counted). `md_len` bytes of metadata precede the data.
  bool seal_session_packet(rte_mbuf* m, ParsedPacket& pp, Session& s, Dir dir, const SideOut& out, size_t md_len,
                           bool need_md, bool encrypt, bool frag_id_reserved = false);
  // #4 fragments (svr_fragment.cc): reassembly on the way in, fragmentation
  // and TLV 1 on the way out.
  bool take_fragment(rte_mbuf*& m, ParsedPacket& pp);  // true: m is now a whole datagram of ours
  rte_mbuf* reassemble(rte_mbuf* m, ParsedPacket& pp);
  void age_fragments();
  uint32_t next_fragment_id();
  bool fragment_tlv_due(const ParsedPacket& pp, const SideOut& out, size_t block_len, bool encrypt) const;
  FragmentInfo reserve_fragment_id(rte_mbuf* m, const ParsedPacket& pp);
  void restore_fragment_header(rte_mbuf* m, const ParsedPacket& pp, const FragmentInfo& f);
  // transmit(), fragmenting what exceeds the interface MTU (DF policy: svr_fragment.cc).
  void transmit_sized(rte_mbuf* m, const ParsedPacket& pp, int iface, Ipv4 next_hop, bool id_reserved = false);
  // True when it consumed `m`: a TCP segment with DF too big once sealed
  // (ICMP frag-needed to a LAN sender, then dropped as mtu_exceeded).
  bool refuse_oversize_tcp(rte_mbuf* m, const ParsedPacket& pp, const Session& s, Dir dir, const SideOut& out,
                           bool need_md);
  ReassemblyTable frags_;
  uint32_t frag_seq_ = 0;
  // Encrypts a finished block's payload section when the policy
  // asks (returns the new length, 0 on overflow); opens a received one into
  // md_plain_ (false: dropped and counted).
  size_t seal_metadata(uint8_t* block, size_t len, size_t cap, const Session& s, const SideOut& out);
  bool open_metadata(rte_mbuf* m, const ParsedPacket& pp, Metadata& md, int peer);
  uint8_t md_plain_[kMaxPlainMetadata];
  bool encrypts_now(Session& s, const ParsedPacket& pp, Dir dir);
  // Egress while pending: forward metadata with data (or TLV 11) settles it.
  void learn_crypto_decision(Session& s, const Metadata& md, int data_len);
  // Steady-state WAN packets of sessions with per-packet HMAC wait here for
  // the burst's open (verify + decrypt) and then continue to emit().
  void queue_for_opening(rte_mbuf* m, const ParsedPacket& pp, Session& s, Dir dir, bool bare_marker);
  void open_pending();
  // Metadata packets (already verified with the pair key) whose data is
  // encrypted: decrypt now, one packet.
  bool decrypt_metadata_data(rte_mbuf* m, ParsedPacket& pp, Session& s, Dir dir);
  void continue_wan(rte_mbuf* m, ParsedPacket& pp, Session& s, Dir dir, bool had_metadata);
  void to_control(rte_mbuf* m);
  // (svr_lan.cc, path_migration.cc, svr_metadata_only.cc)
  bool pick_port_pair(FiveTuple& out, uint32_t cls);
  bool bind_path(Session& s, int path, uint32_t cls, DropReason& why);
  bool follow_path(Session& s);
  bool rebind_migrated(rte_mbuf* m, ParsedPacket& pp, int iface, const Metadata& md, int peer);
  bool metadata_only_due(const ParsedPacket& pp, const Session& s, const SideOut& out) const;
  void send_metadata_only(rte_mempool* pool, Session& s, Dir dir, const SideOut& out);
  // The session's metadata TLVs for a packet leaving on `out` (forward or reverse block);
  // `ack` adds TLV 18 to a reverse block.
  void write_session_tlvs(MetadataWriter& w, const Session& s, Dir dir, const SideOut& out, bool ack) const;
  void consume_metadata_only(rte_mbuf* m, Session& s, Dir dir);
  // A metadata block alone in a signed packet of the session's tuple on `out` (L4 header, block, HMAC).
  bool send_control_block(rte_mempool* pool, const SideOut& out, const uint8_t* block, size_t md_len);
  // In-line flow monitoring, TLV 26 (svr_flow_monitor.cc, flow_monitor.h).
  FlowMonitorTable::Slot* flow_slot(const Session& s, bool claim);
  void flow_count_rx(const Session& s, Dir dir);
  // A packet leaving on WAN leg `out`: counts it, and opens a new block when
  // due; returns the length of an inline marker block inserted (to be signed
  // with the pair key), 0 when none (none due, or sent in a packet of its own).
  size_t flow_out(rte_mbuf* m, ParsedPacket& pp, Session& s, Dir dir, const SideOut& out, bool may_inline);
  void flow_marker_in(Session& s, Dir dir, const PathMetricsTlv& t);
  void flow_leg_moved(const Session& s, int side);
  FlowMonitorTable flows_;
  uint32_t flow_period_ms_ = 0;
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
  CryptoEngine crypto_;  // bursts on the best arch
  IvSource ivs_{crypto_};
  KeySlab keys_;
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
    const AesKey* aes;  // encrypt `layout` first
    SealLayout layout;
    bool frag_id_reserved;  // TLV 1 named the IP id its fragments get
  };
  PendingSign sign_queue_[HmacEngine::kMaxSignBurst];
  uint32_t sign_count_ = 0;
  rte_ring* offload_feedback_ = nullptr;
  struct PendingOpen {
    rte_mbuf* m;
    ParsedPacket pp;
    Session* s;
    SessionUuid uuid;  // the session may be replaced later in the same burst
    SealLayout layout;
    Dir dir;
    bool bare;
  };
  PendingOpen open_queue_[kMaxBurst];
  uint32_t open_count_ = 0;
  // Handoff backpressure (retry_held)
  void hand_off(rte_mbuf* m, uint32_t owner);
  rte_mbuf* held_[kMaxBurst];
  uint32_t held_owner_[kMaxBurst];
  uint32_t held_n_ = 0;
  uint32_t held_since_ms_ = 0;
};

}  // namespace wp
