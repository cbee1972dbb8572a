// ESP input on the SA's owner worker (RFC 4303 § 3.4, tunnel mode; RFC 3948
// for ESP in UDP 4500).
//
// A burst of outer IPv4 (or IPv6: docs/ipsec.md § IPv6 outer addresses)
// packets addressed to us that `esp_spi` said are ESP (protocol 50, or UDP
// to port 4500 whose first four bytes, the SPI, are not the zero non-ESP
// marker of IKE; over IPv6 right after the fixed header, its UDP checksum
// required and verified, RFC 8200 § 8.1) is checked in the order RFC 4303 § 3.4
// gives: SA lookup by SPI (and the outer source must be its peer), the
// sequence number against the replay window (before the ICV, so replays
// cost no crypto), the ICV/tag in one esp_open_burst, the window moved only
// for packets that verified, then the trailer (padding, next header) and
// the inner header (IPv4 for next header 4, IPv6 for 41: route-based
// tunnels carry both). What passes is left in its mbuf as the inner packet,
// with the tunnel it came through; every other packet gets one drop
// reason, also counted on its SA when it had one. No allocation.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "dataplane/ipsec/esp_sa.h"
#include "dataplane/worker/drop_reason.h"

namespace wp {

struct EspResult {
  bool ok = false;
  DropReason drop = DropReason::esp_malformed;  // when !ok
  uint16_t tunnel = 0;                          // when ok
  bool ipv6 = false;                            // when ok: the inner packet is IPv6 (next header 41)
};

// The SPI of an ESP packet whose outer IPv4 or IPv6 header is at `ip` (`len`
// bytes), 0 when it is not ESP (IKE's non-ESP marker, a NAT-T keepalive, any
// other packet). Dispatch uses it for owner_of_spi.
uint32_t esp_spi(const uint8_t* ip, size_t len);

// `pkts[i]`: data at the outer IPv4 or IPv6 header, any n (taken a crypto burst at a time).
// out[i].ok: the mbuf now starts at the inner IPv4 or IPv6 packet (out[i].ipv6) and ends with it.
void esp_input_burst(CryptoEngine& eng, const EspSaTable& table, EspWorkerState& state, rte_mbuf** pkts,
                     uint16_t n, EspResult* out);

}  // namespace wp
