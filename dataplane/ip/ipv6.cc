// IPv6 addresses and the header walk; see ipv6.h for the contract.
#include "dataplane/ip/ipv6.h"

#include <arpa/inet.h>

#include <charconv>
#include <utility>

#include "dataplane/ip/l4_header.h"
#include "dataplane/ip/packet.h"

namespace wp {

std::optional<Ipv6> parse_ipv6(std::string_view text) {
  char buf[INET6_ADDRSTRLEN];
  if (text.empty() || text.size() >= sizeof buf) return std::nullopt;
  text.copy(buf, text.size());
  buf[text.size()] = '\0';
  uint8_t bytes[16];
  if (inet_pton(AF_INET6, buf, bytes) != 1) return std::nullopt;
  return load_ipv6(bytes);
}

std::string format_ipv6(const Ipv6& addr) {
  uint8_t bytes[16];
  store_ipv6(bytes, addr);
  char buf[INET6_ADDRSTRLEN];
  return inet_ntop(AF_INET6, bytes, buf, sizeof buf);
}

Ipv6 load_ipv6(const uint8_t* p) {
  return {uint64_t{load_be32(p)} << 32 | load_be32(p + 4), uint64_t{load_be32(p + 8)} << 32 | load_be32(p + 12)};
}

void store_ipv6(uint8_t* p, const Ipv6& a) {
  store_be32(p, static_cast<uint32_t>(a.hi >> 32));
  store_be32(p + 4, static_cast<uint32_t>(a.hi));
  store_be32(p + 8, static_cast<uint32_t>(a.lo >> 32));
  store_be32(p + 12, static_cast<uint32_t>(a.lo));
}

Ipv6 Ipv6Prefix::mask_of(uint8_t len) {
  auto word = [](int bits) { return bits <= 0 ? 0 : bits >= 64 ? ~uint64_t{0} : ~uint64_t{0} << (64 - bits); };
  return {word(len), word(len - 64)};
}

bool Ipv6Prefix::contains(const Ipv6& a) const {
  Ipv6 m = mask_of(len);
  return (a.hi & m.hi) == addr.hi && (a.lo & m.lo) == addr.lo;
}

std::optional<Ipv6Prefix> parse_prefix6(std::string_view text, Ipv6* host) {
  size_t slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto addr = parse_ipv6(text.substr(0, slash));
  std::string_view len_text = text.substr(slash + 1);
  unsigned len = 0;
  auto [end, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), len);
  if (!addr || len_text.empty() || len_text.size() > 3 || ec != std::errc() ||
      end != len_text.data() + len_text.size() || len > 128)
    return std::nullopt;
  if (host) *host = *addr;
  Ipv6Prefix p;
  p.len = static_cast<uint8_t>(len);
  Ipv6 m = Ipv6Prefix::mask_of(p.len);
  p.addr = {addr->hi & m.hi, addr->lo & m.lo};
  return p;
}

std::string format_prefix6(const Ipv6Prefix& p) { return format_ipv6(p.addr) + "/" + std::to_string(p.len); }

namespace {

bool is_walked_extension(uint8_t next) {
  return next == kProtoHopByHop || next == kProtoRouting || next == kProtoFragment || next == kProtoDestOpts;
}

// The upper-layer header at v.l4 (RFC 8200 § 8.1 for UDP's length; TCP data
// offset as for IPv4). A first fragment's UDP length covers the whole
// datagram, so it is only checked on whole packets.
bool parse_upper(const uint8_t* data, Ipv6View& v) {
  const uint8_t* l4 = data + v.l4;
  uint32_t left = v.end - v.l4;
  switch (v.proto) {
    case kProtoTcp: {
      TcpHeader tcp;
      if (!read_tcp_header(l4, left, tcp)) return false;
      v.sport = tcp.sport;
      v.dport = tcp.dport;
      v.tcp_flags = tcp.flags;
      v.payload = static_cast<uint16_t>(v.l4 + tcp.len);
      return true;
    }
    case kProtoUdp:
      if (left < 8 || (v.status == Ipv6Status::ok && load_be16(l4 + 4) != left)) return false;
      v.sport = load_be16(l4);
      v.dport = load_be16(l4 + 2);
      v.payload = static_cast<uint16_t>(v.l4 + 8);
      return true;
    case kProtoIcmpv6:
      if (left < 8) return false;
      if (l4[0] == 128 || l4[0] == 129) v.sport = v.dport = load_be16(l4 + 4);  // echo identifier
      v.payload = static_cast<uint16_t>(v.l4 + 8);
      return true;
    default: v.payload = v.l4; return true;
  }
}

// One extension header at `at` (its Next Header byte first); returns its
// length, or 0 with v.status set when it cannot be walked.
uint32_t walk_one(const uint8_t* data, uint32_t at, uint8_t type, Ipv6View& v) {
  bool first_fragment = v.frag.present && v.frag.offset == 0;
  Ipv6Status short_status = first_fragment ? Ipv6Status::first_fragment_short : Ipv6Status::ext_truncated;
  uint32_t left = v.end - at;
  if (type == kProtoHopByHop && v.ext_headers != 0) return v.status = Ipv6Status::ext_order, 0;
  if (type == kProtoFragment) {
    if (v.frag.present) return v.status = Ipv6Status::ext_order, 0;
    if (left < 8) return v.status = short_status, 0;
    uint16_t word = load_be16(data + at + 2);
    v.frag = {true, (word & 1) != 0, false, static_cast<uint16_t>(at), static_cast<uint16_t>(word & 0xfff8),
              data[at], load_be32(data + at + 4)};
    v.frag.atomic = v.frag.offset == 0 && !v.frag.more;
    return 8;
  }
  if (left < 2) return v.status = short_status, 0;
  uint32_t hlen = (data[at + 1] + 1u) * 8;
  if (hlen > left) return v.status = short_status, 0;
  return hlen;
}

}  // namespace

Ipv6View parse_ipv6_packet(const uint8_t* data, uint32_t len, uint16_t l3) {
  Ipv6View v;
  if (data == nullptr || len < l3 || len - l3 < kIpv6HdrLen) return v;
  const uint8_t* ip = data + l3;
  uint32_t end = uint32_t{l3} + kIpv6HdrLen + load_be16(ip + 4);
  if ((ip[0] >> 4) != 6 || end > len || end > 0xffff) return v;
  v.l3 = l3;
  v.end = static_cast<uint16_t>(end);
  v.hop_limit = ip[7];
  v.src = load_ipv6(ip + 8);
  v.dst = load_ipv6(ip + 24);
  v.status = Ipv6Status::ok;
  uint32_t at = l3 + kIpv6HdrLen;
  uint32_t next_at = l3 + 6u;
  bool routing_seen = false;
  for (uint8_t next = ip[6]; is_walked_extension(next); next = data[next_at]) {
    // A non-first fragment's headers past the fragment header are its data.
    if (v.frag.present && v.frag.offset != 0) break;
    if (next == kProtoRouting && std::exchange(routing_seen, true)) return v.status = Ipv6Status::ext_order, v;
    if (v.ext_headers == Ipv6View::kMaxExtHeaders) return v.status = Ipv6Status::ext_chain_too_long, v;
    uint32_t hlen = walk_one(data, at, next, v);
    if (hlen == 0) return v;
    if (v.ext_bytes + hlen > Ipv6View::kMaxExtBytes) return v.status = Ipv6Status::ext_too_long, v;
    ++v.ext_headers;
    v.ext_bytes = static_cast<uint16_t>(v.ext_bytes + hlen);
    next_at = at;
    at += hlen;
  }
  v.next_at = static_cast<uint16_t>(next_at);
  v.proto = data[next_at];
  v.l4 = v.payload = static_cast<uint16_t>(at);
  if (v.frag.present && !v.frag.atomic) v.status = Ipv6Status::fragment;
  if (v.frag.present && v.frag.offset != 0) return v;
  if (!parse_upper(data, v)) {
    v.status = v.status == Ipv6Status::fragment ? Ipv6Status::first_fragment_short : Ipv6Status::l4_truncated;
  }
  return v;
}

}  // namespace wp
