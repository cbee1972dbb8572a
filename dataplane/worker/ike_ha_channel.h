// IKE and Child SA state between the control thread's IKE service and the HA
// thread (docs/ipsec.md § HA). Control path only: no worker touches it.
//
// The control thread owns the IKE SAs; the HA thread owns the transport to
// the peer. They exchange serialized waypoint.ha.IkeSync bodies through two
// queues under one mutex (a handful of messages per IKE exchange, never per
// packet), and a request counter for full dumps: the HA thread bumps
// `dump_req` when the peer (re)joins, the service answers with every SA it
// answers for and copies the value to `dump_done`, and the HA thread sends
// its ResyncDone only after that dump left, so the peer holds the IKE state
// before it claims its addresses back. `attached` says a service serves the
// channel (no ipsec_peers: the HA thread waits for nothing).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <utility>

namespace wp {

class IkeHaChannel {
 public:
  static constexpr size_t kMaxQueued = 4096;  // messages per direction; beyond it the oldest go (counted)

  void to_peer(std::string body) { push(out_, std::move(body)); }
  void from_peer(std::string body) { push(in_, std::move(body)); }
  std::deque<std::string> take_to_peer() { return take(out_); }
  std::deque<std::string> take_from_peer() { return take(in_); }
  uint64_t overflows() const { return overflows_.load(std::memory_order_relaxed); }

  std::atomic<bool> attached{false};
  std::atomic<uint32_t> dump_req{0}, dump_done{0};

 private:
  void push(std::deque<std::string>& q, std::string body) {
    std::lock_guard lock(mu_);
    if (q.size() >= kMaxQueued) {
      q.pop_front();
      overflows_.fetch_add(1, std::memory_order_relaxed);
    }
    q.push_back(std::move(body));
  }
  std::deque<std::string> take(std::deque<std::string>& q) {
    std::lock_guard lock(mu_);
    return std::exchange(q, {});
  }

  std::mutex mu_;
  std::deque<std::string> out_, in_;
  std::atomic<uint64_t> overflows_{0};
};

}  // namespace wp
