// Config validation, part 2: who may reach what, and through which peer.
//
// Tenants classify sources, services classify destinations, policies allow a
// tenant -> service pair with a security policy, and peers are the SVR
// routers a service may be forwarded to (docs/architecture.md § Configuration). Every
// reference between them must resolve, since the dataplane builds its lookup
// tables from names once and cannot report a dangling one per packet. A peer
// must also be reachable from a WAN interface (on-link or by a static route
// out of one), otherwise sessions towards it could only be dropped as
// no_route. The pair key is a secret: errors about it never quote it, and its
// length is not echoed either.
#include <map>
#include <utility>

#include "dataplane/control/waypoint6_addr.h"
#include "dataplane/crypto/key_version.h"
#include "dataplane/session/session.h"
#include "mgmt/config_validator.h"

namespace wp::mgmt::detail {
namespace {

constexpr size_t kMinKeyHexDigits = 64;  // 32 bytes for the metadata HMAC
// Session limits: the tenants the dataplane keeps counters for (SessionGate::kTenants
// in dataplane/worker/session_gate.h), and the highest new-session rate accepted.
constexpr uint32_t kMaxLimitedTenants = 1024;
constexpr uint32_t kMaxNewSessionRate = 100000000;

bool is_one_of(const std::string& value, std::initializer_list<const char*> allowed) {
  for (const char* a : allowed) {
    if (value == a) return true;
  }
  return false;
}

bool valid_hex_key(const std::string& key) {
  if (key.size() < kMinKeyHexDigits || key.size() % 2 != 0) return false;
  for (unsigned char c : key) {
    if (!std::isxdigit(c)) return false;
  }
  return true;
}

}  // namespace

void ConfigValidator::check_tenants() {
  tenant_names_ = unique_names(cfg_.tenants(), "tenants", "tenant");
  for (int i = 0; i < cfg_.tenants_size(); ++i) {
    const config::Tenant& t = cfg_.tenants(i);
    const std::string path = at("tenants", i);
    if (t.prefixes().empty() && t.ipv6_prefixes().empty() && t.interface().empty())
      error(path, "needs prefixes, ipv6_prefixes, an interface, or several");
    for (int j = 0; j < t.prefixes_size(); ++j) cidr(t.prefixes(j), at((path + ".prefixes").c_str(), j), true);
    if (!t.interface().empty()) link_ref(t.interface(), path + ".interface");
    check_tenant_limits(t, i, path);
  }
}

// Flood protection (dataplane/worker/session_gate.h): limits a router can honour.
void ConfigValidator::check_tenant_limits(const config::Tenant& t, int index, const std::string& path) {
  if (t.max_sessions() == 0 && t.new_sessions_per_second() == 0) return;
  if (static_cast<uint32_t>(index) >= kMaxLimitedTenants)
    error(path, "session limits apply to the first " + std::to_string(kMaxLimitedTenants) +
                    " tenants only; move this tenant up or drop its limits");
  uint32_t table = cfg_.dataplane().max_sessions();
  if (table != 0 && t.max_sessions() > table)
    error(path + ".max_sessions", std::to_string(t.max_sessions()) + " is more than dataplane.max_sessions (" +
                                      std::to_string(table) + ")");
  if (t.new_sessions_per_second() > kMaxNewSessionRate)
    error(path + ".new_sessions_per_second",
          std::to_string(t.new_sessions_per_second()) + " is more than " + std::to_string(kMaxNewSessionRate));
}

void ConfigValidator::check_security_policies() {
  security_names_ = unique_names(cfg_.security_policies(), "security_policies", "security policy");
  for (int i = 0; i < cfg_.security_policies_size(); ++i) {
    const config::SecurityPolicy& s = cfg_.security_policies(i);
    const std::string path = at("security_policies", i);
    if (!is_one_of(s.encryption(), {"", "aes256-cbc", "none"})) {
      error(path + ".encryption", "\"" + s.encryption() + "\" is not one of aes256-cbc, none");
    }
    if (!is_one_of(s.hmac(), {"", "every-packet", "metadata-only", "none"})) {
      error(path + ".hmac", "\"" + s.hmac() + "\" is not one of every-packet, metadata-only, none");
    } else if (s.encryption() == "aes256-cbc" && (s.hmac() == "metadata-only" || s.hmac() == "none")) {
      // CBC without a MAC is malleable; encrypted sessions always
      // carry the per-packet HMAC, so any other setting would be a lie.
      error(path + ".hmac", "encryption aes256-cbc authenticates every packet: set every-packet (or leave it empty)");
    }
  }
}

void ConfigValidator::check_services() {
  service_names_ = unique_names(cfg_.services(), "services", "service");
  for (int i = 0; i < cfg_.services_size(); ++i) {
    const config::Service& s = cfg_.services(i);
    const std::string path = at("services", i);
    if (s.prefixes().empty()) error(path + ".prefixes", "at least one prefix is required");
    bool ipv6 = false;  // a service may mix IPv4 and IPv6 prefixes
    for (int j = 0; j < s.prefixes_size(); ++j) {
      if (looks_ipv6(s.prefixes(j))) {
        ipv6 = true;
        cidr6(s.prefixes(j), at((path + ".prefixes").c_str(), j));
      } else {
        cidr(s.prefixes(j), at((path + ".prefixes").c_str(), j), true);
      }
    }
    if (ipv6) check_service_ipv6(s, path);  // config_validate_route6.cc
    if (!is_one_of(s.protocol(), {"", "tcp", "udp", "any"})) {
      error(path + ".protocol", "\"" + s.protocol() + "\" is not one of tcp, udp, any");
    }
    for (int j = 0; j < s.ports_size(); ++j) {
      if (!parse_port_range(s.ports(j))) {
        error(at((path + ".ports").c_str(), j),
              "\"" + s.ports(j) + "\" is not a port or port range (N or N-M, N <= M <= 65535)");
      }
    }
    if (!s.next_peer().empty() && !peer_names_.count(s.next_peer())) {
      error(path + ".next_peer", "unknown peer \"" + s.next_peer() + "\"");
    }
  }
}

void ConfigValidator::check_policies() {
  std::map<std::pair<std::string, std::string>, std::string> first_at;  // tenant+service -> path
  for (int i = 0; i < cfg_.policies_size(); ++i) {
    const config::Policy& p = cfg_.policies(i);
    const std::string path = at("policies", i);
    if (required(p.tenant(), path + ".tenant") && !tenant_names_.count(p.tenant())) {
      error(path + ".tenant", "unknown tenant \"" + p.tenant() + "\"");
    }
    if (required(p.service(), path + ".service") && !service_names_.count(p.service())) {
      error(path + ".service", "unknown service \"" + p.service() + "\"");
    }
    // "default" is the built-in policy the schema documents for an empty value.
    if (!p.security().empty() && p.security() != "default" && !security_names_.count(p.security())) {
      error(path + ".security", "unknown security policy \"" + p.security() + "\"");
    }
    auto [it, fresh] = first_at.emplace(std::make_pair(p.tenant(), p.service()), path);
    if (!fresh && !p.tenant().empty() && !p.service().empty()) {
      error(path, "duplicate policy for tenant \"" + p.tenant() + "\" and service \"" + p.service() + "\" (also " +
                      it->second + ")");
    }
  }
}

void ConfigValidator::check_peers() {
  peer_names_ = unique_names(cfg_.peers(), "peers", "peer");
  for (int i = 0; i < cfg_.peers_size(); ++i) {
    const config::Peer& peer = cfg_.peers(i);
    const std::string path = at("peers", i);
    if (i == kMaxSessionPeers)
      error(path, "at most " + std::to_string(kMaxSessionPeers) + " peers are supported; " +
                      std::to_string(cfg_.peers_size()) + " are listed");
    if (!peer.name().empty() && peer.name() == cfg_.router().name()) {
      error(path + ".name", "\"" + peer.name() + "\" is this router's own name");
    }
    if (peer.waypoints().empty()) error(path + ".waypoints", "at least one waypoint address is required");
    size_t v6 = 0;
    for (int j = 0; j < peer.waypoints_size(); ++j) {
      check_waypoint(peer.waypoints(j), at((path + ".waypoints").c_str(), j));
      v6 += looks_ipv6(peer.waypoints(j));
    }
    // Inside a worker an IPv6 waypoint is a stand-in IPv4 address (dataplane/control/waypoint6_addr.h).
    if (v6 > kWaypoint6MaxPerPeer)
      error(path + ".waypoints", "at most " + std::to_string(kWaypoint6MaxPerPeer) + " IPv6 waypoints per peer (" +
                                     std::to_string(v6) + " listed)");
    if (v6 && static_cast<size_t>(i) >= kWaypoint6MaxPeers)
      error(path + ".waypoints", "IPv6 waypoints are supported on the first " + std::to_string(kWaypoint6MaxPeers) +
                                     " peers only; list this peer earlier or give it IPv4 waypoints");
    check_peer_key(peer, path);
  }
}

// load_config_file turns key_file into key, so here key_file alone means the
// config came from somewhere that cannot read files (REST, Redis).
void ConfigValidator::check_peer_key(const config::Peer& peer, const std::string& path) {
  if (!peer.key().empty() && !peer.key_file().empty()) return error(path, "set either key or key_file, not both");
  if (!peer.key_file().empty()) {
    return error(path + ".key_file", "was not read; key_file is only resolved when loading a config file");
  }
  if (peer.key().empty()) return error(path + ".key", "required (set key or key_file)");
  if (!valid_hex_key(peer.key())) {
    error(path + ".key", "the pair key must be an even number of hex digits, at least 64 (32 bytes)");
  }
  if (peer.key_version() > 255) error(path + ".key_version", "must be 1..255 (0 means 1)");
  if (peer.retire_after_s() > 2592000) error(path + ".retire_after_s", "must be at most 2592000 (30 days)");
  check_next_peer_key(peer, path);
}

// The key held beside `key` while rotating; see config.proto.
void ConfigValidator::check_next_peer_key(const config::Peer& peer, const std::string& path) {
  if (!peer.next_key().empty() && !peer.next_key_file().empty()) {
    return error(path, "set either next_key or next_key_file, not both");
  }
  if (!peer.next_key_file().empty()) {
    return error(path + ".next_key_file", "was not read; next_key_file is only resolved when loading a config file");
  }
  if (peer.next_key().empty()) {
    if (peer.next_key_version() != 0) error(path + ".next_key_version", "set without next_key");
    return;
  }
  if (!valid_hex_key(peer.next_key())) {
    error(path + ".next_key", "the pair key must be an even number of hex digits, at least 64 (32 bytes)");
  }
  if (peer.next_key() == peer.key()) error(path + ".next_key", "is the same key as key: a rotation needs a new key");
  uint32_t v = peer.key_version() ? peer.key_version() : 1;
  uint32_t next = peer.next_key_version() ? peer.next_key_version() : v + 1;
  if (next > 255) error(path + ".next_key_version", "must be 1..255 (0 means key_version + 1)");
  if (next == v) return error(path + ".next_key_version", "must differ from key_version (" + std::to_string(v) + ")");
  if (next <= 255 && !key_version_newer(next, v)) {
    error(path + ".next_key_version", "must be newer than key_version (" + std::to_string(v) +
                                          "): 1..127 versions after it, counting on from 255 to 1");
  }
}

// Reachable = on-link on a WAN interface, or covered by a static route that
// leaves through one.
void ConfigValidator::check_waypoint(const std::string& text, const std::string& path) {
  if (looks_ipv6(text)) return check_waypoint6(text, path);
  auto addr = parse_ipv4(text);
  if (!addr) return error(path, "\"" + text + "\" is not an IPv4 address");
  for (const Link& l : links_) {
    if (l.wan && l.prefix && l.prefix->contains(*addr)) return;
  }
  for (const config::Route& rt : cfg_.routes()) {
    auto p = parse_prefix(rt.prefix());
    const Link* l = find_link(rt.interface());
    if (p && p->contains(*addr) && l && l->wan) return;
  }
  error(path, text + " is not reachable from any WAN interface");
}

}  // namespace wp::mgmt::detail
