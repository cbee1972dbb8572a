// Endpoints as the config writes them; see config_endpoint.h.
#include "mgmt/config_endpoint.h"

#include <arpa/inet.h>

#include <charconv>

namespace wp::mgmt {

std::optional<Endpoint> parse_endpoint(std::string_view text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  const std::optional<Ipv4> addr = parse_ipv4(text.substr(0, colon));
  const std::string_view port = text.substr(colon + 1);
  uint32_t p = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (!addr || port.empty() || port.size() > 5 || ec != std::errc() || end != port.data() + port.size() || p < 1 ||
      p > 65535)
    return std::nullopt;
  return Endpoint{*addr, static_cast<uint16_t>(p)};
}

sockaddr_in Endpoint::sockaddr() const {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(addr);
  sa.sin_port = htons(port);
  return sa;
}

}  // namespace wp::mgmt
