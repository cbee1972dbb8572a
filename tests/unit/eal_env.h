// Lazily initialised DPDK EAL + one mbuf pool for unit tests that exercise
// real rte_mbuf code paths (a private EAL: dataplane/control/eal.h).
#pragma once

#include <rte_mbuf.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "dataplane/control/eal.h"

namespace wp::test {

inline rte_mempool* test_pool() {
  static rte_mempool* pool = [] {
    if (std::string error; !eal_init(private_eal_args("wpunit", 256), error)) {
      std::fprintf(stderr, "%s\n", error.c_str());
      std::abort();
    }
    return rte_pktmbuf_pool_create("wp_unit_pool", 8191, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
  }();
  return pool;
}

}  // namespace wp::test
