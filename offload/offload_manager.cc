// Offload manager; see offload_manager.h.
#include "offload/offload_manager.h"

#include <rte_errno.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "dataplane/control/waypoint6_addr.h"

namespace wp::offload {
namespace {

constexpr uint32_t kEventBurst = 64;
constexpr uint16_t kEthHeader = 14;  // NIC byte counts are frames; sessions count IP bytes

std::string hex(const SessionUuid& u) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (uint8_t b : u) s += d[b >> 4], s += d[b & 15];
  return s;
}

}  // namespace

namespace {
bool has_peer_waypoints6(const RouterModel& m) {
  return std::any_of(m.peers.begin(), m.peers.end(), [](const PeerModel& p) { return !p.waypoints6.empty(); });
}

// Offloaded now: every install less every way out (a rerouted session that is
// offloaded again counts once more in sessions_offloaded).
uint64_t sessions_active(const OffloadCounters& c) {
  return c.sessions_offloaded.load() - c.closed.load() - c.evicted.load() - c.aged.load() - c.rerouted.load();
}
}  // namespace

size_t OffloadManager::UuidHash::operator()(const SessionUuid& u) const {
  uint64_t a, b;
  std::memcpy(&a, u.data(), 8);
  std::memcpy(&b, u.data() + 8, 8);
  return a ^ (b * 0x9e3779b97f4a7c15ULL);
}

OffloadManager::OffloadManager(DataplaneShared& shared, FlowPort& port, OffloadOptions options)
    : shared_(shared), port_(port), opt_(options) {
  if (opt_.max_rules < 2) opt_.max_rules = 2;
  if (opt_.poll_ms == 0) opt_.poll_ms = 100;
  uint32_t sessions = opt_.max_rules / 2;
  entries_.resize(sessions);
  free_.reserve(sessions);
  for (uint32_t i = sessions; i-- > 0;) free_.push_back(i);
  by_uuid_.reserve(sessions);
  idle_candidates_.reserve(sessions);
}

OffloadManager::~OffloadManager() {
  for (rte_ring* r : feedback_) rte_ring_free(r);
  for (rte_ring* r : feedback6_) rte_ring_free(r);
}

bool OffloadManager::init(uint32_t ring_size, int socket, std::string& error) {
  // `created` is of no use here (on_event): a session is offloaded once established.
  const uint8_t kinds = kAllEventKinds & ~event_bit(SessionEventKind::created);
  if (!shared_.enable_events(EventConsumer::offload, ring_size, socket, error, kinds)) return false;
  static std::atomic<uint32_t> serial{0};
  uint32_t id = serial.fetch_add(1);
  for (uint32_t w = 0; w < shared_.workers; ++w) {
    std::string name = "offl_fb" + std::to_string(id) + "_" + std::to_string(w);
    rte_ring* r =
        rte_ring_create_elem(name.c_str(), sizeof(OffloadFeedback), ring_size, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (!r) return error = "offload: cannot create feedback ring " + name + ": " + rte_strerror(rte_errno), false;
    feedback_.push_back(r);
  }
  // Routed IPv6 sessions: only a router that routes IPv6 has them (Route6Step's table).
  const RouterModel* m = shared_.model.load(std::memory_order_acquire);
  if (!m || !m->ipv6_routing) return true;
  if (!shared_.enable_offload_events6(ring_size, socket, error)) return error = "offload: " + error, false;
  for (uint32_t w = 0; w < shared_.workers; ++w) {
    std::string name = "offl_fb6_" + std::to_string(id) + "_" + std::to_string(w);
    rte_ring* r =
        rte_ring_create_elem(name.c_str(), sizeof(OffloadFeedback6), ring_size, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (!r) return error = "offload: cannot create feedback ring " + name + ": " + rte_strerror(rte_errno), false;
    feedback6_.push_back(r);
  }
  return true;
}

bool OffloadManager::install_port_rules(std::string& error) {
  const RouterModel& m = *shared_.model.load(std::memory_order_acquire);
  for (const InterfaceModel& itf : m.interfaces) {
    if (std::find(rule_ports_.begin(), rule_ports_.end(), itf.port_id) == rule_ports_.end())
      rule_ports_.push_back(itf.port_id);
    if (!itf.wan) continue;
    for (uint8_t proto : {kProtoUdp, kProtoTcp}) {
      FlowRule r;
      build_cookie_punt_rule(itf.port_id, proto, r);
      rte_flow_error e{};
      rte_flow* f = port_.create(itf.port_id, &r.attr, r.items.data(), r.actions.data(), &e);
      if (!f) {
        error = "offload: " + std::string(port_.name()) + " port " + itf.device + " refuses the SVR cookie rule (" +
                (proto == kProtoTcp ? "tcp" : "udp") + "): " + flow_error_text(-rte_errno, e);
        return false;
      }
      port_rules_.push_back({itf.port_id, f});
    }
    if (waypoint6_own(m, static_cast<int>(&itf - m.interfaces.data())) && has_peer_waypoints6(m))
      install_punt6_rules(itf.port_id);
  }
  return true;
}

// IPv6 waypoint traffic's cookie punt rules (a port refusing them offloads no session between
// IPv6 waypoints: punt6_ports_; its IPv4 and routed IPv6 sessions are not concerned).
void OffloadManager::install_punt6_rules(uint16_t port) {
  rte_flow* f[2] = {nullptr, nullptr};
  for (int i = 0; i < 2; ++i) {
    FlowRule r;
    build_cookie_punt_rule(port, i ? kProtoTcp : kProtoUdp, r, true);
    rte_flow_error e{};
    f[i] = port_.create(port, &r.attr, r.items.data(), r.actions.data(), &e);
    if (!f[i]) {
      counters_.rules_refused.fetch_add(1, std::memory_order_relaxed);
      if (i == 1) port_.destroy(port, f[0], &e);
      return;
    }
  }
  for (rte_flow* rule : f) port_rules_.push_back({port, rule});
  punt6_ports_.push_back(port);
}

bool OffloadManager::eligible(const Session& s) {
  if ((s.original.proto != kProtoTcp && s.original.proto != kProtoUdp) || (s.flags & (kFinFwd | kFinRev | kRst))) {
    counters_.ineligible_state.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  if (s.app_slot == kAppDenied) {  // refused for its application: the worker drops its packets
    counters_.ineligible_policy.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  return policy_allows(s.security, s.crypto);
}

bool OffloadManager::policy_allows(int security, uint8_t crypto) {
  const RouterModel& m = *shared_.model.load(std::memory_order_acquire);
  if (security < 0 || static_cast<size_t>(security) >= m.security.size()) {
    counters_.ineligible_policy.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  const SecurityModel& sec = m.security[static_cast<size_t>(security)];
  bool crypto_free = !sec.encrypt || (sec.adaptive && (crypto & kCryptoAdaptiveSkip));
  if (!crypto_free || sec.hmac_every_packet || (crypto & kCryptoHmacAll)) {  // trailer + seq on every packet
    counters_.ineligible_policy.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  return true;
}

namespace {
// How an SVR session's legs relate (docs/ipv6.md § Offload of IPv6 sessions between IPv6 waypoints).
enum class Legs : uint8_t {
  ipv4,         // IPv4 on both: this ring's
  waypoint6,    // an IPv6 session between IPv6 waypoints: posted in its real form on the IPv6 ring
  translated,   // IPv6 over IPv4 waypoints or IPv4 over IPv6 waypoints: the family changes on one leg
};
Legs legs_of(const Session& s) {
  const bool lan6 = s.out_fwd.iface == kIfaceSvr6 || s.out_rev.iface == kIfaceSvr6;
  // On IPv6 waypoints (svr/waypoint6.h) the WAN leg holds stand-in addresses a rule would put on the wire.
  const bool wan6 = is_waypoint6_standin(s.out_fwd.tuple.dst) || is_waypoint6_standin(s.out_rev.tuple.dst);
  return lan6 && wan6 ? Legs::waypoint6 : lan6 || wan6 ? Legs::translated : Legs::ipv4;
}
}  // namespace

uint32_t OffloadManager::poll(uint32_t now_ms) {
  uint32_t handled = 0;
  SessionEvent evs[kEventBurst];
  for (uint32_t w = 0; w < shared_.workers; ++w) {
    rte_ring* r = shared_.event_ring(EventConsumer::offload, w);
    if (!r) continue;
    unsigned n = rte_ring_sc_dequeue_burst_elem(r, evs, sizeof(SessionEvent), kEventBurst, nullptr);
    for (unsigned i = 0; i < n; ++i) on_event(evs[i], now_ms);
    handled += n;
  }
  counters_.events.fetch_add(handled, std::memory_order_relaxed);
  if (!feedback6_.empty()) handled += poll_events6(now_ms);
  if (static_cast<int32_t>(now_ms - last_poll_ms_) >= static_cast<int32_t>(opt_.poll_ms)) {
    last_poll_ms_ = now_ms;
    poll_counters(now_ms);
    poll_aged(now_ms);
  }
  // Not paced by the poll period: a resolved neighbor is offloaded at once
  // (a short transfer is over within a period). Usually empty.
  if ((!waiting_.empty() || !waiting6_.empty() || !waiting_waypoint6_.empty()) && now_ms != last_retry_ms_) {
    last_retry_ms_ = now_ms;  // at most once a millisecond: the waiting may never resolve
    retry_waiting(waiting_, now_ms);
    retry_waiting(waiting6_, now_ms);
    retry_waiting(waiting_waypoint6_, now_ms);
  }
  return handled;
}

void OffloadManager::run(const std::atomic<bool>& running) {
  uint32_t idle = 0;
  while (running.load(std::memory_order_relaxed)) {
    if (poll(dataplane_now_ms()) != 0) {
      idle = 0;
      continue;
    }
    if (++idle > 16) usleep(idle > 256 ? 1000 : 100);
  }
}

void OffloadManager::on_event(const SessionEvent& ev, uint32_t now_ms) {
  if (const Legs legs = legs_of(ev.session); legs != Legs::ipv4) [[unlikely]] {
    // No rule can translate between families (RFC 7915: another header, the L4 checksum over
    // another pseudo-header): those stay in software. Its IPv6 event is the other's.
    if (legs == Legs::translated && ev.kind == SessionEventKind::established)
      counters_.ineligible_translated.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  switch (ev.kind) {
    case SessionEventKind::established:
      if (by_uuid_.count(ev.session.uuid)) break;  // held already (an HA re-offload: HaFollower::reoffload)
      counters_.established.fetch_add(1, std::memory_order_relaxed);
      if (ev.session.app_slot < kAppDenied) {  // still being classified: after the verdict
        counters_.classifying.fetch_add(1, std::memory_order_relaxed);
        if (classifying_.size() < opt_.max_rules) classifying_.insert(ev.session.uuid);
        break;
      }
      if (eligible(ev.session) && offload(ev.session, ev.worker, now_ms) == Offloaded::neighbor_missing)
        wait_for_neighbor(ev, now_ms);
      break;
    case SessionEventKind::closed:
      classifying_.erase(ev.session.uuid);
      std::erase_if(waiting_, [&](const Waiting& w) { return w.session.uuid == ev.session.uuid; });
      on_closed(ev, now_ms);
      break;
    case SessionEventKind::update:
      if (!classifying_.empty() && classifying_.count(ev.session.uuid)) {
        classified(ev, now_ms);
        break;
      }
      reroute(ev, now_ms);
      break;
    case SessionEventKind::created: break;
  }
}

template <typename Event>
void OffloadManager::on_closed(const Event& ev, uint32_t now_ms) {
  auto it = by_uuid_.find(ev.session.uuid);
  if (it == by_uuid_.end()) {
    if (auto r = retired_.find(ev.session.uuid); r != retired_.end()) {
      if (ev.reason != SessionEndReason::handed_over) record_closed(r->second, ev);
      retired_.erase(r);
    }
    return;
  }
  uint32_t idx = it->second;
  read_counters(entries_[idx], now_ms);
  // Handed back to the HA peer: its rules go, the session lives on there (not a closed record).
  if (ev.reason != SessionEndReason::handed_over) record_closed(entries_[idx], ev);
  counters_.closed.fetch_add(1, std::memory_order_relaxed);
  remove(idx, false, now_ms);
}
template void OffloadManager::on_closed(const Session6Event& ev, uint32_t now_ms);
template void OffloadManager::on_closed(const Waypoint6Event& ev, uint32_t now_ms);

namespace {
bool same_leg(const SideOut& a, const SideOut& b) {
  return a.tuple == b.tuple && a.next_hop == b.next_hop && a.iface == b.iface && a.peer == b.peer;
}
// Whether the session may have rules for its new legs at once: an IPv4 one that handshakes
// again is offloaded when it is announced established; a routed IPv6 one stays established.
bool established(const Session& s) { return s.flags & kEstablished; }
bool established(const Session6& s) { return s.flags & kReverseSeen; }
}  // namespace

bool OffloadManager::same_legs(const Entry& e, const Session& s) {
  return same_leg(e.legs[0], s.out_fwd) && same_leg(e.legs[1], s.out_rev);
}

bool OffloadManager::same_legs(const Entry& e, const Session6& s) {
  return std::equal(s.next_hop, s.next_hop + 2, e.next_hop6) && std::equal(s.iface, s.iface + 2, e.iface6);
}

bool OffloadManager::same_legs(const Entry& e, const Waypoint6Session& s) {
  return same_legs(e, static_cast<const Session6&>(s)) && s.wan == e.wan6;
}

// An offloaded session whose legs changed under its rules (a FIB change moved
// its next hop, a path migration its WAN leg): the NIC would still send its
// packets to the old next hop. The rules go, their counts posted to the
// worker first; an established session gets rules for its new legs at once.
// Between the two, its packets reach the worker, which already forwards them
// to the new next hop (its update came after the move); while the new next
// hop's MAC is unresolved they stay there (neighbor_missing, retried).
template <typename Event>
void OffloadManager::reroute(const Event& ev, uint32_t now_ms) {
  auto it = by_uuid_.find(ev.session.uuid);
  if (it == by_uuid_.end()) return;
  const uint32_t idx = it->second;
  Entry& e = entries_[idx];
  if (same_legs(e, ev.session)) return;
  read_counters(e, now_ms);
  post_feedback(e, OffloadFeedbackKind::counters);
  const bool ipv6 = e.ipv6, waypoint6 = e.waypoint6;
  remove(idx, false, now_ms);
  counters_.rerouted.fetch_add(1, std::memory_order_relaxed);
  if (ipv6) counters_.sessions6_rerouted.fetch_add(1, std::memory_order_relaxed);
  if (waypoint6) counters_.waypoint6_rerouted.fetch_add(1, std::memory_order_relaxed);
  if (!established(ev.session)) return;
  if (offload(ev.session, ev.worker, now_ms) == Offloaded::neighbor_missing) wait_for_neighbor(ev, now_ms);
}
template void OffloadManager::reroute(const Session6Event& ev, uint32_t now_ms);
template void OffloadManager::reroute(const Waypoint6Event& ev, uint32_t now_ms);

// An update of a session that was established while being classified: once the verdict is
// in (the worker posts an update with it), the session is offloaded as if it were just
// established; one the verdict refused stays in software (its packets are dropped there).
void OffloadManager::classified(const SessionEvent& ev, uint32_t now_ms) {
  if (ev.session.app_slot < kAppDenied) return;  // a periodic update: still classifying
  classifying_.erase(ev.session.uuid);
  if (!(ev.session.flags & kEstablished) || !eligible(ev.session)) return;
  Offloaded o = offload(ev.session, ev.worker, now_ms);
  if (o == Offloaded::installed) counters_.classified_offloaded.fetch_add(1, std::memory_order_relaxed);
  if (o == Offloaded::neighbor_missing) wait_for_neighbor(ev, now_ms);
}

void OffloadManager::wait_for_neighbor(const SessionEvent& ev, uint32_t now_ms) {
  counters_.neighbor_missing.fetch_add(1, std::memory_order_relaxed);
  if (waiting_.size() >= kMaxWaiting) {
    counters_.neighbor_wait_expired.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  waiting_.push_back({ev.session, ev.worker, now_ms});
}

template <typename W>
void OffloadManager::retry_waiting(std::vector<W>& waiting, uint32_t now_ms) {
  std::erase_if(waiting, [&](const W& w) {
    Offloaded o = offload(w.session, w.worker, now_ms);
    if (o != Offloaded::neighbor_missing) {
      if (o == Offloaded::installed) counters_.neighbor_waited.fetch_add(1, std::memory_order_relaxed);
      return true;
    }
    if (now_ms - w.since_ms < kNeighborWaitMs) return false;
    counters_.neighbor_wait_expired.fetch_add(1, std::memory_order_relaxed);
    return true;
  });
}

RuleBuildStatus OffloadManager::build(const Session& s, Dir d, const RouterModel& m, void* context,
                                      FlowRule& r) const {
  return build_flow_rule(s, d, m, shared_.neighbors, shared_.timeouts, context, r);
}

RuleBuildStatus OffloadManager::build(const Session6& s, Dir d, const RouterModel& m, void* context,
                                      FlowRule& r) const {
  return build_flow_rule6(s, d, m, shared_.neighbors6, shared_.timeouts, context, r);
}

RuleBuildStatus OffloadManager::build(const Waypoint6Session& s, Dir d, const RouterModel& m, void* context,
                                      FlowRule& r) const {
  return build_flow_rule_waypoint6(s, d, m, shared_.neighbors6, shared_.timeouts, context, r);
}

// What the entry keeps of the session: its key for the feedback, the legs the
// rules were built from (a reroute compares them).
void OffloadManager::describe(Entry& e, const Session& s, const Timeouts& t) {
  e.original = s.original;
  e.key = s.key_a();
  e.age_ms = age_timeout_s(s, t) * 1000;
  e.legs[0] = s.out_fwd;
  e.legs[1] = s.out_rev;
}

void OffloadManager::describe(Entry& e, const Session6& s, const Timeouts& t) {
  e.ipv6 = true;
  e.original6 = s.original;
  e.age_ms = age_timeout_s(s, t) * 1000;
  std::copy_n(s.next_hop, 2, e.next_hop6);
  std::copy_n(s.iface, 2, e.iface6);
}

void OffloadManager::describe(Entry& e, const Waypoint6Session& s, const Timeouts& t) {
  describe(e, static_cast<const Session6&>(s), t);
  e.waypoint6 = true;
  e.wan6 = s.wan;
  e.age_ms = age_timeout_s(s, t) * 1000;
}

template <typename S>
bool OffloadManager::next_hop_unresolved(const S& s, const RouterModel& m) const {
  FlowRule probe;
  for (Dir d : {Dir::forward, Dir::reverse})
    if (build(s, d, m, nullptr, probe) == RuleBuildStatus::neighbor_missing) return true;
  return false;
}

template <typename S>
OffloadManager::Offloaded OffloadManager::offload(const S& s, uint16_t worker, uint32_t now_ms) {
  if (by_uuid_.count(s.uuid)) return Offloaded::installed;
  const RouterModel& m = *shared_.model.load(std::memory_order_acquire);
  const bool full = free_.empty() || rules_ + 2 > opt_.max_rules;
  // Room is made by evicting an idle session: never for one whose rules
  // cannot be built yet (it would be evicted again on every retry).
  if (full && next_hop_unresolved(s, m)) return Offloaded::neighbor_missing;
  if (full && !make_room(now_ms)) {
    counters_.budget_full.fetch_add(1, std::memory_order_relaxed);
    return Offloaded::stays_in_software;
  }
  uint32_t idx = free_.back();
  const uint32_t gen = entries_[idx].gen;
  FlowRule rule[2];
  for (int d = 0; d < 2; ++d) {
    RuleBuildStatus st = build(s, static_cast<Dir>(d), m, context_of(idx, gen), rule[d]);
    if (st == RuleBuildStatus::neighbor_missing) return Offloaded::neighbor_missing;
    if (st != RuleBuildStatus::ok) {
      counters_.ineligible_state.fetch_add(1, std::memory_order_relaxed);
      return Offloaded::stays_in_software;
    }
  }
  rte_flow* f[2] = {nullptr, nullptr};
  for (int d = 0; d < 2; ++d) {
    rte_flow_error err{};
    f[d] = port_.create(rule[d].ingress_port, &rule[d].attr, rule[d].items.data(), rule[d].actions.data(), &err);
    if (!f[d]) {
      counters_.rules_refused.fetch_add(1, std::memory_order_relaxed);
      if (d == 1) {
        port_.destroy(rule[0].ingress_port, f[0], &err);
        counters_.rules_removed.fetch_add(1, std::memory_order_relaxed);
      }
      return Offloaded::stays_in_software;
    }
    counters_.rules_installed.fetch_add(1, std::memory_order_relaxed);
  }
  free_.pop_back();
  Entry& e = entries_[idx];
  e = Entry{};
  e.in_use = true;
  e.gen = gen;
  e.uuid = s.uuid;
  describe(e, s, shared_.timeouts);
  e.worker = worker;
  e.active_ms = now_ms;
  for (int d = 0; d < 2; ++d) {
    e.rule[d] = f[d];
    e.port[d] = rule[d].ingress_port;
  }
  by_uuid_.emplace(s.uuid, idx);
  rules_ += 2;
  counters_.sessions_offloaded.fetch_add(1, std::memory_order_relaxed);
  if (e.ipv6) counters_.sessions6_offloaded.fetch_add(1, std::memory_order_relaxed);
  if (e.waypoint6) counters_.waypoint6_offloaded.fetch_add(1, std::memory_order_relaxed);
  return Offloaded::installed;
}
template OffloadManager::Offloaded OffloadManager::offload(const Session& s, uint16_t worker, uint32_t now_ms);
template OffloadManager::Offloaded OffloadManager::offload(const Session6& s, uint16_t worker, uint32_t now_ms);
template OffloadManager::Offloaded OffloadManager::offload(const Waypoint6Session& s, uint16_t worker,
                                                           uint32_t now_ms);

// Frees one session's rules for a newcomer: the least active offloaded
// session that saw no packet for at least one poll period.
bool OffloadManager::make_room(uint32_t now_ms) {
  while (!idle_candidates_.empty()) {
    uint32_t idx = idle_candidates_.back();
    idle_candidates_.pop_back();
    Entry& e = entries_[idx];
    if (!e.in_use) continue;
    read_counters(e, now_ms);
    if (static_cast<int32_t>(now_ms - e.active_ms) < static_cast<int32_t>(opt_.poll_ms)) continue;
    counters_.evicted.fetch_add(1, std::memory_order_relaxed);
    remove(idx, true, now_ms);
    return true;
  }
  return false;
}

// Reads both COUNTs; activity time moves when either grew.
void OffloadManager::read_counters(Entry& e, uint32_t now_ms) {
  for (int d = 0; d < 2; ++d) {
    rte_flow_query_count q{};
    rte_flow_error err{};
    if (port_.query_count(e.port[d], e.rule[d], &q, &err) != 0) {
      counters_.query_failed.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    if (q.hits > e.nic_packets[d]) e.active_ms = now_ms;
    e.nic_packets[d] = q.hits;
    e.nic_bytes[d] = q.bytes;
  }
}

// Posts what the worker has not been told yet; false when its ring is full
// (the growth stays pending for the next poll).
bool OffloadManager::post_feedback(Entry& e, OffloadFeedbackKind kind) {
  uint64_t packets[2], bytes[2];
  bool any = false;
  for (int d = 0; d < 2; ++d) {
    packets[d] = e.nic_packets[d] - e.posted_packets[d];
    uint64_t frame_bytes = e.nic_bytes[d] - e.posted_bytes[d];
    bytes[d] = frame_bytes - std::min(frame_bytes, packets[d] * kEthHeader);
    any = any || packets[d];
  }
  if (!any && kind == OffloadFeedbackKind::counters) return true;
  // The same record for either family; only the key and the ring differ.
  auto post = [&](auto fb, rte_ring* ring) {
    fb.kind = kind;
    fb.uuid = e.uuid;
    std::copy_n(packets, 2, fb.packets);
    std::copy_n(bytes, 2, fb.bytes);
    return rte_ring_sp_enqueue_elem(ring, &fb, sizeof fb);
  };
  int rc;
  if (e.ipv6) {
    OffloadFeedback6 fb{};
    fb.key = e.original6;
    rc = post(fb, feedback6_[e.worker]);
  } else {
    OffloadFeedback fb{};
    fb.key = e.key;
    rc = post(fb, feedback_[e.worker]);
  }
  if (rc != 0) {
    counters_.feedback_deferred.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  for (int d = 0; d < 2; ++d) {
    e.posted_packets[d] = e.nic_packets[d];
    e.posted_bytes[d] = e.nic_bytes[d];
  }
  counters_.feedback_posted.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void OffloadManager::remove(uint32_t idx, bool final_feedback, uint32_t now_ms, bool aged) {
  Entry& e = entries_[idx];
  // Packets the NIC forwarded after the last read belong to the session too.
  if (final_feedback) {
    read_counters(e, now_ms);
    post_feedback(e, OffloadFeedbackKind::counters);
  }
  for (int d = 0; d < 2; ++d) {
    rte_flow_error err{};
    if (e.rule[d] && port_.destroy(e.port[d], e.rule[d], &err) == 0)
      counters_.rules_removed.fetch_add(1, std::memory_order_relaxed);
  }
  rules_ -= 2;
  if (final_feedback || aged) retire(e);
  by_uuid_.erase(e.uuid);
  e.in_use = false;
  ++e.gen;  // stale AGE contexts of this slot no longer match
  free_.push_back(idx);
}

void OffloadManager::poll_counters(uint32_t now_ms) {
  idle_candidates_.clear();
  for (uint32_t i = 0; i < entries_.size(); ++i) {
    Entry& e = entries_[i];
    if (!e.in_use) continue;
    read_counters(e, now_ms);
    post_feedback(e, OffloadFeedbackKind::counters);
    if (static_cast<int32_t>(now_ms - e.active_ms) >= static_cast<int32_t>(opt_.poll_ms)) idle_candidates_.push_back(i);
  }
  // make_room pops from the back: least recently active last.
  std::sort(idle_candidates_.begin(), idle_candidates_.end(),
            [this](uint32_t a, uint32_t b) { return entries_[a].active_ms > entries_[b].active_ms; });
}

void OffloadManager::poll_aged(uint32_t now_ms) {
  void* ctx[64];
  for (uint16_t p : rule_ports_) {
    rte_flow_error err{};
    int n;
    while ((n = port_.get_aged_flows(p, ctx, 64, &err)) > 0) {
      for (int i = 0; i < n; ++i) {
        uint64_t v = reinterpret_cast<uintptr_t>(ctx[i]) - 1;
        uint32_t idx = static_cast<uint32_t>(v), gen = static_cast<uint32_t>(v >> 32);
        if (idx >= entries_.size() || !entries_[idx].in_use || entries_[idx].gen != gen) continue;
        Entry& e = entries_[idx];
        read_counters(e, now_ms);
        // AGE is per rule: one idle direction (a one-way stream) is not an
        // idle session. The last rule to go idle reports the session; the
        // worker's own sweep is the backstop for rules aged twice.
        if (static_cast<int32_t>(now_ms - e.active_ms) + static_cast<int32_t>(opt_.poll_ms) <
            static_cast<int32_t>(e.age_ms))
          continue;
        // The worker ends the session (closed event); if the ring is full it
        // ages the session by itself within its sweep.
        post_feedback(e, OffloadFeedbackKind::aged);
        counters_.aged.fetch_add(1, std::memory_order_relaxed);
        remove(idx, false, now_ms, true);
      }
      if (n < 64) break;
    }
  }
}

void OffloadManager::retire(const Entry& e) {
  Retired r{e.ipv6, e.original, e.original6, {}, {}};
  for (int d = 0; d < 2; ++d) r.nic_packets[d] = e.nic_packets[d], r.nic_bytes[d] = e.nic_bytes[d];
  if (retired_.emplace(e.uuid, r).second) retired_order_.push_back(e.uuid);
  while (retired_order_.size() > kRetiredKept) {
    retired_.erase(retired_order_.front());
    retired_order_.pop_front();
  }
}

// The session's counters already hold everything the NIC forwarded (posted
// before its rules went away).
template <typename Event>
void OffloadManager::record_closed(const Retired& ret, const Event& ev) {
  OffloadedRecord r{};
  r.uuid = ev.session.uuid;
  r.ipv6 = ret.ipv6;
  r.original = ret.original;
  r.original6 = ret.original6;
  r.reason = ev.reason;
  for (int d = 0; d < 2; ++d) {
    r.packets[d] = ev.session.packets[d];
    r.bytes[d] = ev.session.bytes[d];
    r.nic_packets[d] = ret.nic_packets[d];
    r.nic_bytes[d] = ret.nic_bytes[d] - std::min(ret.nic_bytes[d], ret.nic_packets[d] * kEthHeader);
  }
  keep_closed(r);
}

template <typename Event>
void OffloadManager::record_closed(const Entry& e, const Event& ev) {
  OffloadedRecord r{};
  r.uuid = e.uuid;
  r.ipv6 = e.ipv6;
  r.original = e.original;
  r.original6 = e.original6;
  r.reason = ev.reason;
  for (int d = 0; d < 2; ++d) {
    uint64_t late_packets = e.nic_packets[d] - e.posted_packets[d];
    uint64_t late_frame_bytes = e.nic_bytes[d] - e.posted_bytes[d];
    r.packets[d] = ev.session.packets[d] + late_packets;
    r.bytes[d] = ev.session.bytes[d] + late_frame_bytes - std::min(late_frame_bytes, late_packets * kEthHeader);
    r.nic_packets[d] = e.nic_packets[d];
    r.nic_bytes[d] = e.nic_bytes[d] - std::min(e.nic_bytes[d], e.nic_packets[d] * kEthHeader);
  }
  keep_closed(r);
}

void OffloadManager::keep_closed(const OffloadedRecord& r) {
  std::lock_guard lock(closed_mu_);
  closed_.push_back(r);
  if (closed_.size() > kClosedKept) closed_.pop_front();
}

std::vector<OffloadedRecord> OffloadManager::recent_closed() const {
  std::lock_guard lock(closed_mu_);
  return {closed_.begin(), closed_.end()};
}

std::optional<OffloadManager::NicCounts> OffloadManager::nic_counts(const SessionUuid& uuid) const {
  auto it = by_uuid_.find(uuid);
  if (it == by_uuid_.end()) return std::nullopt;
  const Entry& e = entries_[it->second];
  NicCounts c{};
  for (int d = 0; d < 2; ++d) c.packets[d] = e.nic_packets[d], c.bytes[d] = e.nic_bytes[d];
  return c;
}

void OffloadManager::shutdown() {
  for (uint32_t i = 0; i < entries_.size(); ++i)
    if (entries_[i].in_use) remove(i, false, dataplane_now_ms());
  for (auto& [p, f] : port_rules_) {
    rte_flow_error err{};
    port_.destroy(p, f, &err);
  }
  port_rules_.clear();
}

std::string OffloadManager::metrics(const std::string& labels) const {
  std::string o;
  auto family = [&](const std::string& name, const char* type, const std::string& help, uint64_t value) {
    o += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + "{" + labels + "} " +
         std::to_string(value) + "\n";
  };
  const auto& c = counters_;
  family("waypoint_offload_rules_active", "gauge", "Flow rules installed in the NIC now.",
         c.rules_installed.load() - c.rules_removed.load());
  family("waypoint_offload_rules_max", "gauge", "Rule budget (offload.max_rules).", opt_.max_rules);
  family("waypoint_offload_sessions_active", "gauge", "Sessions offloaded now.", sessions_active(c));
#define WP_X(name)                                                                                            \
  family("waypoint_offload_manager_" #name "_total", "counter", "Offload manager counter " #name ".", \
         c.name.load(std::memory_order_relaxed));
  WP_OFFLOAD_COUNTERS(WP_X)
#undef WP_X
  return o;
}

std::string OffloadManager::status_json() const {
  nlohmann::ordered_json j;
  j["flow_port"] = port_.name();
  j["max_rules"] = opt_.max_rules;
#define WP_X(name) j["counters"][#name] = counters_.name.load(std::memory_order_relaxed);
  WP_OFFLOAD_COUNTERS(WP_X)
#undef WP_X
  const auto& c = counters_;
  j["rules_active"] = c.rules_installed.load() - c.rules_removed.load();
  j["sessions_active"] = sessions_active(c);
  nlohmann::ordered_json closed = nlohmann::ordered_json::array();
  for (const OffloadedRecord& r : recent_closed()) {
    closed.push_back({{"uuid", hex(r.uuid)},
                      {"family", r.ipv6 ? "ipv6" : "ipv4"},
                      {"src", r.ipv6 ? format_ipv6(r.original6.src) : format_ipv4(r.original.src)},
                      {"dst", r.ipv6 ? format_ipv6(r.original6.dst) : format_ipv4(r.original.dst)},
                      {"sport", r.ipv6 ? r.original6.sport : r.original.sport},
                      {"dport", r.ipv6 ? r.original6.dport : r.original.dport},
                      {"proto", r.ipv6 ? r.original6.proto : r.original.proto},
                      {"reason", static_cast<int>(r.reason)},
                      {"packets", {r.packets[0], r.packets[1]}},
                      {"bytes", {r.bytes[0], r.bytes[1]}},
                      {"nic_packets", {r.nic_packets[0], r.nic_packets[1]}},
                      {"nic_bytes", {r.nic_bytes[0], r.nic_bytes[1]}}});
  }
  j["closed"] = closed;
  return j.dump();
}

}  // namespace wp::offload
