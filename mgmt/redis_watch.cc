// Redis subscriber; see redis_watch.h.
#include "mgmt/redis_watch.h"

#include <unistd.h>

#include <cstdio>

#include "mgmt/config_secrets.h"

namespace wp::mgmt {

bool load_start_config(const RedisEndpoint& ep, const std::string& prefix, RedisConfig& out, std::string& error) {
  RedisStore rs(ep, prefix);
  for (int i = 0; i < 20; ++i) {
    if (i) usleep(500000);
    if (rs.connect(1000, error) && rs.load(out, error)) return true;
  }
  return false;
}

void RedisWatch::start() {
  run_.store(true);
  thread_ = std::thread([this] { run(); });
}

void RedisWatch::stop() {
  run_.store(false);
  if (thread_.joinable()) thread_.join();
}

bool RedisWatch::sleep_ms(uint32_t ms) {
  for (uint32_t t = 0; t < ms && run_.load(); t += 50) usleep(50000);
  return run_.load();
}

void RedisWatch::sync(RedisStore& rs) {
  RedisConfig rc;
  std::string err;
  if (!rs.load(rc, err)) {
    std::fprintf(stderr, "waypointd: %s\n", err.c_str());
    return;
  }
  // Not `<`: a Redis that restarted empty counts versions from 1 again.
  if (rc.version == stats_.applied_version.load()) return;
  if (!rc.result.ok()) {
    stats_.rejected.fetch_add(1);
    stats_.applied_version = rc.version;  // reported once, not on every reconnect
    std::fprintf(stderr, "waypointd: redis config version %llu rejected, not applied (%zu error(s)):\n%s",
                 static_cast<unsigned long long>(rc.version), rc.result.errors.size(), rc.result.error_text().c_str());
    return;
  }
  CommitOutcome out =
      store_.commit(rc.result.config, false, "redis (key version " + std::to_string(rc.version) + ")");
  scrub_errors(rc.result.config, out.errors);
  stats_.applied_version = rc.version;
  if (!out.applied) {
    stats_.rejected.fetch_add(1);
    std::string text;
    for (const ConfigError& e : out.errors) text += e.to_string() + "\n";
    std::fprintf(stderr, "waypointd: redis config version %llu rejected, not applied:\n%s",
                 static_cast<unsigned long long>(rc.version), text.c_str());
    return;
  }
  stats_.applied.fetch_add(1);
  std::fprintf(stderr, "waypointd: redis config version %llu committed (config version %llu, %llu session(s) closed)\n",
               static_cast<unsigned long long>(rc.version), static_cast<unsigned long long>(out.version),
               static_cast<unsigned long long>(out.sessions_closed));
}

void RedisWatch::run() {
  uint32_t backoff = 250;
  bool reported_down = false;
  while (run_.load()) {
    RedisStore rs(ep_, prefix_), sub(ep_, prefix_);
    std::string err;
    if (!rs.connect(1000, err) || !sub.connect(1000, err)) {
      stats_.connected = false;
      if (!reported_down)
        std::fprintf(stderr, "waypointd: %s; forwarding with the last config, retrying\n", err.c_str());
      reported_down = true;
      if (!sleep_ms(backoff)) break;
      backoff = backoff < 8000 ? backoff * 2 : 8000;
      continue;
    }
    // SUBSCRIBE first, then sync: a push between the two is seen by the sync.
    if (!sub.subscribe(err)) {
      std::fprintf(stderr, "waypointd: %s\n", err.c_str());
      if (!sleep_ms(backoff)) break;
      continue;
    }
    if (reported_down || stats_.reconnects.load() == 0)
      std::fprintf(stderr, "waypointd: redis %s:%d connected, watching %s\n", ep_.host.c_str(), ep_.port,
                   sub.channel().c_str());
    stats_.reconnects.fetch_add(1);
    stats_.connected = true;
    reported_down = false;
    backoff = 250;
    sync(rs);
    while (run_.load()) {
      std::string payload;
      int got = sub.wait_message(200, payload, err);
      if (got < 0) break;
      if (got > 0) sync(rs);
      if (!rs.connected()) break;
    }
    if (run_.load()) {
      stats_.connected = false;
      reported_down = true;
      std::fprintf(stderr, "waypointd: lost redis (%s); forwarding with the last config, reconnecting\n", err.c_str());
    }
  }
}

}  // namespace wp::mgmt
