// Compiling a validated config into a RouterModel (docs/architecture.md
// § Configuration: parse -> validate -> build snapshot -> publish).
//
// The config was validated with paths and reasons before it got here
// (mgmt/config_validate*.cc); what can still fail is what only the running
// router knows: a device name with no DPDK port, or a key the crypto library
// refuses. Each part of the model is built by its own step, in dependency
// order: interfaces and connected routes first (static routes name them),
// tenants, peers before services (next_peer names one), security policies
// before the policy matrix that points at them.
#include <openssl/crypto.h>

#include <algorithm>
#include <exception>

#include "dataplane/apps/catalog.h"
#include "dataplane/control/router_model.h"
#include "dataplane/control/waypoint6_addr.h"
#include "dataplane/crypto/keys.h"
#include "dataplane/crypto/metadata_crypto.h"
#include "dataplane/ip/ndp.h"

namespace wp {
namespace {

uint8_t proto_of(const std::string& p) {
  if (p == "tcp") return 6;
  if (p == "udp") return 17;
  return 0;
}

std::vector<uint8_t> hex_bytes(const std::string& hex) {
  std::vector<uint8_t> out;
  out.reserve(hex.size() / 2);  // no reallocation leaves a copy of the key behind
  auto nib = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    int hi = nib(hex[i]), lo = nib(hex[i + 1]);
    if (hi < 0 || lo < 0) {
      OPENSSL_cleanse(out.data(), out.size());
      return {};
    }
    out.push_back(static_cast<uint8_t>(hi << 4 | lo));
  }
  return out;
}

}  // namespace

class RouterModelBuilder {
 public:
  RouterModelBuilder(const config::Config& cfg, RouterModel::PortResolver resolve, void* ctx, HmacEngine& hmac,
                     std::string& error)
      : cfg_(cfg), resolve_(resolve), ctx_(ctx), hmac_(hmac), error_(error), m_(std::make_shared<RouterModel>()) {}

  std::shared_ptr<const RouterModel> build() {
    m_->name = cfg_.router().name();
    if (!interfaces() || !routes()) return nullptr;
    tenants();
    if (!peers() || !services()) return nullptr;
    security();
    if (!policies()) return nullptr;
    timeouts();
    m_->new_sessions_per_source = cfg_.dataplane().new_sessions_per_source();
    if (uint32_t len = cfg_.dataplane().new_sessions_source6_prefix(); len != 0)
      m_->source6_prefix = static_cast<uint8_t>(len);
    punt();
    ha_waypoints6();
    qos_dscp();
    if (!qos_applications()) return nullptr;
    index_own_addresses();
    return m_;
  }

 private:
  void qos_dscp() {
    m_->duplication = cfg_.qos().duplicate_size() > 0;
    for (const auto& d : cfg_.qos().dscp())
      if (auto c = qos_class_named(d.name())) m_->qos_dscp[static_cast<size_t>(*c)] = static_cast<uint8_t>(d.value() & 63);
  }

  // qos.applications (validated: mgmt/config_validate_apps.cc) resolved per nDPI application
  // id: the application's own rule, else its category's. The catalog starts nDPI only when
  // some rule is there.
  bool qos_applications() {
    const auto& rules = cfg_.qos().applications();
    if (rules.empty()) return true;
    try {
      const app::AppCatalog& catalog = app::AppCatalog::instance();
      std::vector<uint8_t> by_app, by_category;
      auto put = [](std::vector<uint8_t>& v, uint16_t id, QosClass c) {
        if (v.size() <= id) v.resize(size_t{id} + 1, 0);
        v[id] = static_cast<uint8_t>(static_cast<uint8_t>(c) + 1);
      };
      for (const auto& r : rules) {
        auto cls = qos_class_named(r.class_());
        if (!cls) return fail("qos.applications: unknown class " + r.class_());
        if (!r.application().empty()) {
          auto id = catalog.find_application(r.application());
          if (!id) return fail("qos.applications: unknown application " + r.application());
          put(by_app, *id, *cls);
        } else {
          auto id = catalog.find_category(r.category());
          if (!id) return fail("qos.applications: unknown category " + r.category());
          put(by_category, *id, *cls);
        }
      }
      std::vector<uint8_t>& out = m_->app_qos_;
      for (const auto& e : catalog.applications()) {
        uint8_t c = e.id < by_app.size() ? by_app[e.id] : 0;
        if (c == 0 && e.category != 0 && e.category < by_category.size()) c = by_category[e.category];
        if (c == 0) continue;
        if (out.size() <= e.id) out.resize(size_t{e.id} + 1, 0);
        out[e.id] = c;
      }
      if (out.empty()) out.push_back(0);  // rules for categories no application is in: still "has rules"
    } catch (const std::exception& e) {
      return fail(std::string("qos.applications: ") + e.what());
    }
    return true;
  }

  // router.wan[].qos onto the scheduler's defaults (validated already).
  static void qos_port(const config::QosPort& q, InterfaceModel& im) {
    im.shaped = true;
    im.qos = QosPortConfig::defaults();
    im.qos.rate_bps = uint64_t{q.rate_kbps()} * 1000;
    if (q.burst_bytes()) im.qos.burst_bytes = q.burst_bytes();
    for (const auto& c : q.classes()) {
      auto cls = qos_class_named(c.name());
      if (!cls) continue;
      QosClassConfig& k = im.qos.classes[static_cast<size_t>(*cls)];
      if (!c.priority().empty()) k.strict = c.priority() == "strict";
      if (c.weight()) k.weight = c.weight();
      if (c.rate_kbps()) k.rate_bps = uint64_t{c.rate_kbps()} * 1000;
      if (c.burst_bytes()) k.burst_bytes = c.burst_bytes();
      if (c.queue_packets()) k.queue_packets = c.queue_packets();
    }
  }

  void punt() {
    const config::Punt& p = cfg_.router().punt();
    m_->punt.enabled = p.enabled();
    m_->punt.ifname_prefix = p.ifname_prefix();
    const uint32_t given[] = {p.bgp_pps(), p.bgp_syn_pps(), p.ospf_pps(), p.bfd_pps(), p.icmp_pps(), p.other_pps()};
    for (size_t c = 0; c < std::size(given); ++c)
      if (given[c]) m_->punt.pps[c] = given[c];
  }

  bool fail(std::string why) {
    error_ = std::move(why);
    return false;
  }

  bool add_interface(const config::Interface& ci, bool wan, const char* default_name) {
    InterfaceModel im;
    im.name = ci.name().empty() ? default_name : ci.name();
    im.device = ci.device();
    im.wan = wan;
    im.mtu = ci.mtu() ? static_cast<uint16_t>(ci.mtu()) : 1500;
    auto prefix = parse_prefix(ci.address(), &im.addr);
    if (!prefix) return fail(im.name + ": bad address " + ci.address());
    im.subnet = *prefix;
    for (const std::string& w : ci.waypoint_addresses()) {
      auto a = parse_ipv4(w);
      if (!a) return fail(im.name + ": bad waypoint address " + w);
      im.waypoint_addrs.push_back(*a);
    }
    auto port = resolve_ ? resolve_(ci.device(), ctx_) : std::nullopt;
    if (resolve_ && !port) return fail("interface " + im.name + ": no DPDK port named \"" + ci.device() + "\"");
    if (port) {
      im.port_id = port->port_id;
      std::copy(std::begin(port->mac), std::end(port->mac), im.mac);
    } else {
      im.port_id = static_cast<uint16_t>(m_->interfaces.size());  // no DPDK (config checks, tests)
    }
    if (!add_ipv6(ci, im)) return false;
    if (wan && ci.has_qos()) qos_port(ci.qos(), im);
    m_->routes.push_back({im.subnet, 0, static_cast<int>(m_->interfaces.size())});
    m_->interfaces.push_back(std::move(im));
    return true;
  }

  // The link-local address from the MAC, then the configured ones (validated already).
  bool add_ipv6(const config::Interface& ci, InterfaceModel& im) {
    im.addrs6.push_back(link_local_of(im.mac));
    im.subnets6.push_back(*parse_prefix6("fe80::/64"));
    for (const std::string& text : ci.ipv6_addresses()) {
      Ipv6 host;
      auto p = parse_prefix6(text, &host);
      if (!p) return fail(im.name + ": bad IPv6 address " + text);
      im.addrs6.push_back(host);
      im.subnets6.push_back(*p);
      if (std::find(im.ra_prefixes.begin(), im.ra_prefixes.end(), *p) == im.ra_prefixes.end())
        im.ra_prefixes.push_back(*p);
    }
    if (ci.has_ipv6_ra()) im.ra = ra_settings(ci.ipv6_ra());
    return true;
  }

  // Defaults applied (validated already: config_validate_ra.cc).
  static RaSettings ra_settings(const config::Ipv6RouterAdvertisements& c) {
    RaSettings s;
    s.enabled = c.enabled();
    const uint32_t max_s = c.interval_s() ? c.interval_s() : 600;
    s.max_interval_ms = max_s * 1000;
    // RFC 4861 § 6.2.1's default MinRtrAdvInterval: 0.33 times MaxRtrAdvInterval from 9 s up, else
    // MaxRtrAdvInterval itself (0.33 times 4..8 s would go below the RFC's 3 s; 9 s gives 2.97,
    // held at 3).
    s.min_interval_ms = max_s >= 9 ? std::max(max_s * 330, 3000u) : max_s * 1000;
    const uint32_t lifetime = c.router_lifetime_s() ? c.router_lifetime_s() : std::min(3 * max_s, 9000u);
    s.router_lifetime_s = c.not_default_router() ? 0 : static_cast<uint16_t>(lifetime);
    s.managed = c.managed();
    s.other = c.other();
    if (c.valid_lifetime_s()) s.valid_lifetime_s = c.valid_lifetime_s();
    if (c.preferred_lifetime_s()) s.preferred_lifetime_s = c.preferred_lifetime_s();
    s.mtu_option = !c.omit_mtu();
    for (const std::string& text : c.dns_servers())
      if (auto a = parse_ipv6(text)) s.dns_servers.push_back(*a);
    for (const std::string& name : c.dns_search()) encode_dns_name(name, s.dns_search);
    s.dns_lifetime_s = c.dns_lifetime_s() ? c.dns_lifetime_s() : 3 * max_s;  // RFC 8106 § 5.1
    for (const std::string& text : c.route_prefixes())
      if (auto p = parse_prefix6(text)) s.routes.push_back(*p);
    s.route_preference = c.route_preference() == "high"  ? RoutePreference::high
                         : c.route_preference() == "low" ? RoutePreference::low
                                                         : RoutePreference::medium;
    s.route_lifetime_s = c.route_lifetime_s() ? c.route_lifetime_s() : 3 * max_s;
    return s;
  }

  // The LAN is interface 0, then the WANs in config order; each adds its connected route.
  bool interfaces() {
    if (!add_interface(cfg_.router().lan(), false, "lan")) return false;
    for (const auto& w : cfg_.router().wan())
      if (!add_interface(w, true, "wan")) return false;
    for (const auto& im : m_->interfaces) {
      if (im.port_id >= m_->iface_of_port_.size()) m_->iface_of_port_.resize(im.port_id + 1, kNone);
      m_->iface_of_port_[im.port_id] = static_cast<int>(&im - m_->interfaces.data());
    }
    return true;
  }

  int iface_named(const std::string& n) const {
    for (size_t i = 0; i < m_->interfaces.size(); ++i)
      if (m_->interfaces[i].name == n) return static_cast<int>(i);
    return kNone;
  }

  // Tunnel interfaces (IPsec) before the routes that may name them.
  void tunnels() {
    for (const auto& t : cfg_.tunnels()) {
      TunnelModel tm{t.name(), kNone, static_cast<uint16_t>(t.mtu() ? t.mtu() : 1400)};
      if (auto p = parse_prefix(t.address(), &tm.addr)) tm.subnet = *p;  // validated: a host of its prefix
      if (tm.addr) m_->tunnel_addrs_.emplace_back(tm.addr, static_cast<int>(m_->tunnels.size()));
      if (auto p6 = parse_prefix6(t.ipv6_address(), &tm.addr6); p6 && tm.addr) {  // validated: needs `address`
        tm.subnet6 = *p6;
        tm.link_local6 = Ipv6{0xfe80ULL << 48, tm.addr6.lo ? tm.addr6.lo : 1};
        m_->tunnel_addrs6_.emplace_back(tm.addr6, static_cast<int>(m_->tunnels.size()));
      } else {
        tm.addr6 = Ipv6{};
      }
      m_->tunnels.push_back(tm);
    }
    std::sort(m_->tunnel_addrs_.begin(), m_->tunnel_addrs_.end());
  }

  int tunnel_named(const std::string& n) const {
    for (size_t i = 0; i < m_->tunnels.size(); ++i)
      if (m_->tunnels[i].name == n) return static_cast<int>(i);
    return kNone;
  }

  bool routes() {
    tunnels();
    for (const auto& r : cfg_.routes()) {
      if (auto p6 = parse_prefix6(r.prefix())) {  // IPv6 (validated: an on-link IPv6 next hop, or a tunnel)
        if (int t = tunnel_named(r.interface()); t != kNone) {  // into the tunnel: no next hop
          routes6_.push_back({*p6, tunnel_hop6(static_cast<uint32_t>(t)), kRoute6Tunnel});
          continue;
        }
        auto nh6 = parse_ipv6(r.next_hop());
        const int iface = iface_named(r.interface());
        if (!nh6 || iface == kNone) return fail("route " + r.prefix() + ": bad IPv6 next hop or interface");
        routes6_.push_back({*p6, *nh6, iface});
        continue;
      }
      auto p = parse_prefix(r.prefix());
      if (int t = tunnel_named(r.interface()); t != kNone && p) {  // into the tunnel: no next hop
        m_->routes.push_back({*p, static_cast<Ipv4>(t), kIfaceTunnel});
        continue;
      }
      auto nh = parse_ipv4(r.next_hop());
      if (!p || !nh) return fail("route " + r.prefix() + ": bad prefix or next hop");
      m_->routes.push_back({*p, *nh, iface_named(r.interface())});
    }
    // Connected IPv6 prefixes first (they win over a static route of the same prefix), not the link-locals.
    std::vector<Route6> all;
    for (size_t i = 0; i < m_->interfaces.size(); ++i)
      for (size_t k = 1; k < m_->interfaces[i].subnets6.size(); ++k)
        all.push_back({m_->interfaces[i].subnets6[k], Ipv6{}, static_cast<int>(i)});
    all.insert(all.end(), routes6_.begin(), routes6_.end());
    m_->fib6 = Fib6(std::move(all));
    return true;
  }

  // Tenants by source prefix (longest first) or by LAN interface.
  void tenants() {
    m_->tenant_of_iface_.assign(m_->interfaces.size(), kNone);
    for (const auto& t : cfg_.tenants()) {
      int idx = static_cast<int>(m_->tenants.size());
      m_->tenants.push_back(t.name());
      m_->tenant_limits.push_back({t.max_sessions(), t.new_sessions_per_second()});
      m_->tenant_index_[t.name()] = idx;
      for (const auto& p : t.prefixes())
        if (auto pf = parse_prefix(p)) m_->tenant_prefixes_.push_back({*pf, idx});
      if (int i = iface_named(t.interface()); i != kNone) m_->tenant_of_iface_[i] = idx;
      for (auto& tu : m_->tunnels)
        for (const auto& ct : cfg_.tunnels())
          if (ct.name() == tu.name && ct.tenant() == t.name()) tu.tenant = idx;
      for (const auto& p : t.ipv6_prefixes())
        if (auto pf = parse_prefix6(p)) m_->tenant_prefixes6_.push_back({*pf, idx});
    }
    std::stable_sort(m_->tenant_prefixes6_.begin(), m_->tenant_prefixes6_.end(),
                     [](const RouterModel::TenantPrefix6& a, const RouterModel::TenantPrefix6& b) {
                       return a.prefix.len > b.prefix.len;
                     });
    std::stable_sort(m_->tenant_prefixes_.begin(), m_->tenant_prefixes_.end(),
                     [](const RouterModel::TenantPrefix& a, const RouterModel::TenantPrefix& b) {
                       return a.prefix.len > b.prefix.len;
                     });
  }

  // Each peer's pair key, and the keys derived from it once here rather than
  // per session: the HKDF-Extract half of the session key derivation and
  // the metadata payload key (TLV 16).
  bool peers() {
    for (const auto& p : cfg_.peers()) {
      PeerModel pm;
      pm.name = p.name();
      for (const auto& w : p.waypoints())
        if (auto a = parse_ipv4(w)) pm.waypoints.push_back(*a);
        else if (auto a6 = parse_ipv6(w)) pm.waypoints6.push_back(*a6);
      pm.name_hash = fnv1a(p.name());
      uint32_t v = p.key_version() ? p.key_version() : 1;
      if (!pair_key(pm, p.key(), v, "key")) return false;
      if (!p.next_key().empty() && !pair_key(pm, p.next_key(), p.next_key_version() ? p.next_key_version() : v + 1,
                                             "next_key"))
        return false;
      m_->peer_index_.emplace(pm.name, static_cast<int>(m_->peers.size()));  // the first of a name, as a scan
      m_->peers.push_back(std::move(pm));
    }
    return true;
  }

  // One pair-key version and what is derived from it; the key bytes are
  // wiped here, only the schedules stay in the model.
  bool pair_key(PeerModel& pm, const std::string& hex, uint32_t version, const char* what) {
    auto key = hex_bytes(hex);
    struct Cleanse {
      std::vector<uint8_t>& k;
      ~Cleanse() { OPENSSL_cleanse(k.data(), k.size()); }
    } cleanse{key};
    if (key.size() < 32) return fail("peer " + pm.name + ": " + what + " must be at least 32 bytes of hex");
    if (version == 0 || version > 255) return fail("peer " + pm.name + ": " + what + " version must be 1..255");
    static thread_local CryptoEngine kdf;
    if (!kdf.ok()) return fail("Intel IPsec-MB manager could not be initialised");
    PairKey k;
    k.version = static_cast<uint8_t>(version);
    k.mac = hmac_.make_key(key);
    k.session_prk = session_prk(kdf, key);
    derive_metadata_key(kdf, k.session_prk, k.metadata_key);
    bool added = pm.keys.add(k);
    wipe_object(k);
    if (!added) return fail("peer " + pm.name + ": " + what + " repeats key version " + std::to_string(version));
    return true;
  }

  static uint32_t fnv1a(const std::string& s) {
    uint32_t h = 2166136261u;
    for (unsigned char c : s) h = (h ^ c) * 16777619u;
    return h;
  }

  bool services() {
    for (const auto& s : cfg_.services()) {
      ServiceModel sm;
      sm.name = s.name();
      sm.proto = proto_of(s.protocol());
      for (const auto& p : s.prefixes())
        if (auto pf = parse_prefix(p)) sm.prefixes.push_back(*pf);
        else if (auto pf6 = parse_prefix6(p)) sm.prefixes6.push_back(*pf6);
      if (!sm.prefixes6.empty()) m_->ipv6_routing = true;
      for (const auto& r : s.ports())
        if (auto pr = parse_port_range(r)) sm.ports.push_back(*pr);
      if (!s.next_peer().empty()) {
        sm.next_peer = m_->peer_by_name(s.next_peer());  // the name index: a headend has thousands of peers
        if (sm.next_peer == kNone) return fail("service " + s.name() + ": unknown peer " + s.next_peer());
      }
      if (s.has_breakout() && !breakout(s, sm)) return false;
      if (s.has_nat64() && !nat64(s, sm)) return false;
      if (s.has_nat46() && !nat46(s, sm)) return false;
      if (!app_rules(s.applications(), s.categories(), "service " + s.name(), sm.apps)) return false;
      if (auto c = qos_class_named(s.qos_class())) sm.qos_class = *c;
      for (const auto& d : cfg_.qos().duplicate())
        if (qos_class_named(d) == sm.qos_class) sm.duplicate = sm.next_peer != kNone;
      m_->service_index_[sm.name] = static_cast<int>(m_->services.size());
      m_->services.push_back(std::move(sm));
    }
    return true;
  }

  bool breakout(const config::Service& s, ServiceModel& sm) {
    sm.breakout_iface = iface_named(s.breakout().interface());
    if (sm.breakout_iface == kNone || !m_->interfaces[sm.breakout_iface].wan)
      return fail("service " + s.name() + ": breakout interface " + s.breakout().interface() + " is not a WAN");
    InterfaceModel& out = m_->interfaces[sm.breakout_iface];
    sm.breakout_addr = out.addr;
    if (s.breakout().address().empty()) return true;
    auto a = parse_ipv4(s.breakout().address());
    if (!a) return fail("service " + s.name() + ": bad breakout address " + s.breakout().address());
    sm.breakout_addr = *a;
    if (!out.holds(*a)) out.nat_addrs.push_back(*a);
    return true;
  }

  // NAT64: the prefix (the Well-Known Prefix by default), the interface and
  // the pool, one for all NAT64 services (validated); the pool's addresses
  // are answered for like breakout addresses.
  bool nat64(const config::Service& s, ServiceModel& sm) {
    const config::Nat64& n = s.nat64();
    sm.nat64_prefix = kNat64WellKnownPrefix;
    sm.nat64_len = 96;
    if (!n.prefix().empty()) {
      auto p = parse_prefix6(n.prefix());
      if (!p || !nat64_prefix_len_ok(p->len)) return fail("service " + s.name() + ": bad NAT64 prefix " + n.prefix());
      store_ipv6(sm.nat64_prefix.data(), p->addr);
      sm.nat64_len = p->len;
    }
    sm.nat64_iface = iface_named(n.interface());
    if (sm.nat64_iface == kNone) return fail("service " + s.name() + ": unknown NAT64 interface " + n.interface());
    std::vector<Ipv4> pool;
    for (const auto& a : n.pool()) {
      auto v = parse_ipv4(a);
      if (!v) return fail("service " + s.name() + ": bad NAT64 pool address " + a);
      pool.push_back(*v);
    }
    if (pool.empty()) return fail("service " + s.name() + ": NAT64 needs a pool");
    if (!m_->nat64_pool.empty() && (pool != m_->nat64_pool || m_->nat64_iface != sm.nat64_iface))
      return fail("service " + s.name() + ": NAT64 services must share one pool and interface");
    m_->nat64_pool = pool;
    m_->nat64_iface = sm.nat64_iface;
    InterfaceModel& out = m_->interfaces[sm.nat64_iface];
    for (Ipv4 a : pool)
      if (!out.holds(a)) out.nat_addrs.push_back(a);
    return true;
  }

  // NAT46 (validated): the interface the servers are on, the server prefix or
  // map, the source prefix (an address without a length is a /96).
  bool nat46(const config::Service& s, ServiceModel& sm) {
    const config::Nat46& n = s.nat46();
    auto prefix = [](const std::string& text) {
      auto p = parse_prefix6(text.find('/') == std::string::npos ? text + "/96" : text);
      return p && nat64_prefix_len_ok(p->len) ? p : std::nullopt;
    };
    sm.nat46_iface = iface_named(n.interface());
    if (sm.nat46_iface == kNone) return fail("service " + s.name() + ": unknown NAT46 interface " + n.interface());
    if (!n.server_prefix().empty()) {
      auto p = prefix(n.server_prefix());
      if (!p) return fail("service " + s.name() + ": bad NAT46 server prefix " + n.server_prefix());
      store_ipv6(sm.nat46_server_prefix.data(), p->addr);
      sm.nat46_server_len = p->len;
    }
    for (const auto& e : n.servers()) {
      auto a = parse_ipv4(e.ipv4());
      auto v6 = parse_ipv6(e.ipv6());
      if (!a || !v6) return fail("service " + s.name() + ": bad NAT46 server " + e.ipv4() + " " + e.ipv6());
      Ipv6Bytes b;
      store_ipv6(b.data(), *v6);
      sm.nat46_servers.emplace_back(*a, b);
    }
    if (sm.nat46_server_len == 0 && sm.nat46_servers.empty())
      return fail("service " + s.name() + ": NAT46 needs a server prefix or servers");
    auto src = prefix(n.source_prefix());
    if (!src) return fail("service " + s.name() + ": bad NAT46 source prefix " + n.source_prefix());
    store_ipv6(sm.nat46_source_prefix.data(), src->addr);
    sm.nat46_source_len = src->len;
    m_->nat46 = true;
    return true;
  }

  // "default" (index 0: no encryption, metadata-only HMAC) is what a policy
  // without `security` gets.
  void security() {
    m_->security.push_back({"default", false, false, true});
    m_->security_index_["default"] = 0;
    for (const auto& sp : cfg_.security_policies()) {
      SecurityModel sm{sp.name(), sp.encryption() == "aes256-cbc", sp.hmac() == "every-packet", sp.adaptive(),
                       sp.metadata_encryption()};
      m_->security_index_[sm.name] = static_cast<int>(m_->security.size());
      m_->security.push_back(std::move(sm));
    }
  }

  // tenant x service -> security index; kNone (deny) unless a policy allows it.
  bool policies() {
    m_->policy_matrix_.assign(m_->tenants.size() * m_->services.size(), kNone);
    for (const auto& p : cfg_.policies()) {
      int t = m_->tenant_by_name(p.tenant()), s = m_->service_by_name(p.service());
      int sec = m_->security_by_name(p.security().empty() ? "default" : p.security());
      if (t == kNone || s == kNone || sec == kNone)
        return fail("policy " + p.tenant() + " -> " + p.service() + ": unknown reference");
      const size_t cell = static_cast<size_t>(t) * m_->services.size() + static_cast<size_t>(s);
      m_->policy_matrix_[cell] = static_cast<int16_t>(sec);
      AppRules deny;
      if (!app_rules(p.deny_applications(), p.deny_categories(), "policy " + p.tenant() + " -> " + p.service(), deny))
        return false;
      if (deny.empty()) continue;
      m_->policy_app_deny_.resize(m_->policy_matrix_.size());
      m_->policy_app_deny_[cell] = std::move(deny);
    }
    return true;
  }

  // Names (validated: mgmt/config_validate_apps.cc) to this router's nDPI ids. The catalog
  // starts nDPI once per process, so only a config that names applications pays for it.
  bool app_rules(const google::protobuf::RepeatedPtrField<std::string>& apps,
                 const google::protobuf::RepeatedPtrField<std::string>& categories, const std::string& who,
                 AppRules& out) {
    if (apps.empty() && categories.empty()) return true;
    try {
      const app::AppCatalog& catalog = app::AppCatalog::instance();
      for (const auto& n : apps) {
        auto id = catalog.find_application(n);
        if (!id) return fail(who + ": unknown application " + n);
        out.apps.push_back(*id);
      }
      for (const auto& n : categories) {
        auto id = catalog.find_category(n);
        if (!id) return fail(who + ": unknown category " + n);
        out.categories.push_back(*id);
      }
    } catch (const std::exception& e) {
      return fail(who + ": " + e.what());
    }
    m_->app_rules = true;
    return true;
  }

  // The IPv6 entries of ha.peer_waypoints, each on the WAN interface whose
  // global IPv6 prefix holds it (the validation refuses one that none holds).
  void ha_waypoints6() {
    for (const auto& text : cfg_.ha().peer_waypoints()) {
      auto a = parse_ipv6(text);
      if (!a || m_->ha_waypoints6.size() >= kWaypoint6MaxHaPeer) continue;
      for (size_t i = 0; i < m_->interfaces.size(); ++i) {
        const InterfaceModel& im = m_->interfaces[i];
        const bool on = im.wan && std::any_of(im.subnets6.begin(), im.subnets6.end(), [&](const Ipv6Prefix& p) {
          return !p.addr.is_link_local() && p.contains(*a);
        });
        if (on) {
          m_->ha_waypoints6.push_back({*a, static_cast<int>(i)});
          break;
        }
      }
    }
  }

  // RouterModel::own_addrs_: what own_address_iface scans the interfaces for, as one sorted array.
  void index_own_addresses() {
    auto& own = m_->own_addrs_;
    for (size_t i = 0; i < m_->interfaces.size(); ++i) {
      const InterfaceModel& im = m_->interfaces[i];
      const int iface = static_cast<int>(i);
      own.emplace_back(im.addr, iface);
      for (Ipv4 a : im.nat_addrs) own.emplace_back(a, iface);
      for (Ipv4 a : im.waypoint_addrs) own.emplace_back(a, iface);
    }
    std::sort(own.begin(), own.end());
    // The first peer listing an address wins, as the scans it replaces did (stable sort).
    auto& pw = m_->peer_waypoints_;
    auto& pw6 = m_->peer_waypoints6_;
    for (size_t p = 0; p < m_->peers.size(); ++p) {
      for (Ipv4 w : m_->peers[p].waypoints) pw.emplace_back(w, static_cast<int>(p));
      for (size_t k = 0; k < m_->peers[p].waypoints6.size() && k < kWaypoint6MaxPerPeer && p < kWaypoint6MaxPeers; ++k)
        pw6.emplace_back(m_->peers[p].waypoints6[k], waypoint6_peer_standin(static_cast<int>(p), k));
    }
    std::stable_sort(pw.begin(), pw.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::stable_sort(pw6.begin(), pw6.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    m_->own_indexed_ = true;
  }

  void timeouts() {
    const auto& to = cfg_.timeouts();
    if (to.tcp_established()) m_->tcp_established_s = to.tcp_established();
    if (to.tcp_transitory()) m_->tcp_transitory_s = to.tcp_transitory();
    if (to.udp()) m_->udp_s = to.udp();
  }

  const config::Config& cfg_;
  RouterModel::PortResolver resolve_;
  void* ctx_;
  HmacEngine& hmac_;
  std::string& error_;
  std::shared_ptr<RouterModel> m_;
  std::vector<Route6> routes6_;  // static IPv6 routes, until routes() builds fib6
};

std::shared_ptr<const RouterModel> RouterModel::build(const config::Config& cfg, PortResolver resolve, void* ctx,
                                                      HmacEngine& hmac, std::string& error) {
  return RouterModelBuilder(cfg, resolve, ctx, hmac, error).build();
}

}  // namespace wp
