// Our requests on one IKE SA (RFC 7296 § 2.1, § 2.3), whichever end began
// the SA: message IDs counted from 0 in our direction, one request
// outstanding at a time (window 1), the request resent unchanged with
// exponential backoff, base, 2 base, 4 base, ... `tries` sends in all, then
// the exchange (and with it the IKE SA, § 2.4) has failed. The initiator
// (ike_initiator.h) and the responder's own requests (rekeys and deletes on
// SAs the peer began, ike_responder.h) share it. No clock of its own.
#pragma once

#include <chrono>
#include <cstdint>

#include "dataplane/control/ike/ike_message.h"

namespace wp::ike {

class RequestWindow {
 public:
  using Clock = std::chrono::steady_clock;
  explicit RequestWindow(std::chrono::milliseconds base = std::chrono::milliseconds(500), unsigned tries = 5)
      : base_(base), tries_(tries) {}

  // The ID of our next request (each new one takes it).
  uint32_t next_id() const { return next_id_; }
  uint32_t take_id() { return next_id_++; }
  // A new IKE SA: nothing outstanding, IDs from `first`.
  void reset(uint32_t first = 0) {
    next_id_ = first;
    outstanding_.clear();
    sends_ = 0;
  }
  // `request` (of exchange `ex`, sealed with the ID take_id() gave) leaves
  // now: kept for its retransmissions; returns it.
  const Bytes& send(Bytes request, Exchange ex, Clock::time_point now) {
    outstanding_ = std::move(request);
    exchange_ = ex;
    sends_ = 1;
    next_send_ = now + base_;
    return outstanding_;
  }
  enum class Tick : uint8_t { nothing, resend, failed };
  // At `now`: the retransmission due (resend: `out` set), or failed after the last try.
  Tick tick(Clock::time_point now, Bytes& out) {
    if (outstanding_.empty() || now < next_send_) return Tick::nothing;
    if (sends_ >= tries_) {
      outstanding_.clear();
      return Tick::failed;
    }
    next_send_ = now + base_ * (1u << sends_);
    ++sends_;
    out = outstanding_;
    return Tick::resend;
  }
  bool outstanding() const { return !outstanding_.empty(); }
  // Whether a response with `id` and `ex` answers the outstanding request.
  bool answers(uint32_t id, Exchange ex) const { return outstanding() && id + 1 == next_id_ && ex == exchange_; }
  Exchange exchange() const { return exchange_; }
  void answered() { outstanding_.clear(); }
  unsigned sends() const { return sends_; }

 private:
  std::chrono::milliseconds base_;
  unsigned tries_;
  uint32_t next_id_ = 0;
  Bytes outstanding_;
  Exchange exchange_ = Exchange::ike_sa_init;
  unsigned sends_ = 0;
  Clock::time_point next_send_{};
};

}  // namespace wp::ike
