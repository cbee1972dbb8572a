// Answering the peer's CREATE_CHILD_SA for a Child SA (RFC 7296 § 1.3.1: a
// new one; § 1.3.3: a rekey, REKEY_SA naming the old one by its SPI, our
// outbound), whichever end began the IKE SA: the responder (ike_child.cc)
// and the initiator (ike_initiator_peer.cc) run this one code. The first of
// the peer's ESP proposals holding one of our suites (with the group of its
// KE when it sends one: PFS, g^ir in the KEYMAT; a KE of a group its
// proposals do not name: INVALID_KE_PAYLOAD with one they do), selectors
// narrowed to the configured ones (§ 2.9), a fresh Nr, KEYMAT = prf+(SK_d,
// [g^ir |] Ni | Nr) with the peer as the exchange's initiator (§ 2.17: its
// keys first, our inbound). The new Child SA is in sa.children before the
// answer is sealed (make before break: its inbound SA can be published
// before the answer leaves); a rekeyed one stays until a Delete (§ 2.8).
// The caller counts, logs, and resolves collisions (§ 2.8.1) with ni/nr.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dataplane/control/ike/ike_sa.h"

namespace wp::ike {

struct ChildRequestAnswer {
  std::vector<Payload> out;        // the answer's payloads, or one error notify
  std::optional<Refusal> refused;  // set with `why` when `out` is an error notify
  std::string why;
  uint32_t rekeyed = 0;  // REKEY_SA: the old Child SA (our inbound SPI)
  uint32_t spi_in = 0;   // the new Child SA (our inbound SPI); 0: none made
  Bytes ni, nr;          // the exchange's nonces, the peer's first
  bool pfs = false;
};

// The Child SA a REKEY_SA notify in `in` names (our inbound SPI), 0 when it
// names none of sa's; `named` tells whether there was a REKEY_SA at all.
uint32_t rekey_target(const std::vector<Payload>& in, const IkeSa& sa, bool& named);

// The answer to the peer's CREATE_CHILD_SA `in` (not an IKE SA rekey) on the
// established `sa` (sa.config set), our new inbound SPI `new_spi`.
ChildRequestAnswer answer_child_request(const std::vector<Payload>& in, IkeSa& sa, uint32_t new_spi);

// § 2.9: the peer's TSi (its side) and TSr (ours) narrowed to the
// configured selectors into child.ts_remote / ts_local; false when either is empty.
bool narrow_child_selectors(const TsPayload& tsi, const TsPayload& tsr, const PeerConfig& peer, ChildSa& child);

}  // namespace wp::ike
