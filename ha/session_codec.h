// A worker's Session <-> the SessionRecord the pair exchanges
// (proto/ha.proto, docs/architecture.md § HA).
//
// Sessions travel in the pair's common terms: entity names instead of this
// node's indexes, Unix epoch milliseconds instead of the workers' clock, and
// no next hops or interface indexes (the receiver routes the NAT bindings
// with its own table, which is what it will forward with after a takeover).
// Decoding checks everything a worker will trust without looking again:
// names must exist here, tuples must be complete, and the policy must still
// allow tenant -> service (zero trust holds across the pair too).
#pragma once

#include <string>

#include "dataplane/control/router_model.h"
#include "dataplane/ip/fib.h"
#include "dataplane/session/session.h"
#include "dataplane/session/events.h"
#include "ha.pb.h"

namespace wp::ha {

namespace pb = ::waypoint::ha;

inline constexpr uint32_t kHaProtocol = 1;

// Fingerprint of a pair key (never the key): lets the two nodes notice that
// they hold different keys for a peer, which would break HMAC on failover.
uint32_t key_id(const HmacKey& key);

void encode_session(const Session& s, const RouterModel& rm, const DataplaneClock& clock, uint32_t node_id,
                    pb::SessionRecord& out);

// False with `error` set when the record cannot become a session here.
// Each leg gets this node's route to its destination, as a session set up
// here would: the config's or FRR's (`fib`, null: none), the ECMP member the
// session's hash picks (docs/operations.md § Routes from FRR).
bool decode_session(const pb::SessionRecord& in, const RouterModel& rm, const DataplaneClock& clock, Session& out,
                    std::string& error, const FibTable* fib = nullptr);

// The worker that owns the session on this node (whatever the peer runs).
uint32_t owner_worker(const Session& s, uint32_t workers);

}  // namespace wp::ha
