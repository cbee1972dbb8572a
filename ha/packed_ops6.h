// IPv6 session ops as fixed-size records (issue #19: HA of routed IPv6
// sessions, docs/ipv6.md § HA; proto/ha.proto SessionBatch.packed6).
//
// The IPv6 twin of packed_ops.h: routed IPv6 sessions (session/table6.h) are
// not translated, so a record is the original tuple, the tenant and service
// (by name, through the same per-message name table as IPv4's records), the
// UUID, the flags, times and counters. The receiver routes both directions
// with its own IPv6 table (as an IPv6 session set up there would) and checks
// that its policy still allows tenant -> service. IPv4 records, their format
// number and their bytes are unchanged: IPv6 records travel in a PackedOps of
// their own (`packed6`) beside them.
//
// Format 1 (kPacked6Format), 112-byte records, integers little-endian:
//   0 kind (0 upsert, 1 delete)   1 flags (SessionFlags; kPeerSession never set)
//   2 u16 tenant name index   4 u16 service name index
//   6 home (0: the sender's session; 1: the receiver's, which the sender
//     carried after a takeover and hands back in its resync)   7 zero
//   8 uuid[16]   24 src[16]   40 dst[16]   56 u16 sport   58 u16 dport
//  60 proto   61..63 zero   64 u64 created_ms   72 u64 last_ms (also the version)
//  80 u64 packets_fwd   88 packets_rev   96 bytes_fwd   104 bytes_rev
// IPv6 sessions carried by an IPv4 SVR session (Session6::svr_ref; they live
// and die with that session) travel with it in records of their own
// (ha/packed_svr6.h). Not synced: NAT64/NAT46 bindings.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/control/router_model.h"
#include "dataplane/ip/fib6.h"
#include "dataplane/session/events.h"
#include "dataplane/session/table6.h"
#include "dataplane/worker/ha_dataplane.h"
#include "ha.pb.h"
#include "ha/packed_ops.h"

namespace wp::ha {

inline constexpr uint32_t kPacked6Format = 1;
inline constexpr size_t kPacked6RecordBytes = 112;

// Whether a session of this table goes to the peer at all (see above).
inline bool syncs6(const Session6& s) { return s.svr_ref == 0 && !(s.flags & kPeerSession); }

// Gathers IPv6 records and their name table for one message (buffers kept
// between messages: no allocation once grown).
class Packed6Writer {
 public:
  void add(PackedKind kind, const Session6& s, const RouterModel& rm, const DataplaneClock& clock);
  size_t size() const { return records_.size() / kPacked6RecordBytes; }
  size_t bytes() const { return records_.size() + names_bytes_; }
  bool names_full() const { return names_.size() + 2 > kMaxPackedNames; }
  void write_to(pb::PackedOps& out) const;
  void clear();

 private:
  uint16_t name_index(std::string_view name);
  std::string records_;
  std::vector<std::string> names_;
  size_t names_bytes_ = 0;
};

// Reads one packed6 body: open() checks its shape, decode() one record into
// a Session6 here (names resolved, routes looked up in the config's and FRR's
// routes, `fib` (null: the config's only), as a session made here would be;
// policy checked; a copy of the sender's own session gets kPeer6Copy, one of
// ours carried by the sender does not). Every malformed record is an error,
// never a read out of bounds.
class Packed6Reader {
 public:
  bool open(const pb::PackedOps& in, std::string& error);
  size_t size() const { return count_; }
  bool decode(size_t i, const RouterModel& rm, const DataplaneClock& clock, PackedKind& kind, Session6& out,
              std::string& error, const FibTable6* fib = nullptr) const;

 private:
  int name_to(uint16_t idx, bool tenant, const RouterModel& rm, std::string& error, const char* field) const;
  const pb::PackedOps* in_ = nullptr;
  const uint8_t* records_ = nullptr;
  size_t count_ = 0;
};

}  // namespace wp::ha
