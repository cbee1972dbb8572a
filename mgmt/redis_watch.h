// waypointd's side of the Redis config store (redis_store.h documents keys):
// a thread that subscribes to P:changes and, on every announced version (and
// on every reconnect, in case one was missed), reloads the config and commits
// it through the same path as REST (live_commit.h: validate -> commit, no
// restart; sessions the new policy denies are torn down and counted). A
// config that fails validation is rejected and reported (stderr, counters),
// never applied. When Redis is down the router keeps forwarding with its last
// committed config and reconnects with exponential backoff (0.25 s .. 8 s).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

#include "mgmt/live_commit.h"
#include "mgmt/redis_store.h"

namespace wp::mgmt {

struct RedisWatchStats {
  std::atomic<bool> connected{false};
  std::atomic<uint64_t> applied_version{0};
  std::atomic<uint64_t> applied{0};
  std::atomic<uint64_t> rejected{0};
  std::atomic<uint64_t> reconnects{0};
};

// The config waypointd starts with. The start cannot go on without one, so
// this waits (bounded: 20 tries, 0.5 s apart) for Redis to answer. False with
// `error` when Redis never did; config errors are in out.result.
bool load_start_config(const RedisEndpoint& ep, const std::string& prefix, RedisConfig& out, std::string& error);

class RedisWatch {
 public:
  RedisWatch(RedisEndpoint ep, std::string prefix, ConfigStore& store, uint64_t applied_version)
      : ep_(std::move(ep)), prefix_(std::move(prefix)), store_(store) {
    stats_.applied_version = applied_version;
  }
  ~RedisWatch() { stop(); }
  void start();
  void stop();
  const RedisWatchStats& stats() const { return stats_; }

 private:
  void run();
  void sync(RedisStore& store);  // load and commit if newer
  bool sleep_ms(uint32_t ms);    // false when stopping

  RedisEndpoint ep_;
  std::string prefix_;
  ConfigStore& store_;
  RedisWatchStats stats_;
  std::atomic<bool> run_{false};
  std::thread thread_;
};

}  // namespace wp::mgmt
