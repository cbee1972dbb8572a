// In-process SVR routers for unit tests: each Router is a real RouterModel,
// DataplaneShared and Worker(s) with capturing tx, so a test hands a frame to
// one router and gets back exactly what its workers transmitted. Frames are
// carried from one router to the next by the test itself.
//
// Shared topology (tests use the subset they need):
//   client 10.1.0.5 - [r1 branch] 172.16.0.1 ==WAN== 172.16.0.2 [r2 headend] - server 10.2.0.10
//                                                     172.16.0.3 [r3]         - far    10.3.0.10
// Port ids are interface indexes (no resolver): LAN 0, first WAN 1, next WAN 2.
//
// Also here: configs built in code, and checks on WAN frames that recompute
// the HMAC trailer and checksums independently of the dataplane.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dataplane/worker/shared.h"
#include "dataplane/crypto/hmac.h"
#include "dataplane/paths/path_table.h"
#include "dataplane/control/router_model.h"
#include "dataplane/session/events.h"
#include "dataplane/worker/worker.h"
#include "tests/unit/eal_env.h"
#include "tests/unit/pkt_builder.h"

namespace wp::test {

// --- topology ------------------------------------------------------------------

// r1 <-> r2 and r2 <-> r3 pair keys.
inline constexpr const char* kKey12 = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
inline constexpr const char* kKey23 = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";
inline constexpr uint16_t kLan = 0, kWan = 1;

inline constexpr Mac kClientMac = {2, 0, 0, 0, 1, 5};
inline constexpr Mac kServerMac = {2, 0, 0, 0, 2, 10};
inline constexpr Mac kFarMac = {2, 0, 0, 0, 3, 10};
inline constexpr Mac kR1Mac = {2, 0, 0, 0xaa, 0, 1};
inline constexpr Mac kR2Mac = {2, 0, 0, 0xaa, 0, 2};
inline constexpr Mac kR3Mac = {2, 0, 0, 0xaa, 0, 3};

inline const Ipv4 kClient = ip("10.1.0.5");
inline const Ipv4 kServer = ip("10.2.0.10");
inline const Ipv4 kFar = ip("10.3.0.10");
inline const Ipv4 kR1Wan = ip("172.16.0.1");
inline const Ipv4 kR2Wan = ip("172.16.0.2");
inline const Ipv4 kR3Wan = ip("172.16.0.3");

std::vector<uint8_t> unhex(std::string_view hex);

// --- configs, built in code ------------------------------------------------------

struct WanSpec {
  std::string name;  // also the device name
  std::string address;
};
struct ServiceSpec {
  const char* name;
  const char* prefix;
  const char* proto;
  const char* ports;      // "" = all
  const char* next_peer;  // "" = last hop
};

// A router with LAN "lan" on device lan0 and the given WAN interfaces, in order.
config::Config router_base(const std::string& name, const std::string& lan, const std::vector<WanSpec>& wans);
void add_tenant(config::Config& c, const std::string& name, const std::string& prefix);
config::Service* add_service(config::Config& c, const ServiceSpec& s);
// A static route: PREFIX via NEXT_HOP out of INTERFACE.
void add_route(config::Config& c, const std::string& prefix, const std::string& next_hop, const std::string& interface);
void add_policy(config::Config& c, const std::string& tenant, const std::string& service,
                const std::string& security);  // "" = built-in default
void add_security(config::Config& c, const std::string& name, const std::string& encryption, const std::string& hmac,
                  bool adaptive);
void add_peer(config::Config& c, const std::string& name, std::initializer_list<const char*> waypoints,
              const std::string& key);

// --- one router ------------------------------------------------------------------

// What differs between the routers of the tests; set with the chained
// with_*() calls, e.g. RouterOptions().with_key_slots(64).
struct RouterOptions {
  uint32_t workers = 1;
  uint32_t max_sessions = 1024;  // per worker
  uint32_t key_slots = 0;        // key slab per worker; 0 = no per-session keys
  uint32_t udp_timeout_ms = 0;   // 0 = the built-in default
  // Event rings switched on before the workers exist: {consumer, ring size}.
  std::vector<std::pair<EventConsumer, uint32_t>> events;
  // A PathTable under BFD control with every path usable, and the
  // control pool workers take keep-alive mbufs from.
  bool monitored_paths = false;
  // The PathTable waypointd builds without path_monitoring (every path usable, one per
  // peer and WAN interface): what a real router's session setup goes through (#17).
  bool unmonitored_paths = false;
  // Each worker classifies applications (its own nDPI), with at most this many packets.
  uint16_t app_packets = 0;  // 0 = off
  // Anything else a test needs in the shared state before the workers start
  // (HA rings, peer addresses); runs last.
  std::function<void(DataplaneShared&)> prepare;

  RouterOptions& with_workers(uint32_t n) {
    workers = n;
    return *this;
  }
  RouterOptions& with_max_sessions(uint32_t n) {
    max_sessions = n;
    return *this;
  }
  RouterOptions& with_key_slots(uint32_t n) {
    key_slots = n;
    return *this;
  }
  RouterOptions& with_udp_timeout_ms(uint32_t ms) {
    udp_timeout_ms = ms;
    return *this;
  }
  RouterOptions& with_events(EventConsumer c, uint32_t ring_size) {
    events.emplace_back(c, ring_size);
    return *this;
  }
  RouterOptions& with_apps(uint16_t packets = 16) {
    app_packets = packets;
    return *this;
  }
  RouterOptions& with_monitored_paths() {
    monitored_paths = true;
    return *this;
  }
  RouterOptions& with_unmonitored_paths() {
    unmonitored_paths = true;
    return *this;
  }
  RouterOptions& with_prepare(std::function<void(DataplaneShared&)> f) {
    prepare = std::move(f);
    return *this;
  }
};

class Router {
 public:
  explicit Router(const config::Config& cfg, RouterOptions opts = {});
  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  void neighbor(uint16_t iface, Ipv4 addr, const Mac& mac) { shared_->neighbors.learn(iface, addr, mac.data()); }

  // One frame in on `port` of worker 0; whatever was transmitted comes back.
  std::vector<Frame> send(uint16_t port, const std::vector<uint8_t>& frame);
  // Exactly one frame out, or a test failure with the drop counters shown.
  Frame send_one(uint16_t port, const std::vector<uint8_t>& frame);
  // One loop iteration of worker 0 without input (sweeps, keep-alives run there).
  std::vector<Frame> idle();
  // A live config commit: publishes the new model (the old one stays alive)
  // and runs worker 0 until it adopted and re-checked its sessions.
  void commit(const config::Config& cfg);
  // Everything transmitted since the last send()/idle(), left in place.
  const std::vector<Frame>& transmitted() const { return out_; }

  uint64_t drop_count(DropReason r) { return worker().counters().get(r); }
  uint64_t count(Counter c) { return worker().counters().get(c); }
  std::string drops();  // "reason=n ..." or "none"
  uint64_t total_drops();

  Worker& worker(size_t i = 0) { return *workers_[i]; }
  size_t workers() const { return workers_.size(); }
  DataplaneShared& shared() { return *shared_; }
  const RouterModel& model() const { return *model_; }

  // With RouterOptions::monitored_paths only.
  PathTable& paths() { return *paths_; }
  int path(const char* name);  // index, -1 when there is none
  void set_usable(const char* name, bool up);

 private:
  static uint16_t capture(void* ctx, uint16_t port, uint16_t queue, rte_mbuf** pkts, uint16_t n);

  rte_mempool* pool_;
  HmacEngine hmac_;
  std::unique_ptr<DataplaneShared> shared_;
  std::shared_ptr<const RouterModel> model_;
  std::vector<std::shared_ptr<const RouterModel>> retired_;
  std::unique_ptr<PathTable> paths_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<Frame> out_;
};

// --- checks on WAN frames ------------------------------------------------------

HmacEngine& test_hmac();  // separate from every router's engine
HmacKey key_of(const char* hex);

// The HMAC trailer: HMAC-SHA256-128 over the L4 header (checksum zeroed),
// the metadata block and the data (docs/svr-wire-format.md § Security).
bool hmac_ok(const Frame& f, const char* key_hex);
// Re-signs a WAN frame after a test edited it, and fixes both checksums.
void resign(Frame& f, const char* key_hex);
// Recomputes the L4 checksum after a test edited the frame (no re-signing).
void fix_checksums(std::vector<uint8_t>& raw);
// Checksums and lengths of a frame a router sent.
void expect_valid(const Frame& f);
// Whether `needle` appears anywhere in the frame (plaintext checks).
bool contains(const Frame& f, std::string_view needle);

}  // namespace wp::test
