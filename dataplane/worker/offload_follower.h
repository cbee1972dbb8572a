// A worker applies the offload manager's feedback to its own sessions
// (offload_feedback.h has the message and why it exists). Only the owner
// writes its table, so the manager never touches a live session.
#pragma once

#include <rte_ring.h>

#include <cstdint>

#include "dataplane/worker/context.h"
#include "dataplane/worker/offload_feedback.h"

namespace wp {

class Route6Step;

class OffloadFollower {
 public:
  explicit OffloadFollower(WorkerContext& ctx) : ctx_(ctx) {}
  void set_ring(rte_ring* r) { ring_ = r; }
  // Routed IPv6 sessions: their feedback ring and the worker's IPv6 step (its table).
  void set_ring6(rte_ring* r) { ring6_ = r; }
  void attach6(Route6Step* route6) { route6_ = route6; }
  bool enabled() const { return ring_ != nullptr; }
  // Adds the NIC's counts to the sessions and ends the ones the NIC aged out.
  uint32_t drain();

 private:
  // The NIC's counts of `s` added, `aged` ending it when it is idle by its own clock too.
  void follow(Session& s, const uint64_t packets[2], const uint64_t bytes[2], OffloadFeedbackKind kind);
  WorkerContext& ctx_;
  rte_ring* ring_ = nullptr;
  rte_ring* ring6_ = nullptr;
  Route6Step* route6_ = nullptr;
};

}  // namespace wp
