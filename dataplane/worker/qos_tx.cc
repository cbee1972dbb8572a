// QoS transmit step and the shared QoS state; see qos_tx.h and qos_shared.h.
#include "dataplane/worker/qos_tx.h"

#include <rte_cycles.h>
#include <rte_ethdev.h>

#include "dataplane/control/router_model.h"
#include "dataplane/ip/checksum.h"
#include "dataplane/ip/ipv6.h"
#include "dataplane/ip/packet.h"
#include "dataplane/ip/packet_edit.h"
#include "dataplane/worker/eth_tx_burst.h"

namespace wp {
namespace {

constexpr size_t kEthLen = 14;

}  // namespace

uint64_t qos_now_ns() {
  static const uint64_t hz = rte_get_tsc_hz() ? rte_get_tsc_hz() : 1'000'000'000;
  const uint64_t c = rte_get_tsc_cycles();
  return (c / hz) * 1'000'000'000ull + (c % hz) * 1'000'000'000ull / hz;
}

void mark_dscp(uint8_t* ip, uint8_t dscp) {
  const uint16_t old_word = load_be16(ip);
  const uint16_t new_word = static_cast<uint16_t>((old_word & 0xff03) | (uint16_t{dscp} << 2));
  if (old_word == new_word) return;
  store_be16(ip, new_word);
  store_be16(ip + 10, csum_update16(load_be16(ip + 10), old_word, new_word));
}

void mark_dscp6(uint8_t* ip, uint8_t dscp) {
  // Version (4 bits), Traffic Class (DSCP 6, ECN 2), the flow label's top 4 bits.
  const uint16_t word = load_be16(ip);
  store_be16(ip, static_cast<uint16_t>((word & 0xf03f) | (uint16_t{dscp} << 6)));
}

// --- QosShared ------------------------------------------------------------------------
bool QosShared::setup(const RouterModel& model, uint32_t workers, uint32_t ring_size, int socket, uint64_t now_ns,
                      std::string& error) {
  free();
  dscp = model.qos_dscp;
  port_of_iface.assign(model.interfaces.size(), -1);
  static std::atomic<uint32_t> instance{0};
  const uint32_t tag = instance.fetch_add(1);
  for (size_t i = 0; i < model.interfaces.size(); ++i) {
    const InterfaceModel& im = model.interfaces[i];
    if (!im.wan || !im.shaped) continue;
    const uint32_t q = static_cast<uint32_t>(ports.size());
    QosPortShared p;
    p.name = im.name;
    p.iface = static_cast<int>(i);
    p.port_id = im.port_id;
    p.owner = q % workers;
    p.rate_bps = im.qos.rate_bps;
    p.sched = std::make_unique<QosScheduler>(im.qos, now_ns);
    p.stats = std::make_unique<QosPortStats>();
    p.rings.assign(workers + 1, nullptr);
    for (uint32_t from = 0; from <= workers; ++from) {
      if (from == p.owner) continue;
      const std::string name = "wpq" + std::to_string(tag) + "_" + std::to_string(q) + "_" + std::to_string(from);
      p.rings[from] = rte_ring_create(name.c_str(), ring_size, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
      if (!p.rings[from]) {
        error = "cannot create QoS ring " + name + " (" + std::to_string(ring_size) + " entries)";
        ports.push_back(std::move(p));
        free();
        return false;
      }
    }
    port_of_iface[i] = static_cast<int8_t>(q);
    ports.push_back(std::move(p));
  }
  return true;
}

void QosShared::free() {
  for (QosPortShared& p : ports) {
    for (rte_ring* r : p.rings) {
      if (!r) continue;
      rte_mbuf* m;
      while (rte_ring_dequeue(r, reinterpret_cast<void**>(&m)) == 0) rte_pktmbuf_free(m);
      rte_ring_free(r);
    }
    if (p.sched) {
      QosItem out[64];
      size_t n;
      while ((n = p.sched->dequeue(out, 64, UINT64_MAX / 2)) != 0)
        for (size_t k = 0; k < n; ++k) rte_pktmbuf_free(static_cast<rte_mbuf*>(out[k].pkt));
    }
  }
  ports.clear();
  port_of_iface.clear();
}

// --- QosTx ----------------------------------------------------------------------------
QosTx::QosTx(WorkerContext& ctx) : ctx_(ctx), fn_(eth_tx_burst_fn) {
  const QosShared& q = ctx.shared.qos;
  staged_.resize(q.ports.size());
  for (size_t i = 0; i < q.ports.size(); ++i)
    if (q.ports[i].owner == ctx.id) owned_.push_back(static_cast<uint32_t>(i));
}

void QosTx::submit(rte_mbuf* m, int qport) {
  QosShared& q = ctx_.shared.qos;
  const QosClass cls = qos_class_of(m);
  const uint8_t dscp = q.dscp[static_cast<size_t>(cls)];
  uint8_t* eth = pkt_data(m);  // Tx wrote the EtherType
  const uint16_t type = load_be16(eth + 12);
  if (type == kEtherTypeIpv4 && m->data_len >= kEthLen + 20)
    mark_dscp(eth + kEthLen, dscp);
  else if (type == kEtherTypeIpv6 && m->data_len >= kEthLen + kIpv6HdrLen)
    mark_dscp6(eth + kEthLen, dscp);
  set_qos_class(m, static_cast<uint8_t>(cls));  // none becomes best-effort: the scheduler's queue
  QosPortShared& p = q.ports[static_cast<size_t>(qport)];
  if (p.owner == ctx_.id) return enqueue(p, m, burst_now());
  Staged& s = staged_[static_cast<size_t>(qport)];
  s.pkts[s.count++] = m;
  if (s.count == kMaxBurst) {
    const unsigned n = rte_ring_sp_enqueue_burst(p.rings[ctx_.id], reinterpret_cast<void**>(s.pkts), s.count, nullptr);
    for (unsigned k = n; k < s.count; ++k) ctx_.drop(s.pkts[k], DropReason::qos_ring_full);
    s.count = 0;
  }
}

void QosTx::enqueue(QosPortShared& p, rte_mbuf* m, uint64_t now) {
  if (!p.sched->enqueue(qos_class_of(m), QosItem{m, m->pkt_len}, now)) ctx_.drop(m, DropReason::qos_queue_full);
}

uint32_t QosTx::flush() {
  QosShared& q = ctx_.shared.qos;
  for (size_t i = 0; i < staged_.size(); ++i) {
    Staged& s = staged_[i];
    if (s.count == 0) continue;
    const unsigned n =
        rte_ring_sp_enqueue_burst(q.ports[i].rings[ctx_.id], reinterpret_cast<void**>(s.pkts), s.count, nullptr);
    for (unsigned k = n; k < s.count; ++k) ctx_.drop(s.pkts[k], DropReason::qos_ring_full);
    s.count = 0;
  }
  now_valid_ = false;  // the next burst reads the clock again
  if (owned_.empty()) return 0;
  const uint64_t now = now_ns();
  uint32_t sent = 0;
  for (uint32_t i : owned_) sent += run_port(q.ports[i], now);
  return sent;
}

uint32_t QosTx::run_port(QosPortShared& p, uint64_t now) {
  rte_mbuf* pkts[kMaxBurst];
  bool active = false;
  for (size_t from = 0; from < p.rings.size(); ++from) {
    if (!p.rings[from]) continue;
    unsigned n;
    while ((n = rte_ring_sc_dequeue_burst(p.rings[from], reinterpret_cast<void**>(pkts), kMaxBurst, nullptr)) != 0) {
      active = true;
      for (unsigned k = 0; k < n; ++k) enqueue(p, pkts[k], now);
      if (n < kMaxBurst) break;
    }
  }
  uint32_t sent = 0;
  QosItem items[kMaxBurst];
  size_t n;
  while ((n = p.sched->dequeue(items, kMaxBurst, now)) != 0) {
    active = true;
    for (size_t k = 0; k < n; ++k) pkts[k] = static_cast<rte_mbuf*>(items[k].pkt);
    const uint16_t ok = fn_(io_ctx_, p.port_id, queue_, pkts, static_cast<uint16_t>(n));
    ctx_.counters->add(Counter::tx_packets, ok);
    for (size_t k = ok; k < n; ++k) ctx_.drop(pkts[k], DropReason::tx_full);
    sent += ok;
    if (n < kMaxBurst) break;
  }
  if (active || p.sched->queued()) publish(p);
  return sent;
}

void QosTx::publish(const QosPortShared& p) {
  for (size_t c = 0; c < kQosClasses; ++c) {
    const QosClassCounters& k = p.sched->counters(static_cast<QosClass>(c));
    QosClassStats& s = p.stats->cls[c];
    s.enqueued.store(k.enqueued, std::memory_order_relaxed);
    s.sent.store(k.sent, std::memory_order_relaxed);
    s.dropped.store(k.dropped, std::memory_order_relaxed);
    s.sent_bytes.store(k.sent_bytes, std::memory_order_relaxed);
    s.dropped_bytes.store(k.dropped_bytes, std::memory_order_relaxed);
    s.delay_ns_total.store(k.delay_ns_total, std::memory_order_relaxed);
    s.delay_ns_max.store(k.delay_ns_max, std::memory_order_relaxed);
    s.depth.store(k.depth, std::memory_order_relaxed);
  }
}

void QosTx::drop_staged() {
  for (Staged& s : staged_) {
    for (uint16_t k = 0; k < s.count; ++k) ctx_.drop(s.pkts[k], DropReason::qos_ring_full);
    s.count = 0;
  }
}

}  // namespace wp
