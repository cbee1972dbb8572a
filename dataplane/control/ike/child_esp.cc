// EspSaBook; see child_esp.h.
#include "dataplane/control/ike/child_esp.h"

#include <algorithm>

#include "dataplane/crypto/wipe.h"

namespace wp {

EspSaBook::EspSaBook() : sas_(std::make_unique<EspSa[]>(kMaxEspSas)) {}

uint16_t EspSaBook::free_slot(uint16_t not_this) const {
  for (uint16_t s = 0; s < kMaxEspSas; ++s) {
    if (sas_[s].generation == 0 && s != not_this) return s;
  }
  return kEspNoSa;
}

void EspSaBook::fill(CryptoEngine& eng, const ike::ChildSa& child, const TunnelEndpoint& ep, bool inbound,
                     EspSa& sa) {
  const EspCipher c = child.suite.aead() ? EspCipher::aes256_gcm16 : EspCipher::aes256_cbc_hmac_sha256;
  const ike::Bytes& enc = inbound ? child.enc_in : child.enc_out;
  const ike::Bytes& integ = inbound ? child.integ_in : child.integ_out;
  uint8_t keymat[64];
  std::copy(enc.begin(), enc.end(), keymat);
  std::copy(integ.begin(), integ.end(), keymat + enc.size());
  sa = EspSa{};
  sa.spi = inbound ? child.spi_in : child.spi_out;
  sa.generation = next_generation_++;
  sa.tunnel = ep.tunnel;
  sa.inbound = inbound;
  sa.udp_encap = ep.udp_encap;
  sa.local = ep.local;  // both directions: ours, and the site's (the outer source of what it sends)
  sa.peer = ep.peer;
  sa.local_port = ep.local_port;
  sa.peer_port = ep.peer_port;
  sa.seq_start = inbound ? ep.replay_start : ep.seq_out_start;
  esp_keys_init(eng, c, child.suite.esn, keymat, sa.keys);
  wipe(keymat, sizeof keymat);
}

bool EspSaBook::add(CryptoEngine& eng, const ike::ChildSa& child, const TunnelEndpoint& ep, std::string& error) {
  if (ep.tunnel >= kMaxEspTunnels) return error = "tunnel index out of range", false;
  if (children_.count(child.spi_in)) return error = "inbound SPI already installed", false;
  const size_t keylen = child.enc_in.size() + child.integ_in.size();
  const EspCipher c = child.suite.aead() ? EspCipher::aes256_gcm16 : EspCipher::aes256_cbc_hmac_sha256;
  if (keylen != esp_keymat_len(c) || child.enc_out.size() + child.integ_out.size() != keylen)
    return error = "Child SA key lengths do not match its ESP suite", false;
  const uint16_t in = free_slot(kEspNoSa), out = in == kEspNoSa ? kEspNoSa : free_slot(in);
  if (out == kEspNoSa) return error = "ESP SA table full (" + std::to_string(kMaxEspSas) + " SAs)", false;
  fill(eng, child, ep, true, sas_[in]);
  fill(eng, child, ep, false, sas_[out]);
  children_[child.spi_in] = Child{in, out, false};
  tunnels_[ep.tunnel].out_sa = out;  // make before break: the newest seals
  return true;
}

bool EspSaBook::set_peer_port(uint32_t spi_in, uint16_t port) {
  const auto it = children_.find(spi_in);
  if (it == children_.end() || sas_[it->second.out].peer_port == port) return false;
  sas_[it->second.in].peer_port = port;
  sas_[it->second.out].peer_port = port;
  return true;
}

bool EspSaBook::remove(uint32_t spi_in) {
  auto it = children_.find(spi_in);
  if (it == children_.end()) return false;
  const Child c = it->second;
  children_.erase(it);
  const uint16_t tunnel = sas_[c.out].tunnel;
  wipe_object(sas_[c.in].keys);
  wipe_object(sas_[c.out].keys);
  sas_[c.in] = EspSa{};
  sas_[c.out] = EspSa{};
  if (tunnels_[tunnel].out_sa != c.out) return true;
  // The sealing SA went first: the newest outbound SA left on the tunnel.
  tunnels_[tunnel].out_sa = kEspNoSa;
  uint32_t newest = 0;
  for (const auto& [spi, other] : children_) {
    const EspSa& o = sas_[other.out];
    if (!other.draining && o.tunnel == tunnel && o.generation > newest) {
      newest = o.generation;
      tunnels_[tunnel].out_sa = other.out;
    }
  }
  return true;
}

bool EspSaBook::drain(uint32_t spi_in) {
  auto it = children_.find(spi_in);
  if (it == children_.end()) return false;
  it->second.draining = true;
  return true;
}

void EspSaBook::set_tunnel(uint16_t tunnel, uint16_t tenant, uint16_t mtu) {
  if (tunnel >= kMaxEspTunnels) return;
  tunnels_[tunnel].tenant = tenant;
  tunnels_[tunnel].mtu = mtu;
}

std::unique_ptr<EspSaTable> EspSaBook::build() const {
  auto table = std::make_unique<EspSaTable>();
  for (const auto& [spi, c] : children_) {
    table->install(c.in, sas_[c.in]);
    table->install(c.out, sas_[c.out]);
  }
  for (uint16_t t = 0; t < kMaxEspTunnels; ++t) table->mutable_tunnel(t) = tunnels_[t];
  return table;
}

}  // namespace wp
