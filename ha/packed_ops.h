// Session ops as fixed-size records (#17; proto/ha.proto PackedOps).
//
// The sync's cost was per session: a protobuf SessionRecord with five
// sub-messages and six strings built, sized and serialized on the sender,
// parsed and looked up by name on the receiver. A packed record is written
// and read with plain stores and loads; entity names (tenant, service,
// security policy, peer, application) are still what travels, the pair's
// common terms, but once per message in a name table that the receiver
// resolves once per message, not once per session.
//
// Format 1 (kPackedFormat), 128-byte records, every integer little-endian:
//   0 kind (0 upsert, 1 delete)   1 flags   2 key_version_a   3 key_version_b
//   4 app_refused (0/1)   5 tunnel legs (bit 0: out_fwd, bit 1: out_rev)
//   6 u16 migrations
//   8 u16 name index of: tenant 8, service 10, security 12, out_fwd peer 14,
//     out_rev peer 16, application 18 (0xFFFF: none / Unknown)
// A tunnel leg (docs/ipsec.md § HA) has no SVR peer: its peer name index
// names the IPsec tunnel instead, and its bit in byte 5 says so. Byte 5 was
// zero in format 1 before, so the format number stayed: a receiver that does
// not read byte 5 looks the tunnel up as a peer, finds none (or the route into
// the tunnel) and rejects the record, as it rejected tunnel sessions before.
//  20 uuid[16]   36 original, 49 out_fwd, 62 out_rev tuples: u32 src, u32 dst,
//     u16 sport, u16 dport, u8 proto (13 bytes each)
//  75 waypoint6 (0/1): 1 when a tuple address is in 0.255.0.0/16, then the
//     low 16 bits index the body's `waypoints6` table (16-byte IPv6 addresses;
//     0xFFFF: one the sender's config no longer has). Sessions on IPv6
//     waypoints (docs/ipv6.md § HA of sessions between IPv6 waypoints) keep
//     their WAN side under stand-ins that are each node's own numbering
//     (control/waypoint6_addr.h): the sender writes the address each names,
//     the receiver its own stand-in for that address (ours, the HA peer
//     node's, a peer's). Byte 75 was zero in format 1, so the format number
//     stayed: a receiver that does not read it finds stand-ins it cannot route
//     (or misroutes them through a default route) and ha6 sync needs both
//     nodes to run this version; this one refuses a stand-in without the flag.
//  76 u32 key_id   80 u64 created_ms   88 u64 last_ms (also the version)
//  96 u64 packets_fwd  104 packets_rev  112 bytes_fwd  120 bytes_rev
// A new layout is a new format number; receivers refuse formats they do not
// know (packed_bad), as they refuse a body that is not whole records.
// Format 2 (kPackedColumnsFormat, #17): the same records stored column-major
// (byte j of record i at j * N + i, packed_bytes.h), what HA sync sends: LZ4
// shrinks a batch of them about twice as much (random UUIDs: 25 B a session
// instead of 54 B), so each corosync carries fewer bytes; on our shared VM its
// CPU turned out to be per wakeup more than per byte, and the rate did not
// move (perf/README.md § HA sync benchmark). Readers of this version read both.
// #19: IPv6 sessions that an IPv4 SVR session carries travel as this record
// followed by a tail of their own (ha/packed_svr6.h: a body of its own with
// longer records), written and read by the same classes with a record size
// and format of that body's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ha/session_codec.h"

namespace wp::ha {

inline constexpr uint32_t kPackedFormat = 1;
inline constexpr uint32_t kPackedColumnsFormat = 2;
inline constexpr size_t kPackedRecordBytes = 128;
inline constexpr uint16_t kNoName = 0xFFFF;
inline constexpr size_t kMaxPackedNames = 4096;  // a receiver refuses a longer name table

enum class PackedKind : uint8_t { upsert = 0, remove = 1 };

// Gathers records and their name table for one message (the HA thread's;
// its buffers are reused between messages, so no allocation once grown).
class PackedOpsWriter {
 public:
  // `record_bytes` past kPackedRecordBytes: a tail after each record, zeroed, for the caller to fill.
  // `columns_format` (#17): nonzero, bodies go column-major under that format number.
  explicit PackedOpsWriter(size_t record_bytes = kPackedRecordBytes, uint32_t format = kPackedFormat,
                           uint32_t columns_format = 0)
      : record_bytes_(record_bytes), format_(format), columns_format_(columns_format) {}
  // Returns the record (valid until the next add or clear()).
  uint8_t* add(PackedKind kind, const Session& s, const RouterModel& rm, const DataplaneClock& clock);
  size_t size() const { return records_.size() / record_bytes_; }
  // Bytes this message's body will take (records + names).
  size_t bytes() const { return records_.size() + names_bytes_; }
  // A record adds at most 6 names: past this the message must be cut.
  bool names_full() const {
    return used_names_ + 6 > kMaxPackedNames || waypoints6_.size() / 16 + 6 > kMaxPackedNames;
  }
  void write_to(pb::PackedOps& out) const;
  void clear();

 private:
  uint16_t name_index(std::string_view name);
  // A tuple address for the wire: a stand-in becomes its waypoint's table index (byte 75).
  uint32_t wire_address(uint32_t a, const RouterModel& rm, bool& waypoint6);
  size_t record_bytes_;
  uint32_t format_;
  uint32_t columns_format_;
  std::string records_;
  mutable std::string columns_;  // write_to's column-major copy (reused)
  std::string waypoints6_;  // this message's IPv6 waypoints, 16 bytes each
  std::vector<std::string> names_;
  size_t used_names_ = 0;  // names_[0, used_names_) are this message's (the rest: capacity kept)
  size_t names_bytes_ = 0;
  KeyIdCache key_ids_;
};

// Reads one PackedOps body: open() checks its shape, decode() one record into
// a session here (the checks of decode_session, names resolved once per body).
class PackedOpsReader {
 public:
  // IPv4's records: format 1, or format 2 (column-major, #17: what HA sync sends).
  PackedOpsReader() : PackedOpsReader(kPackedRecordBytes, kPackedFormat, "packed ops", kPackedColumnsFormat) {}
  // The body's record size and format (`what` names it in errors); `columns_format`
  // (#17): nonzero, bodies of that format are read as column-major.
  explicit PackedOpsReader(size_t record_bytes, uint32_t format = kPackedFormat, const char* what = "packed ops",
                           uint32_t columns_format = 0)
      : record_bytes_(record_bytes), format_(format), columns_format_(columns_format), what_(what) {}
  // False with `error` when the format, record size or length is wrong.
  bool open(const pb::PackedOps& in, std::string& error);
  size_t size() const { return count_; }
  // `lan6_side` (SessionFacts::lan6_side): the side that is an IPv6 LAN side, -1 none.
  // `fib6`: FRR's IPv6 routes, for a leg to a peer's IPv6 waypoint (decode_facts).
  bool decode(size_t i, const RouterModel& rm, const DataplaneClock& clock, const FibTable* fib, PackedKind& kind,
              Session& out, std::string& error, int lan6_side = -1, const FibTable6* fib6 = nullptr);
  // Record i (its tail past kPackedRecordBytes too); null when out of range.
  const uint8_t* record(size_t i) const { return in_ && i < count_ ? records_ + i * record_bytes_ : nullptr; }
  // Whether record i has a leg through an IPsec tunnel (its counters tell them apart).
  bool has_tunnel_leg(size_t i) const;

 private:
  enum Kind { kTenant, kService, kPeer, kApp, kTunnel, kKinds };
  bool resolve(uint16_t idx, Kind k, const RouterModel& rm, int& out, std::string_view& name, std::string& error,
               const char* field);
  // A tuple address from the wire: a waypoint table index becomes this node's stand-in.
  bool local_address(uint32_t& a, bool waypoint6, const RouterModel& rm, std::string& error, const char* field) const;
  size_t record_bytes_;
  uint32_t format_;
  uint32_t columns_format_;
  const char* what_;
  std::string rows_;  // a column-major body back in records (reused)
  const pb::PackedOps* in_ = nullptr;
  const uint8_t* records_ = nullptr;
  size_t count_ = 0;
  const RouterModel* rm_ = nullptr;  // the model the cache was resolved against
  std::vector<int> cache_[kKinds];   // per name index: resolved value, or kUnresolved
};

// Records in a batch or chunk body (0 when it has none).
inline size_t packed_count(const pb::PackedOps& p) {
  return p.record_bytes() ? p.records().size() / p.record_bytes() : 0;
}

}  // namespace wp::ha
