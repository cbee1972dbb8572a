// ESP output on the tunnel's owner worker (RFC 4303 § 3.3, tunnel mode;
// RFC 3948 § 2.1 for UDP 4500 encapsulation).
//
// A burst of inner IPv4 or IPv6 packets routed into tunnels becomes ESP packets to
// each tunnel's peer: the tunnel's newest outbound SA, the next sequence
// number (never wrapped: an SA that has sent its last one drops until the
// peer rekeys it, § 3.3.3), the IV (GCM: the 64-bit sequence number, unique
// per key as RFC 4106 § 3.1 asks; CBC: unpredictable bytes), padding
// 1, 2, 3..., next header 4 (IPv4) or 41 (IPv6, by the inner header's
// version), then one esp_seal_burst. The outer IPv4 header
// goes from the SA's local address to its peer, TTL 64, DF copied from an
// inner IPv4 packet (set for inner IPv6 above 1280 bytes), the sequence
// number's low 16 bits as its id, with a UDP header
// 4500 -> the peer's port and checksum 0 when encapsulated (RFC 3948 § 2.1).
// An SA with IPv6 outer addresses (docs/ipsec.md § IPv6 outer addresses)
// gets an IPv6 header instead, hop limit 64, next header 50 or 17; its UDP
// checksum is computed over the sealed packet (RFC 8200 § 8.1: no zero
// checksum over IPv6; we do not use RFC 6935's exception).
// The mbuf is grown in place (headroom and tailroom); a packet above the
// tunnel MTU is dropped (the caller answers ICMP). No allocation.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "dataplane/crypto/iv_source.h"
#include "dataplane/ipsec/esp_input.h"

namespace wp {

// The outer header bytes ESP adds in front of an inner packet.
inline constexpr size_t esp_outer_header_len(const EspSa& sa) { return sa.outer6 ? 40 : 20; }
inline constexpr size_t esp_overhead_front(const EspSa& sa) {
  return esp_outer_header_len(sa) + (sa.udp_encap ? 8 : 0) + kEspHeaderLen + esp_iv_len(sa.keys.cipher);
}

// `pkts[i]`: data at an inner IPv4 or IPv6 packet routed into tunnel `tunnels[i]`;
// any n (taken a crypto burst at a time). out[i].ok: the mbuf now starts at the outer
// IPv4 (or IPv6: EspSa::outer6) header to the SA's peer (out[i].tunnel says which tunnel).
void esp_output_burst(CryptoEngine& eng, IvSource& ivs, const EspSaTable& table, EspWorkerState& state,
                      rte_mbuf** pkts, const uint16_t* tunnels, uint16_t n, EspResult* out);

}  // namespace wp
