// Software NIC model on its lcore; see nic_model_io.h.
#include "offload/nic_model_io.h"

#include <rte_ethdev.h>
#include <unistd.h>

#include "dataplane/session/events.h"

namespace wp::offload {
namespace {

constexpr uint16_t kBurst = 32;

uint16_t eth_rx(void*, uint16_t port, uint16_t queue, rte_mbuf** pkts, uint16_t n) {
  return rte_eth_rx_burst(port, queue, pkts, n);
}
uint16_t eth_tx(void*, uint16_t port, uint16_t queue, rte_mbuf** pkts, uint16_t n) {
  return rte_eth_tx_burst(port, queue, pkts, n);
}

}  // namespace

bool NicModelIo::init(NicModel& model, const std::vector<uint16_t>& ports, uint16_t consumers, uint16_t rx_queues,
                      uint32_t ring_size, int socket, std::string& error) {
  model_ = &model;
  ports_ = ports;
  consumers_ = consumers;
  rx_queues_ = rx_queues;
  rx_ = eth_rx;
  tx_ = eth_tx;
  static std::atomic<uint32_t> serial{0};
  uint32_t id = serial.fetch_add(1);
  for (uint16_t p : ports) {
    if (ring_base_.size() <= p) ring_base_.resize(p + 1u, -1);
    ring_base_[p] = static_cast<int>(rings_.size());
    for (uint16_t q = 0; q < consumers; ++q) {
      std::string name = "nicm_rx" + std::to_string(id) + "_" + std::to_string(p) + "_" + std::to_string(q);
      rte_ring* r = rte_ring_create(name.c_str(), ring_size, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
      if (!r) return error = "NIC model: cannot create ring " + name + ": " + rte_strerror(rte_errno), false;
      rings_.push_back(r);
    }
  }
  return true;
}

NicModelIo::~NicModelIo() {
  for (rte_ring* r : rings_) {
    void* m;
    while (rte_ring_dequeue(r, &m) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
    rte_ring_free(r);
  }
}

uint16_t NicModelIo::worker_rx(void* ctx, uint16_t port, uint16_t queue, rte_mbuf** pkts, uint16_t n) {
  rte_ring* r = static_cast<NicModelIo*>(ctx)->ring(port, queue);
  return r ? static_cast<uint16_t>(rte_ring_sc_dequeue_burst(r, reinterpret_cast<void**>(pkts), n, nullptr)) : 0;
}

uint16_t NicModelIo::worker_tx(void*, uint16_t port, uint16_t queue, rte_mbuf** pkts, uint16_t n) {
  return rte_eth_tx_burst(port, queue, pkts, n);
}

uint32_t NicModelIo::poll_once(uint32_t now_ms) {
  model_->service(now_ms);
  NicModelCounters& c = model_->counters();
  uint32_t total = 0;
  rte_mbuf* pkts[kBurst];
  rte_mbuf* fwd[kBurst];
  rte_mbuf* host[kBurst];
  uint16_t fwd_port[kBurst];
  for (uint16_t port : ports_) {
    for (uint16_t q = 0; q < rx_queues_; ++q) {
      uint16_t n = rx_(io_ctx_, port, q, pkts, kBurst);
      if (n == 0) continue;
      total += n;
      uint16_t n_fwd, n_host;
      model_->process(port, pkts, n, now_ms, fwd, fwd_port, n_fwd, host, n_host);
      if (n_host) {
        rte_ring* r = ring(port, q < consumers_ ? q : static_cast<uint16_t>(consumers_ - 1));
        unsigned put = rte_ring_sp_enqueue_burst(r, reinterpret_cast<void**>(host), n_host, nullptr);
        for (unsigned i = put; i < n_host; ++i) rte_pktmbuf_free(host[i]);
        if (put < n_host) c.to_host_dropped.fetch_add(n_host - put, std::memory_order_relaxed);
      }
      // Transmit per egress port, in arrival order within each port.
      uint16_t done = 0;
      while (done < n_fwd) {
        uint16_t out = fwd_port[done];
        rte_mbuf* batch[kBurst];
        uint16_t nb = 0;
        for (uint16_t i = done; i < n_fwd; ++i) {
          if (fwd_port[i] == out) {
            batch[nb++] = fwd[i];
            fwd_port[i] = UINT16_MAX;  // taken
          }
        }
        uint16_t sent = tx_(io_ctx_, out, tx_queue(), batch, nb);
        for (uint16_t i = sent; i < nb; ++i) rte_pktmbuf_free(batch[i]);
        c.tx.fetch_add(sent, std::memory_order_relaxed);
        if (sent < nb) c.tx_dropped.fetch_add(nb - sent, std::memory_order_relaxed);
        while (done < n_fwd && fwd_port[done] == UINT16_MAX) ++done;
      }
    }
  }
  return total;
}

void NicModelIo::run(const std::atomic<bool>& running) {
  uint32_t idle = 0;
  while (running.load(std::memory_order_relaxed)) {
    if (poll_once(dataplane_now_ms()) != 0) {
      idle = 0;
      continue;
    }
    // Same back-off as the workers: 2-core test machines stay responsive.
    if (++idle > 64) usleep(idle > 1024 ? 200 : 20);
  }
}

}  // namespace wp::offload
