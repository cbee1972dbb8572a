// Proposal choice, selector narrowing and NAT detection; see ike_proposal.h.
#include "dataplane/control/ike/ike_proposal.h"

#include <openssl/sha.h>

#include <algorithm>

namespace wp::ike {
namespace {

bool offers(const Proposal& p, TransformType type, uint16_t id, uint16_t key_bits = 0) {
  return std::any_of(p.transforms.begin(), p.transforms.end(),
                     [&](const Transform& t) { return t.type == type && t.id == id && t.key_length == key_bits; });
}
bool has_type(const Proposal& p, TransformType type) {
  return std::any_of(p.transforms.begin(), p.transforms.end(), [&](const Transform& t) { return t.type == type; });
}
// A proposal carries no transform type outside `allowed` (an unknown type
// means the initiator needs something we cannot give).
bool only_types(const Proposal& p, std::initializer_list<TransformType> allowed) {
  return std::all_of(p.transforms.begin(), p.transforms.end(), [&](const Transform& t) {
    return std::find(allowed.begin(), allowed.end(), t.type) != allowed.end();
  });
}

bool ike_matches(const Proposal& p, const IkeSuite& s, size_t spi_len) {
  if (p.protocol != Protocol::ike || p.spi.size() != spi_len) return false;
  if (!only_types(p, {TransformType::encr, TransformType::prf, TransformType::integ, TransformType::dh})) return false;
  if (!offers(p, TransformType::encr, s.encr, s.encr_key_bits) || !offers(p, TransformType::prf, s.prf) ||
      !offers(p, TransformType::dh, s.dh))
    return false;
  // AEAD: no integrity transform, or "NONE" (§ 3.3.3 allows either).
  return s.aead() ? (!has_type(p, TransformType::integ) || offers(p, TransformType::integ, 0))
                  : offers(p, TransformType::integ, s.integ);
}

bool esp_matches(const Proposal& p, const EspSuite& s) {
  if (p.protocol != Protocol::esp || p.spi.size() != 4) return false;
  if (!only_types(p, {TransformType::encr, TransformType::integ, TransformType::esn, TransformType::dh})) return false;
  if (!offers(p, TransformType::encr, s.encr, 256)) return false;
  const bool integ_ok = s.aead() ? (!has_type(p, TransformType::integ) || offers(p, TransformType::integ, 0))
                                 : offers(p, TransformType::integ, s.integ);
  // No ESN transform at all reads as "no ESN" (§ 3.3.3 makes it mandatory; be lenient).
  const bool esn_ok =
      has_type(p, TransformType::esn) ? offers(p, TransformType::esn, s.esn ? kEsnYes : kEsnNo) : !s.esn;
  return integ_ok && esn_ok;
}

uint32_t be32(const Bytes& b) { return uint32_t(b[0]) << 24 | uint32_t(b[1]) << 16 | uint32_t(b[2]) << 8 | b[3]; }

// Intersection of [a1, a2] and [b1, b2] for big-endian byte strings of equal length.
bool intersect(const Bytes& a1, const Bytes& a2, const Bytes& b1, const Bytes& b2, Bytes& lo, Bytes& hi) {
  lo = std::max(a1, b1);
  hi = std::min(a2, b2);
  return lo <= hi;
}

}  // namespace

std::optional<IkeChoice> choose_ike_proposal(const SaPayload& offered, const std::vector<IkeSuite>& ours,
                                             size_t spi_len) {
  for (const Proposal& p : offered.proposals)
    for (const IkeSuite& s : ours)
      if (ike_matches(p, s, spi_len)) return IkeChoice{&p, s};
  return std::nullopt;
}

// The DH group a proposal allows with a KE of `ke_group` (§ 1.3.1 PFS).
bool dh_ok(const Proposal& p, uint16_t ke_group) {
  if (ke_group == kIgnoreDh) return true;
  if (ke_group == 0) return !has_type(p, TransformType::dh) || offers(p, TransformType::dh, 0);
  return dh_public_len(ke_group) != 0 && offers(p, TransformType::dh, ke_group);
}

std::optional<EspChoice> choose_esp_proposal(const SaPayload& offered, const std::vector<EspSuite>& ours,
                                             uint16_t ke_group) {
  for (const Proposal& p : offered.proposals)
    for (const EspSuite& s : ours)
      if (esp_matches(p, s) && dh_ok(p, ke_group))
        return EspChoice{&p, s, be32(p.spi), ke_group == kIgnoreDh ? uint16_t(0) : ke_group};
  return std::nullopt;
}

uint16_t esp_group_wanted(const SaPayload& offered, const std::vector<EspSuite>& ours) {
  for (uint16_t g : kDhGroupIds)
    if (auto c = choose_esp_proposal(offered, ours, g)) return g;
  return 0;
}

SaPayload ike_answer(uint8_t number, const IkeSuite& s, uint64_t our_spi) {
  Bytes spi;
  for (int i = 7; our_spi != 0 && i >= 0; --i) spi.push_back(static_cast<uint8_t>(our_spi >> (8 * i)));
  Proposal p{number, Protocol::ike, spi, {{TransformType::encr, s.encr, s.encr_key_bits}}};
  p.transforms.push_back({TransformType::prf, s.prf, 0});
  if (!s.aead()) p.transforms.push_back({TransformType::integ, s.integ, 0});
  p.transforms.push_back({TransformType::dh, s.dh, 0});
  return SaPayload{{p}};
}

SaPayload esp_answer(uint8_t number, const EspSuite& s, uint32_t our_spi, uint16_t dh) {
  Bytes spi{static_cast<uint8_t>(our_spi >> 24), static_cast<uint8_t>(our_spi >> 16),
            static_cast<uint8_t>(our_spi >> 8), static_cast<uint8_t>(our_spi)};
  Proposal p{number, Protocol::esp, spi, {{TransformType::encr, s.encr, 256}}};
  if (!s.aead()) p.transforms.push_back({TransformType::integ, s.integ, 0});
  if (dh != 0) p.transforms.push_back({TransformType::dh, dh, 0});
  p.transforms.push_back({TransformType::esn, static_cast<uint16_t>(s.esn ? kEsnYes : kEsnNo), 0});
  return SaPayload{{p}};
}

std::vector<TrafficSelector> narrow(const std::vector<TrafficSelector>& offered,
                                    const std::vector<TrafficSelector>& configured) {
  std::vector<TrafficSelector> out;
  for (const TrafficSelector& o : offered) {
    for (const TrafficSelector& c : configured) {
      if (o.type != c.type || o.start_addr.size() != c.start_addr.size()) continue;
      if (o.ip_protocol != 0 && c.ip_protocol != 0 && o.ip_protocol != c.ip_protocol) continue;
      TrafficSelector n;
      n.type = o.type;
      n.ip_protocol = o.ip_protocol ? o.ip_protocol : c.ip_protocol;
      n.start_port = std::max(o.start_port, c.start_port);
      n.end_port = std::min(o.end_port, c.end_port);
      if (n.start_port > n.end_port) continue;
      if (!intersect(o.start_addr, o.end_addr, c.start_addr, c.end_addr, n.start_addr, n.end_addr)) continue;
      if (std::find(out.begin(), out.end(), n) == out.end()) out.push_back(n);
    }
  }
  return out;
}

Bytes nat_hash(uint64_t spi_i, uint64_t spi_r, const Endpoint& e) {
  Bytes in;
  for (uint64_t spi : {spi_i, spi_r})
    for (int i = 7; i >= 0; --i) in.push_back(static_cast<uint8_t>(spi >> (8 * i)));
  in.insert(in.end(), e.addr.begin(), e.addr.end());
  in.push_back(static_cast<uint8_t>(e.port >> 8));
  in.push_back(static_cast<uint8_t>(e.port));
  Bytes out(SHA_DIGEST_LENGTH);
  SHA1(in.data(), in.size(), out.data());
  return out;
}

}  // namespace wp::ike
