// Validation of the management-plane settings: IPFIX collectors and
// timers, the Redis config store. See config_validator.h.
#include <string>

#include "mgmt/config_endpoint.h"
#include "mgmt/config_validator.h"

namespace wp::mgmt::detail {

void ConfigValidator::endpoint(const std::string& text, const std::string& path) {
  if (!parse_endpoint(text)) error(path, "\"" + text + "\" is not IPv4:port (e.g. 127.0.0.1:4739, port 1..65535)");
}

// Routes from FRR over FPM: where zebra connects, and how long its replay may pause.
void ConfigValidator::check_fpm() {
  if (!cfg_.has_fpm()) return;
  const config::Fpm& f = cfg_.fpm();
  if (!f.listen().empty()) endpoint(f.listen(), "fpm.listen");
  if (f.replay_quiet_ms() != 0 && (f.replay_quiet_ms() < 100 || f.replay_quiet_ms() > 60000))
    error("fpm.replay_quiet_ms", std::to_string(f.replay_quiet_ms()) + " ms is outside 100..60000");
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

namespace wp::mgmt::detail {
namespace {

constexpr size_t kMinTokenChars = 16;

bool loopback(const std::string& listen) {
  const std::optional<Endpoint> e = parse_endpoint(listen);
  return e && (e->addr >> 24) == 127;
}

}  // namespace

// Anyone who reaches a non-loopback port may try to PUT a config: such a
// listener must authenticate clients (a token) over HTTPS (the token and the
// config, peer keys included, would otherwise cross the network in clear).
void ConfigValidator::check_rest_access() {
  const config::Mgmt& m = cfg_.mgmt();
  if (m.tls_cert().empty() != m.tls_key().empty())
    error(m.tls_cert().empty() ? "mgmt.tls_cert" : "mgmt.tls_key", "tls_cert and tls_key go together (HTTPS)");
  if (!m.client_ca().empty() && m.tls_cert().empty())
    error("mgmt.client_ca", "client certificates need HTTPS: set mgmt.tls_cert and mgmt.tls_key");
  check_rest_tokens();
  check_rest_limits();
  if (m.listen().empty() || !parse_endpoint(m.listen()) || loopback(m.listen())) return;
  const std::string where = "\"" + m.listen() + "\" is not a loopback address: ";
  if (m.tls_cert().empty() || m.tls_key().empty())
    error("mgmt.listen", where + "set mgmt.tls_cert and mgmt.tls_key (HTTPS)");
  if (m.token().empty() && m.tokens_size() == 0) error("mgmt.listen", where + "set mgmt.tokens (bearer tokens)");
}

void ConfigValidator::check_rest_tokens() {
  const config::Mgmt& m = cfg_.mgmt();
  std::set<std::string> names;
  for (int i = 0; i < m.tokens_size(); ++i) {
    const config::MgmtToken& t = m.tokens(i);
    const std::string path = "mgmt.tokens[" + std::to_string(i) + "]";
    if (required(t.name(), path + ".name") && !names.insert(t.name()).second)
      error(path + ".name", "\"" + t.name() + "\" is used twice");
    if (t.name() == "token" && !m.token().empty()) error(path + ".name", "\"token\" names mgmt.token");
    if (t.token().size() < kMinTokenChars)
      error(path + ".token", "must be at least " + std::to_string(kMinTokenChars) + " characters");
    for (int k = 0; k < i; ++k)
      if (m.tokens(k).token() == t.token() && !t.token().empty())
        error(path + ".token",
              "same token as mgmt.tokens[" + std::to_string(k) + "] (the audit log could not tell them apart)");
    if (t.role() != "read-only" && t.role() != "read-write")
      error(path + ".role", "\"" + t.role() + "\" must be read-only or read-write");
  }
}

void ConfigValidator::check_rest_limits() {
  const config::MgmtLimits& l = cfg_.mgmt().limits();
  auto range = [&](uint32_t v, uint32_t lo, uint32_t hi, const char* path) {
    if (v != 0 && (v < lo || v > hi))
      error(path, std::to_string(v) + " must be 0 (default) or in " + std::to_string(lo) + ".." + std::to_string(hi));
  };
  range(l.max_body_bytes(), 1024, 64u << 20, "mgmt.limits.max_body_bytes");
  range(l.requests_per_second(), 1, 100000, "mgmt.limits.requests_per_second");
  range(l.burst(), 1, 100000, "mgmt.limits.burst");
  range(l.request_timeout_ms(), 100, 600000, "mgmt.limits.request_timeout_ms");
  range(l.max_connections(), 1, 1024, "mgmt.limits.max_connections");
}

}  // namespace wp::mgmt::detail
