// Packed session records; see packed_ops.h for the layout.
#include "ha/packed_ops.h"

#include "ha/packed_bytes.h"

#include "dataplane/control/waypoint6_addr.h"
#include "dataplane/ip/ipv6.h"

#include <bit>
#include <climits>
#include <cstring>

namespace wp::ha {
namespace {

constexpr int kUnresolved = INT_MIN;

template <typename T>
void put(uint8_t* p, T v) {
  packed_put(p, v);
}

template <typename T>
T get(const uint8_t* p) {
  return packed_get<T>(p);
}

void pack_tuple(uint8_t* p, const FiveTuple& t, uint32_t src, uint32_t dst) {
  put<uint32_t>(p, src);
  put<uint32_t>(p + 4, dst);
  put<uint16_t>(p + 8, t.sport);
  put<uint16_t>(p + 10, t.dport);
  p[12] = t.proto;
}

WireTuple unpack_tuple(const uint8_t* p) {
  return {get<uint32_t>(p), get<uint32_t>(p + 4), get<uint16_t>(p + 8), get<uint16_t>(p + 10), p[12]};
}

// Offsets of format 1 (packed_ops.h).
enum : size_t {
  kOffKind = 0, kOffFlags = 1, kOffKeyVerA = 2, kOffKeyVerB = 3, kOffAppRefused = 4, kOffTunnelLegs = 5,
  kOffMigrations = 6,
  kOffTenant = 8, kOffService = 10, kOffSecurity = 12, kOffFwdPeer = 14, kOffRevPeer = 16, kOffApp = 18,
  kOffUuid = 20, kOffOriginal = 36, kOffFwd = 49, kOffRev = 62, kOffWaypoint6 = 75, kOffKeyId = 76, kOffCreated = 80,
  kOffLast = 88, kOffPacketsFwd = 96, kOffPacketsRev = 104, kOffBytesFwd = 112, kOffBytesRev = 120,
};
static_assert(kOffBytesRev + 8 == kPackedRecordBytes);
constexpr uint8_t kFwdTunnel = 1 << 0, kRevTunnel = 1 << 1;  // byte 5

// A leg's name: its SVR peer, or the IPsec tunnel it leaves through (a leg has never both).
std::string_view leg_name(const RouterModel& rm, const SideOut& side) {
  return side.iface == kIfaceTunnel ? tunnel_name(rm, side) : peer_name(rm, side.peer);
}

}  // namespace

uint16_t PackedOpsWriter::name_index(std::string_view name) {
  if (name.empty()) return kNoName;
  // A message names a handful of entities: a linear scan beats hashing.
  for (size_t i = 0; i < used_names_; ++i)
    if (names_[i] == name) return static_cast<uint16_t>(i);
  if (used_names_ >= kMaxPackedNames) return kNoName;  // not reached: SessionBatcher::full() cuts the message first
  if (used_names_ == names_.size()) names_.emplace_back();
  names_[used_names_].assign(name.data(), name.size());
  names_bytes_ += name.size() + 2;
  return static_cast<uint16_t>(used_names_++);
}

uint32_t PackedOpsWriter::wire_address(uint32_t a, const RouterModel& rm, bool& waypoint6) {
  if (!is_waypoint6_standin(a)) [[likely]]
    return a;
  waypoint6 = true;
  const Ipv6* w = waypoint6_of(rm, a);
  if (!w) return kWaypoint6Net | kNoName;  // a commit removed it: the receiver rejects the record
  uint8_t bytes[16];
  store_ipv6(bytes, *w);
  const std::string_view addr(reinterpret_cast<const char*>(bytes), sizeof bytes);
  const size_t n = waypoints6_.size() / 16;
  for (size_t i = 0; i < n; ++i)
    if (std::string_view(waypoints6_).substr(i * 16, 16) == addr) return kWaypoint6Net | static_cast<uint32_t>(i);
  waypoints6_.append(addr);
  return kWaypoint6Net | static_cast<uint32_t>(n);
}

uint8_t* PackedOpsWriter::add(PackedKind kind, const Session& s, const RouterModel& rm, const DataplaneClock& clock) {
  const size_t at = records_.size();
  records_.resize(at + record_bytes_);
  auto* p = reinterpret_cast<uint8_t*>(records_.data() + at);
  std::memset(p, 0, record_bytes_);
  p[kOffKind] = static_cast<uint8_t>(kind);
  p[kOffFlags] = static_cast<uint8_t>(s.flags & ~kPeerSession);
  p[kOffKeyVerA] = s.out_rev.key_version;
  p[kOffKeyVerB] = s.out_fwd.key_version;
  p[kOffAppRefused] = s.app_slot == kAppDenied;
  put<uint16_t>(p + kOffMigrations, s.migrations);
  put<uint16_t>(p + kOffTenant, name_index(tenant_name(rm, s)));
  put<uint16_t>(p + kOffService, name_index(service_name(rm, s)));
  put<uint16_t>(p + kOffSecurity, name_index(security_name(rm, s)));
  p[kOffTunnelLegs] = static_cast<uint8_t>((s.out_fwd.iface == kIfaceTunnel ? kFwdTunnel : 0) |
                                            (s.out_rev.iface == kIfaceTunnel ? kRevTunnel : 0));
  put<uint16_t>(p + kOffFwdPeer, name_index(leg_name(rm, s.out_fwd)));
  put<uint16_t>(p + kOffRevPeer, name_index(leg_name(rm, s.out_rev)));
  put<uint16_t>(p + kOffApp, name_index(application_name(s.app)));
  std::memcpy(p + kOffUuid, s.uuid.data(), 16);
  bool waypoint6 = false;
  for (const auto& [off, t] : {std::pair{kOffOriginal, &s.original}, std::pair{kOffFwd, &s.out_fwd.tuple},
                               std::pair{kOffRev, &s.out_rev.tuple}}) {
    const uint32_t src = wire_address(t->src, rm, waypoint6);  // the table in tuple order: src, then dst
    pack_tuple(p + off, *t, src, wire_address(t->dst, rm, waypoint6));
  }
  p[kOffWaypoint6] = waypoint6;
  put<uint32_t>(p + kOffKeyId, session_key_id(s, rm, &key_ids_));
  put<uint64_t>(p + kOffCreated, clock.epoch_ms(s.created_ms));
  put<uint64_t>(p + kOffLast, clock.epoch_ms(s.last_ms));
  put<uint64_t>(p + kOffPacketsFwd, s.packets[0]);
  put<uint64_t>(p + kOffPacketsRev, s.packets[1]);
  put<uint64_t>(p + kOffBytesFwd, s.bytes[0]);
  put<uint64_t>(p + kOffBytesRev, s.bytes[1]);
  return p;
}

void PackedOpsWriter::write_to(pb::PackedOps& out) const {
  out.set_format(columns_format_ ? columns_format_ : format_);
  out.set_record_bytes(static_cast<uint32_t>(record_bytes_));
  for (size_t i = 0; i < used_names_; ++i) out.add_names(names_[i]);
  if (columns_format_) {
    columns_.resize(records_.size());
    packed_to_columns(reinterpret_cast<const uint8_t*>(records_.data()), size(), record_bytes_,
                      reinterpret_cast<uint8_t*>(columns_.data()));
    out.set_records(columns_);
  } else {
    out.set_records(records_);
  }
  if (!waypoints6_.empty()) out.set_waypoints6(waypoints6_);
}

void PackedOpsWriter::clear() {
  records_.clear();
  waypoints6_.clear();
  used_names_ = 0;
  names_bytes_ = 0;
}

bool PackedOpsReader::open(const pb::PackedOps& in, std::string& error) {
  in_ = nullptr;
  count_ = 0;
  const std::string what = what_;
  const bool columns = columns_format_ && in.format() == columns_format_;
  if (in.format() != format_ && !columns)
    return error = what + ": format " + std::to_string(in.format()) + " unknown (this node reads " +
                   std::to_string(format_) + (columns_format_ ? " and " + std::to_string(columns_format_) : "") + ")",
           false;
  if (in.record_bytes() != record_bytes_)
    return error = what + ": records of " + std::to_string(in.record_bytes()) + " bytes (format " +
                   std::to_string(format_) + ": " + std::to_string(record_bytes_) + ")",
           false;
  if (in.records().size() % record_bytes_ != 0)
    return error = what + ": " + std::to_string(in.records().size()) + " bytes are not whole records", false;
  if (static_cast<size_t>(in.names_size()) > kMaxPackedNames)
    return error = what + ": " + std::to_string(in.names_size()) + " names (at most " +
                   std::to_string(kMaxPackedNames) + ")",
           false;
  if (in.waypoints6().size() % 16 != 0 || in.waypoints6().size() / 16 > kMaxPackedNames)
    return error = what + ": a waypoints6 table of " + std::to_string(in.waypoints6().size()) +
                   " bytes (whole 16-byte addresses, at most " + std::to_string(kMaxPackedNames) + ")",
           false;
  in_ = &in;
  records_ = reinterpret_cast<const uint8_t*>(in.records().data());
  count_ = in.records().size() / record_bytes_;
  if (columns) {
    rows_.resize(in.records().size());
    packed_from_columns(records_, count_, record_bytes_, reinterpret_cast<uint8_t*>(rows_.data()));
    records_ = reinterpret_cast<const uint8_t*>(rows_.data());
  }
  rm_ = nullptr;
  return true;
}

// A name index to this node's entity of kind `k`, looked up once per body.
bool PackedOpsReader::resolve(uint16_t idx, Kind k, const RouterModel& rm, int& out, std::string_view& name,
                              std::string& error, const char* field) {
  name = {};
  if (idx == kNoName) {
    if (k == kPeer) return out = -1, true;  // a LAN leg
    if (k == kTunnel) return error = std::string(field) + ": a tunnel leg without a name", false;
    if (k == kApp) return out = 0, true;    // Unknown
  } else if (idx >= static_cast<size_t>(in_->names_size())) {
    return error = std::string(field) + ": name index " + std::to_string(idx) + " past the " +
                   std::to_string(in_->names_size()) + " names of the message",
           false;
  } else {
    name = in_->names(idx);
  }
  if (rm_ != &rm) {  // a new body, or the model changed under us: forget what was resolved
    rm_ = &rm;
    for (auto& c : cache_) c.assign(static_cast<size_t>(in_->names_size()) + 1, kUnresolved);
  }
  int& slot = cache_[k][idx == kNoName ? static_cast<size_t>(in_->names_size()) : idx];
  if (slot == kUnresolved) {
    switch (k) {
      case kTenant: slot = rm.tenant_by_name(name); break;
      case kService: slot = rm.service_by_name(name); break;
      case kPeer: slot = peer_by_name(rm, name); break;
      case kApp: slot = application_id(name); break;
      case kTunnel: slot = tunnel_by_name(rm, name); break;
      case kKinds: break;
    }
  }
  out = slot;
  return true;
}

bool PackedOpsReader::local_address(uint32_t& a, bool waypoint6, const RouterModel& rm, std::string& error,
                                    const char* field) const {
  if (!is_waypoint6_standin(a)) [[likely]]
    return true;
  if (!waypoint6)
    return error = std::string(field) + ": stand-in " + format_ipv4(a) +
                   " without the sender's waypoint table (a sender older than this node)",
           false;
  const size_t idx = a & 0xFFFF, n = in_->waypoints6().size() / 16;
  if (idx == kNoName) return error = std::string(field) + ": an IPv6 waypoint the sender's config no longer has", false;
  if (idx >= n)
    return error = std::string(field) + ": waypoint index " + std::to_string(idx) + " past the " + std::to_string(n) +
                   " waypoints of the message",
           false;
  const Ipv6 w = load_ipv6(reinterpret_cast<const uint8_t*>(in_->waypoints6().data()) + idx * 16);
  a = waypoint6_standin_by_address(rm, w);
  if (a == 0)
    return error = std::string(field) + ": IPv6 waypoint " + format_ipv6(w) +
                   " is not configured here (ours, ha.peer_waypoints or a peer's)",
           false;
  return true;
}

bool PackedOpsReader::has_tunnel_leg(size_t i) const {
  return in_ && i < count_ && (records_[i * record_bytes_ + kOffTunnelLegs] & (kFwdTunnel | kRevTunnel)) != 0;
}

bool PackedOpsReader::decode(size_t i, const RouterModel& rm, const DataplaneClock& clock, const FibTable* fib,
                             PackedKind& kind, Session& out, std::string& error, int lan6_side,
                             const FibTable6* fib6) {
  if (!in_ || i >= count_) return error = std::string(what_) + ": no record " + std::to_string(i), false;
  const uint8_t* p = records_ + i * record_bytes_;
  if (p[kOffKind] > static_cast<uint8_t>(PackedKind::remove))
    return error = "kind: " + std::to_string(p[kOffKind]) + " unknown", false;
  kind = static_cast<PackedKind>(p[kOffKind]);
  SessionFacts f;
  int app = 0;
  std::string_view app_name;
  const uint8_t tunnels = p[kOffTunnelLegs];
  if (tunnels & ~(kFwdTunnel | kRevTunnel)) return error = "tunnel legs: bits " + std::to_string(tunnels) + " unknown", false;
  // A tunnel leg's name index names its tunnel, in place of the peer's.
  auto leg = [&](size_t off, uint8_t bit, int& peer, std::string_view& peer_name, int& tunnel,
                 std::string_view& tunnel_name, const char* peer_field, const char* tunnel_field) {
    if (tunnels & bit) return resolve(get<uint16_t>(p + off), kTunnel, rm, tunnel, tunnel_name, error, tunnel_field);
    return resolve(get<uint16_t>(p + off), kPeer, rm, peer, peer_name, error, peer_field);
  };
  if (!leg(kOffFwdPeer, kFwdTunnel, f.fwd_peer, f.fwd_peer_name, f.fwd_tunnel, f.fwd_tunnel_name, "out_fwd.peer",
           "out_fwd.tunnel") ||
      !leg(kOffRevPeer, kRevTunnel, f.rev_peer, f.rev_peer_name, f.rev_tunnel, f.rev_tunnel_name, "out_rev.peer",
           "out_rev.tunnel") ||
      !resolve(get<uint16_t>(p + kOffTenant), kTenant, rm, f.tenant, f.tenant_name, error, "tenant") ||
      !resolve(get<uint16_t>(p + kOffService), kService, rm, f.service, f.service_name, error, "service") ||
      !resolve(get<uint16_t>(p + kOffApp), kApp, rm, app, app_name, error, "application"))
    return false;
  f.app = static_cast<uint16_t>(app);
  f.uuid = reinterpret_cast<const char*>(p + kOffUuid);
  f.uuid_size = 16;
  f.original = unpack_tuple(p + kOffOriginal);
  f.fwd_tuple = unpack_tuple(p + kOffFwd);
  f.rev_tuple = unpack_tuple(p + kOffRev);
  if (p[kOffWaypoint6] > 1) return error = "waypoint6: " + std::to_string(p[kOffWaypoint6]) + " unknown", false;
  const bool waypoint6 = p[kOffWaypoint6] != 0;
  for (const auto& [t, field] : {std::pair{&f.original, "original"}, std::pair{&f.fwd_tuple, "out_fwd"},
                                 std::pair{&f.rev_tuple, "out_rev"}})
    if (!local_address(t->src, waypoint6, rm, error, field) || !local_address(t->dst, waypoint6, rm, error, field))
      return false;
  f.app_refused = p[kOffAppRefused] != 0;
  f.flags = p[kOffFlags];
  f.created_ms = get<uint64_t>(p + kOffCreated);
  f.last_ms = get<uint64_t>(p + kOffLast);
  f.packets_fwd = get<uint64_t>(p + kOffPacketsFwd);
  f.packets_rev = get<uint64_t>(p + kOffPacketsRev);
  f.bytes_fwd = get<uint64_t>(p + kOffBytesFwd);
  f.bytes_rev = get<uint64_t>(p + kOffBytesRev);
  f.migrations = get<uint16_t>(p + kOffMigrations);
  f.key_version_a = p[kOffKeyVerA];
  f.key_version_b = p[kOffKeyVerB];
  f.lan6_side = lan6_side;
  return decode_facts(f, rm, clock, out, error, fib, fib6);
}

}  // namespace wp::ha
