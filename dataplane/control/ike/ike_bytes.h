// Big-endian field helpers the IKE exchanges share (RFC 7296 § 3: every
// integer on the wire is in network byte order): an SPI as the 4 bytes a
// Notify/Delete payload carries, a 16-bit value from the front of a payload
// body. One copy: with unity builds (WP_UNITY) file-local copies would meet in
// one translation unit. Included by .cc files only.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "dataplane/control/ike/ike_message.h"

namespace wp::ike {

inline Bytes spi_bytes(uint32_t v) { return {uint8_t(v >> 24), uint8_t(v >> 16), uint8_t(v >> 8), uint8_t(v)}; }

// An ESP SPI as logged: 8 hex digits.
inline std::string hex8(uint32_t v) {
  char b[12];
  std::snprintf(b, sizeof b, "%08x", v);
  return b;
}

// An IKE SPI as logged: 16 hex digits.
inline std::string hex16(uint64_t v) {
  char b[20];
  std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(v));
  return b;
}

inline uint16_t be16(const Bytes& b) { return b.size() >= 2 ? static_cast<uint16_t>(b[0] << 8 | b[1]) : 0; }

}  // namespace wp::ike
