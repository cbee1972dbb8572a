// Config validation, part 3: BFD/path monitoring settings and each
// service's path preference and SLA.
//
// Path names are WAN interface names (a path is one of our WAN interfaces and
// the peer waypoint routed out of it), so a service's `paths` must name WAN
// interfaces, each once. BFD limits follow RFC 5880: intervals are carried in
// microseconds in 32 bits (we accept 10 ms .. 60 s, what a WAN can sensibly
// use), DetectMult is one non-zero byte, a keyed SHA-1 key is 1..20 bytes and
// its id one byte (§ 4.4, § 6.7.4).
#include <set>

#include "mgmt/config_validator.h"

namespace wp::mgmt::detail {
namespace {

constexpr uint32_t kMinIntervalMs = 10;
constexpr uint32_t kMaxIntervalMs = 60000;

bool hex_digits(const std::string& s) {
  for (unsigned char c : s)
    if (!std::isxdigit(c)) return false;
  return true;
}

}  // namespace

void ConfigValidator::check_paths() {
  if (cfg_.has_path_monitoring()) {
    const config::PathMonitoring& pm = cfg_.path_monitoring();
    auto interval = [&](uint32_t v, const char* field) {
      if (v != 0 && (v < kMinIntervalMs || v > kMaxIntervalMs))
        error(std::string("path_monitoring.") + field, std::to_string(v) + " ms is outside " +
                                                           std::to_string(kMinIntervalMs) + ".." +
                                                           std::to_string(kMaxIntervalMs) + " ms");
    };
    interval(pm.tx_interval_ms(), "tx_interval_ms");
    interval(pm.rx_interval_ms(), "rx_interval_ms");
    interval(pm.probe_interval_ms(), "probe_interval_ms");
    if (pm.multiplier() > 255) error("path_monitoring.multiplier", "BFD DetectMult is one byte (1..255)");
    if (pm.hold_down_ms() > 600000) error("path_monitoring.hold_down_ms", "at most 600000 ms (10 minutes)");
    const std::string& key = pm.auth_key();
    if (!key.empty() && (!hex_digits(key) || key.size() % 2 != 0 || key.size() > 40))
      error("path_monitoring.auth_key", "a keyed SHA-1 key is 1 to 20 bytes as an even number of hex digits");
    if (pm.auth_key_id() > 255) error("path_monitoring.auth_key_id", "the key id is one byte (0..255)");
    if (key.empty() && pm.auth_key_id() != 0) error("path_monitoring.auth_key_id", "set without auth_key");
    // In-line flow monitoring: a period shorter than a few RTTs only adds
    // markers; one marker per period per session leg is signed, so bound it.
    if (pm.flow_period_ms() != 0 && (pm.flow_period_ms() < 10 || pm.flow_period_ms() > 600000))
      error("path_monitoring.flow_period_ms", std::to_string(pm.flow_period_ms()) + " ms is outside 10..600000 ms");
    if (pm.flow_sessions() > (1u << 20))
      error("path_monitoring.flow_sessions", "at most 1048576 measured sessions per worker");
    if (pm.flow_sessions() != 0 && pm.flow_period_ms() == 0)
      error("path_monitoring.flow_sessions", "set without flow_period_ms (flow monitoring is off)");
  }
  for (int i = 0; i < cfg_.services_size(); ++i) {
    const config::Service& s = cfg_.services(i);
    const std::string path = "services[" + std::to_string(i) + "]";
    std::set<std::string> seen;
    const bool only6 = waypoints6_only(s.next_peer());
    for (int j = 0; j < s.paths_size(); ++j) {
      const std::string p = path + ".paths[" + std::to_string(j) + "]";
      const Link* l = find_link(s.paths(j));
      if (!l || !l->wan)
        error(p, "\"" + s.paths(j) + "\" is not a WAN interface name (paths are named after WAN interfaces)");
      else if (!seen.insert(s.paths(j)).second)
        error(p, "\"" + s.paths(j) + "\" is listed twice");
      else if (only6 && l->prefixes6.empty())
        error(p, "\"" + s.paths(j) + "\" has no IPv6 waypoint of ours (ipv6_addresses), and peer \"" + s.next_peer() +
                     "\" lists IPv6 waypoints only: its paths are over IPv6 waypoints (docs/ipv6.md § Paths over IPv6 "
                     "waypoints)");
    }
    if (s.has_breakout()) check_breakout(s, path);
    if ((s.paths_size() > 0 || s.has_sla()) && s.next_peer().empty())
      error(path, "paths and sla apply to services routed to a peer (next_peer is empty)");
    if (s.has_sla()) {
      if (s.sla().max_loss_permille() > 1000) error(path + ".sla.max_loss_permille", "at most 1000");
      if (s.sla().max_latency_ms() > 60000) error(path + ".sla.max_latency_ms", "at most 60000 ms");
      if (s.sla().max_jitter_ms() > 60000) error(path + ".sla.max_jitter_ms", "at most 60000 ms");
    }
  }
}

// A peer without an IPv4 waypoint is reached over IPv6 waypoints (docs/ipv6.md
// § IPv4 sessions between IPv6 waypoints): its paths are those (§ Paths over IPv6 waypoints).
bool ConfigValidator::waypoints6_only(const std::string& peer) const {
  for (const config::Peer& p : cfg_.peers()) {
    if (p.name() != peer) continue;
    bool v6 = false;
    for (const std::string& w : p.waypoints()) {
      if (!looks_ipv6(w)) return false;
      v6 = true;
    }
    return v6;
  }
  return false;
}

// Internet breakout: a WAN interface to leave by and the address to
// translate sources to (the interface's own, or another one in its subnet
// that this router then answers ARP for).
void ConfigValidator::check_breakout(const config::Service& s, const std::string& path) {
  const config::Breakout& b = s.breakout();
  const std::string at = path + ".breakout";
  if (!s.next_peer().empty()) error(at, "a breakout service leaves to the internet, not to a peer (remove next_peer)");
  const Link* l = nullptr;
  if (required(b.interface(), at + ".interface")) {
    l = find_link(b.interface());
    if (!l || !l->wan) error(at + ".interface", "\"" + b.interface() + "\" is not a WAN interface name");
  }
  if (b.address().empty()) return;
  auto addr = parse_ipv4(b.address());
  if (!addr) return error(at + ".address", "\"" + b.address() + "\" is not an IPv4 address (A.B.C.D)");
  if (!l || !l->wan || !l->prefix) return;
  const Ipv4Prefix& p = *l->prefix;
  if (!p.contains(*addr))
    return error(at + ".address", "\"" + b.address() + "\" is not in " + b.interface() + "'s subnet");
  if (p.len < 31 && (*addr == p.addr || *addr == (p.addr | ~p.mask())))
    error(at + ".address",
          "\"" + b.address() + "\" is the network or broadcast address of " + b.interface() + "'s subnet");
}

}  // namespace wp::mgmt::detail
