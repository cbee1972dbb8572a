// Session lifecycle events: workers -> offload, HA and IPFIX threads.
//
// docs/architecture.md § Threads: workers talk to other threads only through bounded
// single-producer rings with drop counters, and nobody else walks a live
// session table. So each worker posts a copy of the session (a few cache lines,
// no pointers into the table) on every lifecycle step into one SPSC ring per
// enabled consumer and worker. Posting never blocks: a full ring drops the event
// and counts it per consumer (`<consumer>_events_dropped`), and the consumer
// decides what a gap means (HA resyncs, IPFIX loses a record, offload leaves the
// session in software). A consumer that is not enabled costs one branch.
//
// Times in a session (created_ms, last_ms, event.now_ms) are the workers'
// millisecond clock, `dataplane_now_ms()`; `DataplaneClock` turns them into
// wall-clock milliseconds since the Unix epoch for export.
#pragma once

#include <rte_cycles.h>

#include <cstdint>
#include <ctime>
#include <string_view>

#include "dataplane/session/session.h"

namespace wp {

enum class SessionEventKind : uint8_t {
  created,      // first packet accepted, session in the table
  established,  // handshake complete on every WAN leg and a reverse packet seen
  update,       // periodic refresh of a live session (counters, timestamps)
  closed,       // removed from the table; `reason` says why
};

// Values are IPFIX flowEndReason (IANA IE 136) so the exporter can copy them.
enum class SessionEndReason : uint8_t {
  none = 0,
  idle_timeout = 1,
  active_timeout = 2,
  end_of_flow = 3,  // FIN both ways or RST
  forced_end = 4,   // replaced by a new session with the same ports, policy change, shutdown
  lack_of_resources = 5,
  // Not an IPFIX flowEndReason: HA gave the session back to the peer, which carries it on
  // (HaFollower: a hand-back). Posted to the mgmt feed alone: REST forgets it, IPFIX exports
  // nothing (the peer goes on exporting it under the same UUID).
  handed_over = 6,
};

// Which kinds a consumer takes (bit per SessionEventKind): a worker posts
// nothing a consumer would throw away.
inline constexpr uint8_t event_bit(SessionEventKind k) { return static_cast<uint8_t>(1u << static_cast<uint8_t>(k)); }
inline constexpr uint8_t kAllEventKinds = 0x0f;

enum class EventConsumer : uint8_t { offload = 0, ha = 1, ipfix = 2, count };
inline constexpr size_t kEventConsumers = static_cast<size_t>(EventConsumer::count);
inline constexpr std::string_view kEventConsumerNames[kEventConsumers] = {"offload", "ha", "ipfix"};

struct SessionEvent {
  SessionEventKind kind;
  SessionEndReason reason;
  uint16_t worker;
  uint32_t now_ms;  // worker clock when posted
  Session session;  // a copy: counters and flags as of now_ms
};
static_assert(sizeof(SessionEvent) % 4 == 0, "rte_ring element size must be a multiple of 4");

// The workers' millisecond clock (TSC based, monotonic, shared by all lcores).
inline uint32_t dataplane_now_ms() {
  uint64_t hz = rte_get_tsc_hz();
  return static_cast<uint32_t>(rte_get_tsc_cycles() / (hz >= 1000 ? hz / 1000 : 1));
}

// Maps the workers' clock to Unix epoch milliseconds: sample both once, then
// add the (wrap-safe) difference.
struct DataplaneClock {
  uint32_t base_ms = 0;
  uint64_t base_epoch_ms = 0;
  static DataplaneClock now() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return {dataplane_now_ms(), uint64_t(ts.tv_sec) * 1000 + uint64_t(ts.tv_nsec) / 1000000};
  }
  uint64_t epoch_ms(uint32_t worker_ms) const {
    return base_epoch_ms + static_cast<int64_t>(static_cast<int32_t>(worker_ms - base_ms));
  }
};

}  // namespace wp
