#include "mgmt/worker_watchdog.h"

namespace wp::mgmt {

WorkerWatchdog::WorkerWatchdog(const WorkerCounters* counters, uint32_t workers, uint64_t period_us)
    : counters_(counters), last_(workers, 0), period_us_(period_us) {}

WorkerWatchdog::Verdict WorkerWatchdog::poll(uint64_t now_us) {
  Verdict v;
  if (!started_ || now_us < period_end_) {
    if (!started_) {
      for (size_t w = 0; w < last_.size(); ++w) last_[w] = counters_[w].epoch.load(std::memory_order_relaxed);
      period_end_ = now_us + period_us_;
      started_ = true;
    }
    return v;
  }
  v.period_ended = true;
  for (size_t w = 0; w < last_.size(); ++w) {
    const uint64_t epoch = counters_[w].epoch.load(std::memory_order_relaxed);
    if (epoch == last_[w]) v.stalled.push_back(static_cast<uint32_t>(w));
    last_[w] = epoch;
  }
  v.healthy = v.stalled.empty();
  period_end_ = now_us + period_us_;
  return v;
}

}  // namespace wp::mgmt
