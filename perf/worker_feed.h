// What the in-process worker benches share: a burst loop that feeds frames to one
// worker and collects what it transmits, and freeing what came out.
#pragma once

#include <rte_mbuf.h>

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

namespace wp::bench {

// Feeds `in` to r.worker in bursts of 32 (flushing after each) and returns what it
// transmitted through r.io (a capturing Tx). R: a bench's router (worker + io).
template <typename R>
std::vector<rte_mbuf*> feed(R& r, std::vector<rte_mbuf*> in) {
  r.io.captured.clear();
  for (size_t i = 0; i < in.size(); i += 32) {
    r.worker->receive(&in[i], static_cast<uint16_t>(std::min<size_t>(32, in.size() - i)));
    r.worker->flush();
  }
  return std::move(r.io.captured);
}

inline void free_all(std::vector<rte_mbuf*>& v) {
  for (auto* m : v) rte_pktmbuf_free(m);
  v.clear();
}

}  // namespace wp::bench
