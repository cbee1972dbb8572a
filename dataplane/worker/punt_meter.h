// The punt path's meter in a worker (docs/operations.md § Punt path): one
// token bucket per protocol class (punt_class.h), each the class's
// router-wide rate (`router.punt`) split evenly over the workers and the
// control thread's dispatcher, bursts of a quarter second. A worker's IPv4
// (Worker::local_to_control) and IPv6 (Ipv6Input) packets for the router
// spend the same buckets: a class's budget is per router, not per family.
#pragma once

#include <rte_mbuf.h>

#include <algorithm>
#include <array>

#include "dataplane/worker/context.h"
#include "dataplane/worker/punt_class.h"
#include "dataplane/worker/rate_limit.h"

namespace wp {

static_assert(static_cast<size_t>(Counter::punt_other) - static_cast<size_t>(Counter::punt_bgp) + 1 == kPuntClasses);
static_assert(static_cast<size_t>(DropReason::punt_rate_other) - static_cast<size_t>(DropReason::punt_rate_bgp) + 1 ==
              kPuntClasses);
static_assert(std::tuple_size_v<decltype(PuntModel::pps)> == kPuntClasses);

class PuntMeter {
 public:
  explicit PuntMeter(WorkerContext& ctx) : ctx_(ctx) {}

  // True (counted as punt_<class>) when `c`'s bucket admits one more packet;
  // false when `m` was dropped as punt_rate_<class>.
  bool admit(rte_mbuf* m, PuntClass c) {
    const auto i = static_cast<size_t>(c);
    const uint32_t pps = std::max<uint32_t>(ctx_.rm().punt.pps[i] / (ctx_.shared.workers + 1), 1);
    if (!rate_[i].take(ctx_.now_ms, pps, pps / 4 + 8)) {
      ctx_.drop(m, static_cast<DropReason>(static_cast<size_t>(DropReason::punt_rate_bgp) + i));
      return false;
    }
    ctx_.counters->add(static_cast<Counter>(static_cast<size_t>(Counter::punt_bgp) + i));
    return true;
  }

 private:
  WorkerContext& ctx_;
  std::array<TokenBucket, kPuntClasses> rate_{};
};

}  // namespace wp
