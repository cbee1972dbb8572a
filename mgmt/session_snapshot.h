// The session snapshot the REST API answers from (GET /api/v1/sessions,
// /sessions/{uuid}, per-path and per-peer counts, per-application totals),
// built by the mgmt event thread from the workers' session events
// (mgmt/session_feed.h says why events and not the workers' tables).
//
// Compact at scale (docs/operations.md § Session snapshot memory): one
// SessionEntry of 120 B per session (only what REST shows, names as ids in a
// per-snapshot string table), in a dense array sized to the live count, plus
// a 4-byte slot per session (at most 2 per session once it grows) in an
// order-preserving open-addressing index keyed by UUID: the slot a UUID
// hashes to is its top bits, and each run of slots is kept sorted, so the
// index in slot order is the sessions in UUID order (cursor paging stable
// while sessions come and go) and a lookup probes a couple of slots. UUIDs
// are random (RFC 4122 v4, chosen by ingress routers), so runs stay short.
// The std::map of full Session copies with three std::strings each that this
// replaced took ~380 B per session (perf/bench_snapshot.cc).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "dataplane/control/router_model.h"
#include "dataplane/ip/ipv6.h"
#include "dataplane/session/events.h"
#include "mgmt/svr6_view.h"

namespace wp::mgmt {

// A session as REST shows it. `session` holds what the snapshot keeps (uuid,
// tuples, interfaces, peers, next hop, counters, migrations, application);
// its other fields are defaults.
struct SessionView {
  Session session;
  uint16_t worker = 0;
  bool established = false;
  uint64_t created_epoch_ms = 0;
  uint64_t last_epoch_ms = 0;  // last packet
  std::string tenant, service, security;
  // An IPv4 session between IPv6 waypoints (docs/ipv6.md): its IPv6 waypoint leg,
  // which REST shows in place of the stand-ins `session` holds on its WAN side.
  std::optional<Svr6Waypoints> waypoints6;
  // At a transit router with a leg on IPv6 waypoints: `waypoints6` the leg it
  // arrived on, this the leg it left on (either may be IPv4 waypoints).
  std::optional<Svr6Waypoints> onward6;
};

struct SessionQuery {
  std::string tenant, service;
  std::optional<Ipv4> addr;  // any address of the session, before or after NAT
  // An IPv6 address of the session: IPv6 sessions (SessionSnapshot6), and the IPv6
  // waypoints of IPv4 sessions between IPv6 waypoints.
  std::optional<Ipv6> addr6;
  uint32_t limit = 100;
  std::optional<SessionUuid> after;  // paging cursor
};

// Sessions, packets and bytes (both directions) by application (nDPI id; 0 = Unknown: not
// recognised, or not yet). A session counts for the application it has as of its last
// event; when that changes (classified after its first packets) its totals move with it.
struct AppTotals {
  uint64_t sessions = 0, packets = 0, bytes = 0;
};

// One tracked session, packed: 120 B (Session alone is 152).
struct SessionEntry {
  struct Tuple {  // FiveTuple less its protocol (kept below)
    Ipv4 src = 0, dst = 0;
    uint16_t sport = 0, dport = 0;
  };
  SessionUuid uuid{};
  uint64_t packets[2] = {0, 0};  // by Dir
  uint64_t bytes[2] = {0, 0};
  Tuple original, left, back;  // Session::original, out_fwd.tuple, out_rev.tuple
  Ipv4 next_hop = 0;           // out_fwd.next_hop
  // Wall-clock ms since the epoch, 48 bits each (good to the year 10889).
  uint32_t created_lo = 0, last_lo = 0;
  uint16_t created_hi = 0, last_hi = 0;
  uint16_t tenant = 0, service = 0, security = 0;  // SnapshotNames ids (0: none)
  uint16_t migrations = 0, app = 0;
  int16_t left_peer = -1, back_peer = -1;    // out_fwd.peer, out_rev.peer
  int8_t left_iface = -1, back_iface = -1;  // out_fwd.iface, out_rev.iface
  uint8_t proto_original = 0, proto_left = 0, proto_back = 0;
  uint8_t worker : 7 = 0;  // dataplane.workers is at most 64
  uint8_t established : 1 = 0;

  uint64_t created_epoch_ms() const { return uint64_t(created_hi) << 32 | created_lo; }
  uint64_t last_epoch_ms() const { return uint64_t(last_hi) << 32 | last_lo; }
  // An IPv6 session that SVR carries (svr/svr6_lan.h; at a transit router both
  // sides WAN and the internal 0.0.0.0/8 original, worker/context.h transit_ipv6):
  // kept for the peer and path counts, listed and found by its IPv6 view (session_snapshot6.h).
  bool carries_ipv6() const {
    return left_iface == kIfaceSvr6 || back_iface == kIfaceSvr6 ||
           (left_peer >= 0 && back_peer >= 0 && (original.src >> 24) == 0);
  }
  // Does any address of the session, before or after NAT, equal `a`?
  bool touches(Ipv4 a) const {
    return original.src == a || original.dst == a || left.src == a || left.dst == a || back.src == a || back.dst == a;
  }
};
static_assert(sizeof(SessionEntry) == 120, "SessionEntry grew: update docs/operations.md § Session snapshot memory");

// Names (tenant, service, security) interned per snapshot: id 0 is "", ids
// are never reused while in use. When the table is full (config churn over a
// long uptime), the snapshot drops the names no session uses any more.
class SnapshotNames {
 public:
  explicit SnapshotNames(size_t limit = 65535) : limit_(limit) { names_.emplace_back(); }
  // The id of `name`, added when new; nullopt when the table is full.
  std::optional<uint16_t> intern(std::string_view name);
  // The id of `name` when known (a query's filter), nullopt otherwise.
  std::optional<uint16_t> find(std::string_view name) const;
  const std::string& name(uint16_t id) const { return names_[id]; }
  size_t size() const { return names_.size(); }
  // Keeps only the ids `used` marks (by id), renumbering them; returns old id -> new id.
  std::vector<uint16_t> compact(const std::vector<bool>& used);

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::vector<std::string> names_;
  std::unordered_map<std::string, uint16_t, Hash, std::equal_to<>> ids_;
  size_t limit_;
};

// Dense array of entries in chunks (no reallocation of the whole array, no
// slack beyond one chunk), removal by moving the last entry into the hole.
class EntryArray {
 public:
  static constexpr uint32_t kChunkBits = 13;  // 8192 entries, ~1 MB
  static constexpr uint32_t kChunk = 1u << kChunkBits;
  SessionEntry& operator[](uint32_t i) { return chunks_[i >> kChunkBits][i & (kChunk - 1)]; }
  const SessionEntry& operator[](uint32_t i) const { return chunks_[i >> kChunkBits][i & (kChunk - 1)]; }
  uint32_t size() const { return size_; }
  uint32_t push();  // index of a new default entry
  void pop();       // drops the last entry
  size_t chunk_bytes() const { return chunks_.size() * kChunk * sizeof(SessionEntry); }

 private:
  std::vector<std::unique_ptr<SessionEntry[]>> chunks_;
  uint32_t size_ = 0;
};

class SessionSnapshot6;  // mgmt/session_snapshot6.h

class SessionSnapshot {
 public:
  // `capacity`: the most sessions tracked (mgmt.max_sessions); more are
  // counted in overflow(). `name_limit` is for tests.
  explicit SessionSnapshot(size_t capacity, size_t name_limit = 65535);
  ~SessionSnapshot();
  // The IPv6 sessions (their own compact store, same capacity); the methods
  // here are IPv4's only.
  SessionSnapshot6& v6() { return *v6_; }
  const SessionSnapshot6& v6() const { return *v6_; }
  // Applies one event (feed thread).
  void apply(const SessionEvent& ev, const RouterModel& model, const DataplaneClock& clock);
  // Sessions matching `q` in UUID order after the cursor; `more` is true when
  // the page was cut at `limit`.
  std::vector<SessionView> page(const SessionQuery& q, bool& more) const;
  std::optional<SessionView> find(const SessionUuid& id) const;
  // Calls `fn(const SessionEntry&)` for every session in UUID order, under the
  // snapshot's lock (nothing copied: /api/v1/paths and /api/v1/peers count
  // over it). `fn` must not call back into the snapshot.
  template <typename Fn>
  void for_each(Fn&& fn) const {
    std::lock_guard lock(mu_);
    for (uint32_t idx : index_)
      if (idx != kEmpty) fn(entries_[idx]);
  }
  size_t size() const;
  // Every application seen since start (live and closed sessions alike).
  std::map<uint16_t, AppTotals> app_totals() const;
  uint64_t overflow() const { return overflow_.load(std::memory_order_relaxed); }
  // Heap the snapshot holds (entries, index, names): for tests and the bench.
  size_t memory_bytes() const;
  size_t index_slots() const;
  // Checks the index invariants (sorted, every entry reachable from its home
  // slot, dense array and index agree); "" when fine. For tests.
  std::string check() const;

 private:
  static constexpr uint32_t kEmpty = UINT32_MAX;
  static constexpr uint32_t kMinBits = 10;

  // Index (under mu_).
  size_t home(const SessionUuid& id) const;
  // Slot holding `id`, or -1.
  ptrdiff_t slot_of(const SessionUuid& id) const;
  // Inserts entry `idx` (its uuid absent); false when the run would pass the end.
  bool index_insert(uint32_t idx);
  void index_erase(size_t slot);
  // Re-lays the index with 2^bits home slots.
  void rebuild(uint32_t bits);
  void add_to_index(uint32_t idx);
  uint16_t name_id(std::string_view name);
  void fill(SessionView& v, const SessionEntry& e) const;
  // Moves the counters the session gained since its last event (and the session itself
  // when its application changed) into app_totals_. `before`: the entry, or null when new.
  void count_app(const Session& s, const SessionEntry* before);

  mutable std::mutex mu_;
  size_t capacity_;
  SnapshotNames names_;
  EntryArray entries_;
  std::vector<uint32_t> index_;  // entry index by slot, kEmpty when free; 2^bits_ homes + tail
  uint32_t bits_ = 0;
  size_t shrink_retry_below_ = SIZE_MAX;
  std::map<uint16_t, AppTotals> app_totals_;
  // The IPv6 waypoint legs of the IPv4 sessions between IPv6 waypoints, by UUID,
  // resolved once, at the first event (svr6_view.h): other sessions pay nothing.
  std::map<SessionUuid, Svr6Waypoints> waypoints6_;
  std::map<SessionUuid, Svr6Waypoints> onward6_;  // transit sessions' onward legs (SessionView::onward6)
  std::atomic<uint64_t> overflow_{0};  // sessions not tracked: snapshot full
  std::unique_ptr<SessionSnapshot6> v6_;
};

}  // namespace wp::mgmt
