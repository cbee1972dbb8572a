// Semantic validation of a mapped config::Config (private to mgmt/).
//
// One ConfigValidator walks the whole config and records every problem with
// the path of the offending field, so the file, the REST API and Redis all get
// the same complete list (docs/architecture.md § Configuration). The work is split by
// role: config_validate.cc checks the router's own network (interfaces,
// connected prefixes, routes, limits), config_validate_policy.cc checks who
// may reach what and through which peer (tenants, services, policies,
// security policies, peers). Interfaces are resolved once into `links_`
// because routes, tenants and peer reachability all refer to them.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dataplane/ip/ipv4.h"
#include "dataplane/ip/ipv6.h"
#include "mgmt/config_load.h"

namespace wp {
struct RaSettings;  // dataplane/ip/router_advert.h
}

namespace wp::mgmt::detail {

// "list[i]": the config path of one element of a repeated field.
inline std::string at(std::string_view list, int i) { return std::string(list) + "[" + std::to_string(i) + "]"; }

// Whether config address text is written as IPv6 (it has a colon).
bool looks_ipv6(const std::string& text);

// Why `host` (written with prefix `p`) cannot be an interface's (or a
// tunnel's) IPv6 address; empty when it can.
std::string ipv6_host_problem(const Ipv6Prefix& p, const Ipv6& host);

// An interface as the rest of the config sees it: its effective name and,
// when its address parsed, its connected prefix.
struct Link {
  std::string name;
  std::string path;  // "router.lan", "router.wan[1]"
  std::optional<Ipv4Prefix> prefix;
  bool wan = false;
  std::vector<std::pair<int, Ipv6Prefix>> prefixes6;  // (index in ipv6_addresses, prefix) of those that parsed
};

class ConfigValidator {
 public:
  explicit ConfigValidator(const config::Config& cfg) : cfg_(cfg) {}
  std::vector<ConfigError> run();

 private:
  // config_validate.cc
  void check_router();
  void check_interface(const config::Interface& itf, const std::string& path, bool wan);
  void check_interface_ipv6(const config::Interface& itf, const std::string& path, Link& link);
  void check_waypoint_addresses(const config::Interface& itf, const std::string& path, const Link& link);
  void check_router_adverts(const config::Interface& itf, const std::string& path, const Link& link);  // _ra.cc
  void check_ra_dns(const config::Ipv6RouterAdvertisements& ra, const std::string& at, RaSettings& s);
  void check_ra_routes(const config::Ipv6RouterAdvertisements& ra, const std::string& at, const Link& link,
                       RaSettings& s);
  void check_links_distinct_ipv6(const Link& a, const Link& b);
  void check_links_distinct();
  void check_punt();
  void check_routes();
  void check_limits();
  // config_validate_policy.cc
  void check_tenants();
  void check_tenant_limits(const config::Tenant& t, int index, const std::string& path);
  void check_services();
  void check_policies();
  void check_security_policies();
  void check_peers();
  void check_peer_key(const config::Peer& peer, const std::string& path);
  void check_next_peer_key(const config::Peer& peer, const std::string& path);
  void check_waypoint(const std::string& text, const std::string& path);
  void check_waypoint6(const std::string& text, const std::string& path);  // config_validate_waypoint6.cc
  void check_ha_waypoint6(const std::string& text, const std::string& path);
  std::optional<Ipv6> waypoint6_address(const std::string& text, const std::string& path);
  // config_validate_mgmt.cc: IPFIX collectors and timers, Redis store, REST
  // access (TLS, tokens, limits).
  void check_ipfix();
  void check_redis();
  void check_rest_access();
  void check_rest_tokens();
  void check_rest_limits();
  void endpoint(const std::string& text, const std::string& path);
  void check_fpm();
  // config_validate_paths.cc: BFD, probes, path preferences and SLAs.
  void check_paths();
  void check_breakout(const config::Service& s, const std::string& path);
  bool waypoints6_only(const std::string& peer) const;  // the named peer lists IPv6 waypoints, no IPv4 one
  // config_validate_nat64.cc: NAT64 services and the tenants' IPv6 prefixes.
  void check_nat64();
  void check_nat64_service(const config::Service& s, const std::string& path);
  bool nat64_address_taken(Ipv4 a) const;
  std::optional<Ipv6Prefix> rfc6052_prefix(const std::string& text, const std::string& path, const char* example,
                                           bool bare96);
  // config_validate_nat46.cc: NAT46 services (IPv4 clients to IPv6 servers).
  void check_nat46();
  void check_nat46_service(const config::Service& s, const std::string& path);
  void check_nat46_servers(const config::Service& s, const std::string& path, const Link* l);
  bool reachable(const Link& l, const Ipv6Prefix& p) const;  // a NAT46 server: on-link or behind a router on l
  // config_validate_ha.cc: node id, CPG group, the peer's addresses.
  void check_ha();
  // config_validate_apps.cc: application and category names (nDPI's).
  void check_applications();
  void check_app_names(const google::protobuf::RepeatedPtrField<std::string>& names, const std::string& list_path,
                       bool categories);
  // qos.applications: each rule names one application or category (known to nDPI, not
  // named by another rule) and a known class.
  void check_qos_applications();
  // config_validate_ipsec.cc: legacy IPsec sites and their tunnel interfaces.
  void check_ipsec();
  void check_ipsec_auth(const config::IpsecPeer& p, const std::string& path);
  void check_ipsec_cert(const config::IpsecPeer& p, const std::string& path);
  void check_ipsec_proposals(const config::IpsecPeer& p, const std::string& path);
  void check_ipsec_timers(const config::IpsecPeer& p, const std::string& path);
  void check_ipsec_initiate_from(const config::IpsecPeer& p, const std::string& path);  // config_validate_ipsec_ha.cc
  // config_validate_ipsec_local.cc: ipsec_peers[].address and local_address.
  void check_ipsec_address(const config::IpsecPeer& p, const std::string& path);
  void check_ipsec_local_address(const config::IpsecPeer& p, const std::string& path);
  bool ipsec_wan_address6(const Ipv6& a) const;
  void check_tunnel_outer_mtu6(const config::Tunnel& t, const std::string& path);
  void check_tunnel_inner_mtu6(const config::Tunnel& t, const std::string& path);
  bool ipsec_remote_id_shared_ok(int peer) const;
  bool ipsec_wan_address(Ipv4 a, bool with_ha_peer) const;
  void check_tunnels();
  void check_tunnel_address(const config::Tunnel& t, const std::string& path,
                            std::vector<std::pair<std::string, Ipv4Prefix>>& addressed);
  void check_tunnel_ipv6_address(const config::Tunnel& t, const std::string& path,
                                 std::vector<std::pair<std::string, Ipv6Prefix>>& addressed);
  // config_validate_qos.cc: WAN port schedulers, class overrides, DSCP map, service classes.
  void check_qos();
  void check_duplication();
  void check_qos_port(const config::QosPort& q, const std::string& path);

  // Shared helpers (config_validate.cc).
  void error(std::string path, std::string message) { errors_.push_back({std::move(path), std::move(message)}); }
  bool required(const std::string& value, const std::string& path);
  const Link* find_link(const std::string& name) const;
  const Link* link_ref(const std::string& name, const std::string& path);
  std::optional<Ipv4Prefix> cidr(const std::string& text, const std::string& path, bool exact_network);

  // IPv6 routing (config_validate_route6.cc).
  std::optional<Ipv6Prefix> cidr6(const std::string& text, const std::string& path);
  void cidr46(const std::string& text, const std::string& path);  // an IPv4 or IPv6 network (traffic selectors)
  bool is_tunnel(const std::string& name) const;                  // names one of tunnels[]
  void check_route6(const config::Route& rt, const std::string& path);
  void check_service_ipv6(const config::Service& s, const std::string& path);
  std::vector<Ipv6Prefix> routes6_;  // the IPv6 routes' prefixes seen so far
  template <typename Entities>
  std::set<std::string> unique_names(const Entities& list, const std::string& list_path, const char* what);

  const config::Config& cfg_;
  std::vector<Link> links_;
  // Names collected by each entity's own check, for references from later
  // ones (run() orders the checks so these are filled before use).
  std::set<std::string> tenant_names_, service_names_, security_names_, peer_names_;
  std::set<std::string> ipsec_peer_names_;
  std::vector<ConfigError> errors_;
};

// Name of every entity kind must be present and unique within its list; the
// set of names is returned for reference checks.
template <typename Entities>
std::set<std::string> ConfigValidator::unique_names(const Entities& list, const std::string& list_path,
                                                    const char* what) {
  std::set<std::string> names;
  for (int i = 0; i < list.size(); ++i) {
    const std::string path = list_path + "[" + std::to_string(i) + "].name";
    const std::string& name = list.Get(i).name();
    if (!required(name, path)) continue;
    if (!names.insert(name).second) error(path, std::string("duplicate ") + what + " name \"" + name + "\"");
  }
  return names;
}

}  // namespace wp::mgmt::detail
