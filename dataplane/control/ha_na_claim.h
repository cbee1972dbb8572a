// The IPv6 side of an HA address claim (#19; docs/ipv6.md § HA): the
// unsolicited Neighbor Advertisement an HA node sends after it took over the
// peer's IPv6 addresses, or took its own back (RFC 4861 § 7.2.6), the
// counterpart of IPv4's gratuitous ARP (ha_arp_claim.h).
//
// To the all-nodes group (ff02::1, MAC 33:33:00:00:00:01) from the claimed
// address itself, with our MAC in the target link-layer option and the
// Override flag set, so every neighbor's cache entry for the address moves to
// our MAC (§ 7.2.5: the entry becomes STALE and is used at once); Router set,
// since hosts route through the address; Solicited clear. Unlike the
// gratuitous ARP it carries no ownership epoch: ND options have no padding a
// host ignores, and the pair's epochs travel in the ARP claims and the HA
// messages.
#pragma once

#include <cstdint>

#include "dataplane/ip/ndp.h"

namespace wp {

inline constexpr uint8_t kHaNaFlags = kNaRouter | kNaOverride;

// Writes the whole frame (Ethernet, IPv6, NA, target link-layer option) at
// `frame` (kNdFrameLen bytes); returns its length.
inline uint16_t write_ha_na_claim(uint8_t* frame, const uint8_t our_mac[6], const Ipv6& target) {
  uint8_t all_nodes_mac[6];
  multicast_mac_of(kAllNodes, all_nodes_mac);
  return write_advert(frame, our_mac, target, kAllNodes, all_nodes_mac, kHaNaFlags);
}

}  // namespace wp
