// The outer path MTU of tunnels over IPv6, learned from ICMPv6 Packet Too Big
// (RFC 8201; docs/ipsec.md § IPv6 outer addresses).
//
// A router between us and an IPv6 site that cannot forward our ESP packet
// (IPv6 routers never fragment, RFC 8200 § 5) answers with a Packet Too Big
// (RFC 4443 § 3.2) quoting it. The control thread checks the quote names an
// outbound SA of ours by its SPI with that SA's two addresses
// (esp_ptb6_check, esp_ptb.h: a forged PTB must not shrink a tunnel) and
// lowers the tunnel's path MTU here: to the reported MTU, never below 1280
// (RFC 8200 § 5) and never up from a PTB (RFC 8201 § 4); after
// kPathMtuAgeMs without another PTB it is forgotten and the configured MTU
// holds again (RFC 8201 § 4: "at least 5 minutes, recommended 10").
//
// The workers read the inner MTU it leaves with one relaxed load per packet
// that enters a tunnel (limit()): the tunnel's configured MTU or less, so a
// packet that no longer fits gets what one above tunnels[].mtu gets (DF:
// ICMP to the inner sender, else fragmented before ESP; MSS clamp). Only the
// control thread writes.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "dataplane/ip/icmp.h"  // kIpv6MinMtu (RFC 8200 § 5)
#include "dataplane/ipsec/esp_limits.h"

namespace wp {

inline constexpr uint32_t kPathMtuAgeMs = 10 * 60 * 1000;  // RFC 8201 § 4

class EspPathMtu {
 public:
  // The inner MTU tunnel `t` carries now: `configured`, or less while a learned path MTU holds,
  // but not less than `floor` (IPv6 inside: 1280, RFC 8200 § 5; an inner IPv6 sender is never
  // told less, what lies between is sealed and left to the path).
  uint16_t limit(uint32_t t, uint16_t configured, uint16_t floor = 0) const {
    if (t >= kMaxEspTunnels) return configured;
    const uint16_t inner = slots_[t].inner.load(std::memory_order_relaxed);
    if (inner == 0 || inner >= configured) return configured;
    return inner >= floor ? inner : (floor < configured ? floor : configured);
  }
  // The learned outer path MTU of tunnel `t` (bytes of the IPv6 packet); 0 = none.
  uint16_t path(uint32_t t) const {
    return t < kMaxEspTunnels ? slots_[t].path.load(std::memory_order_relaxed) : 0;
  }

  // Control thread only. A PTB reporting `path` bytes for tunnel `t`, where
  // `inner` is the largest inner packet that fits it sealed: lowers the
  // learned values (never raises them) and restarts the age when `path` is
  // at most the learned one. True when it lowered them.
  bool lower(uint32_t t, uint16_t path, uint16_t inner, uint32_t now_ms) {
    if (t >= kMaxEspTunnels) return false;
    Slot& s = slots_[t];
    const uint16_t was = s.path.load(std::memory_order_relaxed);
    if (was != 0 && path > was) return false;
    s.learned_ms = now_ms;
    if (was == 0) ++learned_;
    if (was != 0 && path == was) return false;
    s.inner.store(inner, std::memory_order_relaxed);
    s.path.store(path, std::memory_order_relaxed);
    return true;
  }
  // Control thread only: forgets what was learned kPathMtuAgeMs ago or
  // earlier; returns how many tunnels went back to their configured MTU.
  uint32_t age(uint32_t now_ms) {
    if (learned_ == 0 || now_ms - swept_ms_ < kSweepMs) return 0;
    swept_ms_ = now_ms;
    return forget_if([&](const Slot& s) { return now_ms - s.learned_ms >= kPathMtuAgeMs; });
  }
  // Control thread only: forgets every learned value (a commit may have renumbered the tunnels).
  void forget_all() {
    forget_if([](const Slot&) { return true; });
  }

 private:
  static constexpr uint32_t kSweepMs = 1000;  // age() looks at the tunnels at most once a second
  struct Slot {
    std::atomic<uint16_t> path{0};   // outer bytes, 0 = none
    std::atomic<uint16_t> inner{0};  // the inner MTU `path` leaves
    uint32_t learned_ms = 0;         // the last PTB that lowered or confirmed it (control thread)
  };
  template <class Old>
  uint32_t forget_if(Old&& old) {
    uint32_t forgot = 0;
    for (uint32_t t = 0; learned_ != 0 && t < kMaxEspTunnels; ++t) {
      Slot& s = slots_[t];
      if (s.path.load(std::memory_order_relaxed) == 0 || !old(s)) continue;
      s.inner.store(0, std::memory_order_relaxed);
      s.path.store(0, std::memory_order_relaxed);
      --learned_;
      ++forgot;
    }
    return forgot;
  }

  std::array<Slot, kMaxEspTunnels> slots_{};
  uint32_t learned_ = 0;  // slots with a path (control thread)
  uint32_t swept_ms_ = 0;
};

}  // namespace wp
