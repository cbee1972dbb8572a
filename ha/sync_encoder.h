// The sender half of session sync, off the HA thread (#17, docs/architecture.md § HA).
//
// Drains every worker's HA event ring, packs the sessions into batches and
// resync chunks (sync_batcher.h, packed_ops.h), LZ4-compresses and
// serializes each body, and hands the encoded messages to the HA thread
// through a bounded SPSC queue (spsc_queue.h). The HA thread keeps
// everything that needs the Corosync handle or the pair's state: it stamps
// each message (node, incarnation, sequence, epoch) in the order it takes
// them, records it in the replication ledger and sends it; it also keeps
// membership, receive and apply. perf/README.md § HA sync has the profile
// that moved the work here: draining, packing and LZ4 were most of the HA
// thread's time on the sending node, and a CPG send waits for corosync.
//
// Threads and ownership:
// - With start(), poll() runs on a thread of its own (the "HA sender");
//   without it, the HA thread calls poll() itself (unit tests: one thread,
//   deterministic).
// - Only poll()'s thread touches the batchers, the codec, the held list and
//   the rings' consumer side; only the HA thread calls take(),
//   set_peer_present(), begin_resync(), finish_resync() and reset(). Those
//   talk through atomics: a flag, and generation counters the encoder
//   compares with the last it acted on (release by the HA thread, acquire
//   here), so each request is seen once, in order with the ring contents.
// - Order: one encoder drains each ring in order and the queue is FIFO, so
//   a session's updates leave in the order its worker posted them; a resync
//   ends (kind resync_done) behind its last chunk.
// - Backpressure: a full queue keeps the message here (held_) and stops the
//   draining; events then wait in the workers' rings, whose drops are counted
//   (ha_events_dropped) and repaired by a republish, as before. Nothing is
//   dropped between this class and the HA thread.
// - stop() (and the destructor) joins the thread; what is still queued is
//   freed with the queue.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "dataplane/worker/shared.h"
#include "ha/ha_status.h"
#include "ha/spsc_queue.h"
#include "ha/sync_batcher.h"

namespace wp::ha {

// One message ready for the HA thread's stamp: `body` is a serialized
// HaMessage holding only the (compressed) batch or chunk and oldest_event_ms;
// the stamp's envelope is serialized in front of it (protobuf merges
// concatenated messages). A resync_done carries only the counts.
struct EncodedMessage {
  enum class Kind : uint8_t { batch, chunk, resync_done };
  Kind kind = Kind::batch;
  std::string body;
  uint64_t sessions = 0;   // batch/chunk: session ops in it; resync_done: sessions of the whole resync
  uint64_t raw_bytes = 0;  // compressed: the body before LZ4; 0 when it goes uncompressed
  uint64_t oldest_ms = 0;
  uint64_t resync_id = 0;  // chunk, resync_done
  uint32_t chunks = 0;     // resync_done: chunks of the resync
};

class SyncEncoder {
 public:
  struct Settings {
    uint32_t batch_ms = 1;
    SessionBatcher::Limits limits;
    bool compress = true;
    size_t queue_messages = 256;  // 256 x 512 sessions: ~130 k sessions in flight to the HA thread
  };
  SyncEncoder(DataplaneShared& shared, HaStatus& status, const DataplaneClock& clock, Settings s);
  ~SyncEncoder();
  SyncEncoder(const SyncEncoder&) = delete;
  SyncEncoder& operator=(const SyncEncoder&) = delete;

  // poll() on a thread of its own until stop(); idempotent.
  void start();
  void stop();
  bool threaded() const { return thread_.joinable(); }
  // One pass: requests, held messages, the rings, the batch timer. Returns
  // the events and messages it moved. Epoch milliseconds.
  uint32_t poll(uint64_t now_ms);

  // --- HA thread --------------------------------------------------------------
  bool take(std::unique_ptr<EncodedMessage>& out) { return queue_.pop(out); }
  // Live events go out only while the peer is present (a joining peer gets a resync).
  void set_peer_present(bool present) { peer_present_.store(present, std::memory_order_release); }
  // Call before asking the workers to republish: their updates go into chunks of `resync_id`.
  void begin_resync(uint64_t resync_id);
  // Every worker has republished: drain what they posted, send the last
  // chunk, then a resync_done with the counts.
  void finish_resync();
  // Corosync is gone: forget the batches being gathered and any resync.
  void reset() { reset_gen_.fetch_add(1, std::memory_order_release); }
  size_t queued() const { return queue_.size(); }

 private:
  uint32_t drain(const RouterModel& rm);
  void flush(bool force);
  void emit(std::unique_ptr<EncodedMessage> m);
  void encode(SessionBatcher& b, EncodedMessage::Kind kind);

  DataplaneShared& shared_;
  HaStatus& status_;
  DataplaneClock clock_;
  Settings settings_;
  SpscQueue<std::unique_ptr<EncodedMessage>> queue_;

  // HA thread -> encoder.
  std::atomic<bool> peer_present_{false};
  std::atomic<uint64_t> resync_id_{0};
  std::atomic<uint32_t> resync_gen_{0};
  std::atomic<uint32_t> finish_gen_{0};
  std::atomic<uint32_t> reset_gen_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;

  // Encoder's own (poll()'s thread).
  uint64_t now_ms_ = 0;
  uint32_t seen_resync_gen_ = 0, seen_reset_gen_ = 0;
  bool resync_active_ = false;
  uint64_t resync_out_id_ = 0;
  uint32_t chunks_ = 0;
  uint64_t resync_sessions_ = 0;
  SessionBatcher live_, chunk_;
  uint64_t batch_started_ms_ = 0;
  BodyCodec codec_;
  std::deque<std::unique_ptr<EncodedMessage>> held_;  // the queue was full
  std::vector<HaSession6Event> ev6_;  // a burst of the IPv6 rings' events (328 B each: not on the stack)
};

}  // namespace wp::ha
