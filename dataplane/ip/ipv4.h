// IPv4 addresses and prefixes as the config and the dataplane see them.
//
// Addresses are kept in host byte order (uint32_t) everywhere above the wire
// code; packet code converts with rte_be_to_cpu/rte_cpu_to_be at the edge.
// Parsing is strict (dotted quad, each octet 0..255, no leading '+', prefix
// length 0..32, no host bits check here: the validator decides that).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wp {

using Ipv4 = uint32_t;  // host byte order

std::optional<Ipv4> parse_ipv4(std::string_view text);
std::string format_ipv4(Ipv4 addr);

struct Ipv4Prefix {
  Ipv4 addr = 0;  // network address (host bits cleared by parse)
  uint8_t len = 0;

  static constexpr Ipv4 mask_of(uint8_t len) { return len == 0 ? 0 : ~Ipv4{0} << (32 - len); }
  Ipv4 mask() const { return mask_of(len); }
  bool contains(Ipv4 a) const { return (a & mask()) == addr; }
  bool operator==(const Ipv4Prefix&) const = default;
};

// "A.B.C.D/len" -> prefix with host bits cleared. `host` (optional out) gets
// the address as written, so "10.1.0.1/24" yields prefix 10.1.0.0/24, host 10.1.0.1.
std::optional<Ipv4Prefix> parse_prefix(std::string_view text, Ipv4* host = nullptr);
std::string format_prefix(const Ipv4Prefix& p);

// "80" or "8000-8100" -> [lo, hi]; nullopt on anything else (incl. lo > hi).
struct PortRange {
  uint16_t lo = 0;
  uint16_t hi = 65535;
  bool contains(uint16_t p) const { return p >= lo && p <= hi; }
};
std::optional<PortRange> parse_port_range(std::string_view text);

}  // namespace wp
