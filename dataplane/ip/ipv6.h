// IPv6 addresses, prefixes and the bounds-checked IPv6 header parser.
//
// Addresses are two 64-bit words in host order (hi = the first 8 bytes on the
// wire), so comparisons, masks and hashes are word operations; packet code
// converts with load_ipv6/store_ipv6 at the edge, as IPv4 code does with
// load_be32. Text goes through inet_pton/inet_ntop (RFC 4291 § 2.2 input,
// RFC 5952 canonical output): control path only.
//
// parse_ipv6_packet walks the extension-header chain of RFC 8200 § 4
// (hop-by-hop, routing, fragment, destination options) and never reads past
// the datagram's end: each header is checked against what is left before it
// is touched. The walk is bounded (kMaxExtHeaders headers, kMaxExtBytes bytes,
// as RFC 8504 § 5.3 lets a node limit them); hop-by-hop only first (§ 4.1), one
// fragment header and one routing header. AH, ESP, No Next Header and
// anything else end the walk as the upper layer. A first fragment must hold
// the whole chain and the upper-layer header (RFC 7112 § 5); an atomic
// fragment (offset 0, M clear: RFC 6946) is a whole packet, never reassembled.
// Every failure has its own status, so the worker counts each as its own drop.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wp {

struct Ipv6 {
  uint64_t hi = 0, lo = 0;  // host order: hi holds bytes 0..7 of the address
  auto operator<=>(const Ipv6&) const = default;
  bool is_unspecified() const { return hi == 0 && lo == 0; }
  bool is_multicast() const { return hi >> 56 == 0xff; }
  bool is_link_local() const { return hi >> 54 == (0xfe80ULL >> 6); }  // fe80::/10
};

std::optional<Ipv6> parse_ipv6(std::string_view text);
std::string format_ipv6(const Ipv6& addr);
Ipv6 load_ipv6(const uint8_t* p);
void store_ipv6(uint8_t* p, const Ipv6& addr);

struct Ipv6Prefix {
  Ipv6 addr;  // network address (host bits cleared by parse)
  uint8_t len = 0;

  static Ipv6 mask_of(uint8_t len);
  bool contains(const Ipv6& a) const;
  bool operator==(const Ipv6Prefix&) const = default;
};

// "2001:db8::/32" -> prefix with host bits cleared; `host` (optional out)
// gets the address as written.
std::optional<Ipv6Prefix> parse_prefix6(std::string_view text, Ipv6* host = nullptr);
std::string format_prefix6(const Ipv6Prefix& p);

inline constexpr uint16_t kEtherTypeIpv6 = 0x86dd;
inline constexpr uint16_t kIpv6HdrLen = 40;
inline constexpr uint8_t kProtoHopByHop = 0;
inline constexpr uint8_t kProtoRouting = 43;
inline constexpr uint8_t kProtoFragment = 44;
inline constexpr uint8_t kProtoEsp = 50;
inline constexpr uint8_t kProtoAh = 51;
inline constexpr uint8_t kProtoIcmpv6 = 58;
inline constexpr uint8_t kProtoNoNext = 59;
inline constexpr uint8_t kProtoDestOpts = 60;

enum class Ipv6Status : uint8_t {
  ok,                    // whole packet (atomic fragments too); upper-layer header at l4
  fragment,              // part of a larger datagram: `frag` valid; l4/ports only when offset 0
  malformed,             // fixed header short, version not 6, or payload length past the frame
  ext_truncated,         // an extension header runs past the datagram
  ext_chain_too_long,    // more than kMaxExtHeaders extension headers
  ext_too_long,          // extension headers longer than kMaxExtBytes in total
  ext_order,             // hop-by-hop not first, or a second fragment / routing header
  first_fragment_short,  // first fragment without the whole chain and upper-layer header (RFC 7112)
  l4_truncated,          // TCP/UDP/ICMPv6 header short or inconsistent
};

struct Ipv6FragmentInfo {
  bool present = false;  // a fragment header was walked
  bool more = false;     // M flag
  bool atomic = false;   // offset 0 and M clear (RFC 6946): not reassembled
  uint16_t header = 0;   // offset of the fragment header in the frame
  uint16_t offset = 0;   // fragment offset, bytes
  uint8_t next = 0;      // the fragment header's Next Header
  uint32_t id = 0;
};

struct Ipv6View {
  static constexpr uint32_t kMaxExtHeaders = 8;
  static constexpr uint32_t kMaxExtBytes = 256;

  Ipv6Status status = Ipv6Status::malformed;
  uint16_t l3 = 0;           // IPv6 header offset
  uint16_t l4 = 0;           // upper-layer header offset
  uint16_t payload = 0;      // upper-layer payload offset
  uint16_t end = 0;          // one past the datagram (the frame may be longer: padding)
  uint16_t next_at = 0;      // offset of the Next Header byte that names `proto`
  uint8_t proto = 0;         // upper-layer protocol (AH/ESP/59 included)
  uint8_t hop_limit = 0;
  uint8_t tcp_flags = 0;
  uint8_t ext_headers = 0;   // extension headers walked
  uint16_t ext_bytes = 0;    // their length in total
  Ipv6 src, dst;
  uint16_t sport = 0, dport = 0;  // ICMPv6 echo: identifier in both
  Ipv6FragmentInfo frag;

  uint16_t payload_len() const { return static_cast<uint16_t>(end - payload); }
};

// Parses the IPv6 datagram at `l3` in the frame `data`/`len`; offsets in the
// result are frame offsets, like ParsedPacket's.
Ipv6View parse_ipv6_packet(const uint8_t* data, uint32_t len, uint16_t l3);

}  // namespace wp
