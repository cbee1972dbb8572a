// Config validation of NAT64 (docs/ipv6.md § NAT64): services[].nat64 and
// tenants[].ipv6_prefixes.
//
// A NAT64 service translates IPv6 clients on the LAN to IPv4 destinations in
// its `prefixes`, out of one interface from a pool of IPv4 addresses that
// this router answers ARP for. The pool must be in that interface's subnet
// (the IPv4 side resolves it there), not its own, network or broadcast
// address, and no address anything else owns (a breakout address, a
// waypoint address). One binding table per worker: all NAT64 services share
// one pool and interface.
#include <set>

#include "dataplane/ip/nat64.h"
#include "mgmt/config_validator.h"

namespace wp::mgmt::detail {
namespace {

constexpr int kMaxPool = 16;  // Nat64Bindings::kMaxPool (dataplane/session/nat64_bindings.h)

}  // namespace

void ConfigValidator::check_nat64() {
  for (int i = 0; i < cfg_.tenants_size(); ++i) {
    const config::Tenant& t = cfg_.tenants(i);
    const std::string path = at("tenants", i) + ".ipv6_prefixes";
    for (int j = 0; j < t.ipv6_prefixes_size(); ++j) {
      Ipv6 host;
      auto p = parse_prefix6(t.ipv6_prefixes(j), &host);
      if (!p)
        error(at(path, j), "\"" + t.ipv6_prefixes(j) + "\" is not an IPv6 prefix (2001:db8::/64)");
      else if (!(host == p->addr))
        error(at(path, j), "\"" + t.ipv6_prefixes(j) + "\" has host bits set (" + format_prefix6(*p) + "?)");
    }
  }
  const config::Nat64* first = nullptr;
  std::string first_path;
  for (int i = 0; i < cfg_.services_size(); ++i) {
    const config::Service& s = cfg_.services(i);
    if (!s.has_nat64()) continue;
    const std::string path = at("services", i);
    check_nat64_service(s, path);
    if (!first) {
      first = &s.nat64();
      first_path = path + ".nat64";
      continue;
    }
    const config::Nat64& n = s.nat64();
    bool same_pool = n.pool_size() == first->pool_size();
    for (int j = 0; same_pool && j < n.pool_size(); ++j) same_pool = n.pool(j) == first->pool(j);
    if (n.interface() != first->interface() || !same_pool)
      error(path + ".nat64", "NAT64 services share one interface and pool: use those of " + first_path);
  }
}

void ConfigValidator::check_nat64_service(const config::Service& s, const std::string& path) {
  const config::Nat64& n = s.nat64();
  const std::string at_n = path + ".nat64";
  if (!s.next_peer().empty())
    error(at_n, "a NAT64 service is delivered from this router, not a peer (remove next_peer)");
  if (s.has_breakout()) error(at_n, "set either nat64 or breakout, not both");
  if (!n.prefix().empty()) {
    if (auto p = rfc6052_prefix(n.prefix(), at_n + ".prefix", "64:ff9b::/96", false)) {
      for (const Link& l : links_)
        for (const auto& [k, p6] : l.prefixes6)
          if (p6.contains(p->addr) || p->contains(p6.addr))
            error(at_n + ".prefix",
                  "\"" + n.prefix() + "\" overlaps " + l.name + "'s IPv6 prefix " + format_prefix6(p6));
    }
  }
  const Link* l = nullptr;
  if (required(n.interface(), at_n + ".interface")) {
    l = find_link(n.interface());
    if (!l) error(at_n + ".interface", "\"" + n.interface() + "\" is not an interface name");
  }
  if (n.pool().empty()) return error(at_n + ".pool", "at least one IPv4 address is required");
  if (n.pool_size() > kMaxPool) error(at_n + ".pool", "at most " + std::to_string(kMaxPool) + " addresses");
  std::set<Ipv4> seen;
  for (int j = 0; j < n.pool_size(); ++j) {
    const std::string p = at(at_n + ".pool", j);
    const std::string& text = n.pool(j);
    auto a = parse_ipv4(text);
    if (!a) {
      error(p, "\"" + text + "\" is not an IPv4 address (A.B.C.D)");
      continue;
    }
    if (!seen.insert(*a).second) error(p, "\"" + text + "\" is listed twice");
    if (!l || !l->prefix) continue;
    const Ipv4Prefix& net = *l->prefix;
    if (!net.contains(*a)) {
      error(p, "\"" + text + "\" is not in " + n.interface() + "'s subnet " + format_prefix(net));
      continue;
    }
    if (net.len < 31 && (*a == net.addr || *a == (net.addr | ~net.mask())))
      error(p, "\"" + text + "\" is the network or broadcast address of " + n.interface() + "'s subnet");
    if (nat64_address_taken(*a))
      error(p, "\"" + text + "\" is already an address of this router (interface, waypoint or breakout)");
  }
}

// An RFC 6052 prefix (NAT64's prefix, NAT46's server and source prefixes):
// a length of 32, 40, 48, 56, 64 or 96, no bits set past it, bits 64-71 (the
// "u" octet) zero. With `bare96`, an address without a length is a /96.
// nullopt, with the error recorded at `path`, when it is not one.
std::optional<Ipv6Prefix> ConfigValidator::rfc6052_prefix(const std::string& text, const std::string& path,
                                                          const char* example, bool bare96) {
  Ipv6 host;
  const bool bare = bare96 && text.find('/') == std::string::npos;
  auto p = parse_prefix6(bare ? text + "/96" : text, &host);
  if (!p) {
    error(path, "\"" + text + "\" is not an IPv6 prefix (" + example + ")");
  } else if (!nat64_prefix_len_ok(p->len)) {
    error(path, "length /" + std::to_string(p->len) + " is not one RFC 6052 allows (32, 40, 48, 56, 64, 96)");
  } else if (!(host == p->addr)) {
    error(path, "\"" + text + "\" has bits set past its length");
  } else if (p->len == 96 && (p->addr.lo >> 56) != 0) {
    // bits 64..71 (the "u" octet, byte 8) must be zero (RFC 6052 § 2.2);
    // shorter prefixes end before it (their bits past the length are zero)
    error(path, "\"" + text + "\" sets bits 64-71, which RFC 6052 reserves (must be zero)");
  } else {
    return p;
  }
  return std::nullopt;
}

// An address an interface, a waypoint address or a breakout service owns.
bool ConfigValidator::nat64_address_taken(Ipv4 a) const {
  auto is = [&](const std::string& text) {
    if (auto v = parse_ipv4(text)) return *v == a;
    Ipv4 host = 0;
    return parse_prefix(text, &host) && host == a;
  };
  const config::Router& r = cfg_.router();
  if (is(r.lan().address())) return true;
  for (const auto& w : r.wan()) {
    if (is(w.address())) return true;
    for (const auto& x : w.waypoint_addresses())
      if (is(x)) return true;
  }
  for (const auto& s : cfg_.services())
    if (s.has_breakout() && is(s.breakout().address())) return true;
  return false;
}

}  // namespace wp::mgmt::detail
