// IPv6 neighbor cache (RFC 4861 § 7.3) shared by the control thread (only
// writer) and the workers (readers), without locks; the IPv6 twin of
// neighbor.h, with the resolution state inside the table.
//
// States: INCOMPLETE (an NS went to the solicited-node group; retransmitted
// every kRetransMs, kMaxMulticastSolicit times, then the entry is removed and
// the caller told, so it drops what waited), REACHABLE (a solicited NA
// confirmed it, for kReachableMs), STALE (still used: the MAC is most likely
// right), PROBE (a STALE entry used since its confirmation: kMaxUnicastSolicit
// unicast NSs kRetransMs apart, then removed). RFC 4861's DELAY state is
// folded into STALE: the sweep probes a used STALE entry on its next pass.
// Learning follows § 7.2.5: a solicited NA makes the entry REACHABLE; an NA
// with the Override flag, or an NS from the neighbor, carrying another MAC
// updates it and makes it STALE; an NA for an address we never asked about is
// ignored, so a LAN host cannot fill the cache (the same rule as ARP's).
// Buckets of kWays slots by a keyed hash of (interface, address); when one is
// full the least recently used STALE/PROBE entry makes room, never a
// REACHABLE or INCOMPLETE one.
//
// Lock-free contract: each slot is a seqlock (odd while the control thread
// rewrites it); a reader that raced a rewrite misses rather than take another
// neighbor's MAC. Workers write only the coarse (1 s) last-use time.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "dataplane/ip/ipv6.h"
#include "dataplane/control/neighbor_mac.h"
#include "dataplane/ip/keyed_hash.h"

namespace wp {

class Neighbor6Table {
 public:
  static constexpr uint32_t kSlots = 1024;
  static constexpr uint32_t kWays = 8;
  static constexpr uint32_t kReachableMs = 30000;      // REACHABLE_TIME
  static constexpr uint32_t kRetransMs = 1000;         // RETRANS_TIMER
  static constexpr uint32_t kMaxMulticastSolicit = 3;  // MAX_MULTICAST_SOLICIT
  static constexpr uint32_t kMaxUnicastSolicit = 3;    // MAX_UNICAST_SOLICIT
  static constexpr uint32_t kStaleMs = 600000;         // an unused STALE entry goes after 10 min

  enum class State : uint8_t { none, incomplete, reachable, stale, probe };
  enum class Begun : uint8_t { started, known, full };
  enum class Learned : uint8_t { ignored, reachable, stale, unchanged };
  struct Aged {
    uint32_t failed = 0;    // INCOMPLETE entries nobody answered
    uint32_t expired = 0;   // probes unanswered, or stale and unused
    uint32_t solicits = 0;  // NSs the caller was asked to send
  };

  explicit Neighbor6Table(HashSecret secret = boot_secret()) : secret_(secret) {}

  // Worker side: true and fills mac when resolved (REACHABLE, STALE, PROBE).
  bool lookup(int iface, const Ipv6& addr, uint8_t mac[6]) const { return find_mac(iface, addr, mac) != nullptr; }
  bool use(int iface, const Ipv6& addr, uint8_t mac[6], uint32_t now_ms) const {
    const Slot* s = find_mac(iface, addr, mac);
    if (!s) return false;
    touch(*s, now_ms);
    return true;
  }
  // use() with the caller's memo of where the entry was found last time (a worker's
  // next-hop cache, Tx::transmit6), as NeighborTable::Hint for IPv4: a hit skips the
  // keyed hash (SipHash over 17 bytes) and the way scan. Only a hint: the slot is read
  // under its seqlock and its interface and address checked exactly as find_mac does,
  // so a slot the control thread rewrote meanwhile is a miss, never a wrong MAC.
  struct Hint {
    Ipv6 addr;
    int32_t iface = -1;  // -1: empty
    uint32_t slot = 0;
  };
  bool use(int iface, const Ipv6& addr, uint8_t mac[6], uint32_t now_ms, Hint& hint) const {
    const Slot* s = hint.iface == iface && hint.addr == addr && read_mac(slots_[hint.slot], iface, addr, mac) == Read::hit
                        ? &slots_[hint.slot]
                        : nullptr;
    if (!s) {
      if (!(s = find_mac(iface, addr, mac))) return false;
      hint = {addr, iface, static_cast<uint32_t>(s - slots_.data())};
    }
    touch(*s, now_ms);
    return true;
  }

  // Control side only.
  State state(int iface, const Ipv6& addr) const;
  // Starts resolving: an INCOMPLETE entry; the caller sends the first NS.
  Begun begin(int iface, const Ipv6& addr, uint32_t now_ms);
  // A Neighbor Advertisement for `addr` (its flags, its target link-layer address).
  Learned advert(int iface, const Ipv6& addr, const uint8_t mac[6], uint8_t flags, uint32_t now_ms);
  // A Neighbor Solicitation from `addr` with a source link-layer address:
  // updates an entry we hold (never creates one).
  Learned solicited_by(int iface, const Ipv6& addr, const uint8_t mac[6], uint32_t now_ms);
  // Moves up to `budget` slots through their states: solicit(iface, addr,
  // mac) sends an NS (mac null: to the solicited-node group), failed(iface,
  // addr) hears of a resolution that gave up.
  template <class Solicit, class Failed>
  Aged age(uint32_t now_ms, uint32_t budget, Solicit&& solicit, Failed&& failed);
  uint32_t in_use() const { return used_; }
  uint32_t bucket(int iface, const Ipv6& addr) const { return bucket_of(iface, addr); }

 private:
  struct Slot {
    std::atomic<uint32_t> seq{0};  // odd: being rewritten
    std::atomic<uint32_t> iface{0};
    std::atomic<uint64_t> hi{0}, lo{0};
    std::atomic<uint64_t> mac{0};  // 48-bit MAC | bit 48: valid
    mutable std::atomic<uint32_t> used_s{0};
    // Control thread only.
    uint32_t since_ms = 0;  // confirmation, or the last NS sent
    State state = State::none;
    uint8_t tries = 0;
  };
  uint32_t bucket_of(int iface, const Ipv6& a) const {
    uint64_t h = siphash13(secret_, a.hi ^ (uint64_t{static_cast<uint8_t>(iface)} << 56), a.lo);
    return (static_cast<uint32_t>(h) & (kSlots / kWays - 1)) * kWays;
  }
  static bool holds(const Slot& s, int iface, const Ipv6& a) {
    return s.state != State::none && s.iface.load(std::memory_order_relaxed) == static_cast<uint32_t>(iface) &&
           s.hi.load(std::memory_order_relaxed) == a.hi && s.lo.load(std::memory_order_relaxed) == a.lo;
  }
  const Slot* find_mac(int iface, const Ipv6& addr, uint8_t mac[6]) const;
  // One slot read under its seqlock: `hit` fills mac; `incomplete`: the slot holds the
  // address without a MAC yet; `other`: another (or no) address, or a rewrite raced the read.
  enum class Read : uint8_t { other, hit, incomplete };
  static Read read_mac(const Slot& s, int iface, const Ipv6& addr, uint8_t mac[6]);
  static void touch(const Slot& s, uint32_t now_ms) {
    const uint32_t sec = now_ms / 1000;
    if (s.used_s.load(std::memory_order_relaxed) != sec) s.used_s.store(sec, std::memory_order_relaxed);
  }
  Slot* find(int iface, const Ipv6& addr);
  Slot* room(int iface, const Ipv6& addr);
  void write(Slot& s, int iface, const Ipv6& addr, uint64_t mac);
  void set_mac(Slot& s, uint64_t mac);
  void remove(Slot& s);
  static uint32_t last_use_ms(const Slot& s) {
    uint32_t used = s.used_s.load(std::memory_order_relaxed) * 1000;
    return used > s.since_ms ? used : s.since_ms;
  }
  enum class Step : uint8_t { nothing, solicit_multicast, solicit_unicast, failed };
  Step step(Slot& s, uint32_t now_ms, Aged& out);

  HashSecret secret_;
  std::array<Slot, kSlots> slots_;
  uint32_t used_ = 0;
  uint32_t hand_ = 0;
};

inline Neighbor6Table::Read Neighbor6Table::read_mac(const Slot& s, int iface, const Ipv6& addr, uint8_t mac[6]) {
  uint32_t seq = s.seq.load(std::memory_order_acquire);
  if (seq & 1) return Read::other;
  bool match = s.iface.load(std::memory_order_relaxed) == static_cast<uint32_t>(iface) &&
               s.hi.load(std::memory_order_relaxed) == addr.hi && s.lo.load(std::memory_order_relaxed) == addr.lo;
  uint64_t v = s.mac.load(std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_acquire);
  if (s.seq.load(std::memory_order_relaxed) != seq || !match) return Read::other;
  return unpack_neighbor_mac(v, mac) ? Read::hit : Read::incomplete;
}

inline const Neighbor6Table::Slot* Neighbor6Table::find_mac(int iface, const Ipv6& addr, uint8_t mac[6]) const {
  const Slot* b = &slots_[bucket_of(iface, addr)];
  for (uint32_t w = 0; w < kWays; ++w) {
    switch (read_mac(b[w], iface, addr, mac)) {
      case Read::other: continue;
      case Read::hit: return &b[w];
      case Read::incomplete: return nullptr;
    }
  }
  return nullptr;
}

template <class Solicit, class Failed>
Neighbor6Table::Aged Neighbor6Table::age(uint32_t now_ms, uint32_t budget, Solicit&& solicit, Failed&& failed) {
  Aged out;
  for (uint32_t n = 0; n < budget && used_ > 0; ++n) {
    hand_ = (hand_ + 1) & (kSlots - 1);
    Slot& s = slots_[hand_];
    if (s.state == State::none) continue;
    const int iface = static_cast<int>(s.iface.load(std::memory_order_relaxed));
    const Ipv6 addr{s.hi.load(std::memory_order_relaxed), s.lo.load(std::memory_order_relaxed)};
    uint8_t mac[6];
    switch (step(s, now_ms, out)) {
      case Step::nothing: break;
      case Step::solicit_multicast:
        solicit(iface, addr, static_cast<const uint8_t*>(nullptr));
        ++out.solicits;
        break;
      case Step::solicit_unicast:
        if (find_mac(iface, addr, mac)) solicit(iface, addr, static_cast<const uint8_t*>(mac));
        ++out.solicits;
        break;
      case Step::failed: failed(iface, addr); break;
    }
  }
  return out;
}

}  // namespace wp
