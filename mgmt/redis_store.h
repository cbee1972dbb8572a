// Redis config store (docs/architecture.md § Configuration, cluster option), the parts
// shared by waypointd (load) and `wpctl config push` (write). hiredis 0.14.
//
// Key layout under a prefix P (default "waypoint"; one prefix per router):
//   P:config:<kind>  JSON of one top-level field of proto/config.proto
//                    (router, routes, tenants, services, policies,
//                    security_policies, peers, dataplane, timeouts, mgmt,
//                    ipfix); repeated kinds are JSON arrays. Absent = empty.
//   P:version        integer, incremented by every push
//   P:changes        pub/sub channel; a push publishes the new version
// A push writes every kind, the version and the publish in one MULTI/EXEC,
// so a reader (which also reads in one MULTI/EXEC) never sees half a config.
// What is written was validated first; what is read is validated again by
// waypointd before it is applied (a hand-edited key can still be wrong).
#pragma once

#include <cstdint>
#include <string>

#include "mgmt/config_load.h"

struct redisContext;

namespace wp::mgmt {

struct RedisEndpoint {
  std::string host;
  int port = 0;
  static bool parse(const std::string& text, RedisEndpoint& out);  // "IPv4:port"
};

struct RedisConfig {
  uint64_t version = 0;
  ConfigResult result;  // the mapped config and its errors
};

class RedisStore {
 public:
  RedisStore(RedisEndpoint ep, std::string prefix) : ep_(std::move(ep)), prefix_(std::move(prefix)) {}
  ~RedisStore();
  RedisStore(const RedisStore&) = delete;
  RedisStore& operator=(const RedisStore&) = delete;

  bool connect(int timeout_ms, std::string& error);
  void disconnect();
  bool connected() const { return ctx_ != nullptr; }
  // Reads every kind and the version atomically. False on a Redis error (or
  // no config stored: version 0); config errors are in out.result.
  bool load(RedisConfig& out, std::string& error);
  // Writes a validated config; returns the new version in `version`.
  bool push(const config::Config& cfg, uint64_t& version, std::string& error);

  // Subscriber side (a connection of its own): SUBSCRIBE to channel(), then
  // wait for a message: 1 = message (payload set), 0 = timeout, -1 = error
  // (connection closed; reconnect).
  bool subscribe(std::string& error);
  int wait_message(int timeout_ms, std::string& payload, std::string& error);

  std::string channel() const { return prefix_ + ":changes"; }
  const std::string& prefix() const { return prefix_; }
  const RedisEndpoint& endpoint() const { return ep_; }

 private:
  RedisEndpoint ep_;
  std::string prefix_;
  redisContext* ctx_ = nullptr;
};

}  // namespace wp::mgmt
