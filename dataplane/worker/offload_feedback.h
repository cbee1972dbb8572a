// What the offload manager tells a worker about its offloaded
// sessions (docs/architecture.md § Offload, § Threads).
//
// Packets the NIC forwards never reach the worker, so its session would look
// idle and its counters would stop. The offload manager reads the rules'
// counters back (COUNT query) and posts the growth, per session, into the
// owning worker's feedback ring (SPSC, bounded); the worker adds it to the
// session's packets/bytes and refreshes last_ms, so aging, stats, REST and
// IPFIX see the whole session, worker and NIC together. When the NIC reports
// a rule aged out (AGE), the manager posts `aged` and the worker ends the
// session as idle. Counts are posted only once the ring took them (the
// manager keeps what did not fit for the next poll), so none are lost.
#pragma once

#include <cstdint>

#include "dataplane/ip/tuple.h"
#include "dataplane/svr/metadata.h"

namespace wp {

enum class OffloadFeedbackKind : uint8_t {
  counters,  // add packets/bytes, refresh last_ms
  aged,      // the NIC saw no packet for the idle timeout: end the session (after adding counters)
};

struct OffloadFeedback {
  FiveTuple key;  // the session's forward arrival key (Session::key_a())
  OffloadFeedbackKind kind;
  uint8_t pad[3] = {};
  SessionUuid uuid;
  uint64_t packets[2];  // by Dir
  uint64_t bytes[2];    // IP bytes, as the worker counts them
};
static_assert(sizeof(OffloadFeedback) % 4 == 0, "rte_ring element size must be a multiple of 4");

// The same for an offloaded routed IPv6 session (SessionTable6), in a ring of
// its own per worker so IPv4's element stays as it is.
struct OffloadFeedback6 {
  FiveTuple6 key;  // the session's original tuple (its forward arrival key)
  OffloadFeedbackKind kind;
  uint8_t pad[2] = {};
  SessionUuid uuid;
  uint64_t packets[2];  // by Dir
  uint64_t bytes[2];    // IP bytes (IPv6 header included), as Route6Step counts them
};
static_assert(sizeof(OffloadFeedback6) % 4 == 0, "rte_ring element size must be a multiple of 4");

}  // namespace wp
