// One rte_flow rule per session direction (docs/architecture.md § Offload).
//
// A FlowRule owns the specs and action configurations its rte_flow_item[] and
// rte_flow_action[] arrays point to, so the arrays handed to DPDK (or to the
// software NIC model, which takes the very same arrays) stay valid for as long
// as the rule object lives. The shape is what a session direction does in
// software (svr/emit.cc, steady state): packets that arrive on the ingress
// port with the arrival 5-tuple leave on the egress port with the side's NAT
// tuple, next-hop MAC, TTL - 1, counted, aged after the session idle timeout.
//
// It is an E-Switch ("transfer") rule: the match names the ingress port and the
// fate is another port, which is how a SmartNIC forwards between its ports
// without the host. TCP rules match only packets with SYN, FIN and RST clear,
// so connection setup and teardown still reach the worker (it keeps the TCP
// state that picks the idle timeout and ends the session).
//
// Routed IPv6 sessions (docs/ipv6.md § IPv6 routing and sessions) get the same
// shape with an IPV6 item (source, destination, next header) and no address or
// port rewrite (they are routed, not translated): MAC rewrite, hop limit - 1
// (DEC_TTL acts on the hop limit of an IPv6 packet), COUNT, AGE, the port.
//
// IPv6 sessions between IPv6 waypoints (docs/ipv6.md § Offload of IPv6
// sessions between IPv6 waypoints) are translated, but within one family: a
// direction that leaves on the WAN has the client's tuple rewritten to our
// IPv6 waypoint and port -> the peer's, the other way back, which
// SET_IPV6_SRC/DST and SET_TP_SRC/DST express; the flow label, which the
// worker's path zeroes (it carries the packet as IPv4 inside), is set to 0
// by MODIFY_FIELD (DPDK 22.11 names no flow-label field: bits 124..143 from
// the start of the frame, the IPv6 header right after an untagged Ethernet
// header); the hop limit is decremented once, as the worker does.
#pragma once

#include <rte_flow.h>

#include <array>
#include <cstdint>

#include "dataplane/control/neighbor.h"
#include "dataplane/control/neighbor6.h"
#include "dataplane/control/router_model.h"
#include "dataplane/session/session.h"
#include "dataplane/session/table.h"
#include "dataplane/session/table6.h"

namespace wp::offload {

inline constexpr uint8_t kTcpControlFlags = 0x07;  // FIN | SYN | RST: never matched by a rule

struct FlowRule {
  rte_flow_attr attr{};
  std::array<rte_flow_item, 6> items{};
  std::array<rte_flow_action, 14> actions{};
  // What the arrays point to.
  rte_flow_item_ethdev in_port{}, in_port_mask{};
  rte_flow_item_ipv4 ipv4{}, ipv4_mask{};
  rte_flow_item_ipv6 ipv6{}, ipv6_mask{};
  rte_flow_item_udp udp{}, udp_mask{};
  rte_flow_item_tcp tcp{}, tcp_mask{};
  rte_flow_action_set_mac mac_src{}, mac_dst{};
  rte_flow_action_set_ipv4 ip_src{}, ip_dst{};
  rte_flow_action_set_ipv6 ip6_src{}, ip6_dst{};
  rte_flow_action_modify_field flow_label{};
  rte_flow_action_set_tp tp_src{}, tp_dst{};
  rte_flow_action_count count{};
  rte_flow_action_age age{};
  rte_flow_action_ethdev out_port{};
  rte_flow_item_raw raw{};

  uint16_t ingress_port = 0;  // ethdev id the rule is installed for (transfer proxy)
  FlowRule() = default;
  // The arrays point into this object: copying would leave them pointing at the source.
  FlowRule(const FlowRule&) = delete;
  FlowRule& operator=(const FlowRule&) = delete;
};

enum class RuleBuildStatus : uint8_t {
  ok,
  not_ipv4_l4,       // protocol other than TCP/UDP
  no_egress,         // side has no interface
  neighbor_missing,  // next hop's MAC not (yet) resolved
  translated,        // an IPv6 session carried by an SVR session (Session6::svr_ref): IPv6 <-> IPv4 on the way
  mtu_differs,       // between IPv6 waypoints: the egress port's MTU is smaller than the arrival port's
};

// An IPv6 session between IPv6 waypoints as the offload manager takes it
// (session/offload_events6.h): the Session6 view (the client's tuple; the
// interface and next hop of both directions, the WAN direction's being the
// WAN leg's) and the WAN leg's tuple as it leaves here (our IPv6 waypoint
// and port -> the peer's).
struct Waypoint6Session : Session6 {
  FiveTuple6 wan;
  Dir to_wan = Dir::forward;  // the direction that leaves on the WAN: forward at the ingress, reverse at the egress
};

// The bit offset of the IPv6 flow label from the start of an untagged Ethernet frame, and its width.
inline constexpr uint32_t kFlowLabelBitOffset = 14 * 8 + 12;
inline constexpr uint32_t kFlowLabelBits = 20;

// Fills `rule` for packets of `s` travelling in `dir`. `age_context` comes
// back from rte_flow_get_aged_flows when the rule ages out.
RuleBuildStatus build_flow_rule(const Session& s, Dir dir, const RouterModel& model, const NeighborTable& neighbors,
                                const Timeouts& timeouts, void* age_context, FlowRule& rule);

// The same for a routed IPv6 session (SessionTable6): the arrival tuple is the
// original (forward) or its reverse, the egress the session's interface and
// next hop of `dir`, its MAC from the IPv6 neighbor cache.
RuleBuildStatus build_flow_rule6(const Session6& s, Dir dir, const RouterModel& model, const Neighbor6Table& neighbors,
                                 const Timeouts& timeouts, void* age_context, FlowRule& rule);

// The same for an IPv6 session between IPv6 waypoints: the arrival tuple is
// the client's (or its reverse) on the LAN and the WAN leg's reverse on the
// WAN, rewritten to the other leg's. A rule whose egress port has a smaller
// MTU than its arrival port is refused (mtu_differs): the worker answers
// those packets with Packet Too Big, or drops them counted, which no rule does.
RuleBuildStatus build_flow_rule_waypoint6(const Waypoint6Session& s, Dir dir, const RouterModel& model,
                                          const Neighbor6Table& neighbors, const Timeouts& timeouts,
                                          void* age_context, FlowRule& rule);

// Priority-0 rule for a WAN port: TCP or UDP packets whose data starts with
// the SVR cookie go up to the host (PORT_REPRESENTOR), never through a session
// rule. They carry metadata (a handshake still open on the peer's side) or the
// cookie false-positive marker, and only software can verify and strip those
// (docs/svr-wire-format.md § Handshake, cookie false positive).
// `ipv6`: the same for IPv6 packets (a WAN port with an IPv6 waypoint of ours).
void build_cookie_punt_rule(uint16_t port, uint8_t proto, FlowRule& rule, bool ipv6 = false);

// The rule-building idle timeout: the session's own (SessionTable::timeout_ms)
// in whole seconds, rounded up, at least 1.
uint32_t age_timeout_s(const Session& s, const Timeouts& timeouts);
uint32_t age_timeout_s(const Session6& s, const Timeouts& timeouts);
// Its SVR session's idle timeout (a Session6 that SVR carries is aged with it).
uint32_t age_timeout_s(const Waypoint6Session& s, const Timeouts& timeouts);

}  // namespace wp::offload
