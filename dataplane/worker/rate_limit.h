// A token bucket on the worker's millisecond clock, for what a sender may
// ask of us per second (ARP to the control thread; new sessions). Per worker,
// so no atomics: each worker meters the share of traffic it receives.
// Tokens are counted in thousandths, so rates below 1000/s still refill
// every millisecond without rounding to zero.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>

namespace wp {

// ICMP and ICMPv6 errors a worker originates (RFC 1812 § 4.3.2.8, RFC 4443
// § 2.4 (f)): each of its senders (routing, NAT64, SVR) meters them in a
// bucket of its own at this rate and burst.
inline constexpr uint32_t kIcmpErrorRate = 100;  // a second
inline constexpr uint32_t kIcmpErrorRateBurst = 20;

class TokenBucket {
 public:
  // True (and one token spent) when the bucket holds a token; refills at
  // `per_second`, up to `burst` tokens. A fresh bucket starts full.
  bool take(uint32_t now_ms, uint32_t per_second, uint32_t burst) {
    uint64_t cap = uint64_t{burst} * 1000;
    if (!started_) {
      milli_ = cap;
      started_ = true;
    } else {
      uint32_t dt = now_ms - last_ms_;
      milli_ = std::min<uint64_t>(cap, milli_ + uint64_t{dt} * per_second);
    }
    last_ms_ = now_ms;
    if (milli_ < 1000) return false;
    milli_ -= 1000;
    return true;
  }

 private:
  uint64_t milli_ = 0;
  uint32_t last_ms_ = 0;
  bool started_ = false;
};

// ICMP path-MTU errors for our addresses (ICMPv4 Fragmentation Needed, ICMPv6
// Packet Too Big), which the control thread checks against the outbound ESP
// SAs (ipsec/esp_ptb.h): per port, in buckets of their own, so a flood of
// them can neither starve ARP and Neighbor Discovery nor be starved by them
// (docs/ipsec.md § Fragmentation Needed on the outer path). A tunnel needs
// one error per path change; the rest are repeats.
class PathMtuErrorMeter {
 public:
  static constexpr uint32_t kPerSecond = 100;
  static constexpr uint32_t kBurst = 32;
  static constexpr size_t kPorts = 16;
  bool admit(int iface, uint32_t now_ms) {
    return rate_[static_cast<size_t>(iface) % kPorts].take(now_ms, kPerSecond, kBurst);
  }

 private:
  std::array<TokenBucket, kPorts> rate_{};
};

}  // namespace wp
