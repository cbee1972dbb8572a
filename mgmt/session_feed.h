// The mgmt event thread: drains the workers' session event rings
// (session/events.h, consumer `ipfix`) and feeds the IPFIX exporter and the
// session snapshot the REST API answers from.
//
// Why a snapshot built from events (and not workers answering requests): no
// thread may walk a live worker table (docs/architecture.md § Threads), and a request
// ring would put REST paging work on the workers' loop. Events already carry a
// full copy of each session on create/established/close and, every
// `update period` (DataplaneShared::session_update_ms, posted from the aging
// sweep), on update. So the snapshot holds every live session the workers
// reported, with counters at most one update period old; a session whose
// events were dropped (ring full, counted as ipfix_events_dropped) may be
// missing from it until its next update. Ordered by UUID so that paging with a
// cursor (the last UUID of the previous page) is stable while sessions come
// and go.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "dataplane/worker/shared.h"
#include "mgmt/ipfix_exporter.h"

namespace wp::mgmt {

struct SessionView {
  Session session;  // copy as of the last event
  uint16_t worker = 0;
  bool established = false;
  uint64_t created_epoch_ms = 0;
  uint64_t last_epoch_ms = 0;  // last packet
  std::string tenant, service, security;
};

struct SessionQuery {
  std::string tenant, service;
  std::optional<Ipv4> addr;  // any address of the session, before or after NAT
  uint32_t limit = 100;
  std::optional<SessionUuid> after;  // paging cursor
};

// Sessions, packets and bytes (both directions) by application (nDPI id; 0 = Unknown: not
// recognised, or not yet). A session counts for the application it has as of its last
// event; when that changes (classified after its first packets) its totals move with it.
struct AppTotals {
  uint64_t sessions = 0, packets = 0, bytes = 0;
};

class SessionSnapshot {
 public:
  explicit SessionSnapshot(size_t capacity) : capacity_(capacity) {}
  // Applies one event (feed thread).
  void apply(const SessionEvent& ev, const RouterModel& model, const DataplaneClock& clock);
  // Sessions matching `q` in UUID order after the cursor; `more` is true when
  // the page was cut at `limit`.
  std::vector<SessionView> page(const SessionQuery& q, bool& more) const;
  std::optional<SessionView> find(const SessionUuid& id) const;
  // Calls `fn(const SessionView&)` for every session in UUID order, under the
  // snapshot's lock (no copy of the whole snapshot: /api/v1/paths and
  // /api/v1/peers count over it). `fn` must not call back into the snapshot.
  template <typename Fn>
  void for_each(Fn&& fn) const {
    std::lock_guard lock(mu_);
    for (const auto& [id, v] : sessions_) fn(v);
  }
  size_t size() const;
  // Every application seen since start (live and closed sessions alike).
  std::map<uint16_t, AppTotals> app_totals() const;
  uint64_t overflow() const { return overflow_.load(std::memory_order_relaxed); }

 private:
  mutable std::mutex mu_;
  // Moves the counters `s` gained since `before` (and the session itself when its
  // application changed) into app_totals_. Under mu_.
  void count_app(const Session& s, const Session* before);
  std::map<SessionUuid, SessionView> sessions_;
  std::map<uint16_t, AppTotals> app_totals_;
  size_t capacity_;
  std::atomic<uint64_t> overflow_{0};  // sessions not tracked: snapshot full
};

// Fills an IPFIX record from a session event (names from `model`).
IpfixRecord ipfix_record(const SessionEvent& ev, const RouterModel& model, const DataplaneClock& clock);

class SessionFeed {
 public:
  SessionFeed(DataplaneShared& shared, SessionSnapshot* snapshot, IpfixExporter* exporter)
      : shared_(shared), snapshot_(snapshot), exporter_(exporter), clock_(DataplaneClock::now()) {}
  ~SessionFeed() { stop(); }
  void start();
  void stop();
  // One pass over every worker's ring; returns the events handled. Flushes the
  // exporter when enough records are queued or `flush_ms` passed.
  uint32_t poll_once(uint64_t now_epoch_ms);
  uint64_t events() const { return events_.load(std::memory_order_relaxed); }
  // Model the feed last read names from; the config commit waits for it
  // (quiescent point of this reader, see live_commit.h).
  std::atomic<uint64_t> quiescent{0};

  static constexpr uint64_t kFlushMs = 100;
  static constexpr uint32_t kFlushRecords = 512;

 private:
  void handle(const SessionEvent& ev, const RouterModel& model);

  DataplaneShared& shared_;
  SessionSnapshot* snapshot_;
  IpfixExporter* exporter_;
  DataplaneClock clock_;
  uint64_t last_flush_ms_ = 0;
  std::atomic<uint64_t> events_{0};
  std::atomic<bool> run_{false};
  std::thread thread_;
};

}  // namespace wp::mgmt
