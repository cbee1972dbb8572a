// When waypointd may tell systemd it is alive (WATCHDOG=1): only while
// every worker's loop is advancing. Each worker bumps its counters.epoch at
// the end of every loop iteration, busy or idle (an idle worker sleeps at
// most 200 us between iterations; dataplane/worker/worker.cc), so a worker
// whose epoch did not move over a whole period is stuck: in a loop, a
// deadlock, or stopped by the debug hook. The control thread calls poll()
// from its loop; at the end of each period (WATCHDOG_USEC/2) it compares
// every worker's epoch with the one it read a period before. A stuck worker
// stops the pings, and systemd restarts the unit within 1.5 x WatchdogSec
// of the stall: at most one period until the pings stop, then the timeout.
// Reads relaxed atomics only; the workers never see it.
#pragma once

#include <cstdint>
#include <vector>

#include "dataplane/worker/counters.h"

namespace wp::mgmt {

class WorkerWatchdog {
 public:
  struct Verdict {
    bool period_ended = false;      // false: nothing to do yet
    bool healthy = false;           // every worker advanced: ping
    std::vector<uint32_t> stalled;  // workers whose epoch stood still
  };

  // `counters[0..workers)`: the workers' counters, read for their epoch.
  WorkerWatchdog(const WorkerCounters* counters, uint32_t workers, uint64_t period_us);

  // `now_us`: a monotonic clock. The first call only starts the first period.
  Verdict poll(uint64_t now_us);

 private:
  const WorkerCounters* counters_;
  std::vector<uint64_t> last_;
  uint64_t period_us_;
  uint64_t period_end_ = 0;
  bool started_ = false;
};

}  // namespace wp::mgmt
