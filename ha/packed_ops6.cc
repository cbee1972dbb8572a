// Packed IPv6 session records; see packed_ops6.h for the layout.
#include "ha/packed_ops6.h"

#include "dataplane/control/route_choice.h"
#include "dataplane/ip/ipv6.h"
#include "ha/packed_bytes.h"

namespace wp::ha {
namespace {

enum : size_t {
  kOff6Kind = 0, kOff6Flags = 1, kOff6Tenant = 2, kOff6Service = 4, kOff6Home = 6, kOff6Zero = 7, kOff6Uuid = 8,
  kOff6Src = 24, kOff6Dst = 40, kOff6Sport = 56, kOff6Dport = 58, kOff6Proto = 60, kOff6Pad = 61,
  kOff6Created = 64, kOff6Last = 72, kOff6PacketsFwd = 80, kOff6PacketsRev = 88, kOff6BytesFwd = 96,
  kOff6BytesRev = 104,
};
static_assert(kOff6BytesRev + 8 == kPacked6RecordBytes);
static_assert(kOff6Src + kPackedTuple6Bytes == kOff6Pad);  // the tuple's fields as packed_put_tuple6 lays them

// Tenants are names; services carry theirs.
std::string_view entity_name6(const auto& list, int idx) {
  if (idx < 0 || static_cast<size_t>(idx) >= list.size()) return {};
  const auto& e = list[static_cast<size_t>(idx)];
  if constexpr (requires { e.name; })
    return e.name;
  else
    return e;
}

}  // namespace

uint16_t Packed6Writer::name_index(std::string_view name) {
  if (name.empty()) return kNoName;
  for (size_t i = 0; i < names_.size(); ++i)
    if (names_[i] == name) return static_cast<uint16_t>(i);
  names_.emplace_back(name);
  names_bytes_ += name.size() + 3;
  return static_cast<uint16_t>(names_.size() - 1);
}

void Packed6Writer::add(PackedKind kind, const Session6& s, const RouterModel& rm, const DataplaneClock& clock) {
  const size_t at = records_.size();
  records_.resize(at + kPacked6RecordBytes, '\0');
  auto* p = reinterpret_cast<uint8_t*>(records_.data() + at);
  p[kOff6Kind] = static_cast<uint8_t>(kind);
  p[kOff6Flags] = static_cast<uint8_t>(s.flags & ~(kPeerSession | kPeer6Copy));
  p[kOff6Home] = (s.flags & kPeer6Copy) ? 1 : 0;
  packed_put<uint16_t>(p + kOff6Tenant, name_index(entity_name6(rm.tenants, s.tenant)));
  packed_put<uint16_t>(p + kOff6Service, name_index(entity_name6(rm.services, s.service)));
  std::memcpy(p + kOff6Uuid, s.uuid.data(), 16);
  packed_put_tuple6(p + kOff6Src, s.original);
  packed_put<uint64_t>(p + kOff6Created, clock.epoch_ms(s.created_ms));
  packed_put<uint64_t>(p + kOff6Last, clock.epoch_ms(s.last_ms));
  packed_put<uint64_t>(p + kOff6PacketsFwd, s.packets[0]);
  packed_put<uint64_t>(p + kOff6PacketsRev, s.packets[1]);
  packed_put<uint64_t>(p + kOff6BytesFwd, s.bytes[0]);
  packed_put<uint64_t>(p + kOff6BytesRev, s.bytes[1]);
}

void Packed6Writer::write_to(pb::PackedOps& out) const {
  out.set_format(kPacked6Format);
  out.set_record_bytes(kPacked6RecordBytes);
  out.set_records(records_);
  for (const std::string& n : names_) out.add_names(n);
}

void Packed6Writer::clear() {
  records_.clear();
  names_.clear();
  names_bytes_ = 0;
}

bool Packed6Reader::open(const pb::PackedOps& in, std::string& error) {
  in_ = nullptr;
  count_ = 0;
  if (in.format() != kPacked6Format)
    return error = "packed6 ops: format " + std::to_string(in.format()) + " unknown", false;
  if (in.record_bytes() != kPacked6RecordBytes)
    return error = "packed6 ops: records of " + std::to_string(in.record_bytes()) + " bytes (format 1: " +
                   std::to_string(kPacked6RecordBytes) + ")",
           false;
  if (in.records().size() % kPacked6RecordBytes != 0)
    return error = "packed6 ops: " + std::to_string(in.records().size()) + " bytes are not whole records", false;
  if (static_cast<size_t>(in.names_size()) > kMaxPackedNames)
    return error = "packed6 ops: " + std::to_string(in.names_size()) + " names (at most " +
                   std::to_string(kMaxPackedNames) + ")",
           false;
  in_ = &in;
  records_ = reinterpret_cast<const uint8_t*>(in.records().data());
  count_ = in.records().size() / kPacked6RecordBytes;
  return true;
}

// A tenant or service name index to this node's entity; kNone with `error` when unknown.
int Packed6Reader::name_to(uint16_t idx, bool tenant, const RouterModel& rm, std::string& error,
                           const char* field) const {
  if (idx == kNoName) return error = std::string(field) + ": none", kNone;
  if (idx >= static_cast<size_t>(in_->names_size()))
    return error = std::string(field) + ": name index " + std::to_string(idx) + " past the " +
                   std::to_string(in_->names_size()) + " names of the message",
           kNone;
  const std::string& name = in_->names(idx);
  const int found = tenant ? rm.tenant_by_name(name) : rm.service_by_name(name);
  if (found == kNone) error = std::string(field) + ": " + name + " is not configured here";
  return found;
}

bool Packed6Reader::decode(size_t i, const RouterModel& rm, const DataplaneClock& clock, PackedKind& kind,
                           Session6& out, std::string& error, const FibTable6* fib) const {
  if (!in_ || i >= count_) return error = "packed6 ops: no record " + std::to_string(i), false;
  const uint8_t* p = records_ + i * kPacked6RecordBytes;
  if (p[kOff6Kind] > static_cast<uint8_t>(PackedKind::remove))
    return error = "kind: " + std::to_string(p[kOff6Kind]) + " unknown", false;
  if (p[kOff6Zero] || p[kOff6Pad] || p[kOff6Pad + 1] || p[kOff6Pad + 2]) return error = "reserved bytes not zero", false;
  if (p[kOff6Home] > 1) return error = "home: " + std::to_string(p[kOff6Home]) + " unknown", false;
  kind = static_cast<PackedKind>(p[kOff6Kind]);
  out = Session6{};
  out.original = packed_get_tuple6(p + kOff6Src);
  std::memcpy(out.uuid.data(), p + kOff6Uuid, 16);
  if (kind == PackedKind::remove) return true;  // a delete needs only the tuple and the UUID
  if (out.original.proto == 0 || out.original.src.is_unspecified() || out.original.dst.is_unspecified() ||
      out.original.src.is_multicast() || out.original.dst.is_multicast())
    return error = "original: incomplete or multicast tuple", false;
  const int tenant = name_to(packed_get<uint16_t>(p + kOff6Tenant), true, rm, error, "tenant");
  if (tenant == kNone) return false;
  const int service = name_to(packed_get<uint16_t>(p + kOff6Service), false, rm, error, "service");
  if (service == kNone) return false;
  if (rm.policy(tenant, service) == kNone)
    return error = "policy: " + rm.tenants[static_cast<size_t>(tenant)] + " -> " +
                   rm.services[static_cast<size_t>(service)].name + " not allowed here",
           false;
  // The config's routes or FRR's, the tuple's hash picking an ECMP member (as route6_step).
  const uint32_t hash = symmetric_hash(out.original);
  const std::optional<Route6> fwd = route6_to(rm, fib, out.original.dst, hash);
  const std::optional<Route6> back = route6_to(rm, fib, out.original.src, hash);
  if (!fwd || !back) return error = std::string("route: none here to the ") + (fwd ? "client" : "server"), false;
  // Sessions with a tunnel side are never synced (docs/ipsec.md § HA); a route here into one is no route for it.
  if (fwd->tunnel() || back->tunnel()) return error = "route: into an IPsec tunnel here", false;
  constexpr auto fw = static_cast<size_t>(Dir::forward), rv = static_cast<size_t>(Dir::reverse);
  out.next_hop[fw] = route6_via(*fwd, out.original.dst);
  out.iface[fw] = static_cast<int8_t>(fwd->iface);
  out.next_hop[rv] = route6_via(*back, out.original.src);
  out.iface[rv] = static_cast<int8_t>(back->iface);
  out.tenant = static_cast<int16_t>(tenant);
  out.service = static_cast<int16_t>(service);
  out.flags = static_cast<uint8_t>(p[kOff6Flags] & ~(kPeerSession | kPeer6Copy));
  if (p[kOff6Home] == 0) out.flags |= kPeer6Copy;  // the sender's: ours to carry only after a takeover
  out.created_ms = clock.base_ms + static_cast<uint32_t>(packed_get<uint64_t>(p + kOff6Created) - clock.base_epoch_ms);
  out.last_ms = clock.base_ms + static_cast<uint32_t>(packed_get<uint64_t>(p + kOff6Last) - clock.base_epoch_ms);
  out.packets[fw] = packed_get<uint64_t>(p + kOff6PacketsFwd);
  out.packets[rv] = packed_get<uint64_t>(p + kOff6PacketsRev);
  out.bytes[fw] = packed_get<uint64_t>(p + kOff6BytesFwd);
  out.bytes[rv] = packed_get<uint64_t>(p + kOff6BytesRev);
  return true;
}

}  // namespace wp::ha
