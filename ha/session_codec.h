// A worker's Session <-> the SessionRecord the pair exchanges
// (proto/ha.proto, docs/architecture.md § HA).
//
// Sessions travel in the pair's common terms: entity names instead of this
// node's indexes, Unix epoch milliseconds instead of the workers' clock, and
// no next hops or interface indexes (the receiver routes the NAT bindings
// with its own table, which is what it will forward with after a takeover).
// A leg through an IPsec tunnel travels by the tunnel's name and goes into
// the receiver's tunnel of that name (whose Child SAs the receiver holds as
// peer copies and installs when it takes the SA over: docs/ipsec.md § HA).
// Decoding checks everything a worker will trust without looking again:
// names must exist here, tuples must be complete, and the policy must still
// allow tenant -> service (zero trust holds across the pair too).
#pragma once

#include <string>
#include <string_view>

#include "dataplane/control/router_model.h"
#include "dataplane/ip/fib.h"
#include "dataplane/ip/fib6.h"
#include "dataplane/session/session.h"
#include "dataplane/session/events.h"
#include "ha.pb.h"

namespace wp::ha {

namespace pb = ::waypoint::ha;

// 2 since #17: batches and resync chunks carry PackedOps records (packed_ops.h).
inline constexpr uint32_t kHaProtocol = 2;

// Fingerprint of a pair key (never the key): lets the two nodes notice that
// they hold different keys for a peer, which would break HMAC on failover.
uint32_t key_id(const HmacKey& key);

void encode_session(const Session& s, const RouterModel& rm, const DataplaneClock& clock, uint32_t node_id,
                    pb::SessionRecord& out);

// False with `error` set when the record cannot become a session here.
// Each leg gets this node's route to its destination, as a session set up
// here would: the config's or FRR's (`fib`, null: none), the ECMP member the
// session's hash picks (docs/operations.md § Routes from FRR); a leg to a
// peer's IPv6 waypoint by the config's IPv6 routes and FRR's (`fib6`, null:
// none), as waypoint6_route gives it (control/waypoint6_addr.h).
bool decode_session(const pb::SessionRecord& in, const RouterModel& rm, const DataplaneClock& clock, Session& out,
                    std::string& error, const FibTable* fib = nullptr, const FibTable6* fib6 = nullptr);

// What decode needs of a record, whatever its encoding (a SessionRecord, or a
// packed record whose names were resolved once per message): names already
// looked up here (kNone with the name for the error when unknown).
inline constexpr int kUnknownPeer = -2;  // a peer name not configured here
inline constexpr int kUnknownTunnel = -2;  // a tunnel name not configured here
struct WireTuple {
  uint32_t src = 0, dst = 0, sport = 0, dport = 0, proto = 0;
};
struct SessionFacts {
  const char* uuid = nullptr;
  size_t uuid_size = 0;
  WireTuple original, fwd_tuple, rev_tuple;
  int fwd_peer = -1, rev_peer = -1;  // this node's peer index; -1: a LAN leg; kUnknownPeer
  std::string_view fwd_peer_name, rev_peer_name;
  // A leg through an IPsec tunnel: this node's tunnel index; -1: not a tunnel leg; kUnknownTunnel.
  int fwd_tunnel = -1, rev_tunnel = -1;
  std::string_view fwd_tunnel_name, rev_tunnel_name;
  int tenant = -1, service = -1;
  std::string_view tenant_name, service_name;
  uint16_t app = 0;  // this node's nDPI id (0: Unknown)
  bool app_refused = false;
  uint32_t flags = 0;
  uint64_t created_ms = 0, last_ms = 0;
  uint64_t packets_fwd = 0, packets_rev = 0, bytes_fwd = 0, bytes_rev = 0;
  uint32_t migrations = 0, key_version_a = 0, key_version_b = 0;
  // #19, an IPv6 session an IPv4 SVR session carries (ha/packed_svr6.h): which
  // side is its IPv6 LAN side (0: out_rev, the ingress; 1: out_fwd, the egress),
  // left unrouted with iface kIfaceSvr6 for the worker to bind; -1: none.
  int lan6_side = -1;
};
bool decode_facts(const SessionFacts& in, const RouterModel& rm, const DataplaneClock& clock, Session& out,
                  std::string& error, const FibTable* fib = nullptr, const FibTable6* fib6 = nullptr);

// The pieces of a record both encodings compute the same way.
std::string_view peer_name(const RouterModel& rm, int peer);
int peer_by_name(const RouterModel& rm, std::string_view name);  // kUnknownPeer when not configured
// The IPsec tunnel a session side leaves through ("" when it is no tunnel leg),
// and a tunnel by name (kUnknownTunnel when not configured): tunnel legs travel
// by the tunnel's name, which both nodes of a pair configure alike.
std::string_view tunnel_name(const RouterModel& rm, const SideOut& side);
int tunnel_by_name(const RouterModel& rm, std::string_view name);
std::string_view tenant_name(const RouterModel& rm, const Session& s);
std::string_view service_name(const RouterModel& rm, const Session& s);
std::string_view security_name(const RouterModel& rm, const Session& s);
std::string_view application_name(uint16_t app);  // "" = Unknown
uint16_t application_id(std::string_view name);   // 0 when "" or not in this node's nDPI table
// The fingerprint of the pair key the session's WAN-side keys came from (0: no WAN side).
// `cache` (optional) remembers the last key's fingerprint: a batch's sessions
// mostly share one pair key, and the fingerprint hashes 64 bytes.
struct KeyIdCache {
  HmacKey key;  // a copy: compared by value, so a model swapped under us cannot fool it
  uint32_t id = 0;
  bool set = false;
};
uint32_t session_key_id(const Session& s, const RouterModel& rm, KeyIdCache* cache = nullptr);

// The worker that owns the session on this node (whatever the peer runs).
uint32_t owner_worker(const Session& s, uint32_t workers);

}  // namespace wp::ha
