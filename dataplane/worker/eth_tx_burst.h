// The transmit function Tx and QosTx call by default (tests inject their own,
// tx.h/qos_tx.h TxFn): rte_eth_tx_burst on the port's queue. One copy: with
// unity builds (WP_UNITY) file-local copies would meet in one translation unit.
#pragma once

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <cstdint>

namespace wp {

inline uint16_t eth_tx_burst_fn(void*, uint16_t port, uint16_t queue, rte_mbuf** pkts, uint16_t n) {
  return rte_eth_tx_burst(port, queue, pkts, n);
}

}  // namespace wp
