// What the in-process worker benches share: the Tx callbacks they give a worker (one that
// captures what it sends, one that frees it), a burst loop that feeds frames to one worker
// and collects what it transmits, and freeing what came out.
#pragma once

#include <rte_mbuf.h>

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

namespace wp::bench {

// A worker's Rx when the bench feeds it directly: nothing arrives from ports.
inline uint16_t no_rx(void*, uint16_t, uint16_t, rte_mbuf**, uint16_t) { return 0; }

// What a worker sent, kept (capture) to be fed to the other router, or freed.
struct CaptureIo {
  bool capture = true;
  std::vector<rte_mbuf*> captured;
  uint64_t sent = 0;
};
// Tx into a CaptureIo (ctx). A captured frame's port is the one it left by, so the other
// router receives it on the same port index.
inline uint16_t capture_tx(void* ctx, uint16_t port, uint16_t, rte_mbuf** pkts, uint16_t n) {
  auto& io = *static_cast<CaptureIo*>(ctx);
  io.sent += n;
  if (!io.capture) {
    rte_pktmbuf_free_bulk(pkts, n);
    return n;
  }
  for (uint16_t i = 0; i < n; ++i) {
    pkts[i]->port = port;
    io.captured.push_back(pkts[i]);
  }
  return n;
}

// Tx that counts into a uint64_t (ctx) and frees: benches that only measure the worker.
inline uint16_t count_free_tx(void* ctx, uint16_t, uint16_t, rte_mbuf** pkts, uint16_t n) {
  *static_cast<uint64_t*>(ctx) += n;
  rte_pktmbuf_free_bulk(pkts, n);
  return n;
}

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
