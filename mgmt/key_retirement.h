// Retiring a peer's old pair-key version on its own (docs/security.md § Keys).
//
// While a peer's config holds `key` and `next_key`, workers sign with the next
// version as soon as the peer says it holds it too (crypto/pair_keys.h) and
// publish that move (DataplaneShared::key_switched). From the first move seen
// the old version is kept for the peer's retire_after_s (0: the longest
// session timeout, after which every session that was idle since the switch
// has ended and an HA takeover no longer needs the old version to re-derive
// their keys); then the running config is committed with next_key promoted
// to key (one audit line, who "key-retirement:<peer>"). retire_manually
// leaves retiring to the operator. Sessions keyed from the old version keep
// their keys (key slots) and keep forwarding; a metadata block the peer
// still signs with the old version for such a session (a path migration of a
// session older than the timeout) is refused as unknown_key_version.
//
// The commit changes only the running config: a config file or a Redis value
// that still holds both keys brings the old one back when it is loaded again
// (push it without the old key; docs/operations.md § Rotating a pair key).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "dataplane/worker/shared.h"
#include "mgmt/live_commit.h"
#include "proto/config.pb.h"

namespace wp::mgmt {

// The seconds `peer`'s old version is kept once workers moved to the next.
uint32_t retire_delay_s(const config::Config& c, const config::Peer& peer);
// The version next_key has (next_key_version, 0 = key_version + 1).
uint32_t next_key_version(const config::Peer& peer);
// Peer `name`'s next_key becomes its key (version too); false when it has none.
bool promote_next_key(config::Config& c, const std::string& name);

class KeyRetirement {
 public:
  KeyRetirement(ConfigStore& store, const DataplaneShared& shared) : store_(store), shared_(shared) {}

  struct Pending {
    std::string peer;
    uint32_t next_version = 0;
    uint64_t retire_at_ms = 0;  // on poll's clock
  };
  // Looks at every peer holding two versions and commits the retirements
  // that are due (one commit for all of them). `now_ms`: a monotonic clock.
  // Returns the peers retired by this call; `log` gets a line when a
  // retirement is scheduled, done, or could not be committed (tried again on
  // the next poll).
  std::vector<std::string> poll(uint64_t now_ms, std::vector<std::string>& log);
  // The retirements waiting for their time, as of the last poll.
  const std::vector<Pending>& pending() const { return pending_; }

 private:
  ConfigStore& store_;
  const DataplaneShared& shared_;
  // Peer name -> the version it switched to and when that was first seen.
  std::map<std::string, std::pair<uint32_t, uint64_t>> switched_at_;
  std::vector<Pending> pending_;
};

}  // namespace wp::mgmt
