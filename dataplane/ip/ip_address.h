// An IPv4 or an IPv6 address, tagged: what the control plane holds where
// either family may appear (IKE's outer addresses,
// docs/ipsec.md § IPv6 outer addresses). IPv4 converts implicitly, so code and tests written for
// IPv4 keep their `Ipv4` values and compare as before; the fast path keeps
// its own per-family types (Ipv4, Ipv6) and never sees this one.
// Wire form (as IKE's NAT_DETECTION hashes and ID payloads carry it,
// RFC 7296 § 2.23): 4 or 16 bytes in network order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/ip/ipv4.h"
#include "dataplane/ip/ipv6.h"

namespace wp {

struct IpAddress {
  bool v6 = false;
  Ipv4 v4 = 0;  // when !v6
  Ipv6 addr6;   // when v6
  IpAddress() = default;
  IpAddress(Ipv4 a) : v4(a) {}  // NOLINT(google-explicit-constructor): IPv4 call sites stay as they are
  explicit IpAddress(const Ipv6& a) : v6(true), addr6(a) {}
  auto operator<=>(const IpAddress&) const = default;
  bool operator==(const IpAddress&) const = default;
  // Unset: 0.0.0.0 or :: (the config's "any of ours").
  bool unset() const { return v6 ? addr6.is_unspecified() : v4 == 0; }
  explicit operator bool() const { return !unset(); }
  std::string str() const { return v6 ? format_ipv6(addr6) : format_ipv4(v4); }

  // 4 or 16 bytes in network order.
  std::vector<uint8_t> bytes() const {
    std::vector<uint8_t> b(v6 ? 16 : 4);
    if (v6)
      store_ipv6(b.data(), addr6);
    else
      for (int i = 0; i < 4; ++i) b[static_cast<size_t>(i)] = static_cast<uint8_t>(v4 >> (24 - 8 * i));
    return b;
  }
  // From 4 or 16 bytes; nullopt for any other length.
  static std::optional<IpAddress> from_bytes(const uint8_t* p, size_t n) {
    if (n == 16) return IpAddress(load_ipv6(p));
    if (n != 4) return std::nullopt;
    return IpAddress(Ipv4{p[0]} << 24 | Ipv4{p[1]} << 16 | Ipv4{p[2]} << 8 | p[3]);
  }
  static std::optional<IpAddress> from_bytes(const std::vector<uint8_t>& b) { return from_bytes(b.data(), b.size()); }
  // Dotted quad or RFC 4291 text; nullopt for neither.
  static std::optional<IpAddress> parse(std::string_view text) {
    if (auto a = parse_ipv4(text)) return IpAddress(*a);
    if (auto a = parse_ipv6(text)) return IpAddress(*a);
    return std::nullopt;
  }
};

}  // namespace wp
