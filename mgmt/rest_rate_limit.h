// Per-client request rate limit of the REST API: a token bucket per client
// address (`rate` requests a second, `burst` deep). A request over the limit
// is answered 429 before it is authenticated or its body is read, so a
// flood of requests, guessed tokens included, costs the router little.
// The table holds at most kMaxClients addresses; when full, buckets that have
// refilled (idle clients) are forgotten first.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace wp::mgmt {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr size_t kMaxClients = 4096;
  RateLimiter(uint32_t rate, uint32_t burst) : rate_(rate), burst_(burst) {}
  bool allow(const std::string& client, Clock::time_point now = Clock::now());

 private:
  struct Bucket {
    double tokens;
    Clock::time_point at;
  };
  double refilled(const Bucket& b, Clock::time_point now) const;
  void make_room(Clock::time_point now);

  const double rate_, burst_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace wp::mgmt
