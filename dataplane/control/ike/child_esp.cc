// EspSaBook; see child_esp.h.
#include "dataplane/control/ike/child_esp.h"

#include <algorithm>

#include "dataplane/crypto/wipe.h"

namespace wp {

EspSaBook::EspSaBook() = default;

// The lowest free slot (as before the table held shared SAs), from the
// first one that may be free: adding thousands of Child SAs stays linear.
uint16_t EspSaBook::free_slot(uint16_t not_this) const {
  for (uint32_t s = first_free_; s < kMaxEspSas; ++s) {
    if (table_.slot(static_cast<uint16_t>(s)).generation == 0 && s != not_this) return static_cast<uint16_t>(s);
  }
  return kEspNoSa;
}

EspSaRef EspSaBook::make(CryptoEngine& eng, const ike::ChildSa& child, const TunnelEndpoint& ep, bool inbound,
                         uint16_t slot) {
  const EspCipher c = child.suite.aead() ? EspCipher::aes256_gcm16 : EspCipher::aes256_cbc_hmac_sha256;
  const ike::Bytes& enc = inbound ? child.enc_in : child.enc_out;
  const ike::Bytes& integ = inbound ? child.integ_in : child.integ_out;
  uint8_t keymat[64];
  std::copy(enc.begin(), enc.end(), keymat);
  std::copy(integ.begin(), integ.end(), keymat + enc.size());
  EspSa sa;
  sa.spi = inbound ? child.spi_in : child.spi_out;
  sa.generation = next_generation_++;
  sa.tunnel = ep.tunnel;
  sa.slot = slot;
  sa.inbound = inbound;
  sa.udp_encap = ep.udp_encap;
  // Both directions: ours, and the site's (the outer source of what it sends).
  sa.outer6 = ep.peer.v6;
  if (sa.outer6) {
    sa.local6 = ep.local.addr6;
    sa.peer6 = ep.peer.addr6;
  } else {
    sa.local = ep.local.v4;
    sa.peer = ep.peer.v4;
  }
  sa.local_port = ep.local_port;
  sa.peer_port = ep.peer_port;
  sa.seq_start = inbound ? ep.replay_start : ep.seq_out_start;
  esp_keys_init(eng, c, child.suite.esn, keymat, sa.keys);
  wipe(keymat, sizeof keymat);
  EspSaRef ref = make_esp_sa(sa);
  wipe_object(sa.keys);
  return ref;
}

void EspSaBook::release(uint16_t slot) {
  table_.remove(slot);
  first_free_ = std::min(first_free_, slot);
}

bool EspSaBook::add(CryptoEngine& eng, const ike::ChildSa& child, const TunnelEndpoint& ep, std::string& error) {
  if (ep.tunnel >= kMaxEspTunnels) return error = "tunnel index out of range", false;
  if (ep.local.v6 != ep.peer.v6 && !ep.local.unset()) return error = "outer addresses of two families", false;
  if (children_.count(child.spi_in)) return error = "inbound SPI already installed", false;
  const size_t keylen = child.enc_in.size() + child.integ_in.size();
  const EspCipher c = child.suite.aead() ? EspCipher::aes256_gcm16 : EspCipher::aes256_cbc_hmac_sha256;
  if (keylen != esp_keymat_len(c) || child.enc_out.size() + child.integ_out.size() != keylen)
    return error = "Child SA key lengths do not match its ESP suite", false;
  const uint16_t in = free_slot(kEspNoSa), out = in == kEspNoSa ? kEspNoSa : free_slot(in);
  if (out == kEspNoSa) return error = "ESP SA table full (" + std::to_string(kMaxEspSas) + " SAs)", false;
  if (!table_.install(in, make(eng, child, ep, true, in))) return error = "inbound SPI already installed", false;
  table_.install(out, make(eng, child, ep, false, out));
  first_free_ = static_cast<uint16_t>(out + 1);  // in and out were the two lowest free slots
  children_[child.spi_in] = Child{in, out, false};
  EspTunnel& t = table_.mutable_tunnel(ep.tunnel);
  if (child.seal_deferred && t.out_sa != kEspNoSa) {  // the site's rekey: until it uses the new SA
    t.pending_in = in;
    t.pending_out = out;
  } else {
    seal_with(t, out);  // make before break: the newest seals
  }
  return true;
}

// `out` seals; nothing is pending any more (a newer SA that seals at once
// outranks the site's pending one, which may then only seal by remove()).
void EspSaBook::seal_with(EspTunnel& t, uint16_t out) {
  t.out_sa = out;
  t.pending_in = t.pending_out = kEspNoSa;
}

uint32_t EspSaBook::sealing_child(uint16_t tunnel) const {
  const uint16_t out = sealing(tunnel);
  for (const auto& [spi_in, c] : children_)
    if (out != kEspNoSa && c.out == out) return spi_in;
  return 0;
}

bool EspSaBook::promote(uint16_t tunnel) {
  if (tunnel >= kMaxEspTunnels) return false;
  EspTunnel& t = table_.mutable_tunnel(tunnel);
  if (t.pending_out == kEspNoSa) return false;
  seal_with(t, t.pending_out);
  return true;
}

bool EspSaBook::set_peer_port(uint32_t spi_in, uint16_t port) {
  const auto it = children_.find(spi_in);
  if (it == children_.end() || table_.slot(it->second.out).peer_port == port) return false;
  // New objects, same slots and generations: the workers' state goes on;
  // tables already published keep the old port.
  for (const uint16_t s : {it->second.in, it->second.out}) {
    EspSa moved = table_.slot(s);
    moved.peer_port = port;
    table_.install(s, make_esp_sa(moved));
    wipe_object(moved.keys);
  }
  return true;
}

bool EspSaBook::remove(uint32_t spi_in) {
  auto it = children_.find(spi_in);
  if (it == children_.end()) return false;
  const Child c = it->second;
  children_.erase(it);
  const uint16_t tunnel = table_.slot(c.out).tunnel;
  const bool was_sealing = sealing(tunnel) == c.out;
  release(c.in);  // its keys are wiped with the last table that holds it (a pending one: no longer pending)
  release(c.out);
  if (!was_sealing) return true;
  // The sealing SA went first: the newest outbound SA left on the tunnel
  // (a pending one is the newest: it seals).
  uint16_t newest_out = kEspNoSa;
  uint32_t newest = 0;
  for (const auto& [spi, other] : children_) {
    const EspSa& o = table_.slot(other.out);
    if (!other.draining && o.tunnel == tunnel && o.generation > newest) {
      newest = o.generation;
      newest_out = other.out;
    }
  }
  seal_with(table_.mutable_tunnel(tunnel), newest_out);
  return true;
}

bool EspSaBook::drain(uint32_t spi_in) {
  auto it = children_.find(spi_in);
  if (it == children_.end()) return false;
  it->second.draining = true;
  EspTunnel& t = table_.mutable_tunnel(table_.slot(it->second.out).tunnel);
  if (t.pending_in == it->second.in) t.pending_in = t.pending_out = kEspNoSa;
  return true;
}

void EspSaBook::set_tunnel(uint16_t tunnel, uint16_t tenant, uint16_t mtu) {
  if (tunnel >= kMaxEspTunnels) return;
  EspTunnel& t = table_.mutable_tunnel(tunnel);
  t.tenant = tenant;
  t.mtu = mtu;
}

}  // namespace wp
