// The NIC model's rule compiler: rte_flow attr/item/action arrays -> RuleSpec,
// one function per item and action kind (the list nic_model.h gives).
// Whatever the model cannot do is refused the way a PMD refuses it, so the
// offload manager's fallbacks are exercised exactly as on hardware.
#include <rte_byteorder.h>

#include <cerrno>
#include <cstring>

#include "dataplane/ip/packet.h"
#include "offload/nic_model_rule.h"

namespace wp::offload {
namespace {

// rte_flow.h's default masks (rte_flow_item_*_mask) are C only: same values here.
rte_flow_item_ipv4 default_ipv4_mask() {
  rte_flow_item_ipv4 m{};
  m.hdr.src_addr = m.hdr.dst_addr = 0xffffffff;
  return m;
}
rte_flow_item_ipv6 default_ipv6_mask() {
  rte_flow_item_ipv6 m{};
  std::memset(m.hdr.src_addr, 0xff, sizeof m.hdr.src_addr);
  std::memset(m.hdr.dst_addr, 0xff, sizeof m.hdr.dst_addr);
  return m;
}
template <typename T>
T default_l4_mask() {
  T m{};
  m.hdr.src_port = m.hdr.dst_port = 0xffff;
  return m;
}

bool all_zero(const void* p, size_t n) {
  const auto* b = static_cast<const uint8_t*>(p);
  for (size_t i = 0; i < n; ++i)
    if (b[i]) return false;
  return true;
}
bool all_ones(const uint8_t* b, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (b[i] != 0xff) return false;
  return true;
}

template <typename T>
const T& spec_of(const rte_flow_item& it) {
  return *static_cast<const T*>(it.spec);
}
template <typename T>
const T& mask_of(const rte_flow_item& it, const T& def) {
  return it.mask ? *static_cast<const T*>(it.mask) : def;
}
template <typename T>
const T& conf_of(const rte_flow_action& a) {
  return *static_cast<const T*>(a.conf);
}

// What the pattern matched so far: a rule is exact (the hash table) only
// with both addresses and both ports.
struct ItemsSeen {
  bool port = false, ip_src = false, ip_dst = false, l4 = false;
};

// Ports of a TCP or UDP item and their masks, network order.
struct L4Ports {
  uint16_t src = 0, dst = 0, src_mask = 0, dst_mask = 0;
};

int compile_attr(const rte_flow_attr* attr, rte_flow_error* e, RuleSpec& s) {
  if (!attr) return flow_refuse(e, EINVAL, RTE_FLOW_ERROR_TYPE_ATTR, attr, "no attributes");
  if (!attr->transfer)
    return flow_refuse(e, ENOTSUP, RTE_FLOW_ERROR_TYPE_ATTR_TRANSFER, attr,
                       "only transfer (E-Switch) rules: match a port, forward to a port");
  if (attr->group != 0) return flow_refuse(e, ENOTSUP, RTE_FLOW_ERROR_TYPE_ATTR_GROUP, attr, "only group 0");
  s.priority = attr->priority;
  return 0;
}

// --- items ---------------------------------------------------------------------

int port_item(const rte_flow_item& it, rte_flow_error* e, RuleSpec& s, ItemsSeen& seen) {
  if (!it.spec) return flow_refuse(e, EINVAL, RTE_FLOW_ERROR_TYPE_ITEM_SPEC, &it, "port item without spec");
  // rte_flow_item_ethdev and rte_flow_item_port_id both start with the port id.
  s.in_port = it.type == RTE_FLOW_ITEM_TYPE_PORT_ID ? static_cast<uint16_t>(spec_of<rte_flow_item_port_id>(it).id)
                                                    : spec_of<rte_flow_item_ethdev>(it).port_id;
  seen.port = true;
  return 0;
}

int eth_item(const rte_flow_item& it, rte_flow_error* e) {
  if (it.spec && it.mask && !all_zero(it.mask, sizeof(rte_flow_item_eth)))
    return flow_refuse(e, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_SPEC, &it, "ETH fields cannot be matched");
  return 0;
}

// One IPV4 or IPV6 item a pattern, before any L4 item.
int l3_item_first(const rte_flow_item& it, rte_flow_error* e, RuleSpec& s, const ItemsSeen& seen, L3Match l3) {
  if (s.l3 != L3Match::any || seen.l4)
    return flow_refuse(e, EINVAL, RTE_FLOW_ERROR_TYPE_ITEM, &it, "one IPV4 or IPV6 item, before the L4 item");
  s.l3 = l3;
  return 0;
}

int ipv4_item(const rte_flow_item& it, rte_flow_error* e, RuleSpec& s, ItemsSeen& seen) {
  if (int rc = l3_item_first(it, e, s, seen, L3Match::ipv4)) return rc;
  if (!it.spec) return 0;
  const auto& sp = spec_of<rte_flow_item_ipv4>(it);
  const rte_flow_item_ipv4 def = default_ipv4_mask();
  const rte_flow_item_ipv4& mk = mask_of(it, def);
  rte_flow_item_ipv4 rest = mk;
  rest.hdr.src_addr = rest.hdr.dst_addr = 0;
  rest.hdr.next_proto_id = 0;
  if (!all_zero(&rest, sizeof rest))
    return flow_refuse(e, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_MASK, &it,
                       "IPV4: only source, destination and protocol can be matched");
  auto exact_or_none = [](uint32_t m) { return m == 0 || m == 0xffffffff; };
  if (!exact_or_none(mk.hdr.src_addr) || !exact_or_none(mk.hdr.dst_addr) ||
      (mk.hdr.next_proto_id != 0 && mk.hdr.next_proto_id != 0xff))
    return flow_refuse(e, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_MASK, &it, "IPV4: partial masks not supported");
  seen.ip_src = mk.hdr.src_addr != 0;
  seen.ip_dst = mk.hdr.dst_addr != 0;
  s.key.src = rte_be_to_cpu_32(sp.hdr.src_addr);
  s.key.dst = rte_be_to_cpu_32(sp.hdr.dst_addr);
  if (mk.hdr.next_proto_id) s.key.proto = sp.hdr.next_proto_id;
  return 0;
}

// Exact source, destination and next header (of the fixed header: a PMD does not
// look past extension headers for it), nothing else: no traffic class, flow
// label, payload length, hop limit or extension-header flags.
int ipv6_item(const rte_flow_item& it, rte_flow_error* e, RuleSpec& s, ItemsSeen& seen) {
  if (int rc = l3_item_first(it, e, s, seen, L3Match::ipv6)) return rc;
  if (!it.spec) return 0;
  const auto& sp = spec_of<rte_flow_item_ipv6>(it);
  const rte_flow_item_ipv6 def = default_ipv6_mask();
  const rte_flow_item_ipv6& mk = mask_of(it, def);
  rte_flow_item_ipv6 rest = mk;
  std::memset(rest.hdr.src_addr, 0, sizeof rest.hdr.src_addr);
  std::memset(rest.hdr.dst_addr, 0, sizeof rest.hdr.dst_addr);
  rest.hdr.proto = 0;
  if (!all_zero(&rest, sizeof rest))
    return flow_refuse(e, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_MASK, &it,
                       "IPV6: only source, destination and next header can be matched");
  auto exact_or_none = [](const uint8_t* m) { return all_zero(m, 16) || all_ones(m, 16); };
  if (!exact_or_none(mk.hdr.src_addr) || !exact_or_none(mk.hdr.dst_addr) || (mk.hdr.proto != 0 && mk.hdr.proto != 0xff))
    return flow_refuse(e, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_MASK, &it, "IPV6: partial masks not supported");
  seen.ip_src = mk.hdr.src_addr[0] != 0;
  seen.ip_dst = mk.hdr.dst_addr[0] != 0;
  if (seen.ip_src) s.src6 = load_ipv6(sp.hdr.src_addr);
  if (seen.ip_dst) s.dst6 = load_ipv6(sp.hdr.dst_addr);
  if (mk.hdr.proto) s.key.proto = sp.hdr.proto;
  return 0;
}

int tcp_fields(const rte_flow_item& it, rte_flow_error* e, RuleSpec& s, L4Ports& p) {
  const auto& sp = spec_of<rte_flow_item_tcp>(it);
  const auto def = default_l4_mask<rte_flow_item_tcp>();
  const rte_flow_item_tcp& mk = mask_of(it, def);
  rte_flow_item_tcp rest = mk;
  rest.hdr.src_port = rest.hdr.dst_port = 0;
  rest.hdr.tcp_flags = 0;
  if (!all_zero(&rest, sizeof rest))
    return flow_refuse(e, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_MASK, &it, "TCP: only ports and flags can be matched");
  p = {sp.hdr.src_port, sp.hdr.dst_port, mk.hdr.src_port, mk.hdr.dst_port};
  s.tcp_flags_mask = mk.hdr.tcp_flags;
  s.tcp_flags_spec = sp.hdr.tcp_flags & mk.hdr.tcp_flags;
  return 0;
}

int udp_fields(const rte_flow_item& it, rte_flow_error* e, L4Ports& p) {
  const auto& sp = spec_of<rte_flow_item_udp>(it);
  const auto def = default_l4_mask<rte_flow_item_udp>();
  const rte_flow_item_udp& mk = mask_of(it, def);
  if (mk.hdr.dgram_len || mk.hdr.dgram_cksum)
    return flow_refuse(e, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_MASK, &it, "UDP: only ports can be matched");
  p = {sp.hdr.src_port, sp.hdr.dst_port, mk.hdr.src_port, mk.hdr.dst_port};
  return 0;
}

// Both ports exact (a session rule) or neither (a wildcard rule).
int l4_ports(const rte_flow_item& it, rte_flow_error* e, const L4Ports& p, RuleSpec& s) {
  if ((p.src_mask != 0 && p.src_mask != 0xffff) || (p.dst_mask != 0 && p.dst_mask != 0xffff))
    return flow_refuse(e, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_MASK, &it, "L4 ports: partial masks not supported");
  if (p.src_mask != 0xffff || p.dst_mask != 0xffff) {
    if (p.src_mask || p.dst_mask)
      return flow_refuse(e, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_MASK, &it, "L4 ports: both or neither");
    return 0;
  }
  s.key.sport = rte_be_to_cpu_16(p.src);
  s.key.dport = rte_be_to_cpu_16(p.dst);
  s.exact = true;  // if the addresses are exact too (compile_items checks at the end)
  return 0;
}

int l4_item(const rte_flow_item& it, rte_flow_error* e, RuleSpec& s, ItemsSeen& seen) {
  const bool tcp = it.type == RTE_FLOW_ITEM_TYPE_TCP;
  const uint8_t proto = tcp ? kProtoTcp : kProtoUdp;
  if (s.key.proto && s.key.proto != proto)
    return flow_refuse(e, EINVAL, RTE_FLOW_ERROR_TYPE_ITEM, &it, "L4 item contradicts the IP protocol");
  s.key.proto = proto;
  seen.l4 = true;
  if (!it.spec) return 0;
  L4Ports p;
  if (int rc = tcp ? tcp_fields(it, e, s, p) : udp_fields(it, e, p)) return rc;
  return l4_ports(it, e, p, s);
}

// The payload's first bytes, e.g. the SVR cookie of metadata packets.
int raw_item(const rte_flow_item& it, rte_flow_error* e, RuleSpec& s, const ItemsSeen& seen) {
  const auto* sp = static_cast<const rte_flow_item_raw*>(it.spec);
  if (!sp || !sp->relative || sp->search || sp->offset != 0 || sp->length == 0 || sp->length > kMaxRaw ||
      !sp->pattern || !seen.l4)
    return flow_refuse(e, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_SPEC, &it,
                       "RAW: only up to 16 bytes right after the L4 header (relative, offset 0, no search)");
  if (it.mask && !all_zero(it.mask, sizeof(rte_flow_item_raw)) &&
      static_cast<const rte_flow_item_raw*>(it.mask)->pattern)
    return flow_refuse(e, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_MASK, &it, "RAW: pattern masks not supported");
  s.raw_len = static_cast<uint8_t>(sp->length);
  std::memcpy(s.raw, sp->pattern, sp->length);
  return 0;
}

int compile_item(const rte_flow_item& it, rte_flow_error* e, RuleSpec& s, ItemsSeen& seen) {
  switch (it.type) {
    case RTE_FLOW_ITEM_TYPE_VOID: return 0;
    case RTE_FLOW_ITEM_TYPE_REPRESENTED_PORT:
    case RTE_FLOW_ITEM_TYPE_PORT_ID: return port_item(it, e, s, seen);
    case RTE_FLOW_ITEM_TYPE_ETH: return eth_item(it, e);
    case RTE_FLOW_ITEM_TYPE_IPV4: return ipv4_item(it, e, s, seen);
    case RTE_FLOW_ITEM_TYPE_IPV6: return ipv6_item(it, e, s, seen);
    case RTE_FLOW_ITEM_TYPE_UDP:
    case RTE_FLOW_ITEM_TYPE_TCP: return l4_item(it, e, s, seen);
    case RTE_FLOW_ITEM_TYPE_RAW: return raw_item(it, e, s, seen);
    default: return flow_refuse(e, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM, &it, "item type not supported by the NIC");
  }
}

int compile_items(const rte_flow_item items[], rte_flow_error* e, RuleSpec& s) {
  ItemsSeen seen;
  for (const rte_flow_item* it = items;; ++it) {
    if (it->last)
      return flow_refuse(e, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_LAST, it, "ranges (item.last) are not supported");
    if (it->type == RTE_FLOW_ITEM_TYPE_END) break;
    if (int rc = compile_item(*it, e, s, seen)) return rc;
  }
  if (!seen.port) return flow_refuse(e, EINVAL, RTE_FLOW_ERROR_TYPE_ITEM_NUM, items, "transfer rule needs a port item");
  s.exact = s.exact && seen.ip_src && seen.ip_dst && s.raw_len == 0;
  return 0;
}

// --- actions -------------------------------------------------------------------

int set_mac(const rte_flow_action& a, rte_flow_error* e, RuleSpec& s) {
  if (!a.conf) return flow_refuse(e, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION_CONF, &a, "SET_MAC without conf");
  const bool src = a.type == RTE_FLOW_ACTION_TYPE_SET_MAC_SRC;
  std::memcpy(src ? s.mac_src : s.mac_dst, conf_of<rte_flow_action_set_mac>(a).mac_addr, 6);
  (src ? s.set_mac_src : s.set_mac_dst) = true;
  return 0;
}

int set_ipv4(const rte_flow_action& a, rte_flow_error* e, RuleSpec& s) {
  if (!a.conf) return flow_refuse(e, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION_CONF, &a, "SET_IPV4 without conf");
  if (s.l3 != L3Match::ipv4)
    return flow_refuse(e, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, &a, "SET_IPV4 needs an IPV4 item");
  const Ipv4 v = rte_be_to_cpu_32(conf_of<rte_flow_action_set_ipv4>(a).ipv4_addr);
  if (a.type == RTE_FLOW_ACTION_TYPE_SET_IPV4_SRC)
    s.set_ip_src = true, s.ip_src = v;
  else
    s.set_ip_dst = true, s.ip_dst = v;
  return 0;
}

// Sets an address of the IPv6 header; the L4 checksum follows (pseudo-header).
int set_ipv6(const rte_flow_action& a, rte_flow_error* e, RuleSpec& s) {
  if (!a.conf) return flow_refuse(e, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION_CONF, &a, "SET_IPV6 without conf");
  if (s.l3 != L3Match::ipv6)
    return flow_refuse(e, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, &a, "SET_IPV6 needs an IPV6 item");
  const Ipv6 v = load_ipv6(conf_of<rte_flow_action_set_ipv6>(a).ipv6_addr);
  if (a.type == RTE_FLOW_ACTION_TYPE_SET_IPV6_SRC)
    s.set_ip6_src = true, s.ip6_src = v;
  else
    s.set_ip6_dst = true, s.ip6_dst = v;
  return 0;
}

int set_tp(const rte_flow_action& a, rte_flow_error* e, RuleSpec& s) {
  if (!a.conf) return flow_refuse(e, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION_CONF, &a, "SET_TP without conf");
  if (s.key.proto != kProtoTcp && s.key.proto != kProtoUdp)
    return flow_refuse(e, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, &a, "SET_TP needs a TCP or UDP item");
  const uint16_t v = rte_be_to_cpu_16(conf_of<rte_flow_action_set_tp>(a).port);
  if (a.type == RTE_FLOW_ACTION_TYPE_SET_TP_SRC)
    s.set_tp_src = true, s.tp_src = v;
  else
    s.set_tp_dst = true, s.tp_dst = v;
  return 0;
}

// SET of a zero immediate into bits of the IPv6 header's first word (traffic class, flow
// label), addressed from the start of an untagged frame: DPDK 22.11 names no flow-label
// field. No checksum covers those bits. What offloaded sessions between IPv6 waypoints
// need (flow_rule.h); anything else MODIFY_FIELD can say is refused.
int modify_field(const rte_flow_action& a, rte_flow_error* e, RuleSpec& s) {
  const auto* c = static_cast<const rte_flow_action_modify_field*>(a.conf);
  if (!c) return flow_refuse(e, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION_CONF, &a, "MODIFY_FIELD without conf");
  if (c->operation != RTE_FLOW_MODIFY_SET || c->dst.field != RTE_FLOW_FIELD_START || c->dst.level != 0 ||
      c->src.field != RTE_FLOW_FIELD_VALUE || !all_zero(c->src.value, sizeof c->src.value))
    return flow_refuse(e, ENOTSUP, RTE_FLOW_ERROR_TYPE_ACTION_CONF, &a,
                       "MODIFY_FIELD: only SET of a zero immediate at a bit offset from START");
  constexpr uint32_t first = kEthHdrLen * 8 + 4, end = (kEthHdrLen + 4) * 8;  // after the version nibble
  if (s.l3 != L3Match::ipv6 || c->width == 0 || c->dst.offset < first || c->dst.offset + c->width > end)
    return flow_refuse(e, ENOTSUP, RTE_FLOW_ERROR_TYPE_ACTION_CONF, &a,
                       "MODIFY_FIELD: only the IPv6 traffic class and flow label (IPV6 rules)");
  s.clear_from = static_cast<uint16_t>(c->dst.offset);
  s.clear_bits = static_cast<uint16_t>(c->width);
  return 0;
}

int count_action(const rte_flow_action& a, rte_flow_error* e, RuleSpec& s) {
  if (a.conf && conf_of<rte_flow_action_count>(a).id != 0)
    return flow_refuse(e, ENOTSUP, RTE_FLOW_ERROR_TYPE_ACTION_CONF, &a, "COUNT: shared counters not supported");
  s.count = true;
  return 0;
}

int age_action(const rte_flow_action& a, rte_flow_error* e, RuleSpec& s) {
  const auto* c = static_cast<const rte_flow_action_age*>(a.conf);
  if (!c || c->timeout == 0) return flow_refuse(e, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION_CONF, &a, "AGE needs a timeout");
  s.age = true;
  s.age_ms = c->timeout * 1000u;
  s.age_context = c->context;
  return 0;
}

// Out of a port (REPRESENTED_PORT, PORT_ID) or up to the host (PORT_REPRESENTOR).
int fate_action(const rte_flow_action& a, rte_flow_error* e, RuleSpec& s) {
  if (!a.conf) return flow_refuse(e, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION_CONF, &a, "port action without conf");
  // rte_flow_action_ethdev and rte_flow_action_port_id both start with the port id.
  s.out_port = a.type == RTE_FLOW_ACTION_TYPE_PORT_ID ? static_cast<uint16_t>(conf_of<rte_flow_action_port_id>(a).id)
                                                      : conf_of<rte_flow_action_ethdev>(a).port_id;
  s.to_host = a.type == RTE_FLOW_ACTION_TYPE_PORT_REPRESENTOR;
  return 0;
}

int compile_action(const rte_flow_action& a, rte_flow_error* e, RuleSpec& s, bool& fate) {
  switch (a.type) {
    case RTE_FLOW_ACTION_TYPE_VOID: return 0;
    case RTE_FLOW_ACTION_TYPE_SET_MAC_SRC:
    case RTE_FLOW_ACTION_TYPE_SET_MAC_DST: return set_mac(a, e, s);
    case RTE_FLOW_ACTION_TYPE_SET_IPV4_SRC:
    case RTE_FLOW_ACTION_TYPE_SET_IPV4_DST: return set_ipv4(a, e, s);
    case RTE_FLOW_ACTION_TYPE_SET_IPV6_SRC:
    case RTE_FLOW_ACTION_TYPE_SET_IPV6_DST: return set_ipv6(a, e, s);
    case RTE_FLOW_ACTION_TYPE_SET_TP_SRC:
    case RTE_FLOW_ACTION_TYPE_SET_TP_DST: return set_tp(a, e, s);
    case RTE_FLOW_ACTION_TYPE_MODIFY_FIELD: return modify_field(a, e, s);
    case RTE_FLOW_ACTION_TYPE_DEC_TTL: s.dec_ttl = true; return 0;
    case RTE_FLOW_ACTION_TYPE_COUNT: return count_action(a, e, s);
    case RTE_FLOW_ACTION_TYPE_AGE: return age_action(a, e, s);
    case RTE_FLOW_ACTION_TYPE_REPRESENTED_PORT:
    case RTE_FLOW_ACTION_TYPE_PORT_ID:
    case RTE_FLOW_ACTION_TYPE_PORT_REPRESENTOR: fate = true; return fate_action(a, e, s);
    default: return flow_refuse(e, ENOTSUP, RTE_FLOW_ERROR_TYPE_ACTION, &a, "action type not supported by the NIC");
  }
}

int compile_actions(const rte_flow_action actions[], rte_flow_error* e, RuleSpec& s) {
  bool fate = false;
  for (const rte_flow_action* a = actions; a->type != RTE_FLOW_ACTION_TYPE_END; ++a) {
    if (fate && a->type != RTE_FLOW_ACTION_TYPE_VOID)
      return flow_refuse(e, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, a, "actions after the fate action");
    if (int rc = compile_action(*a, e, s, fate)) return rc;
  }
  if (!fate) return flow_refuse(e, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION_NUM, actions, "no fate action (port)");
  const bool rewrite = s.set_ip_src || s.set_ip_dst || s.set_ip6_src || s.set_ip6_dst || s.set_tp_src || s.set_tp_dst;
  if ((rewrite || s.dec_ttl) && (s.key.proto == 0 || s.l3 == L3Match::any))
    return flow_refuse(e, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, actions, "header rewrite needs an IPV4|IPV6 + L4 pattern");
  return 0;
}

}  // namespace

int compile_rule(const rte_flow_attr* attr, const rte_flow_item items[], const rte_flow_action actions[],
                 rte_flow_error* e, RuleSpec& out) {
  RuleSpec s;
  if (int rc = compile_attr(attr, e, s)) return rc;
  if (int rc = compile_items(items, e, s)) return rc;
  if (int rc = compile_actions(actions, e, s)) return rc;
  out = s;
  return 0;
}

}  // namespace wp::offload
