// Token buckets per REST client; see rest_rate_limit.h.
#include "mgmt/rest_rate_limit.h"

#include <algorithm>

namespace wp::mgmt {

double RateLimiter::refilled(const Bucket& b, Clock::time_point now) const {
  const double seconds = std::chrono::duration<double>(now - b.at).count();
  return std::min(burst_, b.tokens + seconds * rate_);
}

void RateLimiter::make_room(Clock::time_point now) {
  std::erase_if(buckets_, [&](const auto& kv) { return refilled(kv.second, now) >= burst_; });
  if (buckets_.size() < kMaxClients) return;
  auto oldest = std::min_element(buckets_.begin(), buckets_.end(),
                                 [](const auto& a, const auto& b) { return a.second.at < b.second.at; });
  buckets_.erase(oldest);
}

bool RateLimiter::allow(const std::string& client, Clock::time_point now) {
  std::lock_guard lock(mu_);
  auto it = buckets_.find(client);
  if (it == buckets_.end()) {
    if (buckets_.size() >= kMaxClients) make_room(now);
    it = buckets_.emplace(client, Bucket{burst_, now}).first;
  }
  Bucket& b = it->second;
  b.tokens = refilled(b, now);
  b.at = now;
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}

}  // namespace wp::mgmt
