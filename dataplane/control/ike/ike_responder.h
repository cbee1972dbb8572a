// The IKEv2 responder (RFC 7296): IKE_SA_INIT, IKE_AUTH with a pre-shared
// key and the first Child SA, INFORMATIONAL (liveness, Delete of the IKE SA
// or of Child SAs). One datagram in, at most one datagram out; no sockets
// here (tools/ike_responder.cc puts it on UDP 500/4500).
//
// - IKE_SA_INIT (§ 1.2): the first of the initiator's proposals that holds
//   one of our suites; INVALID_KE_PAYLOAD with our group when the KE group
//   differs (no state kept, § 1.2); NO_PROPOSAL_CHOSEN; NAT detection (§ 2.23);
//   our SPI and nonce random.
// - IKE_AUTH (§ 1.2, § 2.15): the initiator's AUTH checked (constant time)
//   with the PSK of the peer its IDi names; AUTHENTICATION_FAILED and the SA
//   forgotten otherwise. The Child SA (§ 2.9, § 2.17) is negotiated in the
//   same exchange; its failure (NO_PROPOSAL_CHOSEN, TS_UNACCEPTABLE) leaves
//   the IKE SA up.
// - Message IDs with a window of 1 (§ 2.3): a retransmitted request gets our
//   stored response byte for byte, an older or later one is dropped.
// - Our own requests on these SAs (ike_responder_requests.cc): rekeys of
//   their Child SAs when our lifetimes expire (ike_lifetime.h), rekeys of the
//   IKE SA itself (ike_responder_ike_rekey.cc: the new SA is ours as its
//   initiator, IkeSa::we_initiated), Deletes, liveness checks (our DPD);
//   message IDs of our own from 0, retransmitted (ike_request.h); the peer's
//   answers (Initiator flag and Response flag set) come through handle().
// Every refusal is counted by reason and logged with the peer's address;
// secrets are never logged.
#pragma once

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

// Our own requests on IKE SAs the peer began.
struct OwnRequestCounters {
  uint64_t requests_sent = 0, answers = 0, retransmits = 0, timeouts = 0, child_rekeys_started = 0, child_rekeys_completed = 0,
           child_rekeys_refused = 0, collisions = 0, child_deletes_sent = 0, ike_deletes_sent = 0;
  // Our IKE SA rekeys (rekey_sa): started, answered (the new SA in place), refused.
  uint64_t ike_rekeys_started = 0, ike_rekeys_completed = 0, ike_rekeys_refused = 0;
  // § 2.8.1 / § 2.8.2 collisions resolved by the nonces: our new SA survived / was redundant.
  uint64_t collisions_won = 0, collisions_lost = 0;
  // Our liveness checks (liveness()): sent, answered, and SAs deleted
  // because one went unanswered after every try (not in `timeouts`).
  uint64_t liveness_sent = 0, liveness_answered = 0, dead_peers = 0;
};

class Responder {
 public:
  using Log = std::function<void(const std::string&)>;
  using Clock = std::chrono::steady_clock;
  explicit Responder(ResponderConfig config, Log log = {});
  ~Responder();
  Responder(const Responder&) = delete;
  Responder& operator=(const Responder&) = delete;

  // One datagram (without the non-ESP marker of port 4500) received at
  // `local` from `peer`; returns the datagram to send back (empty: none).
  // `now` times our own requests' retransmissions.
  Bytes handle(CSpan datagram, const Endpoint& peer, const Endpoint& local, Clock::time_point now = Clock::now());

  // Our own requests on the established IKE SA `spi_r`, each returned to be
  // sent to its peer from its local endpoint; empty when the SA is unknown
  // or not established, the Child SA unknown, or a request of ours is
  // outstanding on it. rekey_child: CREATE_CHILD_SA rekeying the Child SA
  // whose inbound SPI is `spi_in` (ike_child_rekey.h); once answered the
  // new SA is in the SA's children (inbound and outbound) and handle()
  // returns the Delete of the old one, which stays until that is answered
  // (make before break). § 2.8.1: when the peer rekeyed the same Child SA
  // meanwhile, the SA made with the lowest nonce is deleted instead, by
  // whoever made it. delete_child / delete_sa: a Delete (hard lifetime).
  Bytes rekey_child(uint64_t spi_r, uint32_t spi_in, Clock::time_point now, uint16_t pfs_group = 0);
  Bytes delete_child(uint64_t spi_r, uint32_t spi_in, Clock::time_point now);
  Bytes delete_sa(uint64_t spi_r, Clock::time_point now);
  // CREATE_CHILD_SA rekeying the IKE SA itself (§ 1.3.2, ike_sa_rekey.h).
  // Once answered the new IKE SA (we its initiator: IkeSa::we_initiated,
  // message IDs from 0) holds the Child SAs, and handle() returns the Delete
  // of the old IKE SA, sealed on the old one, which goes when that is
  // answered or unanswered. Refused: the SA unchanged (counted). Meanwhile
  // the peer's CREATE_CHILD_SA requests for Child SAs on it are answered
  // TEMPORARY_FAILURE (§ 2.25.2). A simultaneous IKE SA rekey of the peer's
  // is answered as usual, and once both exchanges are done the new IKE SA
  // with the lowest of the four nonces is redundant (§ 2.8.2): deleted by
  // whoever made it, the Child SAs on the other one, whose maker deletes the
  // old SA (ike_responder_ike_collision.cc).
  Bytes rekey_sa(uint64_t spi_r, Clock::time_point now);
  // An empty INFORMATIONAL (our DPD, § 2.4; the caller decides when the SA
  // has been silent long enough, IkeSa::last_inbound). Answered: nothing
  // changes but last_inbound. Unanswered after every try: tick() deletes
  // the SA, counted in dead_peers.
  Bytes liveness(uint64_t spi_r, Clock::time_point now);
  // Whether our SPI `spi` names an SA we hold as its initiator (we_initiated):
  // the peer's messages on it carry our SPI first and no Initiator flag.
  bool holds_as_initiator(uint64_t spi) const {
    const auto it = sas_.find(spi);
    return it != sas_.end() && it->second->we_initiated;
  }
  // Retransmissions of our requests due at `now`, by IKE SA; an SA whose
  // request went unanswered after every try is deleted (§ 2.4).
  std::vector<std::pair<uint64_t, Bytes>> tick(Clock::time_point now);
  bool request_outstanding(uint64_t spi_r) const;
  // The old Child SA (inbound SPI) our outstanding rekey on `spi_r` replaces, 0: none.
  uint32_t rekeying(uint64_t spi_r) const;
  const OwnRequestCounters& own_counters() const { return own_counters_; }

  // Forgets the IKE SAs whose IKE_AUTH has not come `max_age` after their
  // IKE_SA_INIT (§ 2.6's half-open SAs; the caller's timer calls it).
  void expire_half_open(std::chrono::steady_clock::time_point now, std::chrono::seconds max_age);

  // A new secret for the cookies (§ 2.6); cookies made with the previous
  // one stay valid until the next call (the caller's timer calls it).
  void rotate_cookie_secret();
  uint8_t cookie_version() const { return cookie_version_; }  // rotations so far, mod 256
  size_t half_open() const { return half_open_; }

  const ResponderCounters& counters() const { return counters_; }
  // The Child SAs (our inbound SPIs) the peer's own INFORMATIONAL Delete
  // took (§ 1.4.1) since the last call, not ours: the IKE service tells the
  // site's Delete of a rekeyed SA from our own (docs/ipsec.md § Rekeying).
  std::vector<uint32_t> take_peer_deleted() { return std::exchange(peer_deleted_, {}); }
  // The Child SA `spi_in`, made by the peer's rekey we answered
  // (ChildSa::seal_deferred), seals now: installed again (an HA set-aside
  // and resume) it seals at once like any other; false when unknown.
  bool child_sealed(uint32_t spi_in);
  // IKE SAs by our (responder) SPI.
  const std::map<uint64_t, std::unique_ptr<IkeSa>>& sas() const { return sas_; }
  const ResponderConfig& config() const { return config_; }

  // HA (ike_sa_sync.h, docs/ipsec.md § HA): an established IKE SA synced
  // from the peer joins our tables at `now` as if negotiated here (its
  // silence for our DPD counts from then); false when its SPIs or a Child
  // SA's inbound SPI are already held. release() takes one out again
  // without a Delete or a counter (handed back to the peer).
  bool adopt(std::unique_ptr<IkeSa> sa, Clock::time_point now);
  std::unique_ptr<IkeSa> release(uint64_t spi_r);

  // Live reload (ike_responder_reload.cc, docs/ipsec.md § Live reload):
  // remove() deletes IKE SA `spi_r` and its Child
  // SAs at once, counted as deleted (the caller sent its Delete, best
  // effort, from delete_sa()). reconfigure() takes the new configuration and
  // binds every IKE SA to its peer's entry there, by name; an SA whose peer
  // is not there any more is removed (the caller removed them first).
  void remove(uint64_t spi_r) { erase(spi_r); }
  void reconfigure(ResponderConfig next);

 private:
  // `now` throughout: when the datagram arrived, on the caller's clock (IkeSa::created).
  Bytes on_sa_init(CSpan datagram, const Message& m, const Endpoint& peer, const Endpoint& local,
                   Clock::time_point now);
  Bytes sa_init_reply(CSpan datagram, const Message& m, const IkeChoice& choice, const Endpoint& peer,
                      const Endpoint& local, Clock::time_point now);
  Bytes on_encrypted(CSpan datagram, const Message& m, IkeSa& sa, const Endpoint& from, uint16_t local_port,
                     Clock::time_point now);
  Bytes dispatch(const Message& m, std::vector<Payload>& inner, IkeSa& sa, bool& erase, Clock::time_point now);
  std::vector<Payload> on_auth(const std::vector<Payload>& in, IkeSa& sa, bool& erase);
  bool authenticate(const std::vector<Payload>& in, IkeSa& sa);
  void add_child(const std::vector<Payload>& in, IkeSa& sa, std::vector<Payload>& out);
  std::vector<Payload> on_create_child(const std::vector<Payload>& in, IkeSa& sa, Clock::time_point now);
  std::vector<Payload> rekey_ike(const std::vector<Payload>& in, IkeSa& sa, Clock::time_point now);
  bool narrow_child(const TsPayload& tsi, const TsPayload& tsr, IkeSa& sa, ChildSa& child, std::vector<Payload>& out);
  uint32_t install_child(IkeSa& sa, ChildSa child, const EspChoice& choice, CSpan ni, CSpan nr, CSpan g_ir);
  std::vector<Payload> on_informational(const std::vector<Payload>& in, IkeSa& sa, bool& erase);
  Bytes seal(IkeSa& sa, Exchange ex, uint32_t id, const std::vector<Payload>& inner, bool response = true);
  // Our own requests (ike_responder_requests.cc).
  struct OwnRequests {
    RequestWindow window;
    bool rekeying = false, deleting_sa = false, rekeying_ike = false, liveness = false;
    ChildRekey rekey;
    IkeSaRekey ike_rekey;
    uint32_t deleting_child = 0;
    // § 2.8.1: the peer rekeyed the Child SA ours rekeys: its new SA (our
    // inbound SPI) and that exchange's nonces.
    uint32_t collided = 0;
    Bytes collided_ni, collided_nr;
    // § 2.8.2: the peer rekeyed this IKE SA while our IKE SA rekey of it
    // was outstanding: its new IKE SA (our SPI) and that exchange's nonces
    // (ike_responder_ike_collision.cc).
    uint64_t collided_ike = 0;
    Bytes collided_ike_ni, collided_ike_nr;
  };
  OwnRequests* own_idle(uint64_t spi_r, IkeSa*& sa);
  Bytes own_send(IkeSa& sa, OwnRequests& o, Exchange ex, const std::vector<Payload>& inner, Clock::time_point now);
  Bytes own_rekey_request(IkeSa& sa, OwnRequests& o, uint32_t old_spi, uint16_t group, Clock::time_point now);
  Bytes own_delete_child(IkeSa& sa, OwnRequests& o, uint32_t spi_in, Clock::time_point now);
  Bytes on_own_answer(CSpan datagram, const Message& m, const Endpoint& peer, Clock::time_point now);
  Bytes on_own_rekey_answer(IkeSa& sa, OwnRequests& o, const std::vector<Payload>& in, Clock::time_point now);
  Bytes on_own_ike_rekey_answer(IkeSa& sa, OwnRequests& o, const std::vector<Payload>& in, Clock::time_point now);
  void note_collision(const IkeSa& sa, uint32_t rekeyed, uint32_t new_spi, const Bytes& ni, const Bytes& nr);
  // Simultaneous IKE SA rekeys (§ 2.8.2, ike_responder_ike_collision.cc).
  bool note_ike_collision(const IkeSa& old, const IkeSa& theirs);
  Bytes resolve_ike_collision(IkeSa& old, IkeSa& ours, OwnRequests& o, Clock::time_point now);
  void return_collided_children(IkeSa& theirs);
  void erase(uint64_t spi_r);
  void set_cert_request();  // from config_'s certificate peers
  void initial_contact(const IkeSa& sa);
  uint64_t new_ike_spi() const;
  uint32_t new_esp_spi(uint32_t tunnel) const;
  void refuse(Refusal r, const Endpoint& peer, const std::string& detail);
  Bytes cookie(uint8_t version, const Message& m, const Endpoint& peer) const;
  bool cookie_ok(const Message& m, const Endpoint& peer);

  ResponderConfig config_;
  Log log_;
  ResponderCounters counters_;
  std::map<uint64_t, std::unique_ptr<IkeSa>> sas_;
  std::map<std::pair<uint64_t, Bytes>, uint64_t> by_initiator_;  // (SPIi, peer address) -> our SPI
  std::map<uint32_t, uint64_t> esp_spis_;                        // our inbound ESP SPIs -> IKE SA
  std::vector<uint32_t> peer_deleted_;                           // take_peer_deleted()
  std::map<uint64_t, OwnRequests> own_;                          // by our SPI; made by our first request
  OwnRequestCounters own_counters_;
  size_t half_open_ = 0;  // IKE SAs waiting for their IKE_AUTH
  uint8_t cookie_version_ = 0;
  std::optional<Payload> cert_request_;  // CERTREQ of IKE_SA_INIT answers: set when a peer uses certificates
  Bytes cookie_secret_, previous_cookie_secret_;
};

// The generic-header-less ID payload body (§ 2.15): type, 3 reserved bytes, data.
Bytes id_body(const IdPayload& id);
Bytes random_bytes(size_t n);

}  // namespace wp::ike
