// The HA thread's logic (docs/architecture.md § HA, proto/ha.proto).
//
// Sync: session events from every worker's HA ring become SessionOps,
// batched into messages (sync_batcher.h) and multicast to the pair group.
// The peer's ops are decoded (session_codec.h) and queued to the owning
// worker's inbound ring; a full ring keeps them in a bounded backlog here,
// never blocking anyone. A worker whose event ring dropped something is asked
// to republish its whole table (the affected range) as updates.
// Membership: on joining with the peer present, and whenever the peer joins,
// each node sends its full state as a resync (chunks, then done). A joining
// node answers for its own addresses only once it has applied the peer's
// resync (preempt; with no_preempt it waits until the peer leaves). A node
// alone in the group, or whose peer left, first makes the peer's sessions
// its own in every worker (HaDataplane::adopt_peer, acknowledged per
// worker), then takes over the peer's addresses (gratuitous ARP from the
// control thread). A node that loses corosync gives its addresses up, since
// it cannot tell whether the peer took them, and rejoins when it can.
// Split brain (link cut, both alive): each side takes the other's addresses;
// the control thread counts ARP for an address we hold from another MAC, and
// while the peer is not a member that is logged as a split brain. When the
// link heals the two resync and each takes its own addresses back.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/worker/shared.h"
#include "ha/ha_status.h"
#include "ha/peer_backlog.h"
#include "ha/sync_batcher.h"
#include "ha/transport.h"

namespace wp::ha {

struct HaSettings {
  uint32_t node_id = 0;
  bool preempt = true;
  uint32_t batch_ms = 1;
  SessionBatcher::Limits limits;
  size_t max_outbox_bytes = 64u << 20;  // unsent messages; beyond it events wait in the rings
  size_t max_backlog_ops = 1u << 21;    // decoded peer ops waiting for a worker's ring
  uint32_t reconnect_ms = 1000;
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
  size_t backlog() const { return backlog_.size(); }

  void on_message(const Member& from, const void* data, size_t len) override;
  void on_membership(const std::vector<Member>& members, const std::vector<Member>& left,
                     const std::vector<Member>& joined) override;

 private:
  enum class State { connecting, syncing, active, standby, alone };
  const RouterModel& model() const { return *shared_.model.load(std::memory_order_acquire); }
  uint32_t drain_events();
  void watch_drops();
  void flush_batches(bool force);
  void send(pb::HaMessage& m);
  uint32_t flush_outbox();
  bool inbound_idle() const { return backlog_.idle(shared_.ha.inbound); }
  void apply_ops(const google::protobuf::RepeatedPtrField<pb::SessionOp>& ops);
  void start_resync_out();
  void step_resync_out();
  void send_keys();
  void check_keys(const pb::KeyUpdate& k);
  void begin_takeover();
  void step_takeover();
  void step_claim();
  void release_peer_addresses();
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

  SessionBatcher live_, chunk_;
  uint64_t batch_started_ms_ = 0;
  std::deque<std::string> outbox_;
  size_t outbox_bytes_ = 0;
  PeerBacklog backlog_;
  std::vector<uint64_t> drops_seen_;  // per worker ha_events_dropped

  // Our resync to the peer.
  bool resync_out_active_ = false;
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
};

}  // namespace wp::ha
