// One Child SA rekey we request (RFC 7296 § 1.3.3, § 2.8), whichever end
// began the IKE SA: CREATE_CHILD_SA with REKEY_SA naming the old SA, our
// ESP proposals with our new inbound SPI, a fresh Ni, a KE when `group` is
// set (PFS; INVALID_KE_PAYLOAD is followed once with the group the peer
// asks for), the old SA's traffic selectors. The answer's proposal must be
// one we offered, its selectors within ours; the new Child SA's keys come
// from SK_d with Ni | Nr (and g^ir), ours as the exchange's initiator
// (§ 2.17). Shared by the initiator (ike_initiator.h) and the responder's
// own requests (ike_responder.h); the caller seals, sends and deletes the
// old SA once the new one is in place (make before break).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "dataplane/control/ike/ike_sa.h"

namespace wp::ike {

class ChildRekey {
 public:
  // The request's payloads rekeying our inbound `old_spi` of `sa` with our
  // new inbound `new_spi`; false with `why` (no DH key).
  bool request(const IkeSa& sa, const PeerConfig& peer, uint32_t old_spi, uint32_t new_spi, uint16_t group,
               std::vector<Payload>& out, std::string& why);
  enum class Answer : uint8_t { installed, retry, refused };
  // installed: the new Child SA is in sa.children (new_spi()); retry: the
  // peer asked for another KE group, call request() again with group();
  // refused: `why`, nothing installed.
  Answer on_answer(IkeSa& sa, const PeerConfig& peer, const std::vector<Payload>& in, std::string& why);

  uint32_t old_spi() const { return old_spi_; }
  uint32_t new_spi() const { return new_spi_; }
  uint16_t group() const { return group_; }
  const Bytes& ni() const { return ni_; }
  const Bytes& nr() const { return nr_; }  // the answer's, once installed

 private:
  uint32_t old_spi_ = 0, new_spi_ = 0;
  uint16_t group_ = 0;
  bool ke_retried_ = false, retry_pending_ = false;
  Bytes ni_, nr_;
  std::unique_ptr<DhKey> dh_;
};

}  // namespace wp::ike
