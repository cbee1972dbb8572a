// Software NIC flow engine; see nic_model.h.
#include "offload/nic_model.h"

#include <rte_byteorder.h>
#include <rte_errno.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "dataplane/ip/checksum.h"
#include "dataplane/ip/packet.h"

namespace wp::offload {
namespace {

constexpr uint32_t kRemove = 0x80000000u;
constexpr uint8_t kMaxRaw = 16;
constexpr uint32_t kAgeStepSlots = 1024;  // slots the age sweep visits per service() call
constexpr int kCommandRounds = 1;         // x 64 rule commands per service() call

uint32_t pow2_at_least(uint32_t n) {
  uint32_t p = 64;
  while (p < n) p <<= 1;
  return p;
}

rte_ring* make_ring(const char* what, uint32_t count) {
  static std::atomic<uint32_t> serial{0};
  std::string name = std::string("nicm_") + what + std::to_string(serial.fetch_add(1));
  return rte_ring_create_elem(name.c_str(), sizeof(uint64_t), count, SOCKET_ID_ANY,
                              RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ);
}

// rte_flow.h's default masks (rte_flow_item_*_mask) are C only: same values here.
rte_flow_item_ipv4 default_ipv4_mask() {
  rte_flow_item_ipv4 m{};
  m.hdr.src_addr = m.hdr.dst_addr = 0xffffffff;
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

}  // namespace

// What a rule matches and does, compiled from the rte_flow arrays.
struct RuleSpec {
  uint16_t in_port = 0;
  uint32_t priority = 0;
  bool exact = false;  // full 5-tuple: hash table; otherwise a wildcard rule
  FiveTuple key;       // host order; proto 0 = any (wildcard only)
  uint8_t tcp_flags_spec = 0, tcp_flags_mask = 0;
  uint8_t raw_len = 0;
  uint8_t raw[kMaxRaw] = {};
  bool set_mac_src = false, set_mac_dst = false;
  uint8_t mac_src[6] = {}, mac_dst[6] = {};
  bool set_ip_src = false, set_ip_dst = false, set_tp_src = false, set_tp_dst = false;
  Ipv4 ip_src = 0, ip_dst = 0;
  uint16_t tp_src = 0, tp_dst = 0;
  bool dec_ttl = false, count = false, age = false;
  uint32_t age_ms = 0;
  void* age_context = nullptr;
  bool to_host = false;  // fate: PORT_REPRESENTOR (the host) instead of out_port
  uint16_t out_port = 0;
};

struct NicModel::Rule {
  RuleSpec spec;
  bool live = false;  // control side: created and not destroyed
  // Lcore side.
  bool linked = false;
  bool aged_reported = false;
  uint32_t last_hit_ms = 0;
  std::atomic<uint64_t> hits{0}, bytes{0};
};

std::string flow_error_text(int rc, const rte_flow_error& e) {
  return "rc " + std::to_string(rc) + ", error type " + std::to_string(static_cast<int>(e.type)) + ": " +
         (e.message ? e.message : rte_strerror(-rc));
}

int flow_refuse(rte_flow_error* e, int errno_value, rte_flow_error_type type, const void* cause, const char* message) {
  if (e) {
    e->type = type;
    e->cause = cause;
    e->message = message;
  }
  rte_errno = errno_value;
  return -errno_value;
}

NicModel::NicModel(uint32_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {
  rules_ = new Rule[capacity_];
  free_.reserve(capacity_);
  for (uint32_t i = capacity_; i-- > 0;) free_.push_back(i);
  uint32_t ring = pow2_at_least(2 * capacity_ + 64);
  commands_ = make_ring("cmd", ring);
  freed_ = make_ring("free", ring);
  aged_ = make_ring("aged", ring);
  uint32_t idx = pow2_at_least(2 * capacity_);
  index_.assign(idx, 0);
  index_mask_ = idx - 1;
}

NicModel::~NicModel() {
  rte_ring_free(commands_);
  rte_ring_free(freed_);
  rte_ring_free(aged_);
  delete[] rules_;
}

int NicModel::compile(const rte_flow_attr* attr, const rte_flow_item items[], const rte_flow_action actions[],
                      rte_flow_error* e, Rule& out) {
  RuleSpec s;
  if (!attr) return flow_refuse(e, EINVAL, RTE_FLOW_ERROR_TYPE_ATTR, attr, "no attributes");
  if (!attr->transfer)
    return flow_refuse(e, ENOTSUP, RTE_FLOW_ERROR_TYPE_ATTR_TRANSFER, attr,
                       "only transfer (E-Switch) rules: match a port, forward to a port");
  if (attr->group != 0) return flow_refuse(e, ENOTSUP, RTE_FLOW_ERROR_TYPE_ATTR_GROUP, attr, "only group 0");
  s.priority = attr->priority;
  bool have_port = false, have_ip_src = false, have_ip_dst = false, have_l4 = false;
  for (const rte_flow_item* it = items; it; ++it) {
    if (it->last)
      return flow_refuse(e, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_LAST, it, "ranges (item.last) are not supported");
    switch (it->type) {
      case RTE_FLOW_ITEM_TYPE_END: it = nullptr; break;
      case RTE_FLOW_ITEM_TYPE_VOID: break;
      case RTE_FLOW_ITEM_TYPE_REPRESENTED_PORT:
      case RTE_FLOW_ITEM_TYPE_PORT_ID: {
        // rte_flow_item_ethdev and rte_flow_item_port_id both start with the port id.
        if (!it->spec) return flow_refuse(e, EINVAL, RTE_FLOW_ERROR_TYPE_ITEM_SPEC, it, "port item without spec");
        s.in_port = it->type == RTE_FLOW_ITEM_TYPE_PORT_ID
                        ? static_cast<uint16_t>(static_cast<const rte_flow_item_port_id*>(it->spec)->id)
                        : static_cast<const rte_flow_item_ethdev*>(it->spec)->port_id;
        have_port = true;
        break;
      }
      case RTE_FLOW_ITEM_TYPE_ETH:
        if (it->spec && it->mask && !all_zero(it->mask, sizeof(rte_flow_item_eth)))
          return flow_refuse(e, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_SPEC, it, "ETH fields cannot be matched");
        break;
      case RTE_FLOW_ITEM_TYPE_IPV4: {
        if (!it->spec) break;
        const auto* sp = static_cast<const rte_flow_item_ipv4*>(it->spec);
        const rte_flow_item_ipv4 def = default_ipv4_mask();
        const auto* mk = it->mask ? static_cast<const rte_flow_item_ipv4*>(it->mask) : &def;
        rte_flow_item_ipv4 rest = *mk;
        rest.hdr.src_addr = rest.hdr.dst_addr = 0;
        rest.hdr.next_proto_id = 0;
        if (!all_zero(&rest, sizeof rest))
          return flow_refuse(e, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_MASK, it,
                             "IPV4: only source, destination and protocol can be matched");
        auto exact_or_none = [&](uint32_t m) { return m == 0 || m == 0xffffffff; };
        if (!exact_or_none(mk->hdr.src_addr) || !exact_or_none(mk->hdr.dst_addr) ||
            (mk->hdr.next_proto_id != 0 && mk->hdr.next_proto_id != 0xff))
          return flow_refuse(e, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_MASK, it, "IPV4: partial masks not supported");
        have_ip_src = mk->hdr.src_addr != 0;
        have_ip_dst = mk->hdr.dst_addr != 0;
        s.key.src = rte_be_to_cpu_32(sp->hdr.src_addr);
        s.key.dst = rte_be_to_cpu_32(sp->hdr.dst_addr);
        if (mk->hdr.next_proto_id) s.key.proto = sp->hdr.next_proto_id;
        break;
      }
      case RTE_FLOW_ITEM_TYPE_UDP:
      case RTE_FLOW_ITEM_TYPE_TCP: {
        bool tcp = it->type == RTE_FLOW_ITEM_TYPE_TCP;
        uint8_t proto = tcp ? kProtoTcp : kProtoUdp;
        if (s.key.proto && s.key.proto != proto)
          return flow_refuse(e, EINVAL, RTE_FLOW_ERROR_TYPE_ITEM, it, "L4 item contradicts the IPV4 protocol");
        s.key.proto = proto;
        have_l4 = true;
        if (!it->spec) break;
        uint16_t sport, dport, msport, mdport;
        if (tcp) {
          const auto* sp = static_cast<const rte_flow_item_tcp*>(it->spec);
          const auto def = default_l4_mask<rte_flow_item_tcp>();
          const auto* mk = it->mask ? static_cast<const rte_flow_item_tcp*>(it->mask) : &def;
          rte_flow_item_tcp rest = *mk;
          rest.hdr.src_port = rest.hdr.dst_port = 0;
          rest.hdr.tcp_flags = 0;
          if (!all_zero(&rest, sizeof rest))
            return flow_refuse(e, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_MASK, it,
                               "TCP: only ports and flags can be matched");
          sport = sp->hdr.src_port, dport = sp->hdr.dst_port, msport = mk->hdr.src_port, mdport = mk->hdr.dst_port;
          s.tcp_flags_mask = mk->hdr.tcp_flags;
          s.tcp_flags_spec = sp->hdr.tcp_flags & mk->hdr.tcp_flags;
        } else {
          const auto* sp = static_cast<const rte_flow_item_udp*>(it->spec);
          const auto def = default_l4_mask<rte_flow_item_udp>();
          const auto* mk = it->mask ? static_cast<const rte_flow_item_udp*>(it->mask) : &def;
          if (mk->hdr.dgram_len || mk->hdr.dgram_cksum)
            return flow_refuse(e, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_MASK, it, "UDP: only ports can be matched");
          sport = sp->hdr.src_port, dport = sp->hdr.dst_port, msport = mk->hdr.src_port, mdport = mk->hdr.dst_port;
        }
        if ((msport != 0 && msport != 0xffff) || (mdport != 0 && mdport != 0xffff))
          return flow_refuse(e, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_MASK, it, "L4 ports: partial masks not supported");
        if (msport != 0xffff || mdport != 0xffff) {
          if (msport || mdport)
            return flow_refuse(e, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_MASK, it, "L4 ports: both or neither");
          break;
        }
        s.key.sport = rte_be_to_cpu_16(sport);
        s.key.dport = rte_be_to_cpu_16(dport);
        s.exact = true;  // for now; addresses checked after the loop
        break;
      }
      case RTE_FLOW_ITEM_TYPE_RAW: {
        const auto* sp = static_cast<const rte_flow_item_raw*>(it->spec);
        if (!sp || !sp->relative || sp->search || sp->offset != 0 || sp->length == 0 || sp->length > kMaxRaw ||
            !sp->pattern || !have_l4)
          return flow_refuse(e, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_SPEC, it,
                             "RAW: only up to 16 bytes right after the L4 header (relative, offset 0, no search)");
        if (it->mask && !all_zero(it->mask, sizeof(rte_flow_item_raw)) &&
            static_cast<const rte_flow_item_raw*>(it->mask)->pattern)
          return flow_refuse(e, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM_MASK, it, "RAW: pattern masks not supported");
        s.raw_len = static_cast<uint8_t>(sp->length);
        std::memcpy(s.raw, sp->pattern, sp->length);
        break;
      }
      default: return flow_refuse(e, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM, it, "item type not supported by the NIC");
    }
    if (!it) break;
  }
  if (!have_port) return flow_refuse(e, EINVAL, RTE_FLOW_ERROR_TYPE_ITEM_NUM, items, "transfer rule needs a port item");
  s.exact = s.exact && have_ip_src && have_ip_dst && s.raw_len == 0;

  bool fate = false;
  for (const rte_flow_action* a = actions; a; ++a) {
    if (fate && a->type != RTE_FLOW_ACTION_TYPE_END && a->type != RTE_FLOW_ACTION_TYPE_VOID)
      return flow_refuse(e, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, a, "actions after the fate action");
    switch (a->type) {
      case RTE_FLOW_ACTION_TYPE_END: a = nullptr; break;
      case RTE_FLOW_ACTION_TYPE_VOID: break;
      case RTE_FLOW_ACTION_TYPE_SET_MAC_SRC:
      case RTE_FLOW_ACTION_TYPE_SET_MAC_DST: {
        if (!a->conf) return flow_refuse(e, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION_CONF, a, "SET_MAC without conf");
        bool src = a->type == RTE_FLOW_ACTION_TYPE_SET_MAC_SRC;
        std::memcpy(src ? s.mac_src : s.mac_dst, static_cast<const rte_flow_action_set_mac*>(a->conf)->mac_addr, 6);
        (src ? s.set_mac_src : s.set_mac_dst) = true;
        break;
      }
      case RTE_FLOW_ACTION_TYPE_SET_IPV4_SRC:
      case RTE_FLOW_ACTION_TYPE_SET_IPV4_DST: {
        if (!a->conf) return flow_refuse(e, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION_CONF, a, "SET_IPV4 without conf");
        Ipv4 v = rte_be_to_cpu_32(static_cast<const rte_flow_action_set_ipv4*>(a->conf)->ipv4_addr);
        if (a->type == RTE_FLOW_ACTION_TYPE_SET_IPV4_SRC)
          s.set_ip_src = true, s.ip_src = v;
        else
          s.set_ip_dst = true, s.ip_dst = v;
        break;
      }
      case RTE_FLOW_ACTION_TYPE_SET_TP_SRC:
      case RTE_FLOW_ACTION_TYPE_SET_TP_DST: {
        if (!a->conf) return flow_refuse(e, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION_CONF, a, "SET_TP without conf");
        if (s.key.proto != kProtoTcp && s.key.proto != kProtoUdp)
          return flow_refuse(e, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, a, "SET_TP needs a TCP or UDP item");
        uint16_t v = rte_be_to_cpu_16(static_cast<const rte_flow_action_set_tp*>(a->conf)->port);
        if (a->type == RTE_FLOW_ACTION_TYPE_SET_TP_SRC)
          s.set_tp_src = true, s.tp_src = v;
        else
          s.set_tp_dst = true, s.tp_dst = v;
        break;
      }
      case RTE_FLOW_ACTION_TYPE_DEC_TTL: s.dec_ttl = true; break;
      case RTE_FLOW_ACTION_TYPE_COUNT:
        if (a->conf && static_cast<const rte_flow_action_count*>(a->conf)->id != 0)
          return flow_refuse(e, ENOTSUP, RTE_FLOW_ERROR_TYPE_ACTION_CONF, a, "COUNT: shared counters not supported");
        s.count = true;
        break;
      case RTE_FLOW_ACTION_TYPE_AGE: {
        const auto* c = static_cast<const rte_flow_action_age*>(a->conf);
        if (!c || c->timeout == 0)
          return flow_refuse(e, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION_CONF, a, "AGE needs a timeout");
        s.age = true;
        s.age_ms = c->timeout * 1000u;
        s.age_context = c->context;
        break;
      }
      case RTE_FLOW_ACTION_TYPE_REPRESENTED_PORT:
      case RTE_FLOW_ACTION_TYPE_PORT_ID:
      case RTE_FLOW_ACTION_TYPE_PORT_REPRESENTOR: {
        if (!a->conf) return flow_refuse(e, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION_CONF, a, "port action without conf");
        s.out_port = a->type == RTE_FLOW_ACTION_TYPE_PORT_ID
                         ? static_cast<uint16_t>(static_cast<const rte_flow_action_port_id*>(a->conf)->id)
                         : static_cast<const rte_flow_action_ethdev*>(a->conf)->port_id;
        s.to_host = a->type == RTE_FLOW_ACTION_TYPE_PORT_REPRESENTOR;
        fate = true;
        break;
      }
      default: return flow_refuse(e, ENOTSUP, RTE_FLOW_ERROR_TYPE_ACTION, a, "action type not supported by the NIC");
    }
    if (!a) break;
  }
  if (!fate) return flow_refuse(e, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION_NUM, actions, "no fate action (port)");
  if ((s.set_ip_src || s.set_ip_dst || s.set_tp_src || s.set_tp_dst || s.dec_ttl) && s.key.proto == 0)
    return flow_refuse(e, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, actions, "header rewrite needs an IPV4 + L4 pattern");
  out.spec = s;
  return 0;
}

int NicModel::validate(uint16_t, const rte_flow_attr* attr, const rte_flow_item items[],
                       const rte_flow_action actions[], rte_flow_error* error) {
  Rule scratch;
  return compile(attr, items, actions, error, scratch);
}

rte_flow* NicModel::create(uint16_t, const rte_flow_attr* attr, const rte_flow_item items[],
                           const rte_flow_action actions[], rte_flow_error* error) {
  if (free_.empty()) {
    uint64_t slot;
    while (rte_ring_sc_dequeue_elem(freed_, &slot, sizeof slot) == 0) free_.push_back(static_cast<uint32_t>(slot));
  }
  if (free_.empty()) {
    counters_.rules_refused.fetch_add(1, std::memory_order_relaxed);
    flow_refuse(error, ENOSPC, RTE_FLOW_ERROR_TYPE_HANDLE, nullptr, "NIC rule table full");
    return nullptr;
  }
  uint32_t slot = free_.back();
  Rule& r = rules_[slot];
  if (compile(attr, items, actions, error, r) != 0) {
    counters_.rules_refused.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  r.hits.store(0, std::memory_order_relaxed);
  r.bytes.store(0, std::memory_order_relaxed);
  uint64_t cmd = slot;
  if (rte_ring_sp_enqueue_elem(commands_, &cmd, sizeof cmd) != 0) {
    flow_refuse(error, EBUSY, RTE_FLOW_ERROR_TYPE_UNSPECIFIED, nullptr, "NIC command queue full");
    return nullptr;
  }
  free_.pop_back();
  r.live = true;
  active_.fetch_add(1, std::memory_order_relaxed);
  counters_.rules_installed.fetch_add(1, std::memory_order_relaxed);
  return reinterpret_cast<rte_flow*>(static_cast<uintptr_t>(slot) + 1);
}

int NicModel::destroy(uint16_t, rte_flow* flow, rte_flow_error* error) {
  uintptr_t h = reinterpret_cast<uintptr_t>(flow);
  if (h == 0 || h > capacity_ || !rules_[h - 1].live)
    return flow_refuse(error, EINVAL, RTE_FLOW_ERROR_TYPE_HANDLE, flow, "no such rule");
  uint64_t cmd = (h - 1) | kRemove;
  if (rte_ring_sp_enqueue_elem(commands_, &cmd, sizeof cmd) != 0)
    return flow_refuse(error, EBUSY, RTE_FLOW_ERROR_TYPE_UNSPECIFIED, nullptr, "NIC command queue full");
  rules_[h - 1].live = false;
  active_.fetch_sub(1, std::memory_order_relaxed);
  counters_.rules_removed.fetch_add(1, std::memory_order_relaxed);
  return 0;
}

int NicModel::query_count(uint16_t, rte_flow* flow, rte_flow_query_count* out, rte_flow_error* error) {
  uintptr_t h = reinterpret_cast<uintptr_t>(flow);
  if (h == 0 || h > capacity_ || !rules_[h - 1].live)
    return flow_refuse(error, EINVAL, RTE_FLOW_ERROR_TYPE_HANDLE, flow, "no such rule");
  const Rule& r = rules_[h - 1];
  if (!r.spec.count) return flow_refuse(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ACTION, nullptr, "rule has no COUNT");
  out->hits_set = 1;
  out->bytes_set = 1;
  out->hits = r.hits.load(std::memory_order_relaxed);
  out->bytes = r.bytes.load(std::memory_order_relaxed);
  return 0;
}

int NicModel::get_aged_flows(uint16_t, void** contexts, uint32_t n, rte_flow_error*) {
  // Transfer rules share one switch domain: one aged list for all ports.
  uint32_t got = 0;
  uint64_t v;
  while (got < n && rte_ring_sc_dequeue_elem(aged_, &v, sizeof v) == 0)
    contexts[got++] = reinterpret_cast<void*>(static_cast<uintptr_t>(v));
  return static_cast<int>(got);
}

// --- lcore side ----------------------------------------------------------------

namespace {
uint32_t key_hash(uint16_t port, const FiveTuple& k) {
  uint32_t h = mix32(k.src ^ 0x9e3779b9U);
  h = mix32(h ^ k.dst);
  h = mix32(h ^ (uint32_t{k.sport} << 16 | k.dport));
  return mix32(h ^ (uint32_t{k.proto} << 16 | port));
}
}  // namespace

void NicModel::link(uint32_t slot) {
  Rule& r = rules_[slot];
  r.linked = true;
  r.aged_reported = false;
  if (!r.spec.exact) {
    auto it = wildcard_.begin();
    while (it != wildcard_.end() && rules_[*it].spec.priority <= r.spec.priority) ++it;
    wildcard_.insert(it, slot);
    return;
  }
  for (uint32_t i = key_hash(r.spec.in_port, r.spec.key) & index_mask_;; i = (i + 1) & index_mask_) {
    if (index_[i] == 0) {
      index_[i] = slot + 1;
      return;
    }
  }
}

void NicModel::unlink(uint32_t slot) {
  Rule& r = rules_[slot];
  r.linked = false;
  if (!r.spec.exact) {
    for (auto it = wildcard_.begin(); it != wildcard_.end(); ++it)
      if (*it == slot) {
        wildcard_.erase(it);
        break;
      }
    return;
  }
  uint32_t i = key_hash(r.spec.in_port, r.spec.key) & index_mask_;
  while (index_[i] != slot + 1) {
    if (index_[i] == 0) return;
    i = (i + 1) & index_mask_;
  }
  // Backward-shift deletion keeps every probe chain unbroken.
  for (uint32_t j = (i + 1) & index_mask_; index_[j] != 0; j = (j + 1) & index_mask_) {
    const RuleSpec& o = rules_[index_[j] - 1].spec;
    uint32_t home = key_hash(o.in_port, o.key) & index_mask_;
    if (((j - home) & index_mask_) >= ((j - i) & index_mask_)) {
      index_[i] = index_[j];
      i = j;
    }
  }
  index_[i] = 0;
}

void NicModel::service(uint32_t now_ms) {
  // A bounded number of rule commands per call (between two rx bursts), so
  // rule churn delays insertions instead of stalling forwarding.
  uint64_t cmds[64];
  unsigned n;
  for (int round = 0;
       round < kCommandRounds && (n = rte_ring_sc_dequeue_burst_elem(commands_, cmds, sizeof(uint64_t), 64, nullptr));
       ++round) {
    for (unsigned i = 0; i < n; ++i) {
      uint32_t slot = static_cast<uint32_t>(cmds[i] & ~uint64_t{kRemove});
      if (cmds[i] & kRemove) {
        if (rules_[slot].linked) unlink(slot);
        uint64_t v = slot;
        // freed_ holds every slot at once, so it cannot be full.
        rte_ring_sp_enqueue_elem(freed_, &v, sizeof v);
      } else {
        rules_[slot].last_hit_ms = now_ms;
        link(slot);
      }
    }
  }
  age_step(now_ms);
}

void NicModel::age_step(uint32_t now_ms) {
  for (uint32_t k = 0; k < kAgeStepSlots && k < capacity_; ++k) {
    Rule& r = rules_[age_cursor_];
    age_cursor_ = age_cursor_ + 1 == capacity_ ? 0 : age_cursor_ + 1;
    if (!r.linked || !r.spec.age || r.aged_reported) continue;
    if (static_cast<int32_t>(now_ms - r.last_hit_ms) < static_cast<int32_t>(r.spec.age_ms)) continue;
    uint64_t v = reinterpret_cast<uintptr_t>(r.spec.age_context);
    if (rte_ring_sp_enqueue_elem(aged_, &v, sizeof v) != 0) return;  // control is behind: report later
    r.aged_reported = true;
    counters_.rules_aged.fetch_add(1, std::memory_order_relaxed);
  }
}

NicModel::Rule* NicModel::match(uint16_t port, const uint8_t* frame, uint32_t len, ParsedPacket& pp) {
  pp = parse_packet(frame, len);
  if (pp.status != ParseStatus::ipv4 || (pp.proto != kProtoTcp && pp.proto != kProtoUdp)) return nullptr;
  for (uint32_t slot : wildcard_) {
    Rule& r = rules_[slot];
    const RuleSpec& s = r.spec;
    if (s.in_port != port || (s.key.proto && s.key.proto != pp.proto)) continue;
    if ((pp.tcp_flags & s.tcp_flags_mask) != s.tcp_flags_spec) continue;
    if (s.raw_len && (pp.payload_len() < s.raw_len || std::memcmp(frame + pp.payload, s.raw, s.raw_len) != 0)) continue;
    return &r;
  }
  FiveTuple k{pp.src, pp.dst, pp.sport, pp.dport, pp.proto};
  for (uint32_t i = key_hash(port, k) & index_mask_; index_[i] != 0; i = (i + 1) & index_mask_) {
    Rule& r = rules_[index_[i] - 1];
    if (r.spec.in_port != port || !(r.spec.key == k)) continue;
    if (pp.proto == kProtoTcp && (pp.tcp_flags & r.spec.tcp_flags_mask) != r.spec.tcp_flags_spec) return nullptr;
    return &r;
  }
  return nullptr;
}

void NicModel::process(uint16_t port, rte_mbuf** pkts, uint16_t n, uint32_t now_ms, rte_mbuf** fwd, uint16_t* fwd_port,
                       uint16_t& n_fwd, rte_mbuf** host, uint16_t& n_host) {
  n_fwd = n_host = 0;
  counters_.rx.fetch_add(n, std::memory_order_relaxed);
  uint64_t hits = 0, punted = 0;
  for (uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = pkts[i];
    ParsedPacket pp;
    Rule* r = m->nb_segs == 1 ? match(port, rte_pktmbuf_mtod(m, uint8_t*), m->data_len, pp) : nullptr;
    // A TTL that would expire goes to software, which drops it with a reason.
    if (!r || (r->spec.dec_ttl && pp.ttl <= 1)) {
      host[n_host++] = m;
      continue;
    }
    const RuleSpec& s = r->spec;
    if (s.count) {
      r->hits.store(r->hits.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
      r->bytes.store(r->bytes.load(std::memory_order_relaxed) + m->pkt_len, std::memory_order_relaxed);
    }
    r->last_hit_ms = now_ms;
    if (s.to_host) {
      ++punted;
      host[n_host++] = m;
      continue;
    }
    uint8_t* d = rte_pktmbuf_mtod(m, uint8_t*);
    uint8_t* ip = d + pp.l3;
    uint8_t* l4 = d + pp.l4;
    bool tcp = pp.proto == kProtoTcp;
    uint8_t* l4sum = l4 + (tcp ? 16 : 6);
    // UDP checksum 0 means "none" and stays so; a computed 0 is sent as 0xffff.
    bool l4_cksum = tcp || load_be16(l4sum) != 0;
    uint16_t ipc = load_be16(ip + 10), l4c = load_be16(l4sum);
    auto set32 = [&](uint8_t* p, uint32_t v, bool pseudo) {
      uint32_t old = load_be32(p);
      store_be32(p, v);
      ipc = csum_update32(ipc, old, v);
      if (pseudo) l4c = csum_update32(l4c, old, v);
    };
    auto set16 = [&](uint8_t* p, uint16_t v) {
      uint16_t old = load_be16(p);
      store_be16(p, v);
      l4c = csum_update16(l4c, old, v);
    };
    if (s.set_mac_dst) std::memcpy(d, s.mac_dst, 6);
    if (s.set_mac_src) std::memcpy(d + 6, s.mac_src, 6);
    if (s.set_ip_src) set32(ip + 12, s.ip_src, true);
    if (s.set_ip_dst) set32(ip + 16, s.ip_dst, true);
    if (s.set_tp_src) set16(l4, s.tp_src);
    if (s.set_tp_dst) set16(l4 + 2, s.tp_dst);
    if (s.dec_ttl) {
      uint16_t old = load_be16(ip + 8);
      ip[8] = static_cast<uint8_t>(ip[8] - 1);
      ipc = csum_update16(ipc, old, load_be16(ip + 8));
    }
    store_be16(ip + 10, ipc);
    if (l4_cksum) store_be16(l4sum, !tcp && l4c == 0 ? 0xffff : l4c);
    ++hits;
    fwd_port[n_fwd] = s.out_port;
    fwd[n_fwd++] = m;
  }
  counters_.hits.fetch_add(hits, std::memory_order_relaxed);
  counters_.punted.fetch_add(punted, std::memory_order_relaxed);
  counters_.misses.fetch_add(n_host - punted, std::memory_order_relaxed);
}

}  // namespace wp::offload
