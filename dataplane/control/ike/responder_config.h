// The IKE responder's configuration from waypointd's (docs/ipsec.md
// § Configuration): suite names to transforms, `ipsec_peers` and `tunnels`
// to ResponderConfig.
//
// IKE_SA_INIT is answered before the site names itself (RFC 7296 § 1.2), so
// the responder accepts the union of every peer's IKE proposals, in the
// order they are first listed; ESP proposals, identities, the PSK and the
// traffic selectors are per peer (checked once the site's IDi is known).
// Each peer's `tunnel` is the index of the tunnel naming it, which the
// owner rule for ESP puts into our inbound SPIs (dataplane/ipsec/esp_owner.h).
// The config is validated first (mgmt/config_validate_ipsec.cc); a name
// this code does not know is skipped, never guessed.
#pragma once

#include <string_view>

#include "config.pb.h"
#include "dataplane/control/ike/ike_sa.h"
#include "dataplane/ip/ipv4.h"
#include "dataplane/ip/ipv6.h"

namespace wp::ike {

// (ike_suite_by_name, the IKE proposal names, is in ike_crypto.h.)
// "aes256gcm16", "aes256gcm16-esn", "aes256-sha256", "aes256-sha256-esn"
// (without a PFS group: split_esp_group, ike_crypto.h, takes it off first;
// the group goes to PeerConfig::pfs_group).
bool esp_suite_by_name(std::string_view name, EspSuite& s);
// All addresses of the prefix, any protocol and port.
TrafficSelector selector_of(const Ipv4Prefix& p);
TrafficSelector selector_of(const Ipv6Prefix& p);  // TS_IPV6_ADDR_RANGE

ResponderConfig responder_config(const waypoint::config::Config& cfg);
// One peer's IKE suites in its order (ike_proposals, empty = all three):
// what we offer when we initiate to it (ipsec_peers[].initiate).
std::vector<IkeSuite> peer_ike_suites(const waypoint::config::IpsecPeer& p);

}  // namespace wp::ike
