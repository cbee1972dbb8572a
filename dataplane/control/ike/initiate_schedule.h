// When waypointd (re)starts an IKE SA toward a peer it initiates to
// (ipsec_peers[].initiate, docs/ipsec.md § Initiating): at once the first
// time, then after every failure (no answer, refused, deleted, dead peer)
// with exponential backoff, base, 2 base, 4 base, ... capped at `max`, so a
// peer that is down or misconfigured is not hammered; an SA that came up
// resets the backoff. Pure logic, no clock of its own (unit-tested in
// ike_service_test); control thread only.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace wp::ike {

class InitiateSchedule {
 public:
  using Clock = std::chrono::steady_clock;
  InitiateSchedule(std::chrono::milliseconds base = std::chrono::seconds(2),
                   std::chrono::milliseconds max = std::chrono::seconds(120))
      : base_(base), max_(max) {}

  // True when a new IKE_SA_INIT is due at `now` (no SA being negotiated or up).
  bool due(Clock::time_point now) const { return !active_ && now >= next_; }
  // A start was made at `now`: nothing more is due until it ended.
  void started() { active_ = true; }
  // It established: the next failure starts over at `base`.
  void established() { failures_ = 0; }
  // The SA failed or went away at `now`: the next start after the backoff.
  void ended(Clock::time_point now) {
    active_ = false;
    next_ = now + delay(failures_);
    if (failures_ < 32) ++failures_;
  }
  // No route toward the peer (no source address yet): try again after `base`.
  void postpone(Clock::time_point now) { next_ = now + base_; }

  bool active() const { return active_; }
  uint32_t failures() const { return failures_; }
  Clock::time_point next() const { return next_; }
  // The wait after `n` failures in a row: base * 2^n, at most max.
  std::chrono::milliseconds delay(uint32_t n) const {
    const auto d = base_ * (uint64_t{1} << std::min<uint32_t>(n, 20));
    return std::min<std::chrono::milliseconds>(d, max_);
  }

 private:
  std::chrono::milliseconds base_, max_;
  bool active_ = false;
  uint32_t failures_ = 0;
  Clock::time_point next_{};  // the epoch: due at once
};

}  // namespace wp::ike
