// FPM / netlink route decoding; see fpm_decoder.h.
#include "dataplane/control/fpm/fpm_decoder.h"

#include <algorithm>
#include <array>
#include <cstring>

namespace wp::fpm {
namespace {

// linux/netlink.h, linux/rtnetlink.h, linux/nexthop.h (values are kernel ABI).
constexpr uint16_t kNlmsgError = 2, kNlmsgDone = 3;
constexpr uint16_t kRtmNewRoute = 24, kRtmDelRoute = 25, kRtmNewNexthop = 104, kRtmDelNexthop = 105;
constexpr uint16_t kRtaDst = 1, kRtaOif = 4, kRtaGateway = 5, kRtaPriority = 6, kRtaMultipath = 9,
                   kRtaTable = 15, kRtaNhId = 30;
constexpr uint16_t kNhaId = 1, kNhaGroup = 2, kNhaBlackhole = 4, kNhaOif = 5, kNhaGateway = 6;
constexpr uint8_t kAfInet = 2, kAfInet6 = 10;
constexpr size_t kNlmsgHdrLen = 16, kRtmsgLen = 12, kNhmsgLen = 8, kRtnexthopLen = 8, kRtaHdrLen = 4,
                 kNhGrpLen = 8;

constexpr size_t align4(size_t n) { return (n + 3) & ~size_t{3}; }

template <class T>
T read(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
Ipv4 read_addr(const uint8_t* p) {  // network order on the wire
  return Ipv4{p[0]} << 24 | Ipv4{p[1]} << 16 | Ipv4{p[2]} << 8 | p[3];
}

struct Attr {
  uint16_t type;
  std::span<const uint8_t> value;
};

// Walks rtattrs (rtattr and nlattr share the layout): calls f(Attr) for each,
// returning the first error f or the walk reports.
template <class F>
FpmError for_each_attr(std::span<const uint8_t> b, F&& f) {
  size_t off = 0;
  while (off < b.size()) {
    if (b.size() - off < kRtaHdrLen) return FpmError::attr_truncated;
    const auto len = read<uint16_t>(&b[off]);
    const auto type = static_cast<uint16_t>(read<uint16_t>(&b[off + 2]) & 0x3fff);  // drop NLA_F_* bits
    if (len < kRtaHdrLen || len > b.size() - off) return FpmError::attr_truncated;
    if (FpmError e = f(Attr{type, b.subspan(off + kRtaHdrLen, len - kRtaHdrLen)}); e != FpmError::none) return e;
    off += align4(len);
  }
  return FpmError::none;
}

bool u32_attr(const Attr& a, uint32_t& out) {
  if (a.value.size() != 4) return false;
  out = read<uint32_t>(a.value.data());
  return true;
}
bool addr_attr(const Attr& a, Ipv4& out) {
  if (a.value.size() != 4) return false;
  out = read_addr(a.value.data());
  return true;
}
bool addr6_attr(const Attr& a, Ipv6& out) {
  if (a.value.size() != 16) return false;
  out = load_ipv6(a.value.data());
  return true;
}
// A gateway of the message's family (RTA_GATEWAY, NHA_GATEWAY).
bool gateway_attr(const Attr& a, bool v6, FpmNextHop& h) { return v6 ? addr6_attr(a, h.gateway6) : addr_attr(a, h.gateway); }

// RTA_MULTIPATH: rtnexthop records, each with its own attributes (RTA_GATEWAY).
FpmError decode_multipath(std::span<const uint8_t> b, bool v6, std::vector<FpmNextHop>& hops) {
  size_t off = 0;
  while (off < b.size()) {
    if (b.size() - off < kRtnexthopLen) return FpmError::multipath_truncated;
    const auto len = read<uint16_t>(&b[off]);
    if (len < kRtnexthopLen || len > b.size() - off) return FpmError::multipath_truncated;
    FpmNextHop h;
    h.weight = static_cast<uint8_t>(std::min(b[off + 3] + 1, 255));
    h.ifindex = static_cast<uint32_t>(read<int32_t>(&b[off + 4]));
    FpmError e = for_each_attr(b.subspan(off + kRtnexthopLen, len - kRtnexthopLen), [&](const Attr& a) {
      if (a.type == kRtaGateway && !gateway_attr(a, v6, h)) return FpmError::bad_attr_len;
      return FpmError::none;
    });
    if (e != FpmError::none) return e;
    hops.push_back(h);
    off += align4(len);
  }
  return FpmError::none;
}

FpmError decode_route(std::span<const uint8_t> body, bool add, FpmMessage& m) {
  if (body.size() < kRtmsgLen) return FpmError::netlink_truncated;
  if (body[0] != kAfInet && body[0] != kAfInet6) return m.kind = FpmKind::ignored, FpmError::none;
  const bool v6 = body[0] == kAfInet6;
  if (body[1] > (v6 ? 128 : 32)) return FpmError::bad_prefix_len;
  m.kind = add ? FpmKind::route_add : FpmKind::route_del;
  m.ipv6 = v6;
  (v6 ? m.prefix6.len : m.prefix.len) = body[1];
  m.table = body[4];
  m.protocol = body[5];
  m.type = body[7];
  FpmNextHop single;
  bool has_single = false;
  FpmError e = for_each_attr(body.subspan(kRtmsgLen), [&](const Attr& a) {
    bool ok = true;
    switch (a.type) {
      case kRtaDst: ok = v6 ? addr6_attr(a, m.prefix6.addr) : addr_attr(a, m.prefix.addr); break;
      case kRtaGateway:
        ok = gateway_attr(a, v6, single);
        has_single = true;
        break;
      case kRtaOif:
        ok = u32_attr(a, single.ifindex);
        has_single = true;
        break;
      case kRtaPriority: ok = u32_attr(a, m.priority); break;
      case kRtaTable: ok = u32_attr(a, m.table); break;
      case kRtaNhId: ok = u32_attr(a, m.nh_id); break;
      case kRtaMultipath: return decode_multipath(a.value, v6, m.hops);
      default: break;  // RTA_ENCAP, RTA_PREFSRC...: not ours
    }
    return ok ? FpmError::none : FpmError::bad_attr_len;
  });
  if (e != FpmError::none) return e;
  if (has_single) m.hops.insert(m.hops.begin(), single);
  // Host bits set is a malformed prefix from a zebra that does not send them.
  if (v6) {
    const Ipv6 mask = Ipv6Prefix::mask_of(m.prefix6.len);
    if ((m.prefix6.addr.hi & ~mask.hi) || (m.prefix6.addr.lo & ~mask.lo)) return FpmError::bad_prefix_len;
  } else if (m.prefix.addr & ~m.prefix.mask()) {
    return FpmError::bad_prefix_len;
  }
  return FpmError::none;
}

FpmError decode_group(const Attr& a, std::vector<uint32_t>& group) {
  if (a.value.empty() || a.value.size() % kNhGrpLen) return FpmError::bad_group;
  for (size_t off = 0; off < a.value.size(); off += kNhGrpLen) group.push_back(read<uint32_t>(&a.value[off]));
  return FpmError::none;
}

FpmError decode_nexthop(std::span<const uint8_t> body, bool add, FpmMessage& m) {
  if (body.size() < kNhmsgLen) return FpmError::netlink_truncated;
  // A group's nhmsg has family AF_UNSPEC; a single next hop's, its address family.
  if (body[0] != kAfInet && body[0] != kAfInet6 && body[0] != 0) return m.kind = FpmKind::ignored, FpmError::none;
  const bool v6 = body[0] == kAfInet6;
  m.kind = add ? FpmKind::nexthop_add : FpmKind::nexthop_del;
  m.ipv6 = v6;
  m.protocol = body[2];
  FpmNextHop h;
  FpmError e = for_each_attr(body.subspan(kNhmsgLen), [&](const Attr& a) {
    bool ok = true;
    switch (a.type) {
      case kNhaId: ok = u32_attr(a, m.id); break;
      case kNhaGateway: ok = gateway_attr(a, v6, h); break;
      case kNhaOif: ok = u32_attr(a, h.ifindex); break;
      case kNhaBlackhole: m.blackhole = true; break;
      case kNhaGroup: return decode_group(a, m.group);
      default: break;
    }
    return ok ? FpmError::none : FpmError::bad_attr_len;
  });
  if (e != FpmError::none) return e;
  if (m.id == 0) return FpmError::bad_group;  // an object without its id cannot be referred to
  if (m.group.empty() && !m.blackhole && (h.gateway || !h.gateway6.is_unspecified() || h.ifindex)) m.hops.push_back(h);
  return FpmError::none;
}

}  // namespace

std::string_view fpm_error_name(FpmError e) {
  static constexpr std::array<std::string_view, static_cast<size_t>(FpmError::count)> kNames = {
#define WP_X(n) #n,
      WP_FPM_ERRORS(WP_X)
#undef WP_X
  };
  return static_cast<size_t>(e) < kNames.size() ? kNames[static_cast<size_t>(e)] : "unknown";
}

long fpm_frame_length(std::span<const uint8_t> data) {
  if (data.size() < kFpmHeaderLen) return 0;
  const size_t len = size_t{data[2]} << 8 | data[3];
  if (data[0] != kFpmVersion || data[1] != kFpmTypeNetlink || len < kFpmHeaderLen) return -1;
  return data.size() < len ? 0 : static_cast<long>(len);
}

FpmError decode_netlink(std::span<const uint8_t> msg, FpmMessage& out) {
  out = FpmMessage{};
  if (msg.size() < kNlmsgHdrLen) return FpmError::netlink_truncated;
  const auto type = read<uint16_t>(&msg[4]);
  const auto body = msg.subspan(kNlmsgHdrLen);
  switch (type) {
    case kRtmNewRoute: return decode_route(body, true, out);
    case kRtmDelRoute: return decode_route(body, false, out);
    case kRtmNewNexthop: return decode_nexthop(body, true, out);
    case kRtmDelNexthop: return decode_nexthop(body, false, out);
    case kNlmsgError: return FpmError::netlink_error;
    case kNlmsgDone:
    default: return FpmError::none;  // links, addresses, neighbors: not routes
  }
}

FpmError decode_fpm_frame(std::span<const uint8_t> frame, std::vector<FpmMessage>& out) {
  out.clear();
  const long flen = fpm_frame_length(frame);
  if (flen <= 0 || static_cast<size_t>(flen) != frame.size()) return FpmError::bad_header;
  auto rest = frame.subspan(kFpmHeaderLen);
  while (!rest.empty()) {
    if (rest.size() < kNlmsgHdrLen) return FpmError::netlink_truncated;
    const auto len = read<uint32_t>(rest.data());
    if (len < kNlmsgHdrLen || len > rest.size()) return FpmError::netlink_truncated;
    FpmMessage m;
    if (FpmError e = decode_netlink(rest.first(len), m); e != FpmError::none) return e;
    if (m.kind != FpmKind::ignored) out.push_back(std::move(m));
    rest = rest.subspan(std::min<size_t>(align4(len), rest.size()));
  }
  return FpmError::none;
}

}  // namespace wp::fpm
