// The HA thread's logic (docs/architecture.md § HA, proto/ha.proto).
//
// Sync: session events from every worker's HA ring become SessionOps,
// batched into messages (sync_batcher.h) and multicast to the pair group.
// The peer's ops are decoded (session_codec.h) and queued to the owning
// worker's inbound ring; a full ring keeps them in a bounded backlog here,
// never blocking anyone. A worker whose event ring dropped something is asked
// to republish its whole table (the affected range) as updates.
// Membership (ha_membership.cc): on joining with the peer present, and
// whenever the peer joins, each node sends its full state as a resync
// (chunks, then done). A (re)joining node answers for nothing, not even its
// own addresses, until it has applied the peer's resync (preempt; with
// no_preempt it waits until the peer leaves). Membership is acted on only
// inside votequorum's quorate partition: a node whose peer left a quorate
// group first makes the peer's sessions its own in every worker
// (HaDataplane::adopt_peer, acknowledged per worker), then takes over the
// peer's addresses (gratuitous ARP from the control thread). A node alone in
// a group that is not quorate (its corosync just restarted: with two_node
// and wait_for_all it is not quorate until it sees the peer) takes nothing;
// one that loses quorum gives the peer's addresses up at once and its own
// after `unquorate_release_ms`. A node that loses corosync gives its
// addresses up, since it cannot tell whether the peer took them.
// Every ownership change raises a pair-wide epoch carried in HA messages and
// gratuitous ARPs: of two claims on one address the older yields, and an
// owner that sees its address announced as taken over while it is quorate
// defends it with a newer epoch (RFC 5227 § 2.4), so a partition of the
// corosync ring with both nodes alive ends with each answering for its own.
#pragma once

#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <memory_resource>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "dataplane/worker/shared.h"
#include "ha/ha_status.h"
#include "ha/packed_ops6.h"
#include "ha/peer_backlog.h"
#include "ha/replication_ledger.h"
#include "ha/sync_batcher.h"
#include "ha/sync_encoder.h"
#include "ha/transport.h"

namespace wp::ha {

struct HaSettings {
  uint32_t node_id = 0;
  bool preempt = true;
  uint32_t batch_ms = 1;
  SessionBatcher::Limits limits;
  // #17: batches and resync chunks LZ4-compressed on the wire (pb::Compressed).
  bool compress = true;
  size_t max_outbox_bytes = 64u << 20;  // unsent messages; beyond it events wait in the rings
  size_t max_backlog_ops = 1u << 21;    // decoded peer ops waiting for a worker's ring
  uint32_t reconnect_ms = 1000;
  size_t max_unacked_ops = 1u << 20;  // sessions kept for re-sending until the peer acknowledges them
  uint32_t ack_interval_ms = 2;        // the peer hears our cumulative Ack at most this often
  // #17: the sync encoder (sync_encoder.h) on a thread of its own; false: the
  // HA thread runs it inline in poll() (unit tests).
  bool sender_thread = false;
  size_t sender_queue_messages = 256;  // encoded messages between the encoder and the HA thread
  // Without quorum, our own addresses are released after this long.
  uint32_t unquorate_release_ms = 1000;
  // Alone in a quorate group whose corosync membership still holds the
  // peer: its waypointd may be about to join (CPG and votequorum report a
  // merge separately), so wait this long before taking its addresses.
  uint32_t peer_join_grace_ms = 2000;
};

class HaNode : public TransportHandler {
 public:
  using Connect = std::function<std::unique_ptr<Transport>(std::string& error)>;
  HaNode(DataplaneShared& shared, HaSettings settings, Connect connect);
  ~HaNode() override;

  // One pass of the HA thread: transport, events, batches, inbound, state.
  // `now_ms` is Unix epoch milliseconds. Returns how much work was done.
  uint32_t poll(uint64_t now_ms);
  int fd() const { return transport_ ? transport_->fd() : -1; }
  HaStatus& status() { return status_; }
  const HaStatus& status() const { return status_; }
  bool peer_present() const { return peer_present_; }
  bool resync_in_progress() const { return resync_out_active_; }
  // Stops the sender thread, if any (also done by the destructor); the
  // owner of the HA thread calls it after that thread ended.
  void stop_sender() { encoder_.stop(); }
  size_t backlog() const { return backlog_.size(); }

  void on_message(const Member& from, const void* data, size_t len) override;
  void on_membership(const std::vector<Member>& members, const std::vector<Member>& left,
                     const std::vector<Member>& joined) override;
  void on_quorum(bool quorate, const std::vector<uint32_t>& members) override;
  bool quorate() const { return quorate_; }
  uint64_t epoch() const { return epoch_; }

 private:
  enum class State { connecting, syncing, active, standby, alone, unquorate };
  const RouterModel& model() const { return *shared_.model.load(std::memory_order_acquire); }
  void watch_drops();
  // #17: encoded messages from the sync encoder -> stamped, tracked, outbox.
  uint32_t take_encoded();
  // `track`: the message carries session ops the peer must acknowledge.
  void send(pb::HaMessage& m, bool track = false);
  void note_own(const MessageHeader& h);
  void note_ack_due(const pb::HaMessage& m);
  void send_ack();
  void resend_unacked();
  void publish_lag();
  void note_peer_copy(bool remove, const Session& s);
  void begin_reconcile();
  void reconcile();
  uint32_t flush_outbox();
  bool inbound_idle() const { return backlog_.idle(shared_.ha.inbound) && backlog6_.idle(shared_.ha.inbound6); }
  void apply_ops(const google::protobuf::RepeatedPtrField<pb::SessionOp>& ops);
  bool apply_packed(const pb::PackedOps& packed, const Member& from);
  bool apply_packed6(const pb::PackedOps& packed, const Member& from);  // #19: routed IPv6 sessions
  bool apply_packed_svr6(const pb::PackedOps& packed, const Member& from);  // #19: IPv6 sessions over SVR
  void start_resync_out();
  void step_resync_out();
  void send_keys();
  void check_keys(const pb::KeyUpdate& k);
  // IKE and Child SAs to and from the IKE service (ipsec_sync.cc).
  uint32_t pump_ike();
  void take_ike(const pb::IkeSync& sync);
  void request_ike_dump();
  bool ike_dump_sent();
  void peer_joined();
  void found_alone();
  void decide_alone();
  void lose_quorum();
  void step_quorum();
  void step_defense();
  uint64_t next_epoch();
  void give_up_peer_addresses();
  void begin_takeover();
  void step_takeover();
  void step_claim();
  void release_peer_addresses(uint64_t claim_epoch);
  void transport_lost();
  void check_split_brain();
  void publish_view();

  DataplaneShared& shared_;
  HaSettings settings_;
  Connect connect_;
  std::unique_ptr<Transport> transport_;
  DataplaneClock clock_;
  MessageStamp stamp_;
  HaStatus status_;
  State state_ = State::connecting;
  uint64_t now_ms_ = 0;
  uint64_t last_connect_try_ms_ = 0;
  bool joined_ = false;
  bool peer_present_ = false;
  const RouterModel* keys_sent_for_ = nullptr;  // the model whose pair keys the peer last heard
  uint32_t peer_node_ = 0;
  uint64_t peer_incarnation_ = 0;

  SyncEncoder encoder_;  // #17: drains the event rings and packs (its own thread with sender_thread)
  std::deque<std::string> outbox_;
  size_t outbox_bytes_ = 0;
  PeerBacklog backlog_;
  PeerBacklog6 backlog6_;
  ReplicationLedger ledger_;
  static constexpr size_t kInBlock = 256 * 1024;  // first arena block for decoding a peer message
  std::unique_ptr<char[]> in_block_;
  BodyCodec codec_;  // #17: LZ4 of incoming bodies and re-sent ones (this thread only; the encoder has its own)
  PackedOpsReader packed_in_;  // #17: reused for every incoming packed body (formats 1 and 2)
  Packed6Reader packed6_in_;  // #19
  PackedOpsReader svr6_in_{kPackedSvr6RecordBytes, kPackedSvr6Format, "packed svr6 ops"};  // #19
  uint64_t last_protocol_log_ms_ = 0;
  // The peer's sessions we hold copies of, by UUID (what a remove needs), and
  // the UUIDs its current resync (and live batches meanwhile) listed: after a
  // complete resync, a copy it did not list is stale and removed.
  struct PeerCopy {
    FiveTuple original;
    FiveTuple out_rev;
  };
  struct UuidHash {  // UUIDs are random (version 4): two words of them hash well
    size_t operator()(const SessionUuid& u) const {
      uint64_t a, b;
      std::memcpy(&a, u.data(), 8);
      std::memcpy(&b, u.data() + 8, 8);
      return static_cast<size_t>(a ^ (b * 0x9e3779b97f4a7c15ull));
    }
  };
  static constexpr size_t kPeerCopiesReserve = size_t{1} << 18;
  // #17: their nodes come from a pool of this thread's, not one malloc each
  // (with the page faults of a heap that grows and shrinks): declared first, gone last.
  std::pmr::unsynchronized_pool_resource copy_pool_;
  std::pmr::unordered_map<SessionUuid, PeerCopy, UuidHash> peer_copies_{&copy_pool_};
  std::pmr::unordered_set<SessionUuid, UuidHash> resync_listed_{&copy_pool_};
  bool collecting_ = false;
  bool ack_due_ = false;  // the peer's messages up to ack_seq_ are applied: acknowledge them
  uint64_t ack_incarnation_ = 0;
  uint64_t ack_seq_ = 0;
  uint64_t last_ack_ms_ = 0;
  std::vector<uint64_t> drops_seen_;  // per worker ha_events_dropped

  // Our resync to the peer.
  bool resync_out_active_ = false;
  bool resync_out_finishing_ = false;  // the encoder was told to end it (finish_resync)
  uint64_t resync_out_id_ = 0;
  uint32_t resync_out_chunks_ = 0;
  uint64_t resync_out_sessions_ = 0;
  std::vector<uint32_t> republish_target_;
  // The peer's resync to us.
  ResyncTracker resync_in_;
  bool resync_in_complete_ = false;
  uint64_t resync_in_started_ms_ = 0;
  bool claim_pending_ = false;
  // Takeover: adopt the peer's sessions, then announce its addresses.
  bool takeover_pending_ = false;
  uint32_t takeover_gen_ = 0;
  uint64_t takeover_started_ms_ = 0;
  uint64_t split_brain_arps_seen_ = 0;
  uint64_t last_split_log_ms_ = 0;
  // Quorum (votequorum's view through the transport).
  bool quorate_ = false;
  bool peer_in_quorum_ = false;  // the peer's corosync is in our membership
  bool peer_left_ = false;       // the peer was in our group and left (not: we joined alone)
  uint64_t alone_since_ms_ = 0;
  uint64_t quorum_lost_ms_ = 0;  // 0: quorate, or nothing of ours left to release
  // Ownership epochs: ours (max seen + 1 per change), our last takeover's,
  // and the last takeover announcement of our addresses we answered.
  uint64_t epoch_ = 0;
  uint64_t taken_epoch_ = 0;
  uint64_t defended_epoch_ = 0;
};

}  // namespace wp::ha
