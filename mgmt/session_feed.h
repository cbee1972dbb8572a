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
// and go; compact at scale (mgmt/session_snapshot.h).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

#include "dataplane/session/events6.h"
#include "dataplane/worker/shared.h"
#include "mgmt/ipfix_exporter.h"
#include "mgmt/session_snapshot.h"
#include "mgmt/session_snapshot6.h"

namespace wp::mgmt {

// Fills an IPFIX record from a session event (names from `model`).
IpfixRecord ipfix_record(const SessionEvent& ev, const RouterModel& model, const DataplaneClock& clock);
// The same for an IPv6 session (template 257; session/events6.h).
IpfixRecord ipfix_record6(const Session6Event& ev, const RouterModel& model, const DataplaneClock& clock);

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
  void handle6(const Session6Event& ev, const RouterModel& model);
  uint32_t poll6(uint32_t worker, const RouterModel& model);

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
