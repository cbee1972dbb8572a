// The IKEv2 initiator (RFC 7296): IKE_SA_INIT (retried with the group an
// INVALID_KE_PAYLOAD asks for, § 1.2, and with the COOKIE a responder under
// load asks for, § 2.6), IKE_AUTH with a pre-shared key and the first Child
// SA (the responder's AUTH checked in constant time, its narrowed traffic
// selectors checked against what we offered, KEYMAT § 2.17), INFORMATIONAL
// liveness requests (our DPD) and Delete of the IKE SA. The peer's
// INFORMATIONAL requests on the SA (liveness, Delete) are answered.
//
// Like the responder, a library: no sockets, no threads, no clock of its
// own. start()/liveness()/delete_sa() return the request to send, handle()
// takes one datagram from the peer and returns what to send back (empty:
// nothing), tick(now) returns the retransmission when one is due. One
// request outstanding at a time (window 1, § 2.3); retransmissions with
// exponential backoff: base, 2 base, 4 base, ... `tries` sends in all, then
// the SA has failed (failure timeout; dead_peer when it was a liveness
// check). Every failure is counted by reason, logged with the peer's
// address; no key is logged, every key is wiped with its SA.
//
// NAT-T (RFC 7296 § 2.23, RFC 3948): IKE_SA_INIT carries
// NAT_DETECTION_SOURCE_IP (SHA-1 of SPIi | 0 | our address | port) and
// NAT_DETECTION_DESTINATION_IP (the same over the peer's); the answer's
// hashes are checked against both ends (nat_local: ours does not match,
// a NAT in front of us; nat_remote: the peer's does not match). When the
// answer carries NAT_DETECTION payloads the peer does NAT-T and every
// later exchange moves to UDP 4500 (nat_t(); the caller sends to port 4500
// with the non-ESP marker); without them IKE stays on port 500.
#pragma once

#include <array>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dataplane/control/ike/ike_child_rekey.h"
#include "dataplane/control/ike/ike_proposal.h"
#include "dataplane/control/ike/ike_request.h"
#include "dataplane/control/ike/ike_sa.h"
#include "dataplane/control/ike/ike_sa_rekey.h"

namespace wp::ike {

struct InitiatorConfig {
  // ids, PSK, ESP suites (offered in order), local_ts (our TSi) and
  // remote_ts (the TSr we ask for), tunnel (the class of our inbound SPIs).
  PeerConfig peer;
  std::vector<IkeSuite> ike_suites;  // offered in order; the first one's group in the first KE
  Endpoint local, remote;
  std::chrono::milliseconds retransmit_base{500};
  unsigned tries = 5;  // sends of one request: 0.5+1+2+4+8 s = 15.5 s with the defaults
};

enum class InitiatorState : uint8_t { idle, sa_init_sent, auth_sent, established, failed, deleted };
std::string_view initiator_state_name(InitiatorState s);

// Why an SA we initiated failed or a datagram was dropped.
#define WP_IKE_INIT_FAILURES(X) \
  X(malformed) X(unexpected_message) X(no_proposal_chosen) X(invalid_ke_payload) X(bad_proposal_answer) \
      X(bad_ke_data) X(integrity_failed) X(authentication_failed) X(peer_auth_failed) X(peer_id_mismatch) \
          X(child_no_proposal_chosen) X(ts_unacceptable) X(child_refused) X(timeout) X(dead_peer) X(error_notify) \
              X(crypto_failure) X(old_message_id) X(rekey_refused) X(peer_bad_certificate) \
                  X(peer_certificate_revoked)

enum class InitFailure : uint8_t {
#define WP_X(n) n,
  WP_IKE_INIT_FAILURES(WP_X)
#undef WP_X
      count
};
inline constexpr size_t kInitFailures = static_cast<size_t>(InitFailure::count);
std::string_view init_failure_name(InitFailure f);

struct InitiatorCounters {
  uint64_t requests_sent = 0, retransmits = 0, responses = 0, ke_retries = 0, cookie_retries = 0;
  uint64_t ike_sas_established = 0, child_sas_installed = 0, liveness_sent = 0, liveness_answered = 0,
           peer_requests = 0, deletes_sent = 0, deleted_by_peer = 0;
  uint64_t child_rekeys_started = 0, child_sas_rekeyed = 0, child_sas_deleted = 0;
  // Our IKE SA rekeys (ike_sa_rekey.h): started, answered with the new SA,
  // the peer's CREATE_CHILD_SA answered TEMPORARY_FAILURE meanwhile (§ 2.25),
  // the old SA's Delete answered or given up.
  uint64_t ike_rekeys_started = 0, ike_sas_rekeyed = 0, ike_rekey_collisions = 0, old_ike_sas_deleted = 0,
           old_ike_deletes_unanswered = 0;
  // § 2.23: the peer's address or port followed to where an authenticated message came from.
  uint64_t peer_moved = 0;
  // The peer's CREATE_CHILD_SA on our SA (ike_initiator_peer.cc): its Child
  // SA rekeys and new Child SAs answered; refused by the responder's reason
  // names (peer_refused); its rekey of a Child SA we are deleting after our
  // own rekey of it, or of the IKE SA while a request of ours is outstanding
  // on it (TEMPORARY_FAILURE, § 2.25). § 2.8.1: a collision of its rekey
  // with ours, our new SA the survivor (won) or redundant (lost).
  uint64_t peer_child_rekeys = 0, peer_child_sas = 0, peer_rekeys_deferred = 0, child_collisions_won = 0,
           child_collisions_lost = 0;
  // Its IKE SA rekeys answered (ike_initiator_ike_rekey.cc: the new SA the
  // peer's, IkeSa::peer_initiated); § 2.8.2: its IKE SA rekey crossing ours,
  // our new IKE SA the survivor (won) or redundant (lost).
  uint64_t peer_ike_rekeys = 0, ike_collisions_won = 0, ike_collisions_lost = 0;
  std::array<uint64_t, kRefusals> peer_refused{};
  std::array<uint64_t, kInitFailures> failures{};
  uint64_t& operator[](InitFailure f) { return failures[static_cast<size_t>(f)]; }
  uint64_t operator[](InitFailure f) const { return failures[static_cast<size_t>(f)]; }
};

// What an established SA of ours needs besides the IkeSa to go on at the HA
// peer (docs/ipsec.md § HA, ike_initiator_ha.cc).
struct InitiatorHaState {
  bool nat_t = false, nat_local = false, nat_remote = false;
  uint32_t newest_child = 0;  // inbound SPI
};

// Our inbound SPI for a new Child SA: random, carrying the tunnel's affinity
// class (the owner rule for ESP, dataplane/ipsec/esp_owner.h), never 0-255,
// none of `taken`.
uint32_t new_child_spi(uint32_t tunnel, const std::map<uint32_t, ChildSa>& taken);
// A random IKE SPI of ours (never 0).
uint64_t random_ike_spi();

class Initiator {
 public:
  using Log = std::function<void(const std::string&)>;
  using Clock = std::chrono::steady_clock;
  explicit Initiator(InitiatorConfig config, Log log = {});
  ~Initiator();
  Initiator(const Initiator&) = delete;
  Initiator& operator=(const Initiator&) = delete;

  // The IKE_SA_INIT request (a fresh SA: SPI, nonce, DH key); from any state.
  Bytes start(Clock::time_point now);
  // One datagram from the peer (without the non-ESP marker), `from` where it
  // came from (null: unknown). § 2.23: with a NAT in front of the peer and
  // none in front of us, an authenticated message of the SA from another
  // address or port moves the peer there (sa()->peer, counted peer_moved);
  // the caller sends to sa()->peer from then on.
  Bytes handle(CSpan datagram, Clock::time_point now, const Endpoint* from = nullptr);
  // The retransmission due at `now`, if any; the SA fails after the last try.
  Bytes tick(Clock::time_point now);
  // An empty INFORMATIONAL request (§ 1.4); empty when not established or a
  // request is outstanding.
  Bytes liveness(Clock::time_point now);
  // INFORMATIONAL with a Delete of the IKE SA (its Child SAs with it, § 1.4.1).
  Bytes delete_sa(Clock::time_point now);
  // CREATE_CHILD_SA rekeying the current Child SA (§ 1.3.3), with a KE of
  // `pfs_group` (0: no PFS). Make before break: the new Child SA is
  // installed when the answer comes, handle() then returns the Delete of
  // the old one, which stays (inbound valid) until the peer answers it.
  // Empty when not established, without a Child SA, or a request is
  // outstanding. A refused rekey leaves the IKE SA and the old Child SA up
  // (counted rekey_refused; INVALID_KE_PAYLOAD retried once).
  Bytes rekey_child(Clock::time_point now, uint16_t pfs_group = 0);
  // INFORMATIONAL with a Delete of the Child SA whose inbound SPI (ours) is
  // `spi_in` (its hard lifetime passed, ike_lifetime.h); empty when not
  // established, unknown or a request is outstanding.
  Bytes delete_child(Clock::time_point now, uint32_t spi_in);
  // CREATE_CHILD_SA rekeying the IKE SA itself (§ 1.3.2, ike_sa_rekey.h):
  // our new SPI, Ni, KEi of the negotiated group. Once answered, sa() is the
  // new IKE SA (SPIs and keys of § 2.18, message IDs from 0, the Child SAs
  // moved to it unchanged) and handle() returns the Delete of the old IKE SA
  // sealed on the old one, kept (old_sa()) until that is answered or its
  // retransmissions run out. A refused rekey leaves the SA as it was
  // (counted rekey_refused); an unanswered one fails the SA (§ 2.4). Empty
  // when not established or a request is outstanding.
  Bytes rekey_ike(Clock::time_point now);
  // Whether a datagram from the peer with these SPIs (wire order) and
  // Initiator flag is for us: the SA or an old one (an SA the peer began by
  // its rekey carries the flag, its SPI first, IkeSa::peer_initiated).
  bool owns(uint64_t spi_i, uint64_t spi_r, bool initiator_flag) const;
  bool owns(uint64_t spi_i) const { return owns(spi_i, 0, false); }
  bool rekeying_ike() const { return outstanding_ike_rekey_; }
  // The first IKE SA a rekey replaced that is still kept: our Delete of it
  // outstanding (our rekey), or the peer's awaited (the peer's rekey, or a
  // § 2.8.2 collision); null when none.
  const IkeSa* old_sa() const { return olds_.empty() ? nullptr : olds_.front().sa.get(); }
  size_t old_sa_count() const { return olds_.size(); }

  // HA (docs/ipsec.md § HA, ike_initiator_ha.cc). ha_view(): the
  // established SA with the message-ID windows copied into its fields
  // (next_request_id: the peer's next request we accept, has_response /
  // last_response_id / last_response: our answer to its last one,
  // own_next_request_id: our next request's), for ike_sa_sync; null when
  // not established. ha_state(): the rest the peer needs. adopt(): carry
  // on an SA our HA peer established (or we did before it took over): from
  // idle, failed or deleted only, the SA established, its windows as
  // ha_view() left them (a request of the holder still unanswered is
  // forgotten, its ID spent), DPD counted from `now`. release(): the SA out
  // again (windows in its fields), this initiator left idle; no Delete.
  const IkeSa* ha_view();
  InitiatorHaState ha_state() const;
  bool adopt(std::unique_ptr<IkeSa> sa, const InitiatorHaState& st, Clock::time_point now);
  std::unique_ptr<IkeSa> release();

  InitiatorState state() const { return state_; }
  std::optional<InitFailure> failure() const { return failure_; }
  // A request outstanding on the SA, or an old SA's Delete after our IKE SA rekey.
  bool request_outstanding() const;
  // Our Child SA rekey awaiting its answer (its old SA's inbound SPI), 0: none.
  uint32_t rekeying() const { return outstanding_rekey_ ? rekey_.old_spi() : 0; }
  Clock::time_point last_inbound() const { return last_inbound_; }
  const InitiatorCounters& counters() const { return counters_; }
  // The Child SAs (our inbound SPIs) the peer's own INFORMATIONAL Delete
  // took (§ 1.4.1) since the last call, not ours (Responder::take_peer_deleted).
  std::vector<uint32_t> take_peer_deleted() { return std::exchange(peer_deleted_, {}); }
  // The Child SA `spi_in` of the peer's rekey we answered seals now
  // (Responder::child_sealed); false when unknown.
  bool child_sealed(uint32_t spi_in);
  // The IKE SA (keys, SPIs) and its Child SA once established; null before.
  const IkeSa* sa() const { return sa_.get(); }
  const ChildSa* child() const;  // the newest one
  size_t child_count() const { return sa_ ? sa_->children.size() : 0; }
  const IkeSuite& suite() const { return sa_->suite; }
  // NAT-T (above): IKE moved to UDP 4500 after IKE_SA_INIT; the answer's
  // NAT_DETECTION_DESTINATION_IP does not match our address (a NAT in front
  // of us), its NAT_DETECTION_SOURCE_IP not the peer's (a NAT in front of
  // it). Reset by start().
  bool nat_t() const { return nat_t_; }
  bool nat_local() const { return nat_local_; }
  bool nat_remote() const { return nat_remote_; }

 private:
  Bytes sa_init_request();
  Bytes on_sa_init(const Message& m, CSpan datagram);
  void check_nat(const Message& m);
  Bytes auth_request();
  void on_auth(const std::vector<Payload>& in);
  bool check_child(const std::vector<Payload>& in);
  // The Child SA the responder accepted (IKE_AUTH or a rekey), keys derived
  // (§ 2.17), stored as the newest one.
  const ChildSa& install_child(const EspChoice& choice, uint32_t spi_in, const TsPayload& tsi, const TsPayload& tsr,
                               CSpan ni, CSpan nr, CSpan g_ir);
  Bytes rekey_request(uint32_t old_spi, uint16_t group);
  Bytes on_rekey(const std::vector<Payload>& in, Clock::time_point now);
  Bytes delete_child_request(uint32_t spi_in, Clock::time_point now);
  Bytes on_peer_request(const Message& m, const std::vector<Payload>& in, Clock::time_point now);
  // The peer's CREATE_CHILD_SA: the answer's payloads (ike_initiator_peer.cc).
  std::vector<Payload> on_peer_create_child(const std::vector<Payload>& in, Clock::time_point now);
  // After our Child SA rekey made `ours` (replacing `old`): the SA to delete,
  // `old`, or `ours` when the peer's rekey of `old` crossed ours and ours has
  // the lowest nonce (§ 2.8.1).
  uint32_t resolve_child_collision(uint32_t ours, uint32_t old);
  Bytes send(Bytes request, Exchange ex, Clock::time_point now);
  Bytes seal(Exchange ex, uint32_t id, bool response, const std::vector<Payload>& inner);
  Bytes seal_on(const IkeSa& sa, Exchange ex, uint32_t id, bool response, const std::vector<Payload>& inner);
  Bytes on_ike_rekey(const std::vector<Payload>& in, Clock::time_point now);
  // An IKE SA a rekey replaced, kept until deleted: by our Delete (`window`
  // outstanding) or by the peer's; the peer's requests on it answered.
  struct OldIkeSa {
    std::unique_ptr<IkeSa> sa;
    RequestWindow window;
    uint32_t peer_next_id = 0;
    Bytes peer_last_answer;
  };
  Bytes on_old_sa(size_t k, const Message& m, CSpan datagram, Clock::time_point now);
  // sa_ becomes `next`; the SA it was joins olds_ with our window and the
  // peer's, which start again from 0 on `next` (§ 2.18).
  OldIkeSa& retire_sa(std::unique_ptr<IkeSa> next);
  Bytes delete_on(OldIkeSa& o, Clock::time_point now);
  // The peer's IKE SA rekey (ike_initiator_ike_rekey.cc): the answer's
  // payloads; the new SA waits in peer_rekeyed_ until the answer is sealed on
  // the old one, or in collided_ike_ while our own IKE SA rekey is outstanding.
  std::vector<Payload> on_peer_ike_rekey(const std::vector<Payload>& in, Clock::time_point now);
  void take_peer_rekeyed();
  Bytes resolve_ike_collision(std::unique_ptr<IkeSa> ours, Clock::time_point now);
  void peer_deleted_during_collision();
  void fail(InitFailure f, const std::string& detail);
  void follow_peer(const Endpoint* from);

  InitiatorConfig config_;
  Log log_;
  InitiatorCounters counters_;
  InitiatorState state_ = InitiatorState::idle;
  std::optional<InitFailure> failure_;
  std::unique_ptr<IkeSa> sa_;
  std::unique_ptr<DhKey> dh_;
  uint16_t ke_group_ = 0;
  Bytes cookie_;
  uint32_t our_esp_spi_ = 0;
  // Our requests (window 1): the last one until answered, its retransmissions.
  RequestWindow window_{config_.retransmit_base, config_.tries};
  bool outstanding_liveness_ = false, outstanding_delete_ = false;
  bool nat_t_ = false, nat_local_ = false, nat_remote_ = false;
  // A Child SA rekey in progress; then the old SA's Delete outstanding.
  bool outstanding_rekey_ = false;
  ChildRekey rekey_;
  // § 2.8.1: the peer rekeyed the SA ours rekeys: its new SA (our inbound
  // SPI) and that exchange's nonces (its Ni, our Nr).
  uint32_t collided_ = 0;
  Bytes collided_ni_, collided_nr_;
  uint32_t deleting_child_ = 0;
  uint32_t newest_child_ = 0;
  std::vector<uint32_t> peer_deleted_;  // take_peer_deleted()
  // An IKE SA rekey in progress; then the old IKE SAs until deleted, each
  // with its own request window and the peer's requests on it.
  bool outstanding_ike_rekey_ = false;
  IkeSaRekey ike_rekey_;
  std::vector<OldIkeSa> olds_;
  // The peer's IKE SA rekey: its new SA (peer_initiated) until our answer is
  // sealed on the old SA; § 2.8.2: one made while our IKE SA rekey is
  // outstanding, with that exchange's nonces (its Ni, our Nr).
  std::unique_ptr<IkeSa> peer_rekeyed_, collided_ike_;
  Bytes collided_ike_ni_, collided_ike_nr_;
  Clock::time_point last_inbound_{};
  // The peer's requests: the next ID we accept and our last answer.
  uint32_t peer_next_id_ = 0;
  Bytes peer_last_answer_;
};

}  // namespace wp::ike
