// What the HA thread reports (GET /api/v1/ha, the SIGUSR1 dump).
//
// Written by the HA thread (and note_uuid()/note_uuids(), under the mutex, by the HA sender
// thread, sync_encoder.h); read by the stats endpoint. Counters are
// relaxed atomics; the membership and role text is swapped under a mutex
// because it changes a few times a day and is read as a whole.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

namespace wp::ha {

#define WP_HA_COUNTERS(X)                                                                                             \
  X(messages_sent)                                                                                                    \
  X(bytes_sent)                                                                                                       \
  X(messages_received) X(bytes_received) X(sessions_sent) X(sessions_received) X(sessions_rejected) X(stale_messages) \
      X(send_retries) X(resyncs_sent) X(resyncs_received) X(resync_requests) X(resync_gaps) X(event_drops_seen)       \
          X(republish_requests) X(inbound_overflow) X(takeovers) X(handbacks) X(claims) X(split_brain_detected)       \
              X(transport_lost) X(key_mismatches) X(quorum_lost) X(ownership_yields) X(address_defenses) X(acks_sent) X(acks_received) X(sessions_resent) X(sessions_reconciled) \
                  X(compressed_messages) X(compressed_raw_bytes) X(compressed_bad) X(protocol_mismatch) X(packed_bad) \
                      X(tunnel_sessions_received) X(tunnel_sessions_rejected) X(sessions6_received) \
                          X(sessions6_rejected) X(packed6_bad) X(inbound6_overflow) X(svr6_sessions_unsynced) \
                              X(svr6_sessions_received)

struct HaStatus {
  enum class Counter : uint8_t {
#define WP_X(n) n,
    WP_HA_COUNTERS(WP_X)
#undef WP_X
        count
  };
  std::atomic<uint64_t> counters[static_cast<size_t>(Counter::count)]{};
  std::atomic<uint64_t> sync_lag_ms{0};  // last: worker posted -> CPG delivered back to us
  std::atomic<uint64_t> sync_lag_max_ms{0};
  std::atomic<uint64_t> last_resync_ms{0};  // last full resync received: request/join -> done applied
  std::atomic<uint64_t> last_resync_sessions{0};
  std::atomic<uint64_t> last_takeover_ms{0};  // peer left -> its addresses announced
  // Replication not yet acknowledged by the peer (replication_ledger.h):
  // session ops, and the age of the oldest; ops forgotten past the bound.
  std::atomic<uint64_t> replication_lag_sessions{0};
  std::atomic<uint64_t> replication_lag_ms{0};
  std::atomic<uint64_t> unacked_forgotten{0};

  void add(Counter c, uint64_t n = 1) { counters[static_cast<size_t>(c)].fetch_add(n, std::memory_order_relaxed); }
  uint64_t get(Counter c) const { return counters[static_cast<size_t>(c)].load(std::memory_order_relaxed); }

  struct View {
    uint32_t node_id = 0;
    std::string state;  // "connecting", "syncing", "active", "standby", "alone", "unquorate"
    bool quorate = false;
    uint64_t epoch = 0;
    std::vector<uint32_t> members;
    bool peer_present = false;
    bool own_held = false;
    bool peer_taken = false;
    std::vector<std::pair<std::string, std::string>> roles;  // address -> "own"|"peer (taken over)"|...
  };
  // The last few session ids sent to / received from the peer, so an
  // operator (and the e2e test) can see one session on both nodes. Kept as
  // raw bytes in a fixed ring (hex only when read): the HA thread notes every
  // session it sends or applies, so this must cost no allocation.
  static constexpr size_t kRecent = 32;
  using Uuid = std::array<uint8_t, 16>;
  struct RecentUuids {
    Uuid ids[kRecent]{};
    size_t count = 0;  // entries in use, oldest first from `next` once full
    size_t next = 0;
    void note(const uint8_t* id);
    std::vector<std::string> hex() const;  // oldest first
  };
  // `uuid` is 16 bytes; one already in the list is not added again.
  void note_uuid(bool sent, const uint8_t* uuid) {
    std::lock_guard lock(mu_);
    (sent ? recent_sent_ : recent_received_).note(uuid);
  }
  // #17: a message's (or a drain's) ids, noted under one lock at its end: a
  // lock and a scan of the list for every synced session cost the sender and
  // the receiver more than the rest of their bookkeeping. Only the last
  // kRecent can stay in the list, so only those are kept here.
  struct RecentBatch {
    Uuid ids[kRecent];
    size_t n = 0;  // ids added, of which the last min(n, kRecent) are held
    void add(const uint8_t* id) { std::memcpy(ids[n++ % kRecent].data(), id, 16); }
  };
  void note_uuids(bool sent, const RecentBatch& b) {
    if (b.n == 0) return;
    std::lock_guard lock(mu_);
    RecentUuids& r = sent ? recent_sent_ : recent_received_;
    for (size_t i = b.n > kRecent ? b.n - kRecent : 0; i < b.n; ++i) r.note(b.ids[i % kRecent].data());
  }
  std::vector<std::string> recent(bool sent) const {
    std::lock_guard lock(mu_);
    return (sent ? recent_sent_ : recent_received_).hex();
  }
  void set_view(View v) {
    std::lock_guard lock(mu_);
    view_ = std::move(v);
  }
  View view() const {
    std::lock_guard lock(mu_);
    return view_;
  }
  std::string json() const;
  // Prometheus text (format 0.0.4) for GET /metrics; `labels` like router="hub-a".
  std::string metrics(const std::string& labels) const;

 private:
  mutable std::mutex mu_;
  View view_;
  RecentUuids recent_sent_, recent_received_;
};

// One timestamped line on stderr: "waypointd: ha: HH:MM:SS.mmm <line>".
void ha_log(const std::string& line);

}  // namespace wp::ha
