// Session ops into bounded protobuf messages (proto/ha.proto).
//
// Every session event becomes one SessionOp; ops are gathered into one
// message until it reaches max_bytes or max_ops (or the HA thread's batch
// timer fires), so a burst of new sessions costs a few CPG messages, not one
// each. The same batcher cuts a resync into chunks numbered from 0, and the
// receiver's ResyncTracker checks that it saw every chunk before it trusts
// the resync as complete.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <memory>
#include <string>

#include <google/protobuf/arena.h>

#include "ha/packed_ops.h"
#include "ha/packed_ops6.h"
#include "ha/packed_svr6.h"
#include "ha/session_codec.h"

namespace wp::ha {

// Wall-clock milliseconds: what the HA thread and the sender thread pass to poll()
// and stamp on events (one definition for both, and for unity batches).
inline uint64_t epoch_ms() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return uint64_t(ts.tv_sec) * 1000 + uint64_t(ts.tv_nsec) / 1000000;
}

// Stamps the envelope (protocol, node, incarnation, per-sender sequence).
class MessageStamp {
 public:
  MessageStamp(uint32_t node_id, uint64_t incarnation) : node_id_(node_id), incarnation_(incarnation) {}
  std::string finish(pb::HaMessage& m);
  uint64_t incarnation() const { return incarnation_; }

 private:
  uint32_t node_id_;
  uint64_t incarnation_;
  uint64_t seq_ = 0;
};

// The envelope of a serialized HaMessage without its body: what a node needs
// of its own messages, which CPG delivers back to it (the sync lag), without
// decoding every session inside. `body` is the body's field number
// (pb::HaMessage::kBatch ...), 0 if none.
struct MessageHeader {
  uint32_t protocol = 0;
  uint32_t node_id = 0;
  uint64_t incarnation = 0;
  uint64_t seq = 0;
  uint64_t oldest_event_ms = 0;
  uint64_t epoch = 0;
  uint32_t body = 0;
};
// False when `data` is not a well-formed protobuf message.
bool peek_header(const void* data, size_t len, MessageHeader& out);

// #17: batches and resync chunks travel LZ4-compressed (pb::Compressed) when
// that makes them smaller. The CPG's bytes/s is what limits the sync rate
// (perf/bench_ha.sh), and session records repeat names, addresses and times.
inline constexpr size_t kMaxInflated = 4u << 20;  // a Compressed body never inflates past this
inline constexpr size_t kMinCompressed = 256;     // smaller bodies go as they are
struct BodyCodec {
  std::string raw;  // reused between messages: no allocation once grown
  std::string lz4;
};
// Replaces m's batch or resync_chunk by its Compressed form; false (m as it
// was) when m has neither, the body is small, or LZ4 does not shrink it.
bool compress_body(pb::HaMessage& m, BodyCodec& codec);
// m's Compressed body inflated back into its batch or resync_chunk; true with
// m unchanged when it has no Compressed body. False when the data is corrupt,
// inflates past kMaxInflated, holds anything but a batch or resync chunk, or
// would change the envelope (node, incarnation, sequence, epoch).
bool expand_body(pb::HaMessage& m, BodyCodec& codec);

// Sessions go in as packed records (packed_ops.h, #17: what HaNode sends);
// protobuf ops (add()/added(), protocol 1's encoding, still decoded) are built
// in place in the outgoing message. Both live in buffers of the batcher's
// (an arena for the message) reused after each message: encoding a session
// allocates nothing from the heap once they have grown to a batch.
class SessionBatcher {
 public:
  struct Limits {
    // #17: packed records are 128 B before LZ4 (~25 B after); 64 KB = 512 sessions a
    // message, so 300 k sessions/s is ~600 CPG messages/s (perf/README.md § HA sync).
    size_t max_bytes = 64 * 1024;
    size_t max_ops = 1024;
  };
  explicit SessionBatcher(Limits l);
  SessionBatcher() : SessionBatcher(Limits{}) {}
  SessionBatcher(const SessionBatcher&) = delete;
  SessionBatcher& operator=(const SessionBatcher&) = delete;

  // A session as a packed record.
  void add(PackedKind kind, uint64_t event_epoch_ms, const Session& s, const RouterModel& rm,
           const DataplaneClock& clock);
  // A routed IPv6 session as a packed6 record (#19, packed_ops6.h), beside the IPv4 ones.
  void add(PackedKind kind, uint64_t event_epoch_ms, const Session6& s, const RouterModel& rm,
           const DataplaneClock& clock);
  // An IPv6 session an IPv4 SVR session carries: both halves in one packed_svr6 record (#19, packed_svr6.h).
  void add(PackedKind kind, uint64_t event_epoch_ms, const Session6& s6, Svr6Role role, const Session& carrier,
           const RouterModel& rm, const DataplaneClock& clock);
  // A new protobuf op to fill in; call added() after filling it.
  pb::SessionOp* add(pb::SessionOp::Kind kind, uint64_t event_epoch_ms);
  void added(const pb::SessionOp* op) { bytes_ += op->ByteSizeLong() + 3; }
  bool full() const {
    return bytes_ + packed_.bytes() + packed6_.bytes() + packed_svr6_.bytes() >= limits_.max_bytes ||
           size_ >= limits_.max_ops || packed_.names_full() || packed6_.names_full() || packed_svr6_.names_full();
  }
  bool empty() const { return size_ == 0; }
  size_t size() const { return size_; }
  uint64_t oldest_ms() const { return oldest_ms_; }

  // The gathered ops as a live batch or a resync chunk, in a message that
  // stays valid until reset(); send it, then reset().
  pb::HaMessage& take_batch();
  pb::HaMessage& take_chunk(uint64_t resync_id, uint32_t chunk_seq);
  // Drops the message and whatever was gathered.
  void reset();

 private:
  pb::HaMessage& message();
  void note_event(uint64_t event_epoch_ms);
  Limits limits_;
  PackedOpsWriter packed_{kPackedRecordBytes, kPackedFormat, kPackedColumnsFormat};  // #17: column-major on the wire
  Packed6Writer packed6_;
  PackedOpsWriter packed_svr6_{kPackedSvr6RecordBytes, kPackedSvr6Format};
  std::unique_ptr<char[]> first_block_;
  google::protobuf::Arena arena_;
  pb::HaMessage* msg_ = nullptr;  // on arena_
  size_t size_ = 0;
  size_t bytes_ = 0;
  uint64_t oldest_ms_ = 0;
};

// Receiver side of one resync: chunks must arrive numbered 0, 1, 2, ... and
// the Done message must count as many chunks as arrived.
class ResyncTracker {
 public:
  enum class Result { ok, gap, unexpected };
  void begin(uint64_t resync_id);
  Result chunk(uint64_t resync_id, uint32_t chunk_seq, size_t sessions);
  Result done(uint64_t resync_id, uint32_t chunks, uint64_t sessions);
  bool active() const { return active_; }
  uint64_t sessions() const { return sessions_; }

 private:
  bool active_ = false;
  bool broken_ = false;
  uint64_t id_ = 0;
  uint32_t next_seq_ = 0;
  uint64_t sessions_ = 0;
};

}  // namespace wp::ha
