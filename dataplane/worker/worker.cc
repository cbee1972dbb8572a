// Worker loop, dispatch, handoff and tx; see worker.h.
#include "dataplane/worker/worker.h"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_prefetch.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "dataplane/ip/packet_edit.h"

namespace wp {
namespace {

uint16_t eth_rx(void*, uint16_t port, uint16_t queue, rte_mbuf** pkts, uint16_t n) {
  return rte_eth_rx_burst(port, queue, pkts, n);
}
uint16_t eth_tx(void*, uint16_t port, uint16_t queue, rte_mbuf** pkts, uint16_t n) {
  return rte_eth_tx_burst(port, queue, pkts, n);
}

}  // namespace

Worker::Worker(uint32_t id, DataplaneShared& shared, uint32_t max_sessions, int socket)
    : id_(id),
      shared_(shared),
      counters_(&shared.counters[id]),
      table_(max_sessions, socket),
      keys_(id < shared.workers ? shared.key_slots : 0, socket),
      rng_(std::random_device{}()),
      rx_(eth_rx),
      tx_(eth_tx) {
  frag_seq_ = id;  // stepped by the worker count, so workers never share a fragment id
  uint64_t hz = rte_get_tsc_hz();
  tsc_per_ms_ = hz >= 1000 ? hz / 1000 : 1;
  model_ = shared.model.load(std::memory_order_acquire);
  if (model_) tx_buffers_.resize(model_->interfaces.size());
  // In-line flow monitoring state for a sample of sessions.
  if (shared.paths && shared.paths->flow_period_ms() && id < shared.workers) {
    flows_.init(shared.paths->flow_sessions());
    flow_period_ms_ = shared.paths->flow_period_ms();
  }
}

void Worker::set_ports(std::vector<uint16_t> ports, uint16_t queue, uint16_t burst) {
  ports_ = std::move(ports);
  queue_ = queue;
  burst_ = burst == 0 || burst > kMaxBurst ? 32 : burst;
}

void Worker::update_clock() { now_ms_ = static_cast<uint32_t>(rte_get_tsc_cycles() / tsc_per_ms_); }

void Worker::run() {
  uint32_t idle = 0;
  while (shared_.running.load(std::memory_order_relaxed)) {
    update_clock();
    if (poll_once() != 0) {
      idle = 0;
      continue;
    }
    // Adaptive back-off: spin briefly, then sleep up to 200 us while idle.
    if (++idle > 64) {
      usleep(idle > 1024 ? 200 : 20);
    }
  }
  flush();
  for (uint32_t i = 0; i < held_n_; ++i) drop(held_[i], DropReason::handoff_full);  // stopping
  held_n_ = 0;
}

uint32_t Worker::poll_once() {
  const RouterModel* published = shared_.model.load(std::memory_order_acquire);
  if (published != model_) {  // live config commit
    if (model_ && published) recheck_sessions(*model_, *published);
    model_ = published;
  }
  uint32_t handled = 0;
  rte_mbuf* pkts[kMaxBurst];
  if (held_n_) handled += retry_held();  // handoff backpressure
  for (uint16_t port : ports_) {
    if (held_n_) break;  // leave the rest in the device queues
    uint16_t n = rx_(io_ctx_, port, queue_, pkts, burst_);
    if (n == 0) continue;
    handled += n;
    receive(pkts, n);
  }
  handled += drain_handoff();

  if (offload_feedback_) drain_offload_feedback();
  if (shared_.paths) sweep_paths();
  if (shared_.ha.enabled && id_ < shared_.workers) handled += ha_poll();
  flush();
  age();
  counters_->epoch.store(counters_->epoch.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  return handled;
}

void Worker::stage(Owned& o) {
  o.sig = SessionTable::signature({o.pp.src, o.pp.dst, o.pp.sport, o.pp.dport, o.pp.proto});
  table_.prefetch_slot(o.sig);
}

void Worker::process_owned(Owned* o, uint32_t n) {
  for (uint32_t i = 0; i < n; ++i) table_.prefetch_session(o[i].sig);
  for (uint32_t i = 0; i < n; ++i) {
    if (o[i].wan)
      wan_input(o[i].m, o[i].pp, o[i].iface);
    else
      lan_input(o[i].m, o[i].pp, o[i].iface);
  }
  open_pending();  // verify + decrypt the burst's sealed WAN packets together
}

void Worker::receive(rte_mbuf** pkts, uint16_t n) {
  // Callers pass at most a burst; longer input is taken in order, a burst at a time.
  for (; n > kMaxBurst; pkts += kMaxBurst, n = static_cast<uint16_t>(n - kMaxBurst)) receive(pkts, kMaxBurst);
  counters_->add(Counter::rx_packets, n);
  dispatch(pkts, n);
}

void Worker::dispatch(rte_mbuf** pkts, uint16_t n) {
  const uint32_t workers = shared_.workers;
  Owned owned[kMaxBurst];
  uint32_t n_owned = 0;
  for (uint16_t i = 0; i < n; ++i) {
    if (i + 1 < n) rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void*));
    rte_mbuf* m = pkts[i];
    if (m->nb_segs != 1 && rte_pktmbuf_linearize(m) != 0) {
      drop(m, DropReason::parse_error);
      continue;
    }
    ParsedPacket pp = parse_packet(pkt_data(m), m->data_len);
    int iface = model().iface_by_port(m->port);
    if (iface == kNone) {
      drop(m, DropReason::not_for_us);
      continue;
    }
    bool wan = model().interfaces[iface].wan;
    uint32_t cls;
    switch (pp.status) {
      case ParseStatus::arp: to_control(m); continue;
      case ParseStatus::not_ipv4: drop(m, DropReason::not_ipv4); continue;
      case ParseStatus::fragment:  // reassembled on the fragment's worker, then dispatched whole
        if (!take_fragment(m, pp)) continue;
        break;
      case ParseStatus::malformed: drop(m, DropReason::parse_error); continue;
      case ParseStatus::ipv4: break;
    }
    bool l4_svr = pp.proto == kProtoTcp || pp.proto == kProtoUdp;
    if (model().own_address_iface(pp.dst) != kNone || shared_.ha.holds_peer_address(pp.dst)) {
      if (!(wan && l4_svr && is_waypoint_port(pp.dport))) {
        to_control(m);  // ICMP echo, ARP-adjacent local traffic
        continue;
      }
      cls = class_of_port(pp.dport);
    } else if (!wan) {
      if (!l4_svr) {
        drop(m, DropReason::unsupported_proto);
        continue;
      }
      cls = affinity_class({pp.src, pp.dst, pp.sport, pp.dport, pp.proto});
    } else {
      drop(m, DropReason::not_for_us);
      continue;
    }
    uint32_t owner = owner_of_class(cls, workers);
    if (owner == id_) {
      owned[n_owned] = Owned{m, pp, iface, wan, 0};
      stage(owned[n_owned++]);
    } else {
      hand_off(m, owner);
    }
  }
  process_owned(owned, n_owned);
}

// Handoff backpressure (worker.h). Once one packet is held, later
// ones queue behind it whatever their owner, so no session's packets overtake.
void Worker::hand_off(rte_mbuf* m, uint32_t owner) {
  if (held_n_ == 0 && rte_ring_sp_enqueue(shared_.handoff_ring(id_, owner), m) == 0) {
    counters_->add(Counter::handoff_out);
    return;
  }
  if (held_n_ == kMaxBurst) {  // only when a caller feeds bursts without polling
    drop(m, DropReason::handoff_full);
    return;
  }
  if (held_n_ == 0) {
    held_since_ms_ = now_ms_;
    counters_->add(Counter::handoff_held);
  }
  held_[held_n_] = m;
  held_owner_[held_n_++] = owner;
}

uint32_t Worker::retry_held() {
  uint32_t sent = 0;
  while (sent < held_n_ && rte_ring_sp_enqueue(shared_.handoff_ring(id_, held_owner_[sent]), held_[sent]) == 0) ++sent;
  counters_->add(Counter::handoff_out, sent);
  if (sent == held_n_) {
    held_n_ = 0;
    return sent;
  }
  // A slow owner is still an owner: the limit is on time without progress.
  if (sent) held_since_ms_ = now_ms_;
  if (now_ms_ - held_since_ms_ >= kHandoffHoldMs) {  // the owner stopped draining: give up, counted
    for (uint32_t i = sent; i < held_n_; ++i) drop(held_[i], DropReason::handoff_full);
    held_n_ = 0;
    return sent;
  }
  std::memmove(held_, held_ + sent, (held_n_ - sent) * sizeof(held_[0]));
  std::memmove(held_owner_, held_owner_ + sent, (held_n_ - sent) * sizeof(held_owner_[0]));
  held_n_ -= sent;
  return sent;
}

uint32_t Worker::drain_handoff() {
  uint32_t total = 0;
  if (id_ >= shared_.workers) return 0;  // the control dispatcher only produces
  rte_mbuf* pkts[kMaxBurst];
  for (uint32_t from = 0; from <= shared_.workers; ++from) {  // [workers] = control's dispatcher
    if (from == id_) continue;
    unsigned n =
        rte_ring_sc_dequeue_burst(shared_.handoff_ring(from, id_), reinterpret_cast<void**>(pkts), burst_, nullptr);
    total += n;
    counters_->add(Counter::handoff_in, n);
    // Handed-off packets were parsed by the sender; parse again here rather
    // than carry parse state across threads (headers are hot in cache by now).
    Owned owned[kMaxBurst];
    uint32_t n_owned = 0;
    rte_mbuf* whole[kMaxBurst];  // datagrams reassembled here, dispatched by the owner rule below
    uint16_t n_whole = 0;
    for (unsigned i = 0; i < n; ++i) {
      rte_mbuf* m = pkts[i];
      ParsedPacket pp = parse_packet(pkt_data(m), m->data_len);
      if (pp.status == ParseStatus::fragment) {
        if ((m = reassemble(m, pp)) != nullptr) whole[n_whole++] = m;
        continue;
      }
      int iface = model().iface_by_port(m->port);
      if (pp.status != ParseStatus::ipv4 || iface == kNone) {
        drop(m, DropReason::parse_error);
        continue;
      }
      owned[n_owned] = Owned{m, pp, iface, model().interfaces[iface].wan, 0};
      stage(owned[n_owned++]);
    }
    process_owned(owned, n_owned);
    if (n_whole) dispatch(whole, n_whole);
  }
  return total;
}

void Worker::to_control(rte_mbuf* m) {
  if (rte_ring_sp_enqueue(shared_.to_control[id_], m) != 0) {
    drop(m, DropReason::control_full);
    return;
  }
  counters_->add(Counter::to_control);
}

void Worker::transmit(rte_mbuf* m, int iface, Ipv4 next_hop) {
  const InterfaceModel& out = model().interfaces[iface];
  // Byte access, not rte_ether_hdr: a metadata block of odd length prepended
  // through the headroom leaves the frame at an odd address.
  uint8_t* eth = pkt_data(m);
  if (!shared_.neighbors.lookup(iface, next_hop, eth)) {
    mark_resolve(m, iface, next_hop);
    if (rte_ring_sp_enqueue(shared_.resolve[id_], m) != 0) drop(m, DropReason::control_full);
    return;
  }
  std::memcpy(eth + 6, out.mac, 6);
  store_be16(eth + 12, kEtherTypeIpv4);
  TxBuffer& buf = tx_buffers_[iface];
  buf.pkts[buf.count++] = m;
  if (buf.count == kMaxBurst) flush();
}

void Worker::flush() {
  sign_pending();
  for (size_t i = 0; i < tx_buffers_.size(); ++i) {
    TxBuffer& buf = tx_buffers_[i];
    if (buf.count == 0) continue;
    uint16_t sent = tx_(io_ctx_, model().interfaces[i].port_id, queue_, buf.pkts, buf.count);
    counters_->add(Counter::tx_packets, sent);
    for (uint16_t k = sent; k < buf.count; ++k) drop(buf.pkts[k], DropReason::tx_full);
    buf.count = 0;
  }
}

void Worker::age() {
  age_fragments();
  uint32_t elapsed = now_ms_ - last_sweep_ms_;
  if (elapsed == 0) return;
  last_sweep_ms_ = now_ms_;
  uint64_t budget =
      uint64_t{table_.capacity()} * elapsed / sweep_period_ms(shared_.timeouts, shared_.session_update_ms) + 1;
  expire(static_cast<uint32_t>(budget < 16384 ? budget : 16384));
}

uint32_t Worker::sweep_period_ms(const Timeouts& t, uint32_t update_ms) {
  uint32_t p = std::min({t.tcp_established_ms, t.tcp_transitory_ms, t.udp_ms}) / 4;
  if (update_ms) p = std::min(p, update_ms / 2);
  return std::clamp(p, kSweepPeriodMs, kMaxSweepPeriodMs);
}

uint32_t Worker::expire(uint32_t budget) {
  const Timeouts& t = shared_.timeouts;
  auto on_expire = [](void* ctx, Session& s) {
    bool ended = (s.flags & kRst) || ((s.flags & kFinFwd) && (s.flags & kFinRev));
    static_cast<Worker*>(ctx)->post_event(SessionEventKind::closed, s,
                                          ended ? SessionEndReason::end_of_flow : SessionEndReason::idle_timeout);
    on_session_expired(ctx, s);  // key slots back to the slab
  };
  // The sweep passes every session every kSweepPeriodMs; a live one
  // whose last update is a period old posts `update` (shared by all consumers).
  auto on_live = [](void* ctx, Session& s) {
    auto* self = static_cast<Worker*>(ctx);
    uint32_t period = self->shared_.session_update_ms;
    uint32_t since = s.updated_ms ? s.updated_ms : s.created_ms;
    if (period == 0 || self->now_ms_ - since < period) return;
    s.updated_ms = self->now_ms_;
    self->post_event(SessionEventKind::update, s);
  };
  uint32_t n = table_.expire_some(now_ms_, budget, t, on_expire, this, shared_.session_update_ms ? +on_live : nullptr);
  if (n) {
    counters_->add(Counter::sessions_expired, n);
    counters_->sessions_active.store(table_.size(), std::memory_order_relaxed);
  }
  return n;
}

void Worker::post_event(SessionEventKind kind, const Session& s, SessionEndReason reason) {
  static constexpr Counter kDropped[kEventConsumers] = {Counter::offload_events_dropped, Counter::ha_events_dropped,
                                                        Counter::ipfix_events_dropped};
  SessionEvent ev;
  bool built = false;
  for (size_t c = 0; c < kEventConsumers; ++c) {
    const auto& rings = shared_.events[c];
    if (rings.empty()) continue;
    if (!built) {
      ev.kind = kind;
      ev.reason = reason;
      ev.worker = static_cast<uint16_t>(id_);
      ev.now_ms = now_ms_;
      ev.session = s;
      built = true;
    }
    if (rte_ring_sp_enqueue_elem(rings[id_], &ev, sizeof(ev)) != 0) counters_->add(kDropped[c]);
  }
}

// A session is established when every WAN leg finished its handshake (our
// forward metadata acked on leg B, the peer stopped needing reverse metadata
// on leg A) and a reverse packet was seen: only then is it steady state that
// offload may take over.
void Worker::note_established(Session& s) {
  bool leg_b_done = !s.side_b_wan() || (s.flags & kFwdMdAcked);
  bool leg_a_done = !s.side_a_wan() || !(s.flags & kRevMdPending);
  if (!leg_a_done || !leg_b_done || !(s.flags & kReverseSeen)) return;
  s.flags |= kEstablished;
  post_event(SessionEventKind::established, s);
}

SessionUuid Worker::new_uuid() {
  SessionUuid u;
  uint64_t a = rng_(), b = rng_();
  std::memcpy(u.data(), &a, 8);
  std::memcpy(u.data() + 8, &b, 8);
  u[6] = static_cast<uint8_t>((u[6] & 0x0f) | 0x40);  // RFC 4122 version 4
  u[8] = static_cast<uint8_t>((u[8] & 0x3f) | 0x80);  // variant 10
  return u;
}

}  // namespace wp
