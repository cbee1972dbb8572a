// "IPv4:port", the one way an endpoint is written: mgmt.listen, mgmt.redis,
// ipfix.collectors, waypointd --config-redis, wpctl flows --listen. One
// parser, so the validator, the runtimes and the tools accept the same text.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <optional>
#include <string_view>

#include "dataplane/ip/ipv4.h"

namespace wp::mgmt {

struct Endpoint {
  Ipv4 addr = 0;
  uint16_t port = 0;  // 1..65535
  sockaddr_in sockaddr() const;
};

// A dotted quad, ':', then 1 to 5 digits making 1..65535; nothing else.
std::optional<Endpoint> parse_endpoint(std::string_view text);

}  // namespace wp::mgmt
