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
// Our DPD (RFC 7296 § 2.4, ike_service_dpd.cc): an IKE SA the responder
// holds that was silent for its peer's dpd_interval_s gets an empty
// INFORMATIONAL; unanswered after every try, it goes with its Child SAs.
//
// Peers with `initiate` (docs/ipsec.md § Initiating): the service also runs
// one ike::Initiator per such peer. poll() starts its IKE_SA_INIT (at once,
// then after a failure or the SA's end with ike::InitiateSchedule's
// backoff), retransmits, sends a liveness check every dpd_interval_s of
// silence, and queues these requests for take_outgoing(): Control sends
// them from UDP 500 of our address toward the peer (set_source: the WAN
// interface the route to it leaves) to UDP 500, resolving the next hop like
// any packet it sends. Datagrams from the peer without the Initiator flag
// (RFC 7296 § 3.1) belong to an SA we initiated and go to that initiator;
// its answers to the peer's requests leave like the responder's, its own
// requests are queued like the others. NAT-T (RFC 7296 § 2.23): once the
// peer answered IKE_SA_INIT with NAT_DETECTION payloads, everything of that
// SA leaves from and to UDP 4500 behind the non-ESP marker; with a NAT in
// front of us (its NAT_DETECTION_DESTINATION_IP hash is not of our
// address) a 1-byte keepalive goes every 20 s (RFC 3948 § 2.3) to keep the
// NAT's mapping. Its Child SAs join the table as the responder's do.
//
// Encapsulation (docs/ipsec.md § Encapsulation): a Child SA's ESP is in UDP
// 4500 (RFC 3948) iff its IKE SA saw a NAT on the path (either end's
// NAT_DETECTION hash did not match, RFC 7296 § 2.23) or the peer began the
// IKE SA on UDP 4500; otherwise IP protocol 50 both ways (ike::IkeSa::
// udp_encap). Our own move to 4500 without a NAT does not encapsulate.
//
// Established Child SAs go through EspSaBook (ike/child_esp.h) into an
// immutable EspSaTable published whole through `published`
// (DataplaneShared::esp) as the FIB is: the old table is freed once every
// reader's epoch moved twice after the swap. Deleted and rekeyed Child SAs
// leave the table the same way.
//
// Lifetimes (docs/ipsec.md § Rekeying, ike_service_rekey.cc): every poll
// checks each IKE and Child SA, ours or the peer's, against our own
// lifetimes (ike/ike_lifetime.h): a Child SA past its soft lifetime (time,
// or the inner bytes its tunnel's counters grew by since it was installed)
// is rekeyed by us, make before break; an SA past its hard lifetime is
// deleted.
//
// status_json() (GET /api/v1/ipsec, `wpctl ipsec`) may be called from any
// thread: the control thread renders the document after every datagram
// the responder handled (drops before it only count) and once a second,
// and hands it over under a mutex held for a pointer swap. It never holds a key
// or a pre-shared key. Each Child SA carries its ESP counters, summed over
// the workers' rows of DataplaneShared::esp_sa_counters for its two slots.
// metrics() (GET /metrics, ike_service_metrics.cc) formats the IKE counters
// the same render copied, and each tunnel's ESP counters read at the call.
// Not for the fast path: control thread only (OpenSSL,
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
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "config.pb.h"
#include "dataplane/control/ike/child_esp.h"
#include "dataplane/control/ike/ike_initiator.h"
#include "dataplane/control/ike/ike_lifetime.h"
#include "dataplane/control/ike/initiate_schedule.h"
#include "dataplane/control/ike/ike_responder.h"
#include "dataplane/ip/ip_address.h"
#include "dataplane/ip/ipv4.h"
#include "dataplane/control/ike/ike_sa_sync.h"
#include "dataplane/ipsec/esp_counters.h"
#include "dataplane/ipsec/esp_path_mtu.h"
#include "dataplane/worker/ike_ha_channel.h"

namespace wp {

inline constexpr uint16_t kIkePort = 500;
// HA takeover (docs/ipsec.md § HA): a taken-over Child SA's outbound counter
// starts this far past the number its holder last synced. Marks are synced
// every second; 2^22 covers a second at 4 Mpps (more than one worker seals)
// plus kEspMarkEvery, and costs 1/1024 of a non-ESN SA's 2^32 numbers.
inline constexpr uint64_t kIkeHaSeqMargin = uint64_t{1} << 22;
inline constexpr std::chrono::milliseconds kIkeHaSeqInterval{1000};

#define WP_IKE_SERVICE_COUNTERS(X)                                                                        \
  X(datagrams)          /* IKE datagrams handed to the responder or an initiator */                       \
  X(replies)            /* datagrams sent back */                                                         \
  X(keepalives)         /* NAT-T keepalives on 4500 (RFC 3948 § 2.3), ignored */                          \
  X(esp_without_dataplane) /* ESP in UDP 4500: the workers do not open ESP yet, dropped */                \
  X(unknown_peer)       /* from an address that is no ipsec_peers[].address, dropped */                   \
  X(wrong_local_address) /* from a peer's address to another of ours than its ipsec_peers[].local_address, dropped */ \
  X(malformed)          /* shorter than an IKE header (after the non-ESP marker), dropped */              \
  X(udp6_bad_checksum)  /* over IPv6: a zero or wrong UDP checksum (RFC 8200 § 8.1), dropped before input() */ \
  X(tables_published)   /* EspSaTable swaps */                                                            \
  X(sa_install_failed)  /* a Child SA the SA table refused (full, SPI taken): not published */                \
  X(initiations)        /* IKE_SA_INIT started toward an ipsec_peers[].initiate peer (first sends) */        \
  X(initiator_retransmits) /* our requests as initiator sent again, unanswered so far */                    \
  X(initiator_timeouts) /* SAs we initiated whose request got no answer after every try (or dead peer) */  \
  X(responder_dead_peers) /* IKE SAs the sites began that our DPD deleted: a liveness check never answered */ \
  X(initiator_failures) /* SAs we initiated that were refused (proposal, AUTH, TS) or deleted by the peer */  \
  X(initiate_no_route)  /* a start postponed: no route out of a WAN interface toward the peer */            \
  X(initiator_unmatched) /* a datagram without the Initiator flag that no SA we initiated has, dropped */   \
  X(initiator_nat_t)    /* SAs we initiated that moved IKE to UDP 4500 (the peer answered NAT_DETECTION) */ \
  X(initiator_nat_detected) /* ... of which the NAT_DETECTION hashes showed a NAT on the path */          \
  X(initiator_keepalives) /* NAT-T keepalives sent (RFC 3948 § 2.3): an SA we initiated, a NAT in front of us */ \
  X(initiator_peer_moved) /* RFC 7296 § 2.23: a NAT in front of a peer we initiated to moved it; IKE and ESP follow */ \
  X(initiate_standby)   /* HA: a start postponed: the other node answers for initiate_from, or holds the peer's SA */ \
  X(ike_ha_sas_synced)  /* HA: IKE SA records (with their Child SAs) sent to the peer: new or changed */     \
  X(ike_ha_deletes_synced) /* HA: IKE SAs gone here, the peer told to forget its copy */                   \
  X(ike_ha_seq_synced)  /* HA: Child SA sequence-number marks sent to the peer */                        \
  X(ike_ha_sas_applied) /* HA: the peer's IKE SA records stored as copies here */                        \
  X(ike_ha_deletes_applied) /* HA: the peer's copies forgotten on its DELETE */                           \
  X(ike_ha_taken_over)  /* HA: the peer's IKE SAs installed here (we took its address over) */           \
  X(ike_ha_resumed)     /* HA: our own IKE SAs installed from the copy the peer handed back */           \
  X(ike_ha_given_back)  /* HA: taken-over IKE SAs removed here (the peer claimed its address back) */    \
  X(ike_ha_set_aside)   /* HA: our own IKE SAs kept as copies while we do not answer for our address */   \
  X(ike_ha_decode_errors) /* HA: IKE sync messages or records refused (malformed, unknown peer, tunnel) */ \
  X(ike_ha_install_failed) /* HA: a copy whose SPIs are already held here, not installed */ \
  X(reloads)            /* live commits that changed ipsec_peers or tunnels, applied (reload()) */       \
  X(reload_ike_sas_deleted) /* IKE SAs a reload deleted: their peer removed or rebound */                \
  X(reload_deletes_sent) /* ... of which a Delete went to the site (best effort, not retransmitted) */   \
  X(rekey_switch_deferred) /* the site's Child SA rekeys we answered: our outbound stayed on the old SA (RFC 7296 § 2.8) */ \
  X(rekey_switch_first_packet) /* ... moved to the new SA at the site's first packet on it */            \
  X(rekey_switch_delete) /* ... moved at the site's Delete of the old SA, no packet on the new one yet */ \
  X(rekey_switch_old_gone) /* ... moved when the old SA left by our own Delete (its hard lifetime), not the site's */ \
  X(rekey_switch_fallback) /* ... moved after kRekeyDeferFallback without any of these */

enum class IkeServiceCounter : uint8_t {
#define WP_X(n) n,
  WP_IKE_SERVICE_COUNTERS(WP_X)
#undef WP_X
      count
};
inline constexpr size_t kIkeServiceCounters = static_cast<size_t>(IkeServiceCounter::count);
std::string_view ike_service_counter_name(IkeServiceCounter c);

// A request we send as initiator: UDP payload, from src:sport to dst:dport
// (both of one family).
struct IkeDatagram {
  IpAddress src, dst;
  uint16_t sport = kIkePort, dport = kIkePort;
  ike::Bytes payload;
};

class IkeService {
 public:
  using Log = std::function<void(const std::string&)>;
  // Our address toward `peer` (the WAN interface its route leaves, of
  // `peer`'s family); unset: none.
  using SourceFn = std::function<IpAddress(const IpAddress& peer)>;
  // Each reader's epoch counter (workers and the dispatcher); an old table
  // is freed once all of them moved twice. Empty: freed at once (tests).
  using Readers = std::vector<const std::atomic<uint64_t>*>;

  IkeService(const waypoint::config::Config& cfg, std::atomic<const EspSaTable*>& published, Readers readers,
             Log log = {});
  ~IkeService();
  IkeService(const IkeService&) = delete;
  IkeService& operator=(const IkeService&) = delete;

  // The longest our outbound stays on the old Child SA after we answered the
  // site's rekey of it (docs/ipsec.md § Rekeying): strongSwan deletes the
  // old one within a round trip of our answer; one-way traffic from us
  // (no packet of the site's on the new SA) must not stay on an SA the
  // site is about to delete, nor wait long for a lost answer's retransmission.
  static constexpr std::chrono::seconds kRekeyDeferFallback{3};

  static bool wanted(const waypoint::config::Config& cfg) { return cfg.ipsec_peers_size() > 0; }
  static bool is_ike_port(uint16_t port) { return port == kIkePort || port == kIkeNattPort; }

  // The UDP payload of a datagram from src:sport to our dst:dport (500 or
  // 4500); returns the UDP payload to send back from dst:dport to
  // src:sport, empty for none. IPv4 or IPv6, src and dst of one family
  // (docs/ipsec.md § IPv6 outer addresses).
  // `now`: when it arrived (retransmission timers, Child SA lifetimes).
  ike::Bytes input(ike::CSpan payload, const IpAddress& src, uint16_t sport, const IpAddress& dst, uint16_t dport,
                   std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());
  // Timers: half-open IKE SAs (30 s), the cookie secret (5 min), retired
  // tables, our lifetimes, our DPD on the responder's SAs; the initiators'
  // starts, retransmissions and liveness checks.
  void poll(std::chrono::steady_clock::time_point now);
  // The requests poll() or input() queued since the last call (control
  // thread): input() queues an initiator's next request (IKE_AUTH after
  // IKE_SA_INIT, the Delete after a rekey) rather than answering, since
  // after NAT-T's move it leaves from and to port 4500, not where the
  // answer came from.
  std::vector<IkeDatagram> take_outgoing() { return std::exchange(outgoing_, {}); }
  bool has_outgoing() const { return !outgoing_.empty(); }
  // Whether the last input() was the peer's answer to a request of ours
  // that ended the exchange (nothing to send back, nothing lost): Control
  // frees it instead of dropping it as ike_unanswered.
  bool consumed() const { return consumed_; }
  // Control dropped a datagram over IPv6 whose UDP checksum is zero or wrong
  // (as ike_unanswered; counted here as why).
  void refuse_udp6_checksum() { add(IkeServiceCounter::udp6_bad_checksum); }
  // Set by Control before the first poll; without it nothing is initiated.
  void set_source(SourceFn f) { source_ = std::move(f); }

  // The workers' per-tunnel ESP counters, `readers` x kEspCounterTunnels
  // (DataplaneShared::esp_counters), summed into the status; set before the
  // workers start. Without it the status says esp_dataplane false.
  void set_tunnel_counters(const EspTunnelCounters* counters, uint32_t readers) {
    tunnel_counters_ = counters;
    counter_readers_ = readers;
  }
  // The same per SA slot (DataplaneShared::esp_sa_counters, `readers` x
  // kMaxEspSas, the readers of set_tunnel_counters): each Child SA's packets,
  // bytes, drops, replay drops and integrity failures in the status.
  void set_sa_counters(const EspSaCounterSlot* counters) { sa_counters_ = counters; }
  // The tunnels' outer path MTUs learned from ICMPv6 Packet Too Big
  // (DataplaneShared::esp_path_mtu; and from ICMPv4 Fragmentation Needed over IPv4), each tunnel's `path_mtu` in the status (0: none).
  void set_path_mtu(const EspPathMtu* p) { path_mtu_ = p; }

  // HA (docs/ipsec.md § HA, ike_service_ha.cc): sync our IKE SAs through
  // `channel` as node `node`, keep the peer's as copies, install a copy when
  // `answers(local address)` says we answer for its address (takeover, or
  // our own address back after a restart) and remove it again when we stop.
  // `marks`: the workers' ESP sequence marks (DataplaneShared). Set before
  // the first input(); without it nothing is synced.
  enum class HaAddress : uint8_t { not_ours_now, own, peers_taken_over };
  using AnswersFn = std::function<HaAddress(const IpAddress& local)>;
  void set_ha(IkeHaChannel* channel, uint32_t node, const EspSeqMarks* marks, AnswersFn answers);

  // Live reload of ipsec_peers and tunnels (ike_service_reload.cc,
  // docs/ipsec.md § Live reload): `next` is the
  // committed config (validated; the ConfigStore refused moving a tunnel
  // both configs have). Peers removed or rebound (ike/peer_reload.h): their
  // IKE SAs get a Delete (queued, best effort) and go at once with their
  // Child SAs, out of the table published before this returns, their HA
  // copies too; peers added are answered and initiated to from now on;
  // peers whose credentials, proposals, lifetimes or DPD changed keep their
  // SAs, which use the new values from their next exchange; the others are
  // untouched (same SAs, same table slots). Control thread.
  struct ReloadOutcome {
    size_t added = 0, removed = 0, rebound = 0, credentials = 0, ike_sas_deleted = 0;
  };
  ReloadOutcome reload(const waypoint::config::Config& next,
                       std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());

  // GET /api/v1/ipsec; any thread.
  std::string status_json() const;
  // GET /metrics (Prometheus text, `labels` on every sample): the IKE
  // counters as last rendered, failures by reason, and per tunnel the ESP
  // counters; any thread.
  std::string metrics(const std::string& labels) const;

  const ike::Responder& responder() const { return responder_; }
  // The initiator toward ipsec_peers[peer] (null: none running, or the peer
  // does not initiate) and its schedule (null: the peer does not initiate).
  const ike::Initiator* initiator(size_t peer) const;
  const ike::InitiateSchedule* schedule(size_t peer) const;
  uint64_t counter(IkeServiceCounter c) const { return counters_[static_cast<size_t>(c)]; }
  // Child SAs HA keeps numbers for (what the peer last heard, where a taken-over one started):
  // none outlives its Child SA (tests).
  size_t ha_children_tracked() const { return ha_seq_.size() + ha_starts_.size(); }
  // Rekeys and expiries (ike_service_rekey.cc), including the responder's
  // and the initiators' outcomes.
  ike::RekeyCounters rekey_counters() const;
  size_t retired_tables() const { return retired_.size(); }

 private:
  void add(IkeServiceCounter c) { ++counters_[static_cast<size_t>(c)]; }
  struct Initiating;
  // peers_, tunnels_ (the book's too) and initiating_ from `cfg`; an
  // Initiating in `kept` (by peer name, a reload's) goes on under its new index.
  void configure(const waypoint::config::Config& cfg, std::map<std::string, Initiating> kept);
  // reload(): deletes the SAs of `peers` (their Delete queued) and their HA
  // copies; the Child SAs' inbound SPIs into `children`.
  size_t reload_delete(const std::set<std::string>& peers, std::chrono::steady_clock::time_point now,
                       std::set<uint32_t>& children);
  void sync_sas(std::chrono::steady_clock::time_point now);  // EspSaBook follows the Child SAs; publish when changed
  // The site's rekeys we answered whose outbound waits (EspSaBook::pending,
  // deferred_): moved to the new SA at its first packet there, when the old
  // one is gone (`live` given: the sealing Child SA is not in it; counted as
  // the site's Delete when in `site_deleted`, else as ours), or after
  // kRekeyDeferFallback; true when one moved (publish then). A moved Child
  // SA, or one a newer SA took the place of, is told to its IKE SA's holder
  // (child_sealed): installed again, it does not wait again.
  bool settle_deferred(std::chrono::steady_clock::time_point now, const std::set<uint32_t>* live,
                       const std::set<uint32_t>* site_deleted = nullptr);
  // Child SA `spi_in` waits no more: its holder clears ChildSa::seal_deferred.
  void end_wait(uint32_t spi_in);
  // Our lifetimes (ike_service_rekey.cc): rekeys and deletes due at `now`.
  void enforce_lifetimes(std::chrono::steady_clock::time_point now);
  void enforce_ike(const ike::IkeSa& sa, Initiating* in, std::chrono::steady_clock::time_point now);
  void enforce_child(const ike::IkeSa& sa, Initiating* in, uint32_t spi_in, bool newest,
                     std::chrono::steady_clock::time_point now);
  void queue_request(const ike::IkeSa& sa, ike::Bytes request);  // ours on an SA the peer began
  // Our DPD on the IKE SAs the responder holds (ike_service_dpd.cc).
  void site_liveness(std::chrono::steady_clock::time_point now);
  uint64_t tunnel_bytes(uint16_t tunnel) const;                   // inner bytes sealed + opened
  uint64_t child_bytes(uint32_t spi_in) const;
  void fold_rekeys(Initiating& in);
  int64_t ike_expires_in(const ike::IkeSa& sa, std::chrono::steady_clock::time_point now) const;
  // HA (ike_service_ha.cc): the peer's records in, copies installed or
  // removed by address ownership, our changes and sequence marks out.
  bool ha_step(std::chrono::steady_clock::time_point now);  // true: something changed
  void ha_receive(std::chrono::steady_clock::time_point now);
  bool ha_ownership(std::chrono::steady_clock::time_point now);
  void ha_send(std::chrono::steady_clock::time_point now);
  // The same for the SAs our initiators hold (ike_service_ha_init.cc).
  Initiating* initiating_for(size_t peer);
  bool ha_carries(Initiating& in) const;
  void ha_receive_initiator(const waypoint::ha::IkeSaRecord& rec, std::chrono::steady_clock::time_point now);
  bool ha_initiator_ownership(std::chrono::steady_clock::time_point now);
  void ha_send_initiators(waypoint::ha::IkeSync& msg, bool full, bool marks, std::chrono::steady_clock::time_point now);
  ike::ChildSeqs ha_seqs(const ike::IkeSa& sa);
  void forget_gone_children();
  const char* ha_role(const ike::IkeSa& sa) const;
  bool ha_answers_for(const ike::IkeSa& sa) const;
  void publish();
  void retire_quiesced();
  // Ages and lifetimes in the document as of `now`, the caller's clock.
  void render(std::chrono::steady_clock::time_point now);
  // What metrics() formats, copied by render() (ike_service_metrics.cc).
  struct MetricsCopy {
    ike::ResponderCounters responder;
    std::array<uint64_t, kIkeServiceCounters> service{};
    std::array<uint64_t, ike::kInitFailures> init_failures{};
    ike::RekeyCounters rekey;
    uint64_t ike_sas = 0, child_sas = 0, half_open = 0;
  };
  void copy_metrics(size_t ike_sas, size_t child_sas);
  // The ESP counters of Child SA `spi_in` (inbound, outbound), summed over the workers.
  std::pair<EspSaCounters, EspSaCounters> child_counters(uint32_t spi_in) const;
  void start(Initiating& in, std::chrono::steady_clock::time_point now);
  void check_initiator(Initiating& in, std::chrono::steady_clock::time_point now);
  ike::Bytes initiator_input(ike::CSpan ike, const IpAddress& src);
  void queue(const Initiating& in, ike::Bytes request);

  struct PeerInfo {
    std::string name, tunnel;
    IpAddress address;
    IpAddress local;  // ipsec_peers[].local_address; unset: any of ours (of address's family)
    uint32_t ike_lifetime_s = 0, child_lifetime_s = 0;
    uint64_t child_lifetime_bytes = 0;  // 0: none
    std::chrono::seconds dpd{30};       // dpd_interval_s: the silence after which our DPD asks
  };
  // The configured peer of `sa` (by its config's name); null: none (no config, or gone).
  const PeerInfo* peer_of(const ike::IkeSa& sa) const;
  struct Installed {
    uint16_t tunnel;
    std::chrono::steady_clock::time_point since;
    uint64_t bytes_base = 0;  // tunnel_bytes() when installed
    uint64_t bytes_before = 0;  // counted by the HA peer before (ike::ChildSeq::bytes)
    ike::SaLifetime life;
  };

  std::atomic<const EspSaTable*>& published_;
  const EspTunnelCounters* tunnel_counters_ = nullptr;
  uint32_t counter_readers_ = 0;
  const EspPathMtu* path_mtu_ = nullptr;
  const EspSaCounterSlot* sa_counters_ = nullptr;
  // Why the SAs our initiators held failed (ike::InitFailure), kept past the initiator.
  std::array<uint64_t, ike::kInitFailures> init_failures_{};
  struct TunnelInfo {
    std::string name, peer, tenant;
    uint32_t mtu = 0;
  };
  std::vector<TunnelInfo> tunnels_;  // config order = the table's tunnel index
  Readers readers_;
  Log log_;
  ike::Responder responder_;
  std::vector<PeerInfo> peers_;
  // One per ipsec_peers[].initiate peer.
  struct Initiating {
    size_t peer = 0;  // index into peers_ (= ipsec_peers)
    ike::PeerConfig config;
    std::vector<ike::IkeSuite> ike_suites;
    ike::InitiateSchedule schedule;
    std::unique_ptr<ike::Initiator> initiator;  // the current attempt or SA
    IpAddress local;
    bool up = false;  // established seen (logged, backoff reset)
    // HA: ipsec_peers[].initiate_from, else local_address (0: the route's WAN address); whether
    // the SA it holds was taken over from the HA peer (docs/ipsec.md § HA).
    IpAddress from;
    bool ha_taken = false;
    std::chrono::steady_clock::time_point last_keepalive{};  // behind a NAT: every 20 s
    ike::RekeyCounters seen_rekeys;  // of the initiator's counters, counted into rekey_
  };
  std::vector<Initiating> initiating_;
  waypoint::config::Config config_;  // ipsec_peers and tunnels as applied (reload() compares)
  std::vector<IkeDatagram> outgoing_;
  bool consumed_ = false;
  SourceFn source_;
  CryptoEngine engine_;  // expands ESP keys (IPsec-MB) for the SA table
  EspSaBook book_;
  std::map<uint32_t, Installed> installed_;  // our inbound SPI -> what the book holds
  // Child SAs rekeyed away, still in the book (opening only) until `until`
  // (sync_sas), in the order they left.
  struct Draining {
    uint32_t spi_in;
    std::chrono::steady_clock::time_point until;
  };
  std::deque<Draining> draining_;
  std::map<uint32_t, uint16_t> deferred_;  // pending Child SAs (inbound SPI) -> their tunnel (settle_deferred)
  std::map<std::pair<uint64_t, uint64_t>, ike::SaLifetime> ike_lives_;  // (SPIi, SPIr) -> our IKE SA lifetime
  ike::RekeyCounters rekey_;  // what IkeService started; outcomes added by rekey_counters()
  std::unique_ptr<const EspSaTable> current_;
  struct Retired {
    std::unique_ptr<const EspSaTable> table;
    std::vector<uint64_t> epochs;
  };
  std::deque<Retired> retired_;
  std::array<uint64_t, kIkeServiceCounters> counters_{};
  // The cookie secret's last rotation on the caller's clock (the first poll's: none yet).
  std::optional<std::chrono::steady_clock::time_point> last_rotation_;
  std::chrono::steady_clock::time_point last_render_{};

  // HA state (ike_service_ha.cc).
  struct HaCopy {
    std::unique_ptr<ike::IkeSa> sa;  // null while installed here
    ike::ChildSeqs seqs;             // the holder's latest marks
    uint32_t node = 0;  // who sent it
    ike::InitiatorHaState init;  // ha_init_copies_ only
    std::map<uint32_t, std::chrono::steady_clock::time_point> waiting_since;  // set aside here: ha_waiting_since_
  };
  // Decodes a synced record, arrived at `now`, into `copy`, its sender's node included; one that
  // does not decode is counted (ike_ha_decode_errors) and logged, and false comes back.
  bool ha_decode_copy(const waypoint::ha::IkeSaRecord& rec, std::chrono::steady_clock::time_point now, HaCopy& copy);
  // Our own IKE SA `sa` as a copy, set aside (the address is not ours now; the caller
  // releases it into copy.sa): its Child SAs' HA marks leave, one still waiting for the
  // site's switch keeps when it was installed (HaCopy::waiting_since).
  HaCopy ha_set_aside(const ike::IkeSa& sa);
  IkeHaChannel* ha_ = nullptr;
  uint32_t ha_node_ = 0;
  const EspSeqMarks* ha_marks_ = nullptr;
  AnswersFn ha_answers_;
  std::map<uint64_t, HaCopy> ha_copies_;      // the peer's IKE SAs by SPIr
  // The peer's initiated SAs, one per ipsec_peers index (IkeSaRecord.initiator).
  std::map<size_t, HaCopy> ha_init_copies_;
  struct InitSent {
    uint64_t spi_i = 0, spi_r = 0, fingerprint = 0;
  };
  std::map<size_t, InitSent> ha_init_sent_;  // by ipsec_peers index: what the peer last heard
  std::map<uint64_t, bool> ha_installed_;  // SPIr of copies installed here -> taken over (false: our own back)
  std::map<uint64_t, uint64_t> ha_sent_;      // SPIr -> sync_fingerprint the peer last heard
  std::map<uint32_t, ike::ChildSeq> ha_seq_;  // our Child SAs (spi_in): the numbers the peer last heard
  // Installed copies' Child SAs: where the workers start, where the lifetime began and its bytes so far.
  std::map<uint32_t, ike::ChildSeq> ha_starts_;
  // Child SAs of our own copies resumed here that still waited for the
  // site's switch when set aside: when they were first installed (sync_sas
  // takes it, so settle_deferred's fallback keeps its deadline).
  std::map<uint32_t, std::chrono::steady_clock::time_point> ha_waiting_since_;
  std::chrono::steady_clock::time_point ha_last_seq_{};

  mutable std::mutex mu_;  // guards status_ (the pointer only)
  std::shared_ptr<const std::string> status_;
  std::shared_ptr<const MetricsCopy> metrics_;  // guarded by mu_ too
};

}  // namespace wp
