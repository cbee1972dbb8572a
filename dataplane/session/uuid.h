// A session's global id: 16 bytes, RFC 4122 version 4, chosen by the ingress
// router and carried in metadata (docs/svr-wire-format.md § Metadata block)
// so every router, IPFIX record and HA peer names the session alike.
#pragma once

#include <array>
#include <cstdint>

namespace wp {

using SessionUuid = std::array<uint8_t, 16>;

}  // namespace wp
