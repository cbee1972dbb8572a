// IKEv2 SA state (RFC 7296 § 2): what the responder configures, what one IKE
// SA and its Child SAs hold, and the counters of every refusal.
//
// Plain structs keyed by SPI, owned by the IKE daemon (control thread only).
// A ChildSa is the hand-over to the ESP dataplane: SPIs, the negotiated ESP
// transform and the four keys of § 2.17, which the IKE service publishes to
// the workers' ESP step in its SA table (dataplane/ipsec/). Every key is wiped
// (wipe()) when its SA is deleted.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/control/ike/ike_crypto.h"
#include "dataplane/control/ike/ike_identity.h"

namespace wp::ike {

struct CertAuth;  // ike_cert.h

// An address and UDP port as seen on the wire (4 or 16 address bytes, network order).
struct Endpoint {
  Bytes addr;
  uint16_t port = 0;
  bool operator==(const Endpoint&) const = default;
  std::string str() const;
};

// ESP transforms (RFC 4303 with IKEv2 transform IDs): aes256gcm16 or
// aes256-sha256 (HMAC-SHA256-128), with or without extended sequence numbers.
struct EspSuite {
  uint16_t encr = kEncrAesGcm16;
  uint16_t integ = 0;  // kIntegHmacSha256_128 with CBC
  bool esn = false;
  bool aead() const { return encr == kEncrAesGcm16; }
  size_t encr_key_len() const { return 32 + (aead() ? 4 : 0); }
  size_t integ_key_len() const { return aead() ? 0 : 32; }
  bool operator==(const EspSuite&) const = default;
};

// One remote site that may authenticate with a pre-shared key.
struct PeerConfig {
  std::string name;
  // Identities as configured (ike_identity.h: FQDN, address, email or DN).
  std::string local_id, remote_id;
  // Their parsed form, filled by responder_config(); when left empty (a
  // hand-made PeerConfig) the accessors parse the strings.
  Identity local_ident, remote_ident;
  Identity local_identity() const { return local_ident.type ? local_ident : identity_of(local_id); }
  Identity remote_identity() const { return remote_ident.type ? remote_ident : identity_of(remote_id); }
  Bytes psk;                        // never logged; empty when `cert` is set
  // Certificate authentication (ike_cert.h): our certificate and key and the
  // CAs trusted for the peer's; nullptr = PSK.
  std::shared_ptr<const CertAuth> cert;
  std::vector<EspSuite> esp_suites;
  // The DH group of our Child SA rekeys (PFS, RFC 7296 § 1.3, § 2.17): a KE
  // of it in CREATE_CHILD_SA and g^ir in the KEYMAT; 0: none. From the
  // group esp_proposals name ("aes256gcm16-ecp256"); IKE_AUTH never has a KE.
  uint16_t pfs_group = 0;
  std::vector<TrafficSelector> local_ts, remote_ts;  // ours (TSr), the site's (TSi)
  // The tunnel interface the peer's Child SAs feed: our inbound SPIs carry
  // its affinity class (dataplane/ipsec/esp_owner.h), so the ESP packets
  // reach the worker that owns the tunnel.
  uint32_t tunnel = 0;
  // ipsec_peers[].local_address: the only address of ours this peer's IKE
  // SAs are answered on (4 bytes); empty = any. Two peers with one
  // remote_id differ in it (docs/ipsec.md § Dynamic routing over tunnels).
  Bytes local_addr;
};

// The responder's configuration: IKE_SA_INIT happens before the initiator
// names itself, so the IKE suites are the responder's, the rest per peer.
struct ResponderConfig {
  std::vector<IkeSuite> ike_suites;
  std::vector<PeerConfig> peers;
  // From this many half-open IKE SAs on, an IKE_SA_INIT without a valid
  // COOKIE is answered with one and leaves no state (RFC 7296 § 2.6).
  size_t cookie_threshold = 64;
};

struct ChildSa {
  uint32_t spi_in = 0;   // ours: ESP packets from the peer carry it
  uint32_t spi_out = 0;  // the peer's: our ESP packets carry it
  EspSuite suite;
  std::vector<TrafficSelector> ts_local, ts_remote;  // narrowed
  Bytes enc_in, integ_in, enc_out, integ_out;        // in = initiator->responder when we respond
  // Made by the peer's rekey we answered (answer_child_request): the peer
  // installs its inbound SA only when it reads our answer, so the old Child
  // SA keeps sealing until the peer's first packet on this one, the old
  // one's Delete, or a bounded wait (RFC 7296 § 2.8; EspSaBook::add reads it
  // at each install). Cleared once that switch happened, or once a newer
  // SA took its place (IkeService::settle_deferred, child_sealed):
  // installed again (an HA set-aside and resume) it seals at once. Not
  // synced to the HA peer: a copy taken over seals at once.
  bool seal_deferred = false;
  // Where it comes in the order this process made Child SAs (a copy decoded
  // from an HA record: in the record's order, which lists them oldest
  // first). The newest Child SA of a tunnel replaced the others by rekey:
  // it seals, and it is the one our lifetimes rekey next. Installing an IKE
  // SA's Child SAs anew (an HA takeover or resume) goes oldest first
  // (children_oldest_first), so that EspSaBook::add ends on the newest.
  uint64_t made = next_child_order();
  static uint64_t next_child_order();
  ChildSa() = default;
  ChildSa(const ChildSa&) = delete;
  ChildSa& operator=(const ChildSa&) = delete;
  ChildSa(ChildSa&&) = default;
  ChildSa& operator=(ChildSa&&) = default;
  ~ChildSa();
};

// Fills a Child SA's four keys from its KEYMAT (RFC 7296 § 2.17): the
// initiator->responder encryption and integrity keys come first, then the
// responder->initiator ones; so the first half is our outbound when we
// initiated the exchange, our inbound when we responded. km holds exactly
// 2 * (encr_key_len + integ_key_len) of child.suite.
void split_child_keys(ChildSa& child, CSpan km, bool initiator);
// KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr) for child.suite, split as
// above and wiped: the one derivation of the initiator and the responder,
// for IKE_AUTH and CREATE_CHILD_SA alike.
void derive_child_keys(ChildSa& child, CSpan sk_d, CSpan ni, CSpan nr, CSpan g_ir, bool initiator);

enum class IkeSaState : uint8_t { init_done, established };

struct IkeSa;
// An IKE SA made by the other end's rekey, turned to be kept from the side
// of the one who holds it (IkeSa::we_initiated, IkeSa::peer_initiated): its
// two SPIs and its three key pairs (SK_e, SK_a, SK_p) swapped. The nonces
// stay as exchanged.
void flip_sides(IkeSa& sa);

struct IkeSa {
  uint64_t spi_i = 0, spi_r = 0;
  IkeSaState state = IkeSaState::init_done;
  Endpoint peer, local;
  bool nat_detected = false;
  // Its Child SAs' ESP in UDP 4500 (RFC 3948) rather than IP protocol 50:
  // a NAT on the path (nat_detected, either end, RFC 7296 § 2.23), or the
  // peer began the IKE SA on UDP 4500 (it asked for 4500 for IKE and ESP).
  // Set at IKE_SA_INIT; a rekeyed IKE SA keeps it.
  bool udp_encap = false;
  // We are this SA's initiator although the responder holds it: it came from
  // our own rekey of an IKE SA the peer began (§ 2.18: the rekey's initiator
  // is the new SA's). The responder keeps it from its own side, as if the
  // peer had begun it: spi_r is our SPI, spi_i the peer's, keys.sk_ei/sk_ai
  // protect the peer's messages and sk_er/sk_ar ours (sk_pi/sk_pr swapped
  // alike); only the wire header differs (SPIs in the other order, our
  // Initiator flag set), which Responder::handle and seal translate.
  bool we_initiated = false;
  // The mirror case: the peer is this SA's initiator although our Initiator
  // (ike_initiator.h) holds it: it came from the peer's rekey of an IKE SA
  // we initiated (§ 2.18). The Initiator keeps it from its own side, as if
  // we had begun it: spi_i is our SPI, spi_r the peer's, keys.sk_ei/sk_ai
  // protect our messages and sk_er/sk_ar the peer's (sk_pi/sk_pr alike);
  // on the wire the peer's SPI comes first, the peer's messages carry the
  // Initiator flag and ours do not, which Initiator::handle and seal_on
  // translate.
  bool peer_initiated = false;
  // When it was made, on the clock of the caller's `now` (IKE_SA_INIT, a
  // rekey; an HA copy: the record's age_ms back from when it arrived), so
  // that our lifetimes and the synced age never mix two clocks.
  std::chrono::steady_clock::time_point created{};
  // When the peer's last authenticated message on it arrived (a request or
  // an answer to ours), on the same clock: our DPD on the SAs the responder
  // holds counts the silence from it (IkeService::site_liveness). Not
  // synced: a copy installed here counts from then (Responder::adopt).
  std::chrono::steady_clock::time_point last_inbound{};
  IkeSuite suite;
  IkeKeys keys;
  Bytes ni, nr, init_request, init_response;  // for the AUTH payloads (§ 2.15)
  const PeerConfig* config = nullptr;         // set once authenticated
  std::string remote_id;
  // Window 1 (§ 2.3): the next request ID we accept and our last response.
  uint32_t next_request_id = 1;
  // The message ID of our own next request on it (rekeys, deletes: the
  // responder's RequestWindow, ike_responder_requests.cc); HA syncs it, so a
  // node that takes the SA over goes on where the holder stopped.
  uint32_t own_next_request_id = 0;
  bool has_response = false;
  uint32_t last_response_id = 0;
  Bytes last_response;
  std::map<uint32_t, ChildSa> children;  // by spi_in
  ~IkeSa();
};

// `sa`'s Child SAs by ChildSa::made, oldest first.
std::vector<const ChildSa*> children_oldest_first(const IkeSa& sa);

// Every reason the responder refused or dropped a datagram.
#define WP_IKE_REFUSALS(X) \
  X(malformed) \
  X(not_a_request) X(unexpected_exchange) X(unknown_spi) X(old_message_id) X(future_message_id) X(no_proposal_chosen) \
      X(invalid_ke_payload) X(bad_ke_data) X(integrity_failed) X(inner_malformed) X(missing_payload) X(unknown_id) \
          X(authentication_failed) X(unsupported_auth_method) X(child_no_proposal_chosen) X(ts_unacceptable) \
              X(crypto_failure) X(half_open_expired) X(child_sa_not_found) X(cookie_required) X(bad_cookie) \
                  X(bad_certificate) X(certificate_revoked)

enum class Refusal : uint8_t {
#define WP_X(n) n,
  WP_IKE_REFUSALS(WP_X)
#undef WP_X
      count
};
inline constexpr size_t kRefusals = static_cast<size_t>(Refusal::count);
std::string_view refusal_name(Refusal r);

struct ResponderCounters {
  uint64_t requests = 0, responses_sent = 0, retransmits = 0;
  uint64_t ike_sas_established = 0, ike_sas_rekeyed = 0, ike_sas_deleted = 0, child_sas_installed = 0,
           child_sas_deleted = 0;
  // The peer's CREATE_CHILD_SA with REKEY_SA answered with the new Child SA.
  uint64_t peer_child_rekeys = 0;
  // ... without REKEY_SA: a new Child SA after IKE_AUTH (§ 1.3.1).
  uint64_t peer_child_sas = 0;
  std::array<uint64_t, kRefusals> refused{};
  std::array<uint64_t, kIkeErrors> parse_errors{};
  uint64_t& operator[](Refusal r) { return refused[static_cast<size_t>(r)]; }
  uint64_t operator[](Refusal r) const { return refused[static_cast<size_t>(r)]; }
};

// Notify message types (IANA "IKEv2 Notify Message Types").
inline constexpr uint16_t kNotifyInvalidSyntax = 7, kNotifyInvalidMessageId = 9, kNotifyNoProposalChosen = 14,
                          kNotifyInvalidKePayload = 17, kNotifyAuthenticationFailed = 24, kNotifyTsUnacceptable = 38,
                          kNotifyNoAdditionalSas = 35;
inline constexpr uint16_t kNotifyInitialContact = 16384, kNotifyRekeySa = 16393, kNotifyChildSaNotFound = 44,
                          kNotifyCookie = 16390;
inline constexpr uint16_t kNotifyNatSourceIp = 16388, kNotifyNatDestinationIp = 16389;
inline constexpr uint8_t kAuthPsk = 2;
inline constexpr uint16_t kEsnNo = 0, kEsnYes = 1;

}  // namespace wp::ike
