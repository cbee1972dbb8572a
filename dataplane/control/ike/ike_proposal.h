// Negotiation helpers of the IKEv2 responder (RFC 7296 § 2.7, § 2.9, § 2.23):
// choosing an IKE or ESP proposal from the initiator's SA payload, narrowing
// traffic selectors against the configured ones, and the NAT detection hash.
//
// The initiator may offer several transforms of one type in a proposal (one
// of each type is chosen, § 3.3.6); we pick the first proposal (in its order)
// that contains every transform of one of our suites, and answer with that
// proposal's number and exactly the chosen transforms.
#pragma once

#include <optional>

#include "dataplane/control/ike/ike_sa.h"

namespace wp::ike {

struct IkeChoice {
  const Proposal* proposal = nullptr;  // in the request
  IkeSuite suite;
};
// `spi_len`: 0 in IKE_SA_INIT, 8 when the IKE SA is rekeyed (§ 1.3.2).
std::optional<IkeChoice> choose_ike_proposal(const SaPayload& offered, const std::vector<IkeSuite>& ours,
                                             size_t spi_len = 0);

struct EspChoice {
  const Proposal* proposal = nullptr;
  EspSuite suite;
  uint32_t peer_spi = 0;
  uint16_t dh = 0;  // the PFS group of a CREATE_CHILD_SA (0: none)
};
// `ke_group`: the KE payload's group in CREATE_CHILD_SA (0: no KE: a proposal
// must then offer no DH group or NONE); kIgnoreDh in IKE_AUTH, where DH
// transforms are ignored (RFC 7296 § 1.2: no KE there).
inline constexpr uint16_t kIgnoreDh = 0xffff;
std::optional<EspChoice> choose_esp_proposal(const SaPayload& offered, const std::vector<EspSuite>& ours,
                                             uint16_t ke_group = kIgnoreDh);
// In CREATE_CHILD_SA, when no proposal matches `ke_group`: the group of the
// first proposal that would match with a KE of another group we support
// (the INVALID_KE_PAYLOAD answer), or 0.
uint16_t esp_group_wanted(const SaPayload& offered, const std::vector<EspSuite>& ours);

// The SA payload of our answer: one proposal numbered as the initiator's.
SaPayload ike_answer(uint8_t number, const IkeSuite& s, uint64_t our_spi = 0);  // 0: no SPI (IKE_SA_INIT)
SaPayload esp_answer(uint8_t number, const EspSuite& s, uint32_t our_spi, uint16_t dh = 0);

// Every non-empty intersection of an offered selector with a configured one
// (same address family; protocol and ports intersected too).
std::vector<TrafficSelector> narrow(const std::vector<TrafficSelector>& offered,
                                    const std::vector<TrafficSelector>& configured);

// SHA-1(SPIi | SPIr | IP | port) (§ 2.23).
Bytes nat_hash(uint64_t spi_i, uint64_t spi_r, const Endpoint& e);

}  // namespace wp::ike
