// Config validation, part 1: the router's own network.
//
// Checks what the dataplane needs before it can forward at all: a named
// router, one LAN and at least one WAN interface, each bound to a distinct
// DPDK device with a host address inside a connected prefix (not the network
// or broadcast address, which the kernel-less dataplane could never answer
// ARP for), connected prefixes that do not overlap (a destination must pick
// exactly one interface), static routes whose next hop is on-link, and the
// resource limits the dataplane sizes its tables and rings from. Address
// text is parsed only with dataplane/ip/ipv4.h so the config and the packet path
// agree on what an address means (dataplane/ip/ipv6.h for the interfaces'
// IPv6 addresses, RFC 4291 § 2.6.1 for the anycast rule). validate_config()
// is the entry point; the policy half lives in config_validate_policy.cc.
#include <algorithm>

#include "mgmt/config_endpoint.h"
#include "mgmt/config_validator.h"

namespace wp::mgmt {
namespace detail {
namespace {

constexpr uint32_t kMaxWorkers = 64;
constexpr uint32_t kMaxSessions = 64u << 20;
constexpr uint32_t kMaxBurst = 64;
constexpr uint32_t kMinMbufs = 1024;
constexpr uint32_t kMaxTimeout = 86400;  // one day; longer idle state is a leak, not a timeout
// Beyond the largest SmartNIC rule tables
constexpr uint32_t kMaxOffloadRules = 16u << 20;

bool valid_router_name(const std::string& name) {
  if (name.empty() || name.size() > 63) return false;
  for (unsigned char c : name) {
    if (!std::isalnum(c) && c != '.' && c != '_' && c != '-') return false;
  }
  return true;
}

}  // namespace

bool ConfigValidator::required(const std::string& value, const std::string& path) {
  if (value.empty()) error(path, "required");
  return !value.empty();
}

const Link* ConfigValidator::find_link(const std::string& name) const {
  for (const Link& l : links_) {
    if (l.name == name) return &l;
  }
  return nullptr;
}

// An interface reference (routes, tenants); errors when it names none.
const Link* ConfigValidator::link_ref(const std::string& name, const std::string& path) {
  const Link* l = find_link(name);
  if (!l) error(path, "unknown interface \"" + name + "\"");
  return l;
}

// "A.B.C.D/len"; with exact_network the address must be the network itself,
// because a prefix with host bits set is almost always a typo.
std::optional<Ipv4Prefix> ConfigValidator::cidr(const std::string& text, const std::string& path, bool exact_network) {
  Ipv4 host = 0;
  auto p = parse_prefix(text, &host);
  if (!p) {
    error(path, "\"" + text + "\" is not a CIDR");
  } else if (exact_network && host != p->addr) {
    error(path, "\"" + text + "\" has host bits set (did you mean " + format_prefix(*p) + "?)");
  }
  return p;
}

void ConfigValidator::check_router() {
  const config::Router& r = cfg_.router();
  if (required(r.name(), "router.name") && !valid_router_name(r.name())) {
    error("router.name", "\"" + r.name() + "\" must be 1-63 characters of A-Z a-z 0-9 . _ -");
  }
  if (r.has_lan()) {
    check_interface(r.lan(), "router.lan", false);
  } else {
    error("router.lan", "required");
  }
  if (r.wan_size() == 0) error("router.wan", "at least one WAN interface is required");
  for (int i = 0; i < r.wan_size(); ++i) check_interface(r.wan(i), "router.wan[" + std::to_string(i) + "]", true);
  check_links_distinct();
  if (r.punt().enabled()) check_punt();
}

// Kernel interface names (IFNAMSIZ - 1 characters, no '/', ':' or spaces)
// and rates the control thread can carry.
void ConfigValidator::check_punt() {
  const config::Punt& p = cfg_.router().punt();
  for (const Link& l : links_) {
    std::string name = p.ifname_prefix() + l.name;
    bool bad_char = name.find_first_of("/: \t") != std::string::npos;
    if (name.size() > 15 || bad_char)
      error("router.punt.ifname_prefix", "kernel interface name \"" + name + "\" for " + l.path +
                                             " must be 1-15 characters without '/', ':' or spaces");
  }
  const uint32_t rates[] = {p.bgp_pps(), p.bgp_syn_pps(), p.ospf_pps(), p.bfd_pps(), p.icmp_pps(), p.other_pps()};
  const char* names[] = {"bgp_pps", "bgp_syn_pps", "ospf_pps", "bfd_pps", "icmp_pps", "other_pps"};
  for (size_t i = 0; i < std::size(rates); ++i)
    if (rates[i] > 100000)
      error(std::string("router.punt.") + names[i], std::to_string(rates[i]) + " is out of range (0 or 1..100000)");
}

void ConfigValidator::check_interface(const config::Interface& itf, const std::string& path, bool wan) {
  Link link{itf.name(), path, std::nullopt, wan, {}};
  if (!wan && link.name.empty()) link.name = "lan";  // the LAN's documented default name
  if (wan) required(itf.name(), path + ".name");
  required(itf.device(), path + ".device");
  if (required(itf.address(), path + ".address")) {
    Ipv4 host = 0;
    link.prefix = parse_prefix(itf.address(), &host);
    const Ipv4Prefix* p = link.prefix ? &*link.prefix : nullptr;
    if (!p) {
      error(path + ".address", "\"" + itf.address() + "\" is not a CIDR");
    } else if (p->len < 31 && (host == p->addr || host == (p->addr | ~p->mask()))) {
      error(path + ".address", "\"" + itf.address() + "\" is the " + (host == p->addr ? "network" : "broadcast") +
                                   " address of its prefix, not a host address");
    }
  }
  if (itf.mtu() != 0 && (itf.mtu() < 576 || itf.mtu() > 9216)) {
    error(path + ".mtu", std::to_string(itf.mtu()) + " is out of range (0 or 576..9216)");
  }
  check_interface_ipv6(itf, path, link);
  check_waypoint_addresses(itf, path, link);
  check_router_adverts(itf, path, link);
  links_.push_back(std::move(link));
}

// More waypoint addresses of a WAN interface: hosts of its subnet, none twice.
void ConfigValidator::check_waypoint_addresses(const config::Interface& itf, const std::string& path,
                                               const Link& link) {
  if (itf.waypoint_addresses_size() == 0) return;
  if (!link.wan) return error(path + ".waypoint_addresses", "only WAN interfaces have waypoint addresses");
  Ipv4 own = 0;
  parse_prefix(itf.address(), &own);
  std::vector<Ipv4> seen;
  for (int i = 0; i < itf.waypoint_addresses_size(); ++i) {
    const std::string& text = itf.waypoint_addresses(i);
    const std::string at = path + ".waypoint_addresses[" + std::to_string(i) + "]";
    auto a = parse_ipv4(text);
    if (!a) {
      error(at, "\"" + text + "\" is not an IPv4 address (A.B.C.D)");
      continue;
    }
    if (!link.prefix) continue;
    const Ipv4Prefix& p = *link.prefix;
    if (!p.contains(*a)) {
      error(at, "\"" + text + "\" is not in " + format_prefix(p) + ", the interface's subnet");
    } else if (p.len < 31 && (*a == p.addr || *a == (p.addr | ~p.mask()))) {
      error(at, "\"" + text + "\" is the network or broadcast address of " + format_prefix(p));
    } else if (*a == own) {
      error(at, "\"" + text + "\" is the interface's own address already");
    } else if (std::find(seen.begin(), seen.end(), *a) != seen.end()) {
      error(at, "\"" + text + "\" is listed twice");
    }
    seen.push_back(*a);
  }
}

std::string ipv6_host_problem(const Ipv6Prefix& p, const Ipv6& host) {
  if (p.len == 0) return "has prefix length 0";
  if (host.is_multicast()) return "is a multicast address";
  if (host.is_unspecified() || host == Ipv6{0, 1}) return "is the unspecified or loopback address";
  if (host.is_link_local()) return "is link-local: fe80::/10 addresses belong to each port, they are not configured";
  if (host.hi == 0 && host.lo >> 32 == 0xffff) return "is an IPv4-mapped address (::ffff:0:0/96)";
  if (p.len < 127 && host == p.addr)
    return "is the subnet-router anycast address of its prefix (RFC 4291 § 2.6.1), not a host address";
  return "";
}

// IPv6 addresses (dual stack): unicast host addresses, each listed once.
void ConfigValidator::check_interface_ipv6(const config::Interface& itf, const std::string& path, Link& link) {
  std::vector<Ipv6> hosts;
  for (int i = 0; i < itf.ipv6_addresses_size(); ++i) {
    const std::string& text = itf.ipv6_addresses(i);
    const std::string at = path + ".ipv6_addresses[" + std::to_string(i) + "]";
    Ipv6 host;
    auto p = parse_prefix6(text, &host);
    if (!p) {
      error(at, "\"" + text + "\" is not an IPv6 address with a prefix length (\"2001:db8::1/64\")");
      continue;
    }
    if (std::string why = ipv6_host_problem(*p, host); !why.empty()) {
      error(at, "\"" + text + "\" " + why);
      continue;
    }
    if (std::find(hosts.begin(), hosts.end(), host) != hosts.end()) {
      error(at, "\"" + text + "\" names an address listed twice");
      continue;
    }
    hosts.push_back(host);
    link.prefixes6.emplace_back(i, *p);
  }
}

// A later interface's IPv6 prefix that overlaps an earlier interface's.
void ConfigValidator::check_links_distinct_ipv6(const Link& a, const Link& b) {
  for (const auto& [i, pb] : b.prefixes6) {
    for (const auto& [j, pa] : a.prefixes6) {
      if (!pa.contains(pb.addr) && !pb.contains(pa.addr)) continue;
      error(b.path + ".ipv6_addresses[" + std::to_string(i) + "]",
            format_prefix6(pb) + " overlaps " + a.path + ".ipv6_addresses[" + std::to_string(j) + "] (" +
                format_prefix6(pa) + ")");
    }
  }
}

// Each later interface is compared with the earlier ones, so every clash is
// reported once, at the interface that introduced it.
void ConfigValidator::check_links_distinct() {
  const config::Router& r = cfg_.router();
  std::vector<const config::Interface*> itfs;
  if (r.has_lan()) itfs.push_back(&r.lan());
  for (const auto& w : r.wan()) itfs.push_back(&w);
  for (size_t i = 0; i < links_.size(); ++i) {
    const Link& b = links_[i];
    for (size_t j = 0; j < i; ++j) {
      const Link& a = links_[j];
      if (!b.name.empty() && a.name == b.name) {
        error(b.path + ".name", "duplicate interface name \"" + b.name + "\" (also " + a.path + ")");
      }
      const std::string& dev = itfs[i]->device();
      if (!dev.empty() && dev == itfs[j]->device()) {
        error(b.path + ".device", "device \"" + dev + "\" is also used by " + a.path);
      }
      if (a.prefix && b.prefix && (a.prefix->contains(b.prefix->addr) || b.prefix->contains(a.prefix->addr))) {
        error(b.path + ".address",
              format_prefix(*b.prefix) + " overlaps " + a.path + " (" + format_prefix(*a.prefix) + ")");
      }
      check_links_distinct_ipv6(a, b);
    }
  }
}

bool ConfigValidator::is_tunnel(const std::string& name) const {
  return std::any_of(cfg_.tunnels().begin(), cfg_.tunnels().end(),
                     [&](const config::Tunnel& t) { return !t.name().empty() && t.name() == name; });
}

void ConfigValidator::check_routes() {
  for (int i = 0; i < cfg_.routes_size(); ++i) {
    const config::Route& rt = cfg_.routes(i);
    const std::string path = "routes[" + std::to_string(i) + "]";
    if (looks_ipv6(rt.prefix())) {  // config_validate_route6.cc
      check_route6(rt, path);
      continue;
    }
    if (required(rt.prefix(), path + ".prefix")) cidr(rt.prefix(), path + ".prefix", true);
    // Into an IPsec tunnel interface (docs/ipsec.md): the tunnel is the next hop.
    // (A tunnel named like a port is refused in check_tunnels; the port wins here.)
    if (!find_link(rt.interface()) && is_tunnel(rt.interface())) {
      if (!rt.next_hop().empty())
        error(path + ".next_hop", "a route into tunnel \"" + rt.interface() + "\" has no next hop (leave it empty)");
      continue;
    }
    const Link* link =
        required(rt.interface(), path + ".interface") ? link_ref(rt.interface(), path + ".interface") : nullptr;
    if (!required(rt.next_hop(), path + ".next_hop")) continue;
    auto hop = parse_ipv4(rt.next_hop());
    if (!hop && looks_ipv6(rt.next_hop())) {
      error(path + ".next_hop", "\"" + rt.next_hop() + "\" is an IPv6 address: an IPv4 route needs an IPv4 next hop");
    } else if (!hop) {
      error(path + ".next_hop", "\"" + rt.next_hop() + "\" is not an IPv4 address");
    } else if (link && link->prefix && !link->prefix->contains(*hop)) {
      error(path + ".next_hop", rt.next_hop() + " is not inside " + format_prefix(*link->prefix) +
                                    ", the connected prefix of interface \"" + link->name + "\"");
    }
  }
}

void ConfigValidator::check_limits() {
  const config::Dataplane& d = cfg_.dataplane();
  auto over = [&](uint32_t v, uint32_t max, const char* path) {
    if (v > max) error(path, std::to_string(v) + " is more than " + std::to_string(max));
  };
  over(d.workers(), kMaxWorkers, "dataplane.workers");
  over(d.max_sessions(), kMaxSessions, "dataplane.max_sessions");
  over(d.burst(), kMaxBurst, "dataplane.burst");
  over(d.new_sessions_per_source(), 100000000, "dataplane.new_sessions_per_source");
  if (const uint32_t len = d.new_sessions_source6_prefix(); len != 0 && (len < 32 || len > 128))
    error("dataplane.new_sessions_source6_prefix", std::to_string(len) + " must be 0 (64) or 32..128");
  over(d.app_packets(), 255, "dataplane.app_packets");
  over(d.app_sessions(), 65535, "dataplane.app_sessions");
  const uint32_t ring = d.ring_size();
  if (ring != 0 && (ring < 64 || ring > 65536 || (ring & (ring - 1)) != 0)) {
    error("dataplane.ring_size", std::to_string(ring) + " must be 0 or a power of two in 64..65536");
  }
  if (d.mbufs() != 0 && d.mbufs() < kMinMbufs) {
    error("dataplane.mbufs", std::to_string(d.mbufs()) + " must be 0 or at least " + std::to_string(kMinMbufs));
  }
  const config::Timeouts& t = cfg_.timeouts();
  over(t.tcp_established(), kMaxTimeout, "timeouts.tcp_established");
  over(t.tcp_transitory(), kMaxTimeout, "timeouts.tcp_transitory");
  over(t.udp(), kMaxTimeout, "timeouts.udp");

  const config::Offload& o = cfg_.offload();
  over(o.max_rules(), kMaxOffloadRules, "offload.max_rules");
  if (o.enabled() && o.max_rules() == 1) error("offload.max_rules", "1 cannot hold a session (two rules each)");
  if (o.poll_ms() != 0 && (o.poll_ms() < 10 || o.poll_ms() > 1000))
    error("offload.poll_ms", std::to_string(o.poll_ms()) + " must be 0 or in 10..1000");
  if (const uint32_t r = o.ring_size(); r != 0 && (r < 64 || r > 65536 || (r & (r - 1)) != 0))
    error("offload.ring_size", std::to_string(r) + " must be 0 or a power of two in 64..65536");
  if (!o.enabled() && (o.max_rules() || o.nic_model()))
    error("offload.enabled", "false, but offload settings are given (set enabled: true or remove them)");
  const std::string& listen = cfg_.mgmt().listen();
  if (listen.empty()) return;
  if (!parse_endpoint(listen))
    error("mgmt.listen", "\"" + listen + "\" is not IPv4:port (e.g. 127.0.0.1:9101, port 1..65535)");
}

std::vector<ConfigError> ConfigValidator::run() {
  check_router();
  check_routes();
  check_tenants();
  check_security_policies();
  check_peers();
  check_services();
  check_policies();
  check_applications();
  check_paths();
  check_nat64();
  check_nat46();
  check_limits();
  check_ipfix();
  check_redis();
  check_fpm();
  check_ha();
  check_ipsec();
  check_qos();
  check_rest_access();
  return std::move(errors_);
}

}  // namespace detail

std::vector<ConfigError> validate_config(const config::Config& cfg) { return detail::ConfigValidator(cfg).run(); }

}  // namespace wp::mgmt
