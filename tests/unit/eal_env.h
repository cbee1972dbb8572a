// Lazily initialised DPDK EAL + one mbuf pool for unit tests that exercise
// real rte_mbuf code paths (no hugepages, no PCI, private file prefix).
#pragma once

#include <rte_eal.h>
#include <rte_mbuf.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace wp::test {

inline rte_mempool* test_pool() {
  static rte_mempool* pool = [] {
    std::string prefix = "--file-prefix=wpunit" + std::to_string(getpid());
    const char* argv[] = {"wp_unit", "--no-huge", "--no-pci",          "-m",          "256", "--no-shconf",
                          "-l",      "0",         "--log-level=error", prefix.c_str()};
    if (rte_eal_init(static_cast<int>(std::size(argv)), const_cast<char**>(argv)) < 0) std::abort();
    return rte_pktmbuf_pool_create("wp_unit_pool", 8191, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
  }();
  return pool;
}

}  // namespace wp::test
