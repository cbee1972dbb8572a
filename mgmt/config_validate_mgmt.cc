// Validation of the management-plane settings: IPFIX collectors and
// timers, the Redis config store. See config_validator.h.
#include <string>

#include "mgmt/config_endpoint.h"
#include "mgmt/config_validator.h"

namespace wp::mgmt::detail {

void ConfigValidator::endpoint(const std::string& text, const std::string& path) {
  if (!parse_endpoint(text)) error(path, "\"" + text + "\" is not IPv4:port (e.g. 127.0.0.1:4739, port 1..65535)");
}

void ConfigValidator::check_ipfix() {
  const config::Ipfix& x = cfg_.ipfix();
  for (int i = 0; i < x.collectors_size(); ++i)
    endpoint(x.collectors(i), "ipfix.collectors[" + std::to_string(i) + "]");
  if (x.collectors_size() > 8) error("ipfix.collectors", "at most 8 collectors");
  auto range = [&](uint32_t v, uint32_t lo, uint32_t hi, const char* path) {
    if (v != 0 && (v < lo || v > hi))
      error(path, std::to_string(v) + " must be 0 (default) or in " + std::to_string(lo) + ".." + std::to_string(hi));
  };
  range(x.active_timeout(), 2, 86400, "ipfix.active_timeout");
  range(x.template_refresh(), 1, 86400, "ipfix.template_refresh");
  range(x.template_refresh_packets(), 1, 1000000, "ipfix.template_refresh_packets");
  range(x.queue(), 64, 1u << 22, "ipfix.queue");
}

void ConfigValidator::check_redis() {
  const config::Mgmt& m = cfg_.mgmt();
  if (!m.redis().empty()) endpoint(m.redis(), "mgmt.redis");
  if (m.redis_prefix().find_first_of(" \t\r\n") != std::string::npos)
    error("mgmt.redis_prefix", "must not contain whitespace");
}

}  // namespace wp::mgmt::detail
