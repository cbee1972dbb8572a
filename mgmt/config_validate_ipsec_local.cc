// `ipsec_peers[].local_address` (issue #20; docs/ipsec.md
// § Dynamic routing over tunnels): our IKE and ESP address for one peer, so a site can
// reach the headend on two addresses with a tunnel each (two tunnels to two
// headend addresses: failover by routing alone). It must be one of our WAN
// addresses: router.wan[].address or one of its waypoint_addresses (those
// are answered for ARP already and carry no other IKE role), or in an HA
// pair one of ha.peer_waypoints (the record of an SA travels with its local
// address, and the survivor answers for it after a takeover). With
// `initiate_from` both must name the same address (both say where we speak
// from). Two peers may share a remote_id only when both name a
// local_address and the two differ: the responder tells them apart by the
// address the site's IKE arrived at (RFC 7296 § 2.15's IDi alone cannot).
//
// IPv6 outer addresses (docs/ipsec.md § IPv6 outer addresses): an IPv6
// `address` is checked as an IPv6 waypoint is (global unicast: no
// link-local, which would need a zone; reachable from a WAN interface with
// ipv6_addresses), an IPv6 `local_address` must be one of a WAN interface's
// ipv6_addresses (in an HA pair also an IPv6 one of ha.peer_waypoints or
// ha.peer_addresses6: the survivor answers for it after a takeover), and
// both must be of one family (an IKE SA's two ends are). The outer path
// must carry a full tunnel packet: the WAN interface's MTU must hold tunnels[].mtu plus the worst-case ESP-in-UDP overhead over
// IPv6 (40 + 8 + 8 + IV + padding + 18: check_tunnel_outer_mtu6), since
// IKE SAs and Child SAs over IPv6 do not fragment the outer packet.
#include <algorithm>

#include "mgmt/config_validator.h"

namespace wp::mgmt::detail {

bool ConfigValidator::ipsec_wan_address(Ipv4 a, bool with_ha_peer) const {
  for (const config::Interface& w : cfg_.router().wan()) {
    Ipv4 host = 0;
    if (parse_prefix(w.address(), &host) && host == a) return true;
    for (const std::string& s : w.waypoint_addresses())
      if (parse_ipv4(s) == a) return true;
  }
  if (with_ha_peer && cfg_.has_ha())
    for (const std::string& s : cfg_.ha().peer_waypoints())
      if (parse_ipv4(s) == a) return true;
  return false;
}

namespace {
// In an HA pair: one of the peer's IPv6 addresses (its IPv6 waypoints in
// ha.peer_waypoints, or ha.peer_addresses6), which the survivor answers for
// after a takeover, IKE and ESP included (docs/ipsec.md § HA).
bool ipsec_ha_peer_address6(const config::Config& cfg, const Ipv6& a) {
  if (!cfg.has_ha()) return false;
  for (const std::string& s : cfg.ha().peer_waypoints())
    if (parse_ipv6(s) == a) return true;
  for (const std::string& s : cfg.ha().peer_addresses6())
    if (parse_ipv6(s) == a) return true;
  return false;
}
}  // namespace

bool ConfigValidator::ipsec_wan_address6(const Ipv6& a) const {
  for (const config::Interface& w : cfg_.router().wan())
    for (const std::string& s : w.ipv6_addresses()) {
      Ipv6 host;
      if (parse_prefix6(s, &host) && host == a) return true;
    }
  return false;
}

void ConfigValidator::check_ipsec_address(const config::IpsecPeer& p, const std::string& path) {
  const std::string at = path + ".address";
  if (!required(p.address(), at)) return;
  if (!looks_ipv6(p.address())) return check_waypoint(p.address(), at);
  check_waypoint6(p.address(), at);  // global unicast, reachable from a WAN interface with ipv6_addresses
}

// ESP in UDP over IPv6, worst case (RFC 4303 § 2, RFC 3948 § 2.1): IPv6 40,
// UDP 8, SPI + sequence 8, the IV (CBC 16, GCM 8), padding to the block
// (CBC 15, GCM's 4-byte alignment 3), pad length + next header 2 and the ICV 16.
namespace {
uint32_t esp6_outer_overhead(const config::IpsecPeer& p) {
  bool cbc = p.esp_proposals_size() == 0;  // the default offers aes256-sha256 too
  for (const std::string& s : p.esp_proposals()) cbc |= s.find("gcm") == std::string::npos;
  return 40 + 8 + 8 + (cbc ? 16 + 15 : 8 + 3) + 18;
}
}  // namespace

void ConfigValidator::check_tunnel_outer_mtu6(const config::Tunnel& t, const std::string& path) {
  const config::IpsecPeer* p = nullptr;
  for (const config::IpsecPeer& q : cfg_.ipsec_peers())
    if (q.name() == t.peer()) p = &q;
  if (!p || !looks_ipv6(p->address())) return;
  const auto local = parse_ipv6(p->local_address());
  const uint32_t inner = t.mtu() ? t.mtu() : 1400, need = inner + esp6_outer_overhead(*p);
  for (int w = 0; w < cfg_.router().wan_size(); ++w) {
    const config::Interface& wan = cfg_.router().wan(w);
    if (wan.ipv6_addresses_size() == 0) continue;
    if (local && std::none_of(wan.ipv6_addresses().begin(), wan.ipv6_addresses().end(), [&](const std::string& s) {
          Ipv6 host;
          return parse_prefix6(s, &host) && host == *local;
        }))
      continue;  // the site is spoken to from another WAN interface
    const uint32_t mtu = wan.mtu() ? wan.mtu() : 1500;
    if (need > mtu)
      error(path + ".mtu", std::to_string(inner) + " plus " + std::to_string(need - inner) +
                               " bytes of ESP in UDP over IPv6 toward IPsec peer \"" + p->name() + "\" is " +
                               std::to_string(need) + ", more than router.wan[" + std::to_string(w) + "].mtu " +
                               std::to_string(mtu) + " (lower the tunnel's mtu to " + std::to_string(mtu - (need - inner)) +
                               " or raise the WAN MTU)");
  }
}

void ConfigValidator::check_ipsec_local_address(const config::IpsecPeer& p, const std::string& path) {
  if (p.local_address().empty()) return;
  const std::string at = path + ".local_address";
  if (looks_ipv6(p.local_address()) != looks_ipv6(p.address()) && !p.address().empty())
    return error(at, "\"" + p.local_address() + "\" and address \"" + p.address() +
                         "\" are of different families (both ends of an IKE SA are IPv4, or both IPv6)");
  if (looks_ipv6(p.local_address())) {
    const auto addr6 = parse_ipv6(p.local_address());
    if (!addr6) return error(at, "\"" + p.local_address() + "\" is not an IPv4 or IPv6 address");
    if (addr6->is_link_local())
      return error(at, "\"" + p.local_address() + "\" is link-local (it would need a zone): use a global address");
    if (!ipsec_wan_address6(*addr6) && !ipsec_ha_peer_address6(cfg_, *addr6))
      error(at, "\"" + p.local_address() + "\" is not one of our WAN IPv6 addresses (router.wan[].ipv6_addresses" +
                    std::string(cfg_.has_ha() ? ", or an IPv6 one of ha.peer_waypoints or ha.peer_addresses6)" : ")"));
    return;
  }
  const auto addr = parse_ipv4(p.local_address());
  if (!addr) return error(at, "\"" + p.local_address() + "\" is not an IPv4 address");
  if (!ipsec_wan_address(*addr, true))
    return error(at, "\"" + p.local_address() + "\" is not one of our WAN addresses (router.wan[].address or " +
                         "waypoint_addresses" + std::string(cfg_.has_ha() ? ", or ha.peer_waypoints)" : ")"));
  if (!p.initiate_from().empty() && parse_ipv4(p.initiate_from()) != addr)
    error(at, "\"" + p.local_address() + "\" differs from initiate_from \"" + p.initiate_from() +
                  "\" (we initiate from local_address; leave initiate_from empty or the same)");
}

// Peer `peer` repeats an earlier peer's remote_id: fine when it and every
// earlier peer with that remote_id name distinct local addresses.
bool ConfigValidator::ipsec_remote_id_shared_ok(int peer) const {
  const config::IpsecPeer& p = cfg_.ipsec_peers(peer);
  const auto mine = parse_ipv4(p.local_address());
  if (!mine) return false;
  for (int i = 0; i < peer; ++i) {
    const config::IpsecPeer& o = cfg_.ipsec_peers(i);
    if (o.remote_id() != p.remote_id()) continue;
    const auto theirs = parse_ipv4(o.local_address());
    if (!theirs || *theirs == *mine) return false;
  }
  return true;
}

}  // namespace wp::mgmt::detail
