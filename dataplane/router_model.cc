// Building and querying the compiled router model; see router_model.h.
#include "dataplane/router_model.h"

#include <algorithm>

#include "dataplane/crypto_keys.h"
#include "dataplane/metadata_crypto.h"  // #4

namespace wp {
namespace {

uint8_t proto_of(const std::string& p) {
  if (p == "tcp") return 6;
  if (p == "udp") return 17;
  return 0;
}

std::vector<uint8_t> hex_bytes(const std::string& hex) {
  std::vector<uint8_t> out;
  auto nib = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    int hi = nib(hex[i]), lo = nib(hex[i + 1]);
    if (hi < 0 || lo < 0) return {};
    out.push_back(static_cast<uint8_t>(hi << 4 | lo));
  }
  return out;
}

}  // namespace

int RouterModel::tenant_for(Ipv4 src, int iface) const {
  for (const auto& tp : tenant_prefixes_)
    if (tp.prefix.contains(src)) return tp.tenant;
  if (iface >= 0 && static_cast<size_t>(iface) < tenant_of_iface_.size()) return tenant_of_iface_[iface];
  return kNone;
}

bool RouterModel::service_matches(int s, Ipv4 dst, uint8_t proto, uint16_t dport) const {
  const ServiceModel& svc = services[s];
  if (svc.proto != 0 && svc.proto != proto) return false;
  if (!svc.ports.empty() &&
      std::none_of(svc.ports.begin(), svc.ports.end(), [&](const PortRange& r) { return r.contains(dport); }))
    return false;
  return std::any_of(svc.prefixes.begin(), svc.prefixes.end(), [&](const Ipv4Prefix& p) { return p.contains(dst); });
}

int RouterModel::service_for(Ipv4 dst, uint8_t proto, uint16_t dport) const {
  // Most specific prefix wins; among equals, the first service in config order.
  int best = kNone, best_len = -1;
  for (size_t s = 0; s < services.size(); ++s) {
    if (!service_matches(static_cast<int>(s), dst, proto, dport)) continue;
    for (const auto& p : services[s].prefixes)
      if (p.contains(dst) && p.len > best_len) {
        best = static_cast<int>(s);
        best_len = p.len;
      }
  }
  return best;
}

std::optional<NextHop> RouterModel::route(Ipv4 dst) const {
  const RouteModel* best = nullptr;
  for (const auto& r : routes)
    if (r.prefix.contains(dst) && (!best || r.prefix.len > best->prefix.len)) best = &r;
  if (!best) return std::nullopt;
  return NextHop{best->iface, best->next_hop ? best->next_hop : dst};
}

int RouterModel::own_address_iface(Ipv4 addr) const {
  for (size_t i = 0; i < interfaces.size(); ++i)
    if (interfaces[i].addr == addr) return static_cast<int>(i);
  return kNone;
}

int RouterModel::peer_by_waypoint(Ipv4 addr) const {
  for (size_t p = 0; p < peers.size(); ++p)
    for (Ipv4 w : peers[p].waypoints)
      if (w == addr) return static_cast<int>(p);
  return kNone;
}

std::shared_ptr<const RouterModel> RouterModel::build(const config::Config& cfg, PortResolver resolve, void* ctx,
                                                      HmacEngine& hmac, std::string& error) {
  auto m = std::make_shared<RouterModel>();
  m->name = cfg.router().name();
  auto add_iface = [&](const config::Interface& ci, bool wan, const char* default_name) -> bool {
    InterfaceModel im;
    im.name = ci.name().empty() ? default_name : ci.name();
    im.device = ci.device();
    im.wan = wan;
    im.mtu = ci.mtu() ? static_cast<uint16_t>(ci.mtu()) : 1500;
    auto prefix = parse_prefix(ci.address(), &im.addr);
    if (!prefix) return error = im.name + ": bad address " + ci.address(), false;
    im.subnet = *prefix;
    auto port = resolve ? resolve(ci.device(), ctx) : std::nullopt;
    if (resolve && !port) return error = "interface " + im.name + ": no DPDK port named \"" + ci.device() + "\"", false;
    if (port) {
      im.port_id = port->port_id;
      std::copy(std::begin(port->mac), std::end(port->mac), im.mac);
    } else {
      im.port_id = static_cast<uint16_t>(m->interfaces.size());
    }
    m->routes.push_back({im.subnet, 0, static_cast<int>(m->interfaces.size())});
    m->interfaces.push_back(std::move(im));
    return true;
  };
  if (!add_iface(cfg.router().lan(), false, "lan")) return nullptr;
  for (const auto& w : cfg.router().wan())
    if (!add_iface(w, true, "wan")) return nullptr;
  for (const auto& im : m->interfaces) {
    if (im.port_id >= m->iface_of_port_.size()) m->iface_of_port_.resize(im.port_id + 1, kNone);
    m->iface_of_port_[im.port_id] = static_cast<int>(&im - m->interfaces.data());
  }
  auto iface_named = [&](const std::string& n) {
    for (size_t i = 0; i < m->interfaces.size(); ++i)
      if (m->interfaces[i].name == n) return static_cast<int>(i);
    return kNone;
  };
  for (const auto& r : cfg.routes()) {
    auto p = parse_prefix(r.prefix());
    auto nh = parse_ipv4(r.next_hop());
    if (!p || !nh) return error = "route " + r.prefix() + ": bad prefix or next hop", nullptr;
    m->routes.push_back({*p, *nh, iface_named(r.interface())});
  }
  m->tenant_of_iface_.assign(m->interfaces.size(), kNone);
  for (const auto& t : cfg.tenants()) {
    int idx = static_cast<int>(m->tenants.size());
    m->tenants.push_back(t.name());
    m->tenant_index_[t.name()] = idx;
    for (const auto& p : t.prefixes())
      if (auto pf = parse_prefix(p)) m->tenant_prefixes_.push_back({*pf, idx});
    if (int i = iface_named(t.interface()); i != kNone) m->tenant_of_iface_[i] = idx;
  }
  std::stable_sort(m->tenant_prefixes_.begin(), m->tenant_prefixes_.end(),
                   [](const TenantPrefix& a, const TenantPrefix& b) { return a.prefix.len > b.prefix.len; });
  for (const auto& p : cfg.peers()) {
    PeerModel pm;
    pm.name = p.name();
    for (const auto& w : p.waypoints())
      if (auto a = parse_ipv4(w)) pm.waypoints.push_back(*a);
    auto key = hex_bytes(p.key());
    if (key.size() < 32) return error = "peer " + p.name() + ": key must be at least 32 bytes of hex", nullptr;
    pm.key = hmac.make_key(key);
    // #4 crypto: the per-peer half of the session key derivation.
    static thread_local CryptoEngine kdf;
    if (!kdf.ok()) return error = "Intel IPsec-MB manager could not be initialised", nullptr;
    pm.session_prk = session_prk(kdf, key);
    derive_metadata_key(kdf, pm.session_prk, pm.metadata_key);  // #4 TLV 16
    std::fill(key.begin(), key.end(), 0);
    m->peers.push_back(std::move(pm));
  }
  for (const auto& s : cfg.services()) {
    ServiceModel sm;
    sm.name = s.name();
    sm.proto = proto_of(s.protocol());
    for (const auto& p : s.prefixes())
      if (auto pf = parse_prefix(p)) sm.prefixes.push_back(*pf);
    for (const auto& r : s.ports())
      if (auto pr = parse_port_range(r)) sm.ports.push_back(*pr);
    if (!s.next_peer().empty()) {
      for (size_t i = 0; i < m->peers.size(); ++i)
        if (m->peers[i].name == s.next_peer()) sm.next_peer = static_cast<int>(i);
      if (sm.next_peer == kNone) return error = "service " + s.name() + ": unknown peer " + s.next_peer(), nullptr;
    }
    m->service_index_[sm.name] = static_cast<int>(m->services.size());
    m->services.push_back(std::move(sm));
  }
  m->security.push_back({"default", false, false, true});
  m->security_index_["default"] = 0;
  for (const auto& sp : cfg.security_policies()) {
    SecurityModel sm{sp.name(), sp.encryption() == "aes256-cbc", sp.hmac() == "every-packet", sp.adaptive(),
                     sp.metadata_encryption()};
    m->security_index_[sm.name] = static_cast<int>(m->security.size());
    m->security.push_back(std::move(sm));
  }
  m->policy_matrix_.assign(m->tenants.size() * m->services.size(), kNone);
  for (const auto& p : cfg.policies()) {
    int t = m->tenant_by_name(p.tenant()), s = m->service_by_name(p.service());
    int sec = m->security_by_name(p.security().empty() ? "default" : p.security());
    if (t == kNone || s == kNone || sec == kNone)
      return error = "policy " + p.tenant() + " -> " + p.service() + ": unknown reference", nullptr;
    m->policy_matrix_[static_cast<size_t>(t) * m->services.size() + static_cast<size_t>(s)] = static_cast<int16_t>(sec);
  }
  const auto& to = cfg.timeouts();
  if (to.tcp_established()) m->tcp_established_s = to.tcp_established();
  if (to.tcp_transitory()) m->tcp_transitory_s = to.tcp_transitory();
  if (to.udp()) m->udp_s = to.udp();
  return m;
}

}  // namespace wp
