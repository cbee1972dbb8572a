// Capability probe; see flow_probe.h.
#include "offload/flow_probe.h"

#include <rte_byteorder.h>
#include <rte_errno.h>

#include <cstring>

#include "dataplane/ip/ndp.h"  // kNaSolicited, kNaOverride
#include "dataplane/ip/packet.h"

namespace wp::offload {
namespace {

// The router of a sample rule: side A on `in_port`, side B (a WAN) on `out_port`.
RouterModel sample_model(uint16_t in_port, uint16_t out_port) {
  RouterModel m;
  InterfaceModel a, b;
  a.port_id = in_port;
  b.port_id = out_port;
  b.wan = true;
  m.interfaces = {a, b};
  return m;
}

}  // namespace

void build_sample_session_rule(uint16_t in_port, uint16_t out_port, uint8_t proto, FlowRule& rule) {
  // A sample session: client 10.0.0.1:40000 on side A (in_port) to a service
  // behind side B (out_port), NATed to a waypoint port pair.
  const RouterModel m = sample_model(in_port, out_port);
  Session s;
  s.original = {0x0a000001, 0x0a000101, 40000, 80, proto};
  s.out_rev = {s.original.reversed(), 0x0a000001, 0, -1};
  s.out_fwd = {{0xac100001, 0xac100002, 16384, 16385, proto}, 0xac100002, 1, 0};
  s.flags = kReverseSeen;
  static NeighborTable neighbors;  // 64 KiB: not on the stack
  static const uint8_t mac[6] = {0x02, 0, 0, 0, 0, 1};
  neighbors.learn(0, 0x0a000001, mac);
  neighbors.learn(1, 0xac100002, mac);
  build_flow_rule(s, Dir::forward, m, neighbors, Timeouts{}, nullptr, rule);
}

void build_sample_session6_rule(uint16_t in_port, uint16_t out_port, uint8_t proto, FlowRule& rule) {
  // A sample routed IPv6 session: 2001:db8::1:40000 on side A to 2001:db8:1::1 behind side B.
  const RouterModel m = sample_model(in_port, out_port);
  Session6 s;
  s.original = {{0x20010db800000000ULL, 1}, {0x20010db800010000ULL, 1}, 40000, 80, proto};
  s.next_hop[0] = s.original.dst;
  s.iface[0] = 1;
  s.next_hop[1] = s.original.src;
  s.iface[1] = 0;
  static Neighbor6Table neighbors;  // not on the stack
  static const uint8_t mac[6] = {0x02, 0, 0, 0, 0, 1};
  for (int side = 0; side < 2; ++side) {
    neighbors.begin(1 - side, s.next_hop[side], 0);
    neighbors.advert(1 - side, s.next_hop[side], mac, kNaSolicited | kNaOverride, 0);
  }
  build_flow_rule6(s, Dir::forward, m, neighbors, Timeouts{}, nullptr, rule);
}

void build_sample_waypoint6_rule(uint16_t in_port, uint16_t out_port, uint8_t proto, FlowRule& rule) {
  // A sample session between IPv6 waypoints at its ingress router: the client
  // 2001:db8::1:40000 on side A, rewritten to 2001:db8:70::1:16384 -> 2001:db8:70::2:16385 on side B.
  RouterModel m = sample_model(in_port, out_port);
  m.interfaces[0].mtu = m.interfaces[1].mtu = 1500;
  Waypoint6Session s;
  s.original = {{0x20010db800000000ULL, 1}, {0x20010db800010000ULL, 1}, 40000, 80, proto};
  s.wan = {{0x20010db800700000ULL, 1}, {0x20010db800700000ULL, 2}, 16384, 16385, proto};
  s.to_wan = Dir::forward;
  s.next_hop[0] = s.wan.dst;
  s.iface[0] = 1;
  s.next_hop[1] = s.original.src;
  s.iface[1] = 0;
  s.flags = kReverseSeen;
  static Neighbor6Table neighbors;  // not on the stack
  static const uint8_t mac[6] = {0x02, 0, 0, 0, 0, 1};
  for (int side = 0; side < 2; ++side) {
    neighbors.begin(1 - side, s.next_hop[side], 0);
    neighbors.advert(1 - side, s.next_hop[side], mac, kNaSolicited | kNaOverride, 0);
  }
  build_flow_rule_waypoint6(s, Dir::forward, m, neighbors, Timeouts{}, nullptr, rule);
}

namespace {

ProbeResult try_shape(FlowPort& flows, uint16_t port, const char* shape, bool needed, const rte_flow_attr& attr,
                      const rte_flow_item* items, const rte_flow_action* actions) {
  rte_flow_error e{};
  int rc = flows.validate(port, &attr, items, actions, &e);
  return {shape, needed, rc == 0, rc == 0 ? "" : flow_error_text(rc, e)};
}

}  // namespace

PortProbe probe_port(FlowPort& flows, uint16_t port, const std::string& device, uint16_t out_port) {
  PortProbe p{port, device, {}};
  for (uint8_t proto : {kProtoUdp, kProtoTcp}) {
    FlowRule r;
    build_sample_session_rule(port, out_port, proto, r);
    p.results.push_back(try_shape(flows, port, proto == kProtoUdp ? "session-udp" : "session-tcp", true, r.attr,
                                  r.items.data(), r.actions.data()));
    build_cookie_punt_rule(port, proto, r);
    p.results.push_back(try_shape(flows, port, proto == kProtoUdp ? "cookie-punt-udp" : "cookie-punt-tcp", true, r.attr,
                                  r.items.data(), r.actions.data()));
    // Routed IPv6 sessions: not needed (a PMD that refuses them still offloads IPv4
    // sessions; its refusals of IPv6 rules leave those sessions in software).
    build_sample_session6_rule(port, out_port, proto, r);
    p.results.push_back(try_shape(flows, port, proto == kProtoUdp ? "session6-udp" : "session6-tcp", false, r.attr,
                                  r.items.data(), r.actions.data()));
    // Sessions between IPv6 waypoints: not needed either (they stay in software where refused).
    build_sample_waypoint6_rule(port, out_port, proto, r);
    p.results.push_back(try_shape(flows, port, proto == kProtoUdp ? "waypoint6-udp" : "waypoint6-tcp", false,
                                  r.attr, r.items.data(), r.actions.data()));
    build_cookie_punt_rule(port, proto, r, true);
    p.results.push_back(try_shape(flows, port, proto == kProtoUdp ? "cookie-punt6-udp" : "cookie-punt6-tcp", false,
                                  r.attr, r.items.data(), r.actions.data()));
  }
  // Diagnostic shapes: a plain ingress rule on the same 5-tuple pattern
  // (items after the port item) with one action each.
  FlowRule r;
  build_sample_session_rule(port, out_port, kProtoUdp, r);
  rte_flow_attr ingress{};
  ingress.ingress = 1;
  const rte_flow_item* pattern = r.items.data() + 1;  // skip REPRESENTED_PORT
  rte_flow_action_queue queue{0};
  rte_flow_action_age age{};
  age.timeout = 60;
  struct Diag {
    const char* shape;
    rte_flow_action action;
  } diags[] = {
      {"ingress-5tuple-queue", {RTE_FLOW_ACTION_TYPE_QUEUE, &queue}},
      {"ingress-5tuple-drop", {RTE_FLOW_ACTION_TYPE_DROP, nullptr}},
      {"ingress-5tuple-count", {RTE_FLOW_ACTION_TYPE_COUNT, &r.count}},
      {"ingress-5tuple-set-ipv4-src", {RTE_FLOW_ACTION_TYPE_SET_IPV4_SRC, &r.ip_src}},
      {"ingress-5tuple-dec-ttl", {RTE_FLOW_ACTION_TYPE_DEC_TTL, nullptr}},
      {"ingress-5tuple-age", {RTE_FLOW_ACTION_TYPE_AGE, &age}},
  };
  for (const Diag& d : diags) {
    // Non-fate actions need a fate to be a complete rule: QUEUE 0.
    bool fate = d.action.type == RTE_FLOW_ACTION_TYPE_QUEUE || d.action.type == RTE_FLOW_ACTION_TYPE_DROP;
    rte_flow_action acts[3] = {d.action, {RTE_FLOW_ACTION_TYPE_END, nullptr}, {RTE_FLOW_ACTION_TYPE_END, nullptr}};
    if (!fate) acts[1] = {RTE_FLOW_ACTION_TYPE_QUEUE, &queue};
    p.results.push_back(try_shape(flows, port, d.shape, false, ingress, pattern, acts));
  }
  // The IPv6 session pattern (ETH / IPV6 / UDP) as a plain ingress rule to a queue.
  FlowRule r6;
  build_sample_session6_rule(port, out_port, kProtoUdp, r6);
  const rte_flow_action to_queue[] = {{RTE_FLOW_ACTION_TYPE_QUEUE, &queue}, {RTE_FLOW_ACTION_TYPE_END, nullptr}};
  p.results.push_back(try_shape(flows, port, "ingress-ipv6-5tuple-queue", false, ingress, r6.items.data() + 1, to_queue));
  return p;
}

bool PortProbe::can_offload() const {
  for (const ProbeResult& r : results)
    if (r.needed && !r.accepted) return false;
  return true;
}

std::string PortProbe::summary() const {
  std::string ok, bad;
  for (const ProbeResult& r : results) {
    if (r.accepted)
      ok += (ok.empty() ? "" : ", ") + r.shape;
    else
      bad += (bad.empty() ? "" : "; ") + r.shape + " (" + r.error + ")";
  }
  return "accepted: " + (ok.empty() ? std::string("none") : ok) + "; refused: " + (bad.empty() ? "none" : bad);
}

}  // namespace wp::offload
