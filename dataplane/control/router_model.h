// The committed configuration compiled into lookup structures for the
// dataplane (docs/architecture.md § Configuration: parse -> validate -> build snapshot).
//
// A RouterModel is immutable once built and shared read-only by all workers;
// entity references are small integer indexes so sessions store ids, not
// names. Lookups here are config-sized (tens to thousands of entries): linear
// or longest-prefix scans over vectors that fit in cache.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "config.pb.h"
#include "dataplane/crypto/engine.h"  // AesKey
#include "dataplane/crypto/hmac.h"
#include "dataplane/crypto/pair_keys.h"
#include "dataplane/ip/fib6.h"
#include "dataplane/ip/ipv4.h"
#include "dataplane/ip/ipv6.h"
#include "dataplane/ip/router_advert.h"
#include "dataplane/qos/scheduler.h"
#include "dataplane/ip/nat64.h"

namespace wp {

namespace config = ::waypoint::config;

inline constexpr int kNone = -1;

struct InterfaceModel {
  std::string name;
  std::string device;
  uint16_t port_id = 0;  // DPDK ethdev id
  Ipv4 addr = 0;         // own address; the waypoint address on WAN
  Ipv4Prefix subnet;
  uint16_t mtu = 1500;
  bool wan = false;
  uint8_t mac[6] = {};
  // Breakout addresses other than `addr` (services[].breakout.address): ARP
  // is answered and replies to them are ours, like `addr`.
  std::vector<Ipv4> nat_addrs;
  // More waypoint addresses beside `addr` (WAN `waypoint_addresses`): ARP is
  // answered and SVR sessions are taken on them, like on `addr`; new sessions
  // to a peer spread over (own address, peer waypoint) pairs.
  std::vector<Ipv4> waypoint_addrs;
  // IPv6 (Neighbor Discovery answers for these, echo too): the link-local
  // address of the MAC (EUI-64) first, then ipv6_addresses in config order,
  // each with its on-link prefix in `subnets6` (the link-local's is fe80::/64).
  std::vector<Ipv6> addrs6;
  std::vector<Ipv6Prefix> subnets6;
  // Router Advertisements (ipv6_ra, ip/router_advert.h): the settings, and the
  // distinct prefixes of ipv6_addresses they advertise (never fe80::/64).
  RaSettings ra;
  std::vector<Ipv6Prefix> ra_prefixes;
  // WAN egress QoS (router.wan[].qos, docs/qos.md): the port's scheduler when `shaped`.
  bool shaped = false;
  QosPortConfig qos;
  bool holds(Ipv4 a) const {
    return a == addr || std::find(nat_addrs.begin(), nat_addrs.end(), a) != nat_addrs.end() ||
           std::find(waypoint_addrs.begin(), waypoint_addrs.end(), a) != waypoint_addrs.end();
  }
  // The own waypoint address number i of 1 + waypoint_addrs.size().
  Ipv4 waypoint(size_t i) const { return i == 0 ? addr : waypoint_addrs[i - 1]; }
  bool holds6(const Ipv6& a) const { return std::find(addrs6.begin(), addrs6.end(), a) != addrs6.end(); }
  // Our address to speak from to on-link `to`: the one whose prefix holds it, else the link-local.
  Ipv6 source6_for(const Ipv6& to) const {
    for (size_t i = 1; i < addrs6.size(); ++i)
      if (subnets6[i].contains(to)) return addrs6[i];
    return addrs6.empty() ? Ipv6{} : addrs6[0];
  }
  bool on_link6(const Ipv6& a) const {
    return std::any_of(subnets6.begin(), subnets6.end(), [&](const Ipv6Prefix& p) { return p.contains(a); });
  }
};

// A route or a session side that leaves through a tunnel interface
// (`tunnels[]`, docs/ipsec.md § ESP in the worker loop): `iface` holds this
// value and the next hop holds the tunnel's index, never an address; the
// packet is handed to the tunnel's owner worker and sealed in ESP there.
inline constexpr int kIfaceTunnel = -2;
static_assert(kIfaceTunnel == kRoute6Tunnel, "IPv4 and IPv6 routes mark a tunnel alike");
// A session side (SideOut::iface) that is IPv6 on our LAN while the session travels between
// IPv4 waypoints (svr/svr6_lan.h): next_hop holds the index of its Session6, never an address.
inline constexpr int kIfaceSvr6 = -3;

struct RouteModel {
  Ipv4Prefix prefix;
  Ipv4 next_hop = 0;  // 0: directly connected; the tunnel index when iface is kIfaceTunnel
  int iface = kNone;
  // Administrative distance: connected 0, static 1 (a route from FRR with a
  // lower one wins over a config route of the same prefix; ties go to the config).
  uint8_t distance() const { return next_hop || iface == kIfaceTunnel ? 1 : 0; }
  bool tunnel() const { return iface == kIfaceTunnel; }
};

// Applications and categories (nDPI ids, apps/classifier.h) a service is for or a policy
// denies (docs/applications.md § Configuration).
struct AppRules {
  std::vector<uint16_t> apps, categories;
  bool empty() const { return apps.empty() && categories.empty(); }
  bool matches(uint16_t app, uint16_t category) const {
    return std::find(apps.begin(), apps.end(), app) != apps.end() ||
           (category != 0 && std::find(categories.begin(), categories.end(), category) != categories.end());
  }
};

// What a session's application means for it once known.
enum class AppDecision : uint8_t { allow, policy_deny, not_in_service };

struct ServiceModel {
  std::string name;
  std::vector<Ipv4Prefix> prefixes;
  // IPv6 destinations (`prefixes` entries written as IPv6, docs/ipv6.md § IPv6
  // routing and sessions): routed on this router with IPv6 sessions.
  std::vector<Ipv6Prefix> prefixes6;
  uint8_t proto = 0;  // 0 = any
  std::vector<PortRange> ports;
  int next_peer = kNone;  // kNone: delivered on our LAN (last hop)
  // Internet breakout (svr/breakout.h): the WAN interface sessions leave by,
  // source-NATed to `breakout_addr`; kNone: not a breakout service.
  int breakout_iface = kNone;
  Ipv4 breakout_addr = 0;
  AppRules apps;  // empty: any application
  QosClass qos_class = QosClass::best_effort;  // of its sessions on shaped WAN ports
  bool duplicate = false;  // its class is in qos.duplicate: sessions sent over two paths (svr/duplication.h)
  // The length of the longest of prefixes6 holding `dst`, when this service
  // takes `proto` and `dport` (ICMPv6 echo only without ports); -1 when it
  // does not serve it. service_for6 picks by it; the re-check after a commit
  // asks it of a live routed IPv6 session's service (worker/route6_follow.h).
  int serves6(const Ipv6& dst, uint8_t proto, uint16_t dport) const;
  // NAT64 (docs/ipv6.md § NAT64): IPv6 clients reach `prefixes` by their
  // IPv4-embedded addresses under nat64_prefix/nat64_len; kNone: not NAT64.
  // A NAT64 service is never matched by IPv4 sources (service_for skips it).
  int nat64_iface = kNone;
  Ipv6Bytes nat64_prefix{};
  uint8_t nat64_len = 0;
  // NAT46 (docs/ipv6.md § NAT46): IPv4 clients reach IPv6 servers on-link on
  // nat46_iface by `prefixes`; kNone: not NAT46. A destination's server is
  // its embedding under nat46_server_prefix/len (RFC 6052), or, with len 0,
  // its entry in nat46_servers; a client's source is its embedding under
  // nat46_source_prefix/len. service_for skips NAT46 services.
  int nat46_iface = kNone;
  Ipv6Bytes nat46_server_prefix{};
  uint8_t nat46_server_len = 0;
  std::vector<std::pair<Ipv4, Ipv6Bytes>> nat46_servers;
  Ipv6Bytes nat46_source_prefix{};
  uint8_t nat46_source_len = 0;
  // The IPv6 server an IPv4 destination of this service stands for (nullopt:
  // none in the map).
  std::optional<Ipv6Bytes> nat46_server(Ipv4 dst) const {
    if (nat46_server_len != 0) return nat64_embed(nat46_server_prefix, nat46_server_len, dst);
    for (const auto& [a, v6] : nat46_servers)
      if (a == dst) return v6;
    return std::nullopt;
  }
  // The IPv4 address an IPv6 server stands for (the reverse of nat46_server).
  std::optional<Ipv4> nat46_server4(const Ipv6Bytes& server) const {
    if (nat46_server_len != 0) return nat64_extract(nat46_server_prefix, nat46_server_len, server);
    for (const auto& [a, v6] : nat46_servers)
      if (v6 == server) return a;
    return std::nullopt;
  }
  // The IPv6 source an IPv4 client is written as, and back.
  Ipv6Bytes nat46_source(Ipv4 client) const { return nat64_embed(nat46_source_prefix, nat46_source_len, client); }
  std::optional<Ipv4> nat46_client(const Ipv6Bytes& dst) const {
    return nat64_extract(nat46_source_prefix, nat46_source_len, dst);
  }
};

// The DSCP each QoS class is marked with on shaped WAN ports (qos.dscp overrides).
inline constexpr std::array<uint8_t, kQosClasses> kDefaultQosDscp = {48, 46, 34, 18, 10, 0};  // CS6 EF AF41 AF21 AF11 0

// The QoS class named `name` (kQosClassNames), nullopt when none.
inline std::optional<QosClass> qos_class_named(std::string_view name) {
  for (size_t i = 0; i < kQosClasses; ++i)
    if (kQosClassNames[i] == name) return static_cast<QosClass>(i);
  return std::nullopt;
}

struct SecurityModel {
  std::string name;
  bool encrypt = false;
  bool hmac_every_packet = false;
  bool adaptive = true;
  bool encrypt_metadata = false;  // TLV 16 (metadata_crypto.h)
};

struct PeerModel {
  std::string name;
  uint32_t name_hash = 0;  // ties what a worker learned of this peer to it (PeerKeyViews)
  std::vector<Ipv4> waypoints;
  // The IPv6 entries of peers[].waypoints: IPv6 sessions to this peer ride
  // them (control/waypoint6_addr.h, docs/ipv6.md § IPv6 sessions between IPv6 waypoints).
  std::vector<Ipv6> waypoints6;
  // One or two pair-key versions and their derived keys; wiped with the
  // model (crypto/pair_keys.h).
  PairKeyRing keys;
};

struct NextHop {
  int iface = kNone;  // kIfaceTunnel: into tunnel `addr`
  Ipv4 addr = 0;      // the address to resolve with ARP
  bool tunnel() const { return iface == kIfaceTunnel; }
};

// A route-based IPsec tunnel interface (`tunnels[]`, in config order: the
// index the IKE service's EspSaTable uses).
struct TunnelModel {
  std::string name;
  int tenant = kNone;  // the source tenant of what comes out of it
  uint16_t mtu = 1400;  // inner packets
  // tunnels[].address (docs/ipsec.md § Dynamic routing over tunnels): the
  // router's inner address on the tunnel and its subnet; 0 / empty when unset.
  Ipv4 addr = 0;
  Ipv4Prefix subnet{};
  // tunnels[].ipv6_address: the router's inner IPv6 address (unspecified when
  // unset) and its prefix; only a tunnel with `addr` has one. With it, the
  // TUN's link-local address: fe80:: + the interface ID of addr6 (FRR's bgpd
  // needs one on an interface to a directly connected IPv6 peer).
  Ipv6 addr6{};
  Ipv6Prefix subnet6{};
  Ipv6 link_local6{};
};

// The punt path (docs/operations.md § Punt path). Rates are router-wide
// packets per second by class (worker/punt_class.h order); workers take
// their even share.
struct PuntModel {
  bool enabled = false;
  std::string ifname_prefix;
  std::array<uint32_t, 6> pps{2000, 100, 1000, 2000, 200, 1000};  // bgp, bgp_syn, ospf, bfd, icmp, other
};

// Flood protection of one tenant (worker/session_gate.h); router-wide, 0 = no limit.
struct TenantLimits {
  uint32_t max_sessions = 0;
  uint32_t new_per_second = 0;
};

// The HA peer node's IPv6 waypoint (an IPv6 entry of ha.peer_waypoints), on
// our WAN interface `iface` whose IPv6 prefix holds it: this node takes it
// over with the peer's sessions on it (control/waypoint6_addr.h, 0.255.254.j).
struct HaWaypoint6 {
  Ipv6 addr;
  int iface = -1;
};

class RouterModel {
 public:
  std::string name;
  std::vector<InterfaceModel> interfaces;  // [0] is the LAN
  std::vector<RouteModel> routes;          // connected first, then static
  std::vector<TunnelModel> tunnels;        // tunnels[] (IPsec), by EspSaTable tunnel index
  std::vector<std::string> tenants;
  std::vector<TenantLimits> tenant_limits;  // by tenant index
  uint32_t new_sessions_per_source = 0;     // router-wide per second; 0 = no limit
  uint8_t source6_prefix = 64;              // the IPv6 source prefix that rate counts (worker/session_gate.h)
  std::vector<ServiceModel> services;
  std::vector<SecurityModel> security;
  std::vector<PeerModel> peers;
  std::vector<HaWaypoint6> ha_waypoints6;  // in ha.peer_waypoints order, at most kWaypoint6MaxHaPeer
  PuntModel punt;
  std::array<uint8_t, kQosClasses> qos_dscp = kDefaultQosDscp;
  // The QoS class of a session of `service` whose application is `app` (nDPI id): the class
  // qos.applications gives the application (its own rule, else its category's), else the
  // service's (docs/qos.md § Classes by application). One load per call: the rules are
  // resolved per application id when the model is built.
  QosClass session_qos_class(int service, uint16_t app) const {
    if (app < app_qos_.size() && app_qos_[app] != 0) return static_cast<QosClass>(app_qos_[app] - 1);
    return service_qos_class(service);
  }
  // The service's own class (best-effort for none, or an index this model does not have).
  QosClass service_qos_class(int service) const {
    return service >= 0 && static_cast<size_t>(service) < services.size() ? services[static_cast<size_t>(service)].qos_class
                                                                         : QosClass::best_effort;
  }
  // Whether qos.applications names any class (else session_qos_class is the service's).
  bool app_qos_rules() const { return !app_qos_.empty(); }
  // qos.duplicate not empty: workers keep per-session duplication state (svr/duplication.h).
  bool duplication = false;
  uint32_t tcp_established_s = 1800, tcp_transitory_s = 30, udp_s = 60;

  int tenant_for(Ipv4 src, int iface) const;
  // An IPv6 source's tenant: tenants[].ipv6_prefixes (longest first), then the interface's.
  int tenant_for6(const Ipv6& src, int iface) const;
  int service_for(Ipv4 dst, uint8_t proto, uint16_t dport) const;
  // The service an IPv6 destination is for (its IPv6 prefixes, most specific
  // first, then config order; protocol and ports as service_for), kNone when none.
  int service_for6(const Ipv6& dst, uint8_t proto, uint16_t dport) const;
  // IPv6 routes (connected IPv6 prefixes of the interfaces, static IPv6 routes).
  Fib6 fib6;
  // Any service has IPv6 prefixes: workers route IPv6 with sessions (worker/route6_step.h).
  bool ipv6_routing = false;
  // NAT64: the service an IPv6 destination is for (its prefix embeds an IPv4
  // address, put in `v4`, that the service matches with proto, dport);
  // kNone when none. `embedded` says whether any NAT64 prefix held dst.
  int nat64_service_for(const Ipv6& dst, uint8_t proto, uint16_t dport, Ipv4& v4, bool& embedded) const;
  // NAT64: the service an IPv4 reply from `src`:sport comes back through
  // (the one whose prefix its IPv6 source is written with), or kNone.
  int nat64_service_for4(Ipv4 src, uint8_t proto, uint16_t sport) const;
  // NAT64: the IPv4 pool (one for all NAT64 services) and the interface it is on.
  std::vector<Ipv4> nat64_pool;
  int nat64_iface = kNone;
  bool nat64_pool_holds(Ipv4 a) const {
    return !nat64_pool.empty() && std::find(nat64_pool.begin(), nat64_pool.end(), a) != nat64_pool.end();
  }
  // NAT46: the service an IPv4 client's packet to dst is for (most specific
  // prefix among the NAT46 services that match proto, dport), kNone when none.
  int nat46_service_for(Ipv4 dst, uint8_t proto, uint16_t dport) const;
  // NAT46: the service an IPv6 reply from `src` (a server) to `dst` (under a
  // source prefix) comes back through, with the server's IPv4 address and the
  // client's, so that service_matches(service, server4, proto, sport); kNone when none.
  int nat46_service_for6(const Ipv6& src, const Ipv6& dst, uint8_t proto, uint16_t sport, Ipv4& server4,
                         Ipv4& client4) const;
  bool nat46 = false;  // any service uses NAT46
  bool service_matches(int service, Ipv4 dst, uint8_t proto, uint16_t dport) const;
  // Security policy index when tenant -> service is allowed, kNone otherwise.
  int policy(int tenant, int service) const {
    if (tenant < 0 || service < 0) return kNone;
    return policy_matrix_[static_cast<size_t>(tenant) * services.size() + static_cast<size_t>(service)];
  }
  // Whether a session of tenant -> service (allowed by policy) may carry application `app`
  // of `category`: the policy's deny lists first, then the service's own lists.
  AppDecision app_decision(int tenant, int service, uint16_t app, uint16_t category) const;
  // Whether any service or policy names an application (else app_decision always allows).
  bool app_rules = false;
  // The config's own routes (connected, static); WorkerContext::route adds FRR's.
  std::optional<NextHop> route(Ipv4 dst) const;
  const RouteModel* route_entry(Ipv4 dst) const;
  int iface_by_port(uint16_t port_id) const {
    return port_id < iface_of_port_.size() ? iface_of_port_[port_id] : kNone;
  }
  int own_address_iface(Ipv4 addr) const;
  int tunnel_by_address(Ipv4 addr) const;  // the tunnel whose inner address `addr` is; kNone if none
  int tunnel_by_address6(const Ipv6& addr) const;  // the tunnel whose inner IPv6 address `addr` is; kNone if none
  int peer_by_waypoint(Ipv4 addr) const;
  // The peer named `n`, kNone when none: the built model's name index (a headend has thousands),
  // a scan of a hand-made model's peers.
  int peer_by_name(std::string_view n) const;
  int tenant_by_name(std::string_view n) const { return find(tenant_index_, n); }
  int service_by_name(std::string_view n) const { return find(service_index_, n); }
  int security_by_name(std::string_view n) const { return find(security_index_, n); }

  // Builds from a validated config. `port_of_device` maps DPDK device names to
  // port ids (and gives MACs); returns an error text on failure.
  struct PortInfo {
    uint16_t port_id;
    uint8_t mac[6];
  };
  using PortResolver = std::optional<PortInfo> (*)(const std::string& device, void* ctx);
  static std::shared_ptr<const RouterModel> build(const config::Config& cfg, PortResolver resolve, void* ctx,
                                                  HmacEngine& hmac, std::string& error);

 private:
  friend class RouterModelBuilder;  // model_build.cc
  // Heterogeneous lookup: names from metadata are string_views into packets.
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using NameIndex = std::unordered_map<std::string, int, NameHash, std::equal_to<>>;
  static int find(const NameIndex& m, std::string_view n) {
    auto it = m.find(n);
    return it == m.end() ? kNone : it->second;
  }
  std::vector<int16_t> policy_matrix_;
  std::vector<AppRules> policy_app_deny_;  // like policy_matrix_; empty when no policy denies any
  // qos.applications by nDPI application id: QosClass + 1, 0 = no rule (the service's class).
  // Empty when qos.applications is.
  std::vector<uint8_t> app_qos_;
  std::vector<int> iface_of_port_;
  struct TenantPrefix {
    Ipv4Prefix prefix;
    int tenant;
  };
  std::vector<TenantPrefix> tenant_prefixes_;  // longest first
  struct TenantPrefix6 {
    Ipv6Prefix prefix;
    int tenant;
  };
  std::vector<TenantPrefix6> tenant_prefixes6_;  // longest first
  std::vector<int> tenant_of_iface_;
  NameIndex tenant_index_, service_index_, security_index_, peer_index_;
  std::vector<std::pair<Ipv4, int>> tunnel_addrs_;  // (tunnels[i].addr, i) sorted: a binary search per inner packet
  std::vector<std::pair<Ipv6, int>> tunnel_addrs6_;  // (tunnels[i].addr6, i) of the few tunnels with one
  // Every interface's own IPv4 addresses (addr, nat_addrs, waypoint_addrs) with the interface,
  // sorted: own_address_iface asks this for every packet. Built last by the builder; a model
  // put together by hand (tests, tools) has none and scans the interfaces instead.
  std::vector<std::pair<Ipv4, int>> own_addrs_;
  bool own_indexed_ = false;
  // Every peer's waypoints, sorted: peer_by_waypoint (IPv4: (addr, peer)) and
  // waypoint6_standin_of (IPv6: (addr, stand-in)) binary-search these instead of
  // scanning every peer's list, which a headend with thousands of sites would do
  // per first packet (IPv4) and per packet (IPv6 waypoints). Built with own_addrs_;
  // a hand-made model scans the peers instead.
  std::vector<std::pair<Ipv4, int>> peer_waypoints_;
  std::vector<std::pair<Ipv6, Ipv4>> peer_waypoints6_;
  friend Ipv4 waypoint6_standin_of(const RouterModel& rm, const Ipv6& src);
};

}  // namespace wp
