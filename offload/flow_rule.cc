// Session direction -> rte_flow arrays; see flow_rule.h.
#include "offload/flow_rule.h"

#include <rte_byteorder.h>

#include <cstring>

#include "dataplane/svr/metadata.h"
#include "dataplane/ip/packet.h"

namespace wp::offload {

namespace {

uint32_t whole_seconds(uint32_t ms) {
  uint32_t sec = (ms + 999) / 1000;
  return sec == 0 ? 1 : sec;
}

// Zeroes the rule and opens it: a transfer rule for packets arriving on `in_port`.
void begin_rule(FlowRule& r, uint16_t in_port, size_t& i) {
  std::memset(static_cast<void*>(&r), 0, sizeof r);
  r.ingress_port = in_port;
  r.attr.group = 0;
  r.attr.priority = 1;  // below the per-port rules that send special packets to software
  r.attr.transfer = 1;
  r.in_port.port_id = in_port;
  r.in_port_mask.port_id = 0xffff;
  i = 0;
  r.items[i++] = {RTE_FLOW_ITEM_TYPE_REPRESENTED_PORT, &r.in_port, nullptr, &r.in_port_mask};
  r.items[i++] = {RTE_FLOW_ITEM_TYPE_ETH, nullptr, nullptr, nullptr};
}

// The TCP (plain segments only) or UDP item with both ports exact, then END.
void close_items(FlowRule& r, size_t i, uint8_t proto, uint16_t sport, uint16_t dport) {
  if (proto == kProtoTcp) {
    r.tcp.hdr.src_port = rte_cpu_to_be_16(sport);
    r.tcp.hdr.dst_port = rte_cpu_to_be_16(dport);
    r.tcp.hdr.tcp_flags = 0;
    r.tcp_mask.hdr.src_port = 0xffff;
    r.tcp_mask.hdr.dst_port = 0xffff;
    r.tcp_mask.hdr.tcp_flags = kTcpControlFlags;
    r.items[i++] = {RTE_FLOW_ITEM_TYPE_TCP, &r.tcp, nullptr, &r.tcp_mask};
  } else {
    r.udp.hdr.src_port = rte_cpu_to_be_16(sport);
    r.udp.hdr.dst_port = rte_cpu_to_be_16(dport);
    r.udp_mask.hdr.src_port = 0xffff;
    r.udp_mask.hdr.dst_port = 0xffff;
    r.items[i++] = {RTE_FLOW_ITEM_TYPE_UDP, &r.udp, nullptr, &r.udp_mask};
  }
  r.items[i] = {RTE_FLOW_ITEM_TYPE_END, nullptr, nullptr, nullptr};
}

// SET_MAC_SRC/DST: our egress interface's MAC to the next hop's.
void mac_actions(FlowRule& r, size_t& a, const uint8_t own_mac[6], const uint8_t next_mac[6]) {
  std::memcpy(r.mac_src.mac_addr, own_mac, 6);
  std::memcpy(r.mac_dst.mac_addr, next_mac, 6);
  r.actions[a++] = {RTE_FLOW_ACTION_TYPE_SET_MAC_SRC, &r.mac_src};
  r.actions[a++] = {RTE_FLOW_ACTION_TYPE_SET_MAC_DST, &r.mac_dst};
}

// DEC_TTL (the IPv4 TTL or the IPv6 hop limit), COUNT, AGE, out of `out_port`, END.
void close_actions(FlowRule& r, size_t a, uint32_t age_s, void* age_context, uint16_t out_port) {
  r.age.timeout = age_s & 0xffffff;
  r.age.context = age_context;
  r.out_port.port_id = out_port;
  r.actions[a++] = {RTE_FLOW_ACTION_TYPE_DEC_TTL, nullptr};
  r.actions[a++] = {RTE_FLOW_ACTION_TYPE_COUNT, &r.count};
  r.actions[a++] = {RTE_FLOW_ACTION_TYPE_AGE, &r.age};
  r.actions[a++] = {RTE_FLOW_ACTION_TYPE_REPRESENTED_PORT, &r.out_port};
  r.actions[a] = {RTE_FLOW_ACTION_TYPE_END, nullptr};
}

bool known_iface(const RouterModel& model, int iface) {
  return iface >= 0 && static_cast<size_t>(iface) < model.interfaces.size();
}

// The items of an IPv6 session direction arriving on `in_port` with `arrive`: the IPV6 item's
// source, destination and next header exact (the fixed header's: packets with extension
// headers stay in software), then the ports.
void ipv6_items(FlowRule& r, uint16_t in_port, const FiveTuple6& arrive) {
  size_t i;
  begin_rule(r, in_port, i);
  store_ipv6(r.ipv6.hdr.src_addr, arrive.src);
  store_ipv6(r.ipv6.hdr.dst_addr, arrive.dst);
  r.ipv6.hdr.proto = arrive.proto;
  std::memset(r.ipv6_mask.hdr.src_addr, 0xff, sizeof r.ipv6_mask.hdr.src_addr);
  std::memset(r.ipv6_mask.hdr.dst_addr, 0xff, sizeof r.ipv6_mask.hdr.dst_addr);
  r.ipv6_mask.hdr.proto = 0xff;
  r.items[i++] = {RTE_FLOW_ITEM_TYPE_IPV6, &r.ipv6, nullptr, &r.ipv6_mask};
  close_items(r, i, arrive.proto, arrive.sport, arrive.dport);
}

}  // namespace

uint32_t age_timeout_s(const Session& s, const Timeouts& timeouts) {
  return whole_seconds(SessionTable::timeout_ms(s, timeouts));
}

uint32_t age_timeout_s(const Session6& s, const Timeouts& timeouts) {
  return whole_seconds(SessionTable6::timeout_ms(s, timeouts));
}

RuleBuildStatus build_flow_rule(const Session& s, Dir dir, const RouterModel& model, const NeighborTable& neighbors,
                                const Timeouts& timeouts, void* age_context, FlowRule& r) {
  const FiveTuple& orig = s.original;
  if (orig.proto != kProtoTcp && orig.proto != kProtoUdp) return RuleBuildStatus::not_ipv4_l4;
  // Forward packets arrive on side A (where reverse packets leave) and leave on side B.
  const SideOut& in_side = dir == Dir::forward ? s.out_rev : s.out_fwd;
  const SideOut& out = dir == Dir::forward ? s.out_fwd : s.out_rev;
  const FiveTuple arrive = dir == Dir::forward ? s.key_a() : s.key_b();
  if (!known_iface(model, in_side.iface) || !known_iface(model, out.iface)) return RuleBuildStatus::no_egress;
  const InterfaceModel& in_if = model.interfaces[in_side.iface];
  const InterfaceModel& out_if = model.interfaces[out.iface];
  uint8_t next_mac[6];
  if (!neighbors.lookup(out.iface, out.next_hop, next_mac)) return RuleBuildStatus::neighbor_missing;

  size_t i;
  begin_rule(r, in_if.port_id, i);
  r.ipv4.hdr.src_addr = rte_cpu_to_be_32(arrive.src);
  r.ipv4.hdr.dst_addr = rte_cpu_to_be_32(arrive.dst);
  r.ipv4.hdr.next_proto_id = arrive.proto;
  r.ipv4_mask.hdr.src_addr = 0xffffffff;
  r.ipv4_mask.hdr.dst_addr = 0xffffffff;
  r.ipv4_mask.hdr.next_proto_id = 0xff;
  r.items[i++] = {RTE_FLOW_ITEM_TYPE_IPV4, &r.ipv4, nullptr, &r.ipv4_mask};
  close_items(r, i, arrive.proto, arrive.sport, arrive.dport);

  size_t a = 0;
  mac_actions(r, a, out_if.mac, next_mac);
  r.ip_src.ipv4_addr = rte_cpu_to_be_32(out.tuple.src);
  r.ip_dst.ipv4_addr = rte_cpu_to_be_32(out.tuple.dst);
  r.tp_src.port = rte_cpu_to_be_16(out.tuple.sport);
  r.tp_dst.port = rte_cpu_to_be_16(out.tuple.dport);
  r.actions[a++] = {RTE_FLOW_ACTION_TYPE_SET_IPV4_SRC, &r.ip_src};
  r.actions[a++] = {RTE_FLOW_ACTION_TYPE_SET_IPV4_DST, &r.ip_dst};
  r.actions[a++] = {RTE_FLOW_ACTION_TYPE_SET_TP_SRC, &r.tp_src};
  r.actions[a++] = {RTE_FLOW_ACTION_TYPE_SET_TP_DST, &r.tp_dst};
  close_actions(r, a, age_timeout_s(s, timeouts), age_context, out_if.port_id);
  return RuleBuildStatus::ok;
}

RuleBuildStatus build_flow_rule6(const Session6& s, Dir dir, const RouterModel& model, const Neighbor6Table& neighbors,
                                 const Timeouts& timeouts, void* age_context, FlowRule& r) {
  if (s.original.proto != kProtoTcp && s.original.proto != kProtoUdp) return RuleBuildStatus::not_ipv4_l4;
  if (s.svr_ref) return RuleBuildStatus::translated;
  const auto k = static_cast<size_t>(dir);
  const int in = s.iface[1 - k], out = s.iface[k];  // a direction arrives where the other leaves
  if (!known_iface(model, in) || !known_iface(model, out)) return RuleBuildStatus::no_egress;
  uint8_t next_mac[6];
  if (!neighbors.lookup(out, s.next_hop[k], next_mac)) return RuleBuildStatus::neighbor_missing;
  ipv6_items(r, model.interfaces[static_cast<size_t>(in)].port_id,
             dir == Dir::forward ? s.original : s.original.reversed());
  const InterfaceModel& out_if = model.interfaces[static_cast<size_t>(out)];
  size_t a = 0;
  mac_actions(r, a, out_if.mac, next_mac);
  close_actions(r, a, age_timeout_s(s, timeouts), age_context, out_if.port_id);
  return RuleBuildStatus::ok;
}

uint32_t age_timeout_s(const Waypoint6Session& s, const Timeouts& timeouts) {
  return whole_seconds(idle_timeout_ms(s.original.proto, s.flags, timeouts));
}

RuleBuildStatus build_flow_rule_waypoint6(const Waypoint6Session& s, Dir dir, const RouterModel& model,
                                          const Neighbor6Table& neighbors, const Timeouts& timeouts,
                                          void* age_context, FlowRule& r) {
  if ((s.original.proto != kProtoTcp && s.original.proto != kProtoUdp) || s.wan.proto != s.original.proto)
    return RuleBuildStatus::not_ipv4_l4;
  const auto k = static_cast<size_t>(dir);
  const int in = s.iface[1 - k], out = s.iface[k];  // a direction arrives where the other leaves
  if (!known_iface(model, in) || !known_iface(model, out)) return RuleBuildStatus::no_egress;
  const InterfaceModel& in_if = model.interfaces[static_cast<size_t>(in)];
  const InterfaceModel& out_if = model.interfaces[static_cast<size_t>(out)];
  if (out_if.mtu < in_if.mtu) return RuleBuildStatus::mtu_differs;
  uint8_t next_mac[6];
  if (!neighbors.lookup(out, s.next_hop[k], next_mac)) return RuleBuildStatus::neighbor_missing;
  const FiveTuple6 lan = dir == Dir::forward ? s.original : s.original.reversed();
  const bool to_wan = dir == s.to_wan;
  const FiveTuple6& leave = to_wan ? s.wan : lan;
  ipv6_items(r, in_if.port_id, to_wan ? lan : s.wan.reversed());

  size_t a = 0;
  mac_actions(r, a, out_if.mac, next_mac);
  store_ipv6(r.ip6_src.ipv6_addr, leave.src);
  store_ipv6(r.ip6_dst.ipv6_addr, leave.dst);
  r.tp_src.port = rte_cpu_to_be_16(leave.sport);
  r.tp_dst.port = rte_cpu_to_be_16(leave.dport);
  r.actions[a++] = {RTE_FLOW_ACTION_TYPE_SET_IPV6_SRC, &r.ip6_src};
  r.actions[a++] = {RTE_FLOW_ACTION_TYPE_SET_IPV6_DST, &r.ip6_dst};
  r.actions[a++] = {RTE_FLOW_ACTION_TYPE_SET_TP_SRC, &r.tp_src};
  r.actions[a++] = {RTE_FLOW_ACTION_TYPE_SET_TP_DST, &r.tp_dst};
  // The flow label to 0, as the worker's path leaves it (an immediate zero: src.value is zeroed).
  r.flow_label.operation = RTE_FLOW_MODIFY_SET;
  r.flow_label.dst.field = RTE_FLOW_FIELD_START;
  r.flow_label.dst.offset = kFlowLabelBitOffset;
  r.flow_label.src.field = RTE_FLOW_FIELD_VALUE;
  r.flow_label.width = kFlowLabelBits;
  r.actions[a++] = {RTE_FLOW_ACTION_TYPE_MODIFY_FIELD, &r.flow_label};
  close_actions(r, a, age_timeout_s(s, timeouts), age_context, out_if.port_id);
  return RuleBuildStatus::ok;
}

void build_cookie_punt_rule(uint16_t port, uint8_t proto, FlowRule& r, bool ipv6) {
  std::memset(static_cast<void*>(&r), 0, sizeof r);
  r.ingress_port = port;
  r.attr.priority = 0;
  r.attr.transfer = 1;
  r.in_port.port_id = port;
  r.in_port_mask.port_id = 0xffff;
  r.ipv4.hdr.next_proto_id = proto;
  r.ipv4_mask.hdr.next_proto_id = 0xff;
  r.ipv6.hdr.proto = proto;
  r.ipv6_mask.hdr.proto = 0xff;
  r.raw.relative = 1;
  r.raw.length = sizeof kSvrCookieBytes;
  r.raw.pattern = kSvrCookieBytes;
  size_t i = 0;
  r.items[i++] = {RTE_FLOW_ITEM_TYPE_REPRESENTED_PORT, &r.in_port, nullptr, &r.in_port_mask};
  r.items[i++] = {RTE_FLOW_ITEM_TYPE_ETH, nullptr, nullptr, nullptr};
  r.items[i++] = ipv6 ? rte_flow_item{RTE_FLOW_ITEM_TYPE_IPV6, &r.ipv6, nullptr, &r.ipv6_mask}
                      : rte_flow_item{RTE_FLOW_ITEM_TYPE_IPV4, &r.ipv4, nullptr, &r.ipv4_mask};
  r.items[i++] = {proto == kProtoTcp ? RTE_FLOW_ITEM_TYPE_TCP : RTE_FLOW_ITEM_TYPE_UDP, nullptr, nullptr, nullptr};
  r.items[i++] = {RTE_FLOW_ITEM_TYPE_RAW, &r.raw, nullptr, nullptr};
  r.items[i] = {RTE_FLOW_ITEM_TYPE_END, nullptr, nullptr, nullptr};
  r.out_port.port_id = port;
  r.actions[0] = {RTE_FLOW_ACTION_TYPE_PORT_REPRESENTOR, &r.out_port};
  r.actions[1] = {RTE_FLOW_ACTION_TYPE_END, nullptr};
}

}  // namespace wp::offload
