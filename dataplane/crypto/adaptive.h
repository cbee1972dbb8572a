// Adaptive encryption: is this session's data already encrypted? (docs/svr-wire-format.md §
// Security.) Checked on the first data a session carries; when it
// is, the session skips AES (HMAC still applies) and records the decision.
//
//  - TLS record header (RFC 8446 § 5.1 / RFC 5246 § 6.2.1): content type
//    0x14..0x17 (change_cipher_spec, alert, handshake, application_data),
//    legacy version 0x03 0x00..0x04.
//  - DTLS record header (RFC 9147 § 4 / RFC 6347 § 4.1): same content types,
//    version 0xfe 0xff (1.0) / 0xfe 0xfd (1.2) / 0xfe 0xfc (1.3), over UDP.
//  - IKE and ESP-in-UDP (RFC 7296 § 2, RFC 3948): UDP port 500 or 4500.
// ESP itself (IP protocol 50) never becomes an SVR session: SVR carries TCP
// and UDP only and other protocols are dropped as unsupported_proto.
#pragma once

#include <cstddef>
#include <cstdint>

#include "dataplane/ip/packet.h"

namespace wp {

inline bool tls_content_type(uint8_t t) { return t >= 0x14 && t <= 0x17; }

inline bool looks_encrypted(uint8_t proto, uint16_t sport, uint16_t dport, const uint8_t* data, size_t len) {
  if (proto == kProtoUdp && (sport == 500 || dport == 500 || sport == 4500 || dport == 4500)) return true;
  if (len < 5 || !tls_content_type(data[0])) return false;
  if (data[1] == 0x03 && data[2] <= 0x04) return true;  // TLS (DTLS has no 0x03 major)
  return proto == kProtoUdp && data[1] == 0xfe && (data[2] == 0xff || data[2] == 0xfd || data[2] == 0xfc);
}

}  // namespace wp
