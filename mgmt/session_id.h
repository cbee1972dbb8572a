// Session UUIDs as text (RFC 4122 form, lowercase): the global session id an
// operator sees in the REST API, wpctl and wpflows (the same 16 bytes IPFIX
// exports as globalSessionId).
#pragma once

#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "dataplane/svr/metadata.h"

namespace wp::mgmt {

inline std::string format_session_id(const SessionUuid& u) {
  char b[37];
  std::snprintf(b, sizeof b, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2],
                u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
  return b;
}

inline std::optional<SessionUuid> parse_session_id(std::string_view s) {
  SessionUuid u{};
  size_t n = 0;
  int hi = -1;
  for (char ch : s) {
    if (ch == '-') continue;
    int v = ch >= '0' && ch <= '9'   ? ch - '0'
            : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
            : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                     : -1;
    if (v < 0 || n == 16) return std::nullopt;
    if (hi < 0) {
      hi = v;
    } else {
      u[n++] = static_cast<uint8_t>(hi << 4 | v);
      hi = -1;
    }
  }
  if (n != 16 || hi >= 0) return std::nullopt;
  return u;
}

}  // namespace wp::mgmt
