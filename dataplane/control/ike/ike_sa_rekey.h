// One IKE SA rekey we request (RFC 7296 § 1.3.2, § 2.18): CREATE_CHILD_SA
// with an SA payload of protocol IKE holding the IKE SA's own suite (the
// negotiated one, its DH group included) and our new 8-byte SPI, a fresh Ni
// and a KEi of that group. The answer must name the same suite with the
// peer's new SPI, Nr and KEr; the new IKE SA's SKEYSEED is
// prf(SK_d (old), g^ir (new) | Ni | Nr), its seven keys derived with the
// new SPIs (we are the new SA's initiator: SPIi ours, § 2.18), its message
// IDs from 0 both ways. on_answer() builds it and moves the old SA's Child
// SAs to it; the caller then deletes the old IKE SA on the old SA (an
// INFORMATIONAL Delete sealed with the old keys) and drops it once answered
// or timed out (make before break: the Child SAs, and ESP, do not change).
//
// Shared by the initiator (ike_initiator.h); no sockets, no clock.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dataplane/control/ike/ike_sa.h"

namespace wp::ike {

class IkeSaRekey {
 public:
  // The request's payloads rekeying `sa` with our new SPI `new_spi`;
  // false with `why` (no DH key).
  bool request(const IkeSa& sa, uint64_t new_spi, std::vector<Payload>& out, std::string& why);
  // The new IKE SA from the peer's answer, `old`'s Child SAs moved to it;
  // nullptr with `why` when refused (an error notify such as
  // NO_PROPOSAL_CHOSEN or TEMPORARY_FAILURE, another suite, a bad KE), and
  // then `old` keeps its Child SAs.
  // `now`: the new SA's creation (its lifetime starts there).
  std::unique_ptr<IkeSa> on_answer(IkeSa& old, const std::vector<Payload>& in, std::chrono::steady_clock::time_point now,
                                   std::string& why);

  uint64_t new_spi() const { return new_spi_; }
  const Bytes& ni() const { return ni_; }

 private:
  uint64_t new_spi_ = 0;
  Bytes ni_;
  std::unique_ptr<DhKey> dh_;
};

// The answer to the peer's CREATE_CHILD_SA rekeying the IKE SA `old`
// (§ 1.3.2, § 2.18), whichever end began `old`: the responder (on SAs the
// peer began, ike_rekey.cc) and the initiator (on SAs we began,
// ike_initiator_ike_rekey.cc) run this one code. The first of the peer's
// IKE proposals holding one of `suites` (with the peer's new SPI), its KE of
// that suite's group (else INVALID_KE_PAYLOAD naming it), our new SPI
// `new_spi` (made at `now`), a fresh Nr, SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr)
// and the seven keys with the peer as the new SA's initiator. The caller
// stores it, logs and counts; collisions (§ 2.8.2) are its own.
struct IkeRekeyAnswer {
  std::vector<Payload> out;       // SA (our SPI), Nr, KEr; or one error notify
  std::unique_ptr<IkeSa> next;    // null when refused; else established, spi_i the peer's, spi_r ours,
                                  // message IDs from 0, `old`'s Child SAs moved to it
  std::optional<Refusal> refused;  // set with `why` when `out` is an error notify
  std::string why;
};
IkeRekeyAnswer answer_ike_rekey(const std::vector<Payload>& in, IkeSa& old, const std::vector<IkeSuite>& suites,
                                uint64_t new_spi, std::chrono::steady_clock::time_point now);

// Notify TEMPORARY_FAILURE (§ 2.25): a CREATE_CHILD_SA that collides with
// an IKE SA rekey in progress.
inline constexpr uint16_t kNotifyTemporaryFailure = 43;

// An IKE SPI as carried in a proposal (8 octets, big-endian) as a number; 0 when empty.
inline uint64_t spi64(const Bytes& b) {
  uint64_t v = 0;
  for (uint8_t x : b) v = v << 8 | x;
  return v;
}

}  // namespace wp::ike
