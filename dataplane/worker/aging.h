// Aging of a worker's sessions (docs/architecture.md § Sessions): a clock
// sweep over the session table, paced by the clock so that a full pass takes
// period_ms(), spread over the loop iterations in which the millisecond clock
// advanced, and never more than kMaxSlice sessions per iteration.
//
// The sweep reads every slot of the table, used or not, so its pace is a
// trade: one full pass per quarter of the shortest idle timeout (a session
// expires at most 25 % late) and per half update period (live sessions post
// `update` events for IPFIX and the REST snapshot), never faster than
// kMinPeriodMs (at 10 M sessions a faster sweep takes a noticeable share of
// a busy worker) nor slower than kMaxPeriodMs.
#pragma once

#include <cstdint>

#include "dataplane/session/table.h"
#include "dataplane/worker/context.h"

namespace wp {

class Aging {
 public:
  static constexpr uint32_t kMinPeriodMs = 2000;
  static constexpr uint32_t kMaxPeriodMs = 60000;
  static constexpr uint32_t kMaxSlice = 16384;

  explicit Aging(WorkerContext& ctx) : ctx_(ctx) {}
  static uint32_t period_ms(const Timeouts& t, uint32_t update_ms);
  // The slice due since the last call.
  void age();
  // Checks up to `budget` sessions; ends the idle ones (closed event, keys
  // freed) and posts `update` for live ones whose last update is a period old.
  uint32_t expire(uint32_t budget);

 private:
  static void on_expire(void* ctx, Session& s);
  static void on_live(void* ctx, Session& s);
  WorkerContext& ctx_;
  uint32_t last_ms_ = 0;
};

}  // namespace wp
