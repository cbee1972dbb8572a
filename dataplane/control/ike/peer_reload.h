// What a live commit changes for each IPsec peer (docs/ipsec.md § Live reload),
// from the running and the committed config:
//
// - added: a name only the new config has: answered (or initiated) at once;
// - removed: a name only the running config has: its SAs are deleted;
// - rebound: what the site is to us changed: address, local_address,
//   identities, traffic selectors, initiate, initiate_from, or its tunnel
//   (another tunnel names it, or its tunnel moved): its SAs are deleted and
//   come again under the new entry (the site, or our initiator, starts anew);
// - credentials: only psk/psk_file, certificates, CRLs, proposals, lifetimes or
//   dpd_interval_s changed: the SAs up now stay (they were authenticated
//   and negotiated under the old entry); the next IKE_AUTH, rekey, start or
//   liveness check uses the new values;
// - same: nothing of the peer or its tunnel's binding changed.
// Tunnels' tenant, mtu and addresses are not a peer's binding: they follow
// the commit without touching SAs. The ConfigStore (mgmt/live_commit.cc)
// refuses commits that move a tunnel which both configs have, so a peer's
// tunnel index changes only when another tunnel names it.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "config.pb.h"

namespace wp::ike {

enum class PeerChange : uint8_t { same, credentials, rebound, added, removed };
std::string_view peer_change_name(PeerChange c);

// By peer name, every peer of either config.
std::map<std::string, PeerChange> plan_peer_reload(const waypoint::config::Config& was,
                                                   const waypoint::config::Config& next);

}  // namespace wp::ike
