// The IKE responder inside waypointd (docs/ipsec.md § IKE in waypointd).
//
// The control thread owns one IkeService when the config has `ipsec_peers`.
// Workers hand it what arrives for one of our addresses like any local input
// (worker.cc owner_of -> local_to_control); Control::ike_input
// (control_ike.cc) takes UDP 500 and 4500 out of that stream and calls
// input() with the UDP payload, and sends what it returns back out of the
// port the request came in on. Port 4500 (RFC 3948 § 2.2): IKE behind the
// 4-byte non-ESP marker (stripped here, added to the answer), a 1-byte 0xff
// NAT-T keepalive (ignored), anything else is ESP, which the workers do not
// open yet (counted, dropped).
//
// Established Child SAs go through EspSaBook (ike/child_esp.h) into an
// immutable EspSaTable published whole through `published`
// (DataplaneShared::esp) as the FIB is: the old table is freed once every
// reader's epoch moved twice after the swap. Deleted and rekeyed Child SAs
// leave the table the same way.
//
// status_json() (GET /api/v1/ipsec, `wpctl ipsec`) may be called from any
// thread: the control thread renders the document after every datagram
// the responder handled (drops before it only count) and once a second,
// and hands it over under a mutex held for a pointer swap. It never holds a key
// or a pre-shared key. Not for the fast path: control thread only (OpenSSL,
// allocation).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "config.pb.h"
#include "dataplane/control/ike/child_esp.h"
#include "dataplane/control/ike/ike_responder.h"
#include "dataplane/ip/ipv4.h"
#include "dataplane/ipsec/esp_counters.h"

namespace wp {

inline constexpr uint16_t kIkePort = 500;

#define WP_IKE_SERVICE_COUNTERS(X)                                                                        \
  X(datagrams)          /* IKE datagrams handed to the responder */                                       \
  X(replies)            /* datagrams sent back */                                                         \
  X(keepalives)         /* NAT-T keepalives on 4500 (RFC 3948 § 2.3), ignored */                          \
  X(esp_without_dataplane) /* ESP in UDP 4500: the workers do not open ESP yet, dropped */                \
  X(unknown_peer)       /* from an address that is no ipsec_peers[].address, dropped */                   \
  X(malformed)          /* shorter than an IKE header (after the non-ESP marker), dropped */              \
  X(tables_published)   /* EspSaTable swaps */                                                            \
  X(sa_install_failed)  /* a Child SA the SA table refused (full, SPI taken): not published */

enum class IkeServiceCounter : uint8_t {
#define WP_X(n) n,
  WP_IKE_SERVICE_COUNTERS(WP_X)
#undef WP_X
      count
};
inline constexpr size_t kIkeServiceCounters = static_cast<size_t>(IkeServiceCounter::count);
std::string_view ike_service_counter_name(IkeServiceCounter c);

class IkeService {
 public:
  using Log = std::function<void(const std::string&)>;
  // Each reader's epoch counter (workers and the dispatcher); an old table
  // is freed once all of them moved twice. Empty: freed at once (tests).
  using Readers = std::vector<const std::atomic<uint64_t>*>;

  IkeService(const waypoint::config::Config& cfg, std::atomic<const EspSaTable*>& published, Readers readers,
             Log log = {});
  ~IkeService();
  IkeService(const IkeService&) = delete;
  IkeService& operator=(const IkeService&) = delete;

  static bool wanted(const waypoint::config::Config& cfg) { return cfg.ipsec_peers_size() > 0; }
  static bool is_ike_port(uint16_t port) { return port == kIkePort || port == kIkeNattPort; }

  // The UDP payload of a datagram from src:sport to our dst:dport (500 or
  // 4500); returns the UDP payload to send back from dst:dport to
  // src:sport, empty for none.
  ike::Bytes input(ike::CSpan payload, Ipv4 src, uint16_t sport, Ipv4 dst, uint16_t dport);
  // Timers: half-open IKE SAs (30 s), the cookie secret (5 min), retired tables.
  void poll(std::chrono::steady_clock::time_point now);

  // The workers' per-tunnel ESP counters, `readers` x kEspCounterTunnels
  // (DataplaneShared::esp_counters), summed into the status; set before the
  // workers start. Without it the status says esp_dataplane false.
  void set_tunnel_counters(const EspTunnelCounters* counters, uint32_t readers) {
    tunnel_counters_ = counters;
    counter_readers_ = readers;
  }

  // GET /api/v1/ipsec; any thread.
  std::string status_json() const;

  const ike::Responder& responder() const { return responder_; }
  uint64_t counter(IkeServiceCounter c) const { return counters_[static_cast<size_t>(c)]; }
  size_t retired_tables() const { return retired_.size(); }

 private:
  void add(IkeServiceCounter c) { ++counters_[static_cast<size_t>(c)]; }
  void sync_sas();  // EspSaBook follows the responder's Child SAs; publish when changed
  void publish();
  void retire_quiesced();
  void render();

  struct PeerInfo {
    std::string name, tunnel;
    Ipv4 address = 0;
    uint32_t ike_lifetime_s = 0, child_lifetime_s = 0;
  };
  struct Installed {
    uint16_t tunnel;
    std::chrono::steady_clock::time_point since;
  };

  std::atomic<const EspSaTable*>& published_;
  const EspTunnelCounters* tunnel_counters_ = nullptr;
  uint32_t counter_readers_ = 0;
  struct TunnelInfo {
    std::string name, peer, tenant;
    uint32_t mtu = 0;
  };
  std::vector<TunnelInfo> tunnels_;  // config order = the table's tunnel index
  Readers readers_;
  Log log_;
  ike::Responder responder_;
  std::vector<PeerInfo> peers_;
  CryptoEngine engine_;  // expands ESP keys (IPsec-MB) for the SA table
  EspSaBook book_;
  std::map<uint32_t, Installed> installed_;  // our inbound SPI -> what the book holds
  std::unique_ptr<const EspSaTable> current_;
  struct Retired {
    std::unique_ptr<const EspSaTable> table;
    std::vector<uint64_t> epochs;
  };
  std::deque<Retired> retired_;
  std::array<uint64_t, kIkeServiceCounters> counters_{};
  std::chrono::steady_clock::time_point last_rotation_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_render_{};

  mutable std::mutex mu_;  // guards status_ (the pointer only)
  std::shared_ptr<const std::string> status_;
};

}  // namespace wp
