// Software NIC flow engine; see nic_model.h.
#include "offload/nic_model.h"

#include <cerrno>
#include <cstring>
#include <string>

#include "dataplane/ip/checksum.h"
#include "dataplane/ip/ipv6.h"
#include "dataplane/ip/packet.h"
#include "offload/nic_model_rule.h"

namespace wp::offload {
namespace {

constexpr uint32_t kRemove = 0x80000000u;
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

}  // namespace

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

int NicModel::validate(uint16_t, const rte_flow_attr* attr, const rte_flow_item items[],
                       const rte_flow_action actions[], rte_flow_error* error) {
  RuleSpec scratch;
  return compile_rule(attr, items, actions, error, scratch);
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
  if (compile_rule(attr, items, actions, error, r.spec) != 0) {
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
uint32_t fold(const Ipv6& a) { return static_cast<uint32_t>(a.hi ^ a.hi >> 32 ^ a.lo ^ a.lo >> 32); }
// IPv6 keys: the addresses folded to 32 bits each, then IPv4's mixing (the
// full addresses are compared on a hit).
uint32_t key_hash6(uint16_t port, const Ipv6& src, const Ipv6& dst, const FiveTuple& k) {
  return key_hash(port, {fold(src), fold(dst) ^ 0x6, k.sport, k.dport, k.proto});
}
uint32_t spec_hash(const RuleSpec& s) {
  return s.l3 == L3Match::ipv6 ? key_hash6(s.in_port, s.src6, s.dst6, s.key) : key_hash(s.in_port, s.key);
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
  for (uint32_t i = spec_hash(r.spec) & index_mask_;; i = (i + 1) & index_mask_) {
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
  uint32_t i = spec_hash(r.spec) & index_mask_;
  while (index_[i] != slot + 1) {
    if (index_[i] == 0) return;
    i = (i + 1) & index_mask_;
  }
  // Backward-shift deletion keeps every probe chain unbroken.
  for (uint32_t j = (i + 1) & index_mask_; index_[j] != 0; j = (j + 1) & index_mask_) {
    const RuleSpec& o = rules_[index_[j] - 1].spec;
    uint32_t home = spec_hash(o) & index_mask_;
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

// What a rule matches on and rewrites in one frame: IPv4, or IPv6 without
// extension headers (the IPV6 item's next header is the fixed header's), with
// a whole TCP or UDP header.
struct NicModel::Frame {
  bool ipv6 = false;
  uint16_t l3 = 0, l4 = 0, payload = 0, end = 0;
  uint8_t ttl = 0;  // or hop limit
  uint8_t tcp_flags = 0;
  FiveTuple key;    // IPv6: ports and proto
  Ipv6 src6, dst6;
  bool parse(const uint8_t* frame, uint32_t len);
};

bool NicModel::Frame::parse(const uint8_t* frame, uint32_t len) {
  const ParsedPacket pp = parse_packet(frame, len);
  if (pp.status == ParseStatus::ipv4) {
    ipv6 = false;
    l3 = pp.l3, l4 = pp.l4, payload = pp.payload, end = pp.end;
    ttl = pp.ttl, tcp_flags = pp.tcp_flags;
    key = {pp.src, pp.dst, pp.sport, pp.dport, pp.proto};
  } else if (pp.status == ParseStatus::not_ipv4 && len >= kEthHdrLen && load_be16(frame + 12) == kEtherTypeIpv6) {
    const Ipv6View v = parse_ipv6_packet(frame, len, kEthHdrLen);
    if (v.status != Ipv6Status::ok || v.ext_headers != 0) return false;
    ipv6 = true;
    l3 = v.l3, l4 = v.l4, payload = v.payload, end = v.end;
    ttl = v.hop_limit, tcp_flags = v.tcp_flags;
    key = {0, 0, v.sport, v.dport, v.proto};
    src6 = v.src, dst6 = v.dst;
  } else {
    return false;
  }
  return key.proto == kProtoTcp || key.proto == kProtoUdp;
}

NicModel::Rule* NicModel::match(uint16_t port, const uint8_t* frame, uint32_t len, Frame& f) {
  if (!f.parse(frame, len)) return nullptr;
  const L3Match l3 = f.ipv6 ? L3Match::ipv6 : L3Match::ipv4;
  for (uint32_t slot : wildcard_) {
    Rule& r = rules_[slot];
    const RuleSpec& s = r.spec;
    if (s.in_port != port || (s.l3 != L3Match::any && s.l3 != l3) || (s.key.proto && s.key.proto != f.key.proto)) continue;
    if ((f.tcp_flags & s.tcp_flags_mask) != s.tcp_flags_spec) continue;
    if (s.raw_len && (f.end - f.payload < s.raw_len || std::memcmp(frame + f.payload, s.raw, s.raw_len) != 0)) continue;
    return &r;
  }
  const uint32_t h = f.ipv6 ? key_hash6(port, f.src6, f.dst6, f.key) : key_hash(port, f.key);
  for (uint32_t i = h & index_mask_; index_[i] != 0; i = (i + 1) & index_mask_) {
    Rule& r = rules_[index_[i] - 1];
    const RuleSpec& s = r.spec;
    if (s.in_port != port || s.l3 != l3 || !(s.key == f.key)) continue;
    if (f.ipv6 && (s.src6 != f.src6 || s.dst6 != f.dst6)) continue;
    if (f.key.proto == kProtoTcp && (f.tcp_flags & s.tcp_flags_mask) != s.tcp_flags_spec) return nullptr;
    return &r;
  }
  return nullptr;
}

namespace {

// The rule's header rewrites on one frame. IPv4: the header checksum and the
// L4 checksum (pseudo-header) follow each change. IPv6: no header checksum;
// addresses and ports move the L4 checksum, the hop limit does not (it is not
// in the pseudo-header). A UDP checksum of 0 ("none", IPv4) stays 0; a
// computed 0 is sent as 0xffff.
void rewrite(const RuleSpec& s, uint8_t* d, const NicModel::Frame& f) {
  uint8_t* ip = d + f.l3;
  uint8_t* l4 = d + f.l4;
  const bool tcp = f.key.proto == kProtoTcp;
  uint8_t* l4sum = l4 + (tcp ? 16 : 6);
  const bool l4_cksum = tcp || load_be16(l4sum) != 0;
  uint16_t ipc = f.ipv6 ? 0 : load_be16(ip + 10), l4c = load_be16(l4sum);
  auto set32 = [&](uint8_t* p, uint32_t v) {
    uint32_t old = load_be32(p);
    store_be32(p, v);
    ipc = csum_update32(ipc, old, v);
    l4c = csum_update32(l4c, old, v);
  };
  auto set128 = [&](uint8_t* p, const Ipv6& v) {
    uint8_t now[16];
    store_ipv6(now, v);
    for (int w = 0; w < 16; w += 4) l4c = csum_update32(l4c, load_be32(p + w), load_be32(now + w));
    std::memcpy(p, now, 16);
  };
  auto set16 = [&](uint8_t* p, uint16_t v) {
    uint16_t old = load_be16(p);
    store_be16(p, v);
    l4c = csum_update16(l4c, old, v);
  };
  if (s.set_mac_dst) std::memcpy(d, s.mac_dst, 6);
  if (s.set_mac_src) std::memcpy(d + 6, s.mac_src, 6);
  if (s.set_ip_src) set32(ip + 12, s.ip_src);
  if (s.set_ip_dst) set32(ip + 16, s.ip_dst);
  if (s.set_ip6_src) set128(ip + 8, s.ip6_src);
  if (s.set_ip6_dst) set128(ip + 24, s.ip6_dst);
  if (s.set_tp_src) set16(l4, s.tp_src);
  if (s.set_tp_dst) set16(l4 + 2, s.tp_dst);
  for (uint32_t b = s.clear_from; b < s.clear_from + s.clear_bits; ++b)  // no checksum covers them (IPv6 only)
    d[b / 8] = static_cast<uint8_t>(d[b / 8] & ~(0x80u >> (b % 8)));
  if (s.dec_ttl && f.ipv6) {
    --ip[7];
  } else if (s.dec_ttl) {
    uint16_t old = load_be16(ip + 8);
    ip[8] = static_cast<uint8_t>(ip[8] - 1);
    ipc = csum_update16(ipc, old, load_be16(ip + 8));
  }
  if (!f.ipv6) store_be16(ip + 10, ipc);
  if (l4_cksum) store_be16(l4sum, !tcp && l4c == 0 ? 0xffff : l4c);
}

}  // namespace

void NicModel::process(uint16_t port, rte_mbuf** pkts, uint16_t n, uint32_t now_ms, rte_mbuf** fwd, uint16_t* fwd_port,
                       uint16_t& n_fwd, rte_mbuf** host, uint16_t& n_host) {
  n_fwd = n_host = 0;
  counters_.rx.fetch_add(n, std::memory_order_relaxed);
  uint64_t hits = 0, punted = 0;
  for (uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = pkts[i];
    Frame f;
    Rule* r = m->nb_segs == 1 ? match(port, rte_pktmbuf_mtod(m, uint8_t*), m->data_len, f) : nullptr;
    // A TTL (hop limit) that would expire goes to software, which drops it with a reason.
    if (!r || (r->spec.dec_ttl && f.ttl <= 1)) {
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
    rewrite(s, rte_pktmbuf_mtod(m, uint8_t*), f);
    ++hits;
    fwd_port[n_fwd] = s.out_port;
    fwd[n_fwd++] = m;
  }
  counters_.hits.fetch_add(hits, std::memory_order_relaxed);
  counters_.punted.fetch_add(punted, std::memory_order_relaxed);
  counters_.misses.fetch_add(n_host - punted, std::memory_order_relaxed);
}

}  // namespace wp::offload
