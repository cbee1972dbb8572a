// SA lifetimes; see ike_lifetime.h.
#include "dataplane/control/ike/ike_lifetime.h"

#include <algorithm>

namespace wp::ike {

double soft_fraction(uint32_t random, double floor) {
  const double lo = std::max(floor, kSoftMin);
  if (lo >= kSoftMax) return lo;
  return lo + (kSoftMax - lo) * (static_cast<double>(random) / 4294967295.0);
}

double carried_fraction(std::chrono::steady_clock::time_point start, std::chrono::steady_clock::time_point now,
                        std::chrono::seconds lifetime, uint64_t bytes, uint64_t byte_life) {
  double f = kSoftMin;
  if (start < now && lifetime.count() > 0) f = std::max(f, std::chrono::duration<double>(now - start) / lifetime);
  if (bytes > 0 && byte_life > 0) f = std::max(f, static_cast<double>(bytes) / static_cast<double>(byte_life));
  return f;
}

SaLifetime::SaLifetime(Clock::time_point start, std::chrono::seconds lifetime, uint64_t bytes, uint32_t random,
                       double floor)
    : start_(start) {
  const double f = soft_fraction(random, floor);
  if (lifetime.count() > 0) {
    const auto hard = std::chrono::duration_cast<Clock::duration>(lifetime);
    hard_at_ = start + hard;
    soft_at_ = start + std::chrono::duration_cast<Clock::duration>(hard * f);
  }
  if (bytes > 0) {
    hard_bytes_ = bytes;
    soft_bytes_ = static_cast<uint64_t>(static_cast<double>(bytes) * f);
  }
}

Expiry SaLifetime::check(Clock::time_point now, uint64_t bytes) const {
  if ((timed() && now >= hard_at_) || (hard_bytes_ && bytes >= hard_bytes_)) return Expiry::hard;
  if (timed() && now >= soft_at_) return Expiry::soft_time;
  if (soft_bytes_ && bytes >= soft_bytes_) return Expiry::soft_bytes;
  return Expiry::none;
}

int64_t SaLifetime::seconds_left(Clock::time_point now) const {
  if (!timed()) return -1;
  if (now >= hard_at_) return 0;
  return std::chrono::duration_cast<std::chrono::seconds>(hard_at_ - now).count();
}

bool our_rekey_redundant(CSpan our_ni, CSpan peer_nr, CSpan peer_ni, CSpan our_nr) {
  auto less = [](CSpan a, CSpan b) { return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end()); };
  // The lowest of the four: ours is redundant iff it holds it.
  const CSpan ours_min = less(our_ni, peer_nr) ? our_ni : peer_nr;
  const CSpan theirs_min = less(peer_ni, our_nr) ? peer_ni : our_nr;
  return less(ours_min, theirs_min);
}

std::string_view rekey_counter_name(RekeyCounter c) {
  static constexpr std::string_view kNames[] = {
#define WP_X(n) #n,
      WP_REKEY_COUNTERS(WP_X)
#undef WP_X
  };
  return kNames[static_cast<size_t>(c)];
}

}  // namespace wp::ike
