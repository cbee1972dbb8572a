// The RA's sizes and search-list names (router_advert.h), apart from the
// frame writer: config validation (mgmt/, no DPDK) bounds an RA by them.
#include <algorithm>
#include <cctype>

#include "dataplane/ip/router_advert.h"

namespace wp {

uint32_t ra_options_len(const RaSettings& s) {
  uint32_t n = ra_rdnss_len(s) + ra_dnssl_len(s);
  for (const Ipv6Prefix& r : s.routes) n += ra_route_option_len(r);
  return n;
}

uint32_t router_advert_len(const RaSettings& s, size_t prefixes) {
  return kRaHeaderLen + 8 + (s.mtu_option ? 8 : 0) +
         static_cast<uint32_t>(std::min(prefixes, kRaMaxPrefixes)) * kRaPrefixOptLen + ra_options_len(s);
}

std::string encode_dns_name(std::string_view name, std::vector<uint8_t>& out) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty()) return "is empty (the root is no search domain)";
  std::vector<uint8_t> wire;
  size_t at = 0;
  while (at <= name.size()) {
    const size_t end = std::min(name.find('.', at), name.size());
    const std::string_view label = name.substr(at, end - at);
    std::string quoted(1, '"');  // (operator+ on a temporary trips GCC 12's -Wrestrict)
    quoted.append(label);
    quoted.push_back('"');
    if (label.empty()) return "has an empty label (two dots, or a leading dot)";
    if (label.size() > 63) return "has label " + quoted + " of " + std::to_string(label.size()) + " bytes (at most 63, RFC 1035 § 2.3.4)";
    for (char c : label)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-'))
        return "has label " + quoted + " with '" + std::string(1, c) + "': letters, digits and hyphens only (RFC 1035 § 2.3.1)";
    if (label.front() == '-' || label.back() == '-') return "has label " + quoted + " starting or ending with a hyphen (RFC 1035 § 2.3.1)";
    wire.push_back(static_cast<uint8_t>(label.size()));
    wire.insert(wire.end(), label.begin(), label.end());
    at = end + 1;
  }
  wire.push_back(0);
  if (wire.size() > 255) return "is " + std::to_string(wire.size()) + " bytes encoded (at most 255, RFC 1035 § 2.3.4)";
  out.insert(out.end(), wire.begin(), wire.end());
  return "";
}

}  // namespace wp
