// Validation of `ipsec_peers` and `tunnels` (docs/ipsec.md § Configuration).
//
// A legacy site is an IKEv2 initiator this router answers (RFC 7296): the
// responder finds the peer by the identity in its IDi, so remote IDs must be
// unique; the site's address must be reachable from a WAN interface like a
// Waypoint peer's; proposals are the suites the IKE and ESP code implement;
// lifetimes and DPD stay in ranges a legacy peer copes with. A tunnel is a
// route-based interface: one per peer, a name distinct from the ports, and
// a tenant its traffic belongs to. The PSK is a secret (config_secrets.h):
// no message here quotes it.
#include <strings.h>

#include <algorithm>
#include <array>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "dataplane/control/ike/ike_cert.h"
#include "dataplane/control/ike/ike_identity.h"
#include "dataplane/control/ike/ike_crypto.h"  // split_esp_group, ike_suite_by_name
#include "dataplane/ipsec/esp_limits.h"
#include "mgmt/config_validator.h"

namespace wp::mgmt::detail {
namespace {

constexpr std::array<std::string_view, 4> kEspProposals = {"aes256gcm16", "aes256gcm16-esn", "aes256-sha256",
                                                           "aes256-sha256-esn"};
constexpr size_t kMinPskLen = 16;
constexpr const char* kIdentityForms =
    " (an identity is an FQDN, an IPv4 or IPv6 address, user@domain or a DN \"C=.., O=.., CN=..\")";
constexpr uint64_t kMinChildLifetimeBytes = uint64_t{1} << 20;  // below it a rekey every few ms at line rate
constexpr uint32_t kMaxTunnels = kMaxEspTunnels;  // the workers' ESP tables (esp_limits.h)

template <size_t N>
std::string joined(const std::array<std::string_view, N>& names) {
  std::string s;
  for (std::string_view n : names) s += (s.empty() ? "" : ", ") + std::string(n);
  return s;
}

}  // namespace

void ConfigValidator::check_ipsec() {
  ipsec_peer_names_ = unique_names(cfg_.ipsec_peers(), "ipsec_peers", "IPsec peer");
  std::set<std::string> remote_ids;
  for (int i = 0; i < cfg_.ipsec_peers_size(); ++i) {
    const config::IpsecPeer& p = cfg_.ipsec_peers(i);
    const std::string path = at("ipsec_peers", i);
    check_ipsec_address(p, path);
    std::string why;
    if (required(p.local_id(), path + ".local_id") && !ike::parse_identity(p.local_id(), why))
      error(path + ".local_id", "\"" + p.local_id() + "\": " + why + kIdentityForms);
    if (required(p.remote_id(), path + ".remote_id")) {
      if (!ike::parse_identity(p.remote_id(), why))
        error(path + ".remote_id", "\"" + p.remote_id() + "\": " + why + kIdentityForms);
      else if (!remote_ids.insert(p.remote_id()).second && !ipsec_remote_id_shared_ok(i))
        error(path + ".remote_id", "\"" + p.remote_id() +
                                       "\" is the remote_id of another IPsec peer (two peers may share it only "
                                       "when each has its own local_address)");
    }
    check_ipsec_local_address(p, path);
    check_ipsec_auth(p, path);
    check_ipsec_proposals(p, path);
    check_ipsec_timers(p, path);
    check_ipsec_initiate_from(p, path);
    // TS_IPV4_ADDR_RANGE or TS_IPV6_ADDR_RANGE (RFC 7296 § 3.13.1): tunnels carry both families.
    for (int j = 0; j < p.local_ts_size(); ++j) cidr46(p.local_ts(j), at(path + ".local_ts", j));
    for (int j = 0; j < p.remote_ts_size(); ++j) cidr46(p.remote_ts(j), at(path + ".remote_ts", j));
  }
  check_tunnels();
}

// load_config_file turns psk_file into psk, as it does for peers[].key_file,
// and the certificate files into certificate, private_key, ca_certificates.
void ConfigValidator::check_ipsec_auth(const config::IpsecPeer& p, const std::string& path) {
  const bool by_cert = !p.certificate().empty() || !p.private_key().empty() || !p.ca_certificates().empty() ||
                       !p.certificate_file().empty() || !p.private_key_file().empty() || !p.ca_file().empty();
  if (by_cert) return check_ipsec_cert(p, path);
  if (!p.crls().empty() || !p.crl_file().empty())
    return error(path + ".crl_file", "CRLs need certificate authentication (certificate_file, private_key_file, ca_file)");
  if (!p.psk().empty() && !p.psk_file().empty()) return error(path, "set either psk or psk_file, not both");
  if (!p.psk_file().empty())
    return error(path + ".psk_file", "was not read; psk_file is only resolved when loading a config file");
  if (p.psk().empty()) return error(path + ".psk", "required (set psk or psk_file)");
  if (p.psk().size() < kMinPskLen)
    error(path + ".psk", "too short: a pre-shared key needs at least " + std::to_string(kMinPskLen) + " characters");
}

void ConfigValidator::check_ipsec_cert(const config::IpsecPeer& p, const std::string& path) {
  if (!p.psk().empty() || !p.psk_file().empty())
    return error(path, "set either psk/psk_file or certificate_file/private_key_file/ca_file, not both");
  const std::pair<const std::string*, const char*> files[] = {{&p.certificate_file(), "certificate_file"},
                                                              {&p.private_key_file(), "private_key_file"},
                                                              {&p.ca_file(), "ca_file"},
                                                              {&p.crl_file(), "crl_file"}};
  bool unread = false;
  for (const auto& [file, name] : files)
    if (!file->empty()) {
      error(path + "." + name, "was not read; certificate files are only resolved when loading a config file");
      unread = true;
    }
  if (unread) return;
  const std::pair<const std::string*, const char*> pems[] = {
      {&p.certificate(), "certificate_file"}, {&p.private_key(), "private_key_file"}, {&p.ca_certificates(), "ca_file"}};
  bool missing = false;
  for (const auto& [pem, name] : pems)
    if (pem->empty()) {
      error(path + "." + name, "required: certificate authentication needs certificate_file, private_key_file and ca_file");
      missing = true;
    }
  if (missing) return;
  std::string why;
  const ike::CertAuthPtr auth = ike::load_cert_auth(p.certificate(), p.private_key(), p.ca_certificates(), why);
  if (!auth) return error(path + ".certificate_file", why);
  if (!p.crls().empty() && !ike::load_cert_auth(p.certificate(), p.private_key(), p.ca_certificates(), why, p.crls()))
    error(path + ".crl_file", why);
  const std::optional<ike::Identity> ours = ike::parse_identity(p.local_id(), why);
  if (!ours) return;  // reported with the identities
  if (ours->type == ike::kIdFqdn) {
    // An FQDN as a dNSName, case-insensitively (as the site's check is).
    const std::vector<std::string> names = ike::cert_dns_names(*auth);
    const std::string fqdn(ours->data.begin(), ours->data.end());
    const bool named = std::any_of(names.begin(), names.end(),
                                   [&](const std::string& n) { return strcasecmp(n.c_str(), fqdn.c_str()) == 0; });
    if (named) return;
    std::string list;
    for (const std::string& n : names) list += (list.empty() ? "" : ", ") + n;
    return error(path + ".local_id", "\"" + p.local_id() +
                                         "\" is not a subjectAltName dNSName of the certificate (it names: " +
                                         (list.empty() ? "none" : list) + "); the site checks our identity against it");
  }
  if (!ike::cert_names(*auth, *ours))
    error(path + ".local_id", "\"" + p.local_id() + "\" is not " +
                                  (ours->type == ike::kIdDerAsn1Dn
                                       ? "the certificate's subject (" + ike::cert_subject(*auth) + ")"
                                       : std::string("a subjectAltName of the certificate (an IP address or rfc822Name)")) +
                                  "; the site checks our identity against it");
}

void ConfigValidator::check_ipsec_proposals(const config::IpsecPeer& p, const std::string& path) {
  for (int j = 0; j < p.ike_proposals_size(); ++j) {
    const std::string& n = p.ike_proposals(j);
    ike::IkeSuite s;
    if (!ike::ike_suite_by_name(n, s))
      error(at(path + ".ike_proposals", j), "unknown IKE proposal \"" + n +
                                                "\" (aes256-sha256-GROUP or aes256gcm16-prfsha256-GROUP, GROUP one of " +
                                                ike::dh_group_names() + ")");
  }
  // An optional DH group (PFS of our Child SA rekeys, docs/ipsec.md
  // § Rekeying) as strongSwan writes it: the same in every proposal or in none.
  uint16_t pfs = 0;
  for (int j = 0; j < p.esp_proposals_size(); ++j) {
    const std::string& n = p.esp_proposals(j);
    std::string base;
    uint16_t group = 0;
    const std::string where = at(path + ".esp_proposals", j);
    if (!ike::split_esp_group(n, base, group)) {
      error(where, "\"" + n + "\" names a DH group Waypoint does not implement, or two (PFS groups: " +
                       ike::dh_group_names() + ")");
      continue;
    }
    if (std::find(kEspProposals.begin(), kEspProposals.end(), base) == kEspProposals.end()) {
      error(where, "unknown ESP proposal \"" + n + "\" (one of " + joined(kEspProposals) +
                       ", each optionally followed by -GROUP for PFS, GROUP one of " + ike::dh_group_names() + ")");
      continue;
    }
    if (j == 0) {
      pfs = group;
    } else if (group != pfs) {
      const std::string first = pfs ? "DH group " + std::to_string(pfs) : std::string("none");
      error(where, "\"" + n + "\": every ESP proposal must name the same DH group (PFS) or none; \"" +
                       p.esp_proposals(0) + "\" names " + first);
    }
  }
}

void ConfigValidator::check_ipsec_timers(const config::IpsecPeer& p, const std::string& path) {
  const uint32_t ike = p.ike_lifetime_s() ? p.ike_lifetime_s() : 14400;
  const uint32_t child = p.child_lifetime_s() ? p.child_lifetime_s() : 3600;
  // 30 s at least: short lifetimes are for tests (each IKE SA rekey costs a DH on both ends).
  if (ike < 30 || ike > 86400) error(path + ".ike_lifetime_s", "must be 30..86400 (0 means 14400)");
  // No order between the two: we rekey IKE SAs (their Child SAs move to the
  // new one), so a Child SA may outlive several IKE SAs (issue #20).
  if (child < 60 || child > 86400) error(path + ".child_lifetime_s", "must be 60..86400 (0 means 3600)");
  if (p.child_lifetime_bytes() != 0 && p.child_lifetime_bytes() < kMinChildLifetimeBytes)
    error(path + ".child_lifetime_bytes", "must be 0 (no limit) or at least " + std::to_string(kMinChildLifetimeBytes) +
                                              " (1 MiB)");
  if (p.dpd_interval_s() != 0 && (p.dpd_interval_s() < 5 || p.dpd_interval_s() > 3600))
    error(path + ".dpd_interval_s", "must be 5..3600 (0 means 30)");
}

void ConfigValidator::check_tunnels() {
  std::set<std::string> names = unique_names(cfg_.tunnels(), "tunnels", "tunnel");
  std::set<std::string> peers;
  std::vector<std::pair<std::string, Ipv4Prefix>> addressed;  // (path, prefix) of earlier tunnels
  std::vector<std::pair<std::string, Ipv6Prefix>> addressed6;  // the same for their ipv6_address
  for (int i = 0; i < cfg_.tunnels_size(); ++i) {
    const config::Tunnel& t = cfg_.tunnels(i);
    const std::string path = at("tunnels", i);
    if (find_link(t.name()))
      error(path + ".name", "\"" + t.name() + "\" is the name of one of the router's interfaces");
    if (required(t.peer(), path + ".peer")) {
      if (!ipsec_peer_names_.count(t.peer()))
        error(path + ".peer", "unknown IPsec peer \"" + t.peer() + "\"");
      else if (!peers.insert(t.peer()).second)
        error(path + ".peer", "IPsec peer \"" + t.peer() + "\" already has a tunnel");
    }
    if (t.mtu() != 0 && (t.mtu() < 576 || t.mtu() > 9000)) error(path + ".mtu", "must be 576..9000 (0 means 1400)");
    if (required(t.tenant(), path + ".tenant") && !tenant_names_.count(t.tenant()))
      error(path + ".tenant", "unknown tenant \"" + t.tenant() + "\"");
    check_tunnel_address(t, path, addressed);
    check_tunnel_ipv6_address(t, path, addressed6);
    check_tunnel_outer_mtu6(t, path);
    check_tunnel_inner_mtu6(t, path);
  }
  if (cfg_.tunnels_size() > static_cast<int>(kMaxTunnels))
    error("tunnels", std::to_string(cfg_.tunnels_size()) + " tunnels; at most " + std::to_string(kMaxTunnels));
  // A site's traffic leaves its Child SAs through its tunnel: without one it would have nowhere to go.
  for (int i = 0; i < cfg_.ipsec_peers_size(); ++i) {
    const std::string& name = cfg_.ipsec_peers(i).name();
    if (!name.empty() && !peers.count(name))
      error(at("ipsec_peers", i), "no tunnel names IPsec peer \"" + name + "\" (add one to tunnels)");
  }
}

// A tunnel's inner address: a host of its prefix, clear of the ports' and
// the earlier tunnels' subnets (a destination must pick one interface), and
// with punt on, a tap name the kernel accepts.
void ConfigValidator::check_tunnel_address(const config::Tunnel& t, const std::string& path,
                                           std::vector<std::pair<std::string, Ipv4Prefix>>& addressed) {
  if (t.address().empty()) return;
  const std::string at_path = path + ".address";
  Ipv4 host = 0;
  auto p = parse_prefix(t.address(), &host);
  if (!p) return error(at_path, "\"" + t.address() + "\" is not an IPv4 address with a prefix length (\"169.254.10.1/30\")");
  if (p->len == 0) return error(at_path, "\"" + t.address() + "\" has prefix length 0");
  if (p->len < 31 && (host == p->addr || host == (p->addr | ~p->mask())))
    return error(at_path, "\"" + t.address() + "\" is the " + (host == p->addr ? "network" : "broadcast") +
                              " address of its prefix, not a host address");
  auto overlaps = [&](const Ipv4Prefix& o) { return o.contains(p->addr) || p->contains(o.addr); };
  for (const Link& l : links_)
    if (l.prefix && overlaps(*l.prefix))
      error(at_path, format_prefix(*p) + " overlaps " + l.path + " (" + format_prefix(*l.prefix) + ")");
  for (const auto& [other, op] : addressed)
    if (overlaps(op)) error(at_path, format_prefix(*p) + " overlaps " + other + ".address (" + format_prefix(op) + ")");
  addressed.emplace_back(path, *p);
  const config::Punt& punt = cfg_.router().punt();
  if (punt.enabled()) {
    const std::string name = punt.ifname_prefix() + t.name();
    if (name.size() > 15 || name.find_first_of("/: \t") != std::string::npos)
      error(path + ".name", "kernel interface name \"" + name + "\" (router.punt.ifname_prefix + name) must be 1-15 "
                            "characters without '/', ':' or spaces");
  }
}

// A tunnel's inner IPv6 address (#19): a unicast host of its prefix, clear
// of the ports' IPv6 prefixes and the earlier tunnels' (a destination must
// pick one interface), on a tunnel that has `address` (its kernel interface
// exists for that; the IPv6 address is added to it).
void ConfigValidator::check_tunnel_ipv6_address(const config::Tunnel& t, const std::string& path,
                                                std::vector<std::pair<std::string, Ipv6Prefix>>& addressed) {
  if (t.ipv6_address().empty()) return;
  const std::string at_path = path + ".ipv6_address";
  const std::string& text = t.ipv6_address();
  Ipv6 host;
  auto p = parse_prefix6(text, &host);
  if (!p) return error(at_path, "\"" + text + "\" is not an IPv6 address with a prefix length (\"2001:db8:10::1/126\")");
  if (std::string why = ipv6_host_problem(*p, host); !why.empty()) return error(at_path, "\"" + text + "\" " + why);
  if (t.address().empty())
    error(at_path, "needs " + path + ".address: the tunnel's kernel interface (IPv4) carries its IPv6 address too");
  auto overlaps = [&](const Ipv6Prefix& o) { return o.contains(p->addr) || p->contains(o.addr); };
  for (const Link& l : links_)
    for (const auto& [i, lp] : l.prefixes6)
      if (overlaps(lp))
        error(at_path, format_prefix6(*p) + " overlaps " + l.path + ".ipv6_addresses[" + std::to_string(i) + "] (" +
                           format_prefix6(lp) + ")");
  for (const auto& [other, op] : addressed)
    if (overlaps(op))
      error(at_path, format_prefix6(*p) + " overlaps " + other + ".ipv6_address (" + format_prefix6(op) + ")");
  addressed.emplace_back(path, *p);
}

// A tunnel that carries IPv6 inside (its ipv6_address, or a static IPv6 route
// into it) is an IPv6 link: at least 1280 bytes (RFC 8200 § 5), or an inner
// IPv6 packet the tunnel cannot carry would have nowhere smaller to go (a
// Packet Too Big below 1280 is not acted on by IPv6 hosts). FRR's IPv6 routes
// into a tunnel come at run time and are not checked here.
void ConfigValidator::check_tunnel_inner_mtu6(const config::Tunnel& t, const std::string& path) {
  const uint32_t mtu = t.mtu() ? t.mtu() : 1400;
  if (mtu >= 1280 || t.name().empty()) return;
  std::string why;
  if (!t.ipv6_address().empty()) why = path + ".ipv6_address " + t.ipv6_address();
  for (int i = 0; why.empty() && i < cfg_.routes_size(); ++i) {
    const config::Route& rt = cfg_.routes(i);
    if (rt.interface() == t.name() && looks_ipv6(rt.prefix()))
      why = at("routes", i) + " (" + rt.prefix() + " into it)";
  }
  if (why.empty()) return;
  error(path + ".mtu", std::to_string(mtu) + " is below 1280, the IPv6 minimum link MTU (RFC 8200 § 5), and tunnel \"" +
                           t.name() + "\" carries IPv6 (" + why + "): raise the mtu to 1280 or more");
}

}  // namespace wp::mgmt::detail
