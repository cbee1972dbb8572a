// From negotiated Child SAs to the ESP dataplane's SA table (docs/ipsec.md
// § ESP in the workers).
//
// The IKE responder hands over a ChildSa (SPIs, ESP suite, the four keys of
// RFC 7296 § 2.17: as responder, "in" = initiator -> responder). EspSaBook
// turns it into two unidirectional EspSa (RFC 4303 § 2.1) in free slots of
// its own, each with a new generation so the workers start their state
// afresh, and builds the immutable EspSaTable the control thread publishes:
// the book keeps one table it changes in place (each SA an immutable shared
// object, esp_sa.h) and build() copies its arrays, so a publish costs the
// slot pointers, the SPI index and the tunnels, never the SAs' keys.
// Make before break (§ 2.8): the newest Child SA of a tunnel seals from the
// moment it is added; an older one keeps opening until the peer deletes it,
// and when the sealing one is deleted first the tunnel falls back to the
// newest one left. A Child SA of the site's rekey we answered
// (ike::ChildSa::seal_deferred) is the exception (§ 2.8, docs/ipsec.md
// § Rekeying): it waits as the tunnel's pending SA while the old one seals,
// its owner worker switches at its first packet (EspWorkerState::sealing),
// the control thread at promote(). Keys are expanded here (IPsec-MB, no OpenSSL) and the
// raw key material wiped after use. Control thread only.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/control/ike/ike_sa.h"
#include "dataplane/ip/ip_address.h"
#include "dataplane/ipsec/esp_sa.h"

namespace wp {

// Where a tunnel's ESP goes on the wire, from the IKE SA's addresses: both
// IPv4, or both IPv6 (an `outer6` EspSa, docs/ipsec.md § IPv6 outer addresses).
struct TunnelEndpoint {
  uint16_t tunnel = 0;
  IpAddress local, peer;
  uint16_t local_port = kIkeNattPort, peer_port = kIkeNattPort;
  bool udp_encap = true;  // RFC 3948 ESP in UDP; false: IP protocol 50 (ike::IkeSa::udp_encap decides)
  // Where the workers start the SA's numbers (EspSa::seq_start): 0, or for
  // a Child SA taken over from the HA peer, its synced counter + margin and
  // replay top (docs/ipsec.md § HA).
  uint64_t seq_out_start = 0, replay_start = 0;
};

class EspSaBook {
 public:
  EspSaBook();
  // Both SAs of a new or rekeyed Child SA; false with `error` when the
  // tunnel is out of range, the table is full or the SPI already installed.
  // It seals at once, unless child.seal_deferred and another SA seals: then
  // it is the tunnel's pending SA (the one before it, if any, no longer is).
  bool add(CryptoEngine& eng, const ike::ChildSa& child, const TunnelEndpoint& ep, std::string& error);
  // The inbound SPI of the tunnel's pending Child SA, 0 when none.
  uint32_t pending(uint16_t tunnel) const {
    const EspTunnel* t = table_.tunnel(tunnel);
    return t && t->pending_in != kEspNoSa ? table_.slot(t->pending_in).spi : 0;
  }
  // The inbound SPI of the Child SA sealing for `tunnel`, 0 when none.
  uint32_t sealing_child(uint16_t tunnel) const;
  // The pending Child SA seals from now on; false when none was pending.
  bool promote(uint16_t tunnel);
  // The Child SA whose inbound SPI (ours) is `spi_in` was deleted; false when unknown.
  bool remove(uint32_t spi_in);
  // It was rekeyed away: it stays in the table (its inbound opens) but never
  // seals again, not even when the tunnel's sealing SA is removed; false when unknown.
  bool drain(uint32_t spi_in);
  void set_tunnel(uint16_t tunnel, uint16_t tenant, uint16_t mtu);
  // The site's UDP port moved (a NAT's new mapping, RFC 7296 § 2.23): both
  // SAs of Child SA `spi_in` keep their slots and generations (the workers'
  // numbers and replay window go on), only the port changes; true when it did.
  bool set_peer_port(uint32_t spi_in, uint16_t port);
  // The table to publish (a new one each time: published tables never
  // change); it shares every SA object with the book's own table.
  std::unique_ptr<EspSaTable> build() const { return std::make_unique<EspSaTable>(table_); }
  size_t child_sas() const { return children_.size(); }
  // The slot of the SA sealing for `tunnel`, kEspNoSa when none.
  uint16_t sealing(uint16_t tunnel) const {
    const EspTunnel* t = table_.tunnel(tunnel);
    return t ? t->out_sa : kEspNoSa;
  }
  // The inbound and outbound slots of the Child SA `spi_in` with their
  // generations (where the workers' sequence marks are); false when unknown.
  struct Slots {
    uint16_t in = kEspNoSa, out = kEspNoSa;
    uint32_t in_generation = 0, out_generation = 0;
  };
  bool slots(uint32_t spi_in, Slots& out) const {
    auto it = children_.find(spi_in);
    if (it == children_.end()) return false;
    out = {it->second.in, it->second.out, table_.slot(it->second.in).generation,
           table_.slot(it->second.out).generation};
    return true;
  }

 private:
  struct Child {
    uint16_t in, out;  // slots
    bool draining = false;
  };
  uint16_t free_slot(uint16_t not_this) const;
  static void seal_with(EspTunnel& t, uint16_t out);
  EspSaRef make(CryptoEngine& eng, const ike::ChildSa& child, const TunnelEndpoint& ep, bool inbound,
                uint16_t slot);
  void release(uint16_t slot);

  EspSaTable table_;  // what build() copies; free slots hold nothing
  uint16_t first_free_ = 0;  // no free slot below it
  uint32_t next_generation_ = 1;
  std::map<uint32_t, Child> children_;  // by inbound SPI
};

}  // namespace wp
