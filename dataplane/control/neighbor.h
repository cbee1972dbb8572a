// ARP neighbor table shared by the control thread (only writer of entries)
// and the workers (readers), without locks.
//
// Set-associative: a keyed hash (ip/keyed_hash.h) of (interface, IPv4)
// picks a bucket of kWays slots, so a LAN host cannot aim its addresses at
// one bucket. Entries follow RFC 4861 § 7.3.2 reachability states, driven by
// the control thread's sweep (age()): REACHABLE for kReachableMs after a
// confirmation (a reply to our request), then STALE (still used: the MAC is
// most likely right); a STALE entry a worker used since its confirmation is
// PROBEd (kMaxProbes requests kRetransMs apart) and removed when nobody
// answers; one unused for kStaleMs is removed. When a bucket is full, the
// least recently used STALE/PROBE entry makes room; REACHABLE ones are never
// evicted, so a new neighbor is refused (`full`) rather than displace one we
// just confirmed. What may be learned at all is the control thread's rule
// (control_thread.h).
//
// Lock-free contract: a reader reads key, MAC, key again (a seqlock whose
// sequence is the key): the writer first marks a slot it re-keys or clears
// with kBusy, so a reader that raced a rewrite sees a different key and
// misses instead of taking another neighbor's MAC. MAC refreshes of the same
// key are single 64-bit atomic stores (48-bit MAC | valid bit). Workers note
// their use in a coarse (1 s) timestamp, the only field they write.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "dataplane/ip/ipv4.h"
#include "dataplane/control/neighbor_mac.h"
#include "dataplane/ip/keyed_hash.h"

namespace wp {

class NeighborTable {
 public:
  static constexpr uint32_t kSlots = 4096;
  static constexpr uint32_t kWays = 8;
  static constexpr uint32_t kReachableMs = 30000;  // RFC 4861 REACHABLE_TIME
  static constexpr uint32_t kRetransMs = 1000;     // RFC 4861 RETRANS_TIMER
  static constexpr uint32_t kMaxProbes = 3;        // RFC 4861 MAX_UNICAST_SOLICIT
  static constexpr uint32_t kStaleMs = 600000;     // an unused STALE entry goes after 10 min

  enum class State : uint8_t { none, reachable, stale, probe };
  enum class Learned : uint8_t { added, updated, evicted_stale, full };
  struct Aged {
    uint32_t expired = 0;  // probes unanswered, or stale and unused
    uint32_t probes = 0;   // requests the caller was asked to send
  };

  explicit NeighborTable(HashSecret secret = boot_secret()) : secret_(secret) {}

  // Worker side: true and fills mac when resolved (any state but none).
  bool lookup(int iface, Ipv4 addr, uint8_t mac[6]) const { return find_mac(iface, addr, mac) != nullptr; }
  // lookup() that also records the use (LRU and probing), at 1 s granularity.
  bool use(int iface, Ipv4 addr, uint8_t mac[6], uint32_t now_ms) const {
    const Slot* s = find_mac(iface, addr, mac);
    if (!s) return false;
    touch(*s, now_ms);
    return true;
  }
  // use() with the caller's memo of where the entry was found last time (a worker's
  // next-hop cache, Tx): a hit skips the keyed hash and the way scan, which cost more
  // than the rest of a forwarded packet's transmit. The memo is only a hint: the slot's
  // key is read and checked around the MAC exactly as find_mac does, so a slot the
  // control thread re-keyed or cleared meanwhile is a miss, never a wrong MAC.
  struct Hint {
    uint64_t key = 0;  // make_key(iface, addr) of the slot below; 0 = empty
    uint32_t slot = 0;
  };
  bool use(int iface, Ipv4 addr, uint8_t mac[6], uint32_t now_ms, Hint& hint) const {
    const uint64_t key = make_key(iface, addr);
    const Slot* s = hint.key == key ? read_mac(slots_[hint.slot], key, mac) : nullptr;
    if (!s) {
      if (!(s = find_mac(iface, addr, mac))) return false;
      hint = {key, static_cast<uint32_t>(s - slots_.data())};
    }
    touch(*s, now_ms);
    return true;
  }

  // Control side only.
  State state(int iface, Ipv4 addr) const;
  // A confirmed MAC (reply to our request, gratuitous ARP of a known
  // neighbor, or static setup): the entry becomes REACHABLE.
  Learned learn(int iface, Ipv4 addr, const uint8_t mac[6], uint32_t now_ms = 0);
  // Moves up to `budget` slots through their states; `probe(iface, addr)`
  // sends a request for each entry that needs one.
  template <class Probe>
  Aged age(uint32_t now_ms, uint32_t budget, Probe&& probe);
  uint32_t in_use() const { return used_; }
  // The first slot of the (interface, address) bucket: tests build collisions with it.
  uint32_t bucket(int iface, Ipv4 addr) const { return bucket_of(make_key(iface, addr)); }

 private:
  static constexpr uint64_t kBusy = 1;  // never a key: keys have the interface + 1 in bits 32+
  struct Slot {
    std::atomic<uint64_t> key{0};
    std::atomic<uint64_t> mac{0};
    mutable std::atomic<uint32_t> used_s{0};  // workers: last use, in seconds
    // Control thread only.
    uint32_t since_ms = 0;  // confirmation, or the last probe in PROBE
    State state = State::none;
    uint8_t probes = 0;
  };
  static uint64_t make_key(int iface, Ipv4 addr) { return (uint64_t{static_cast<uint8_t>(iface)} + 1) << 32 | addr; }
  uint32_t bucket_of(uint64_t key) const {
    return (static_cast<uint32_t>(siphash13(secret_, key, 0)) & (kSlots / kWays - 1)) * kWays;
  }
  const Slot* find_mac(int iface, Ipv4 addr, uint8_t mac[6]) const;
  // The slot's MAC when it holds `key` before and after the read; else nullptr.
  static const Slot* read_mac(const Slot& s, uint64_t key, uint8_t mac[6]) {
    if (s.key.load(std::memory_order_acquire) != key) return nullptr;
    uint64_t v = s.mac.load(std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (s.key.load(std::memory_order_relaxed) != key) return nullptr;  // rewritten meanwhile
    return unpack_neighbor_mac(v, mac) ? &s : nullptr;
  }
  static void touch(const Slot& s, uint32_t now_ms) {
    uint32_t sec = now_ms / 1000;
    if (s.used_s.load(std::memory_order_relaxed) != sec) s.used_s.store(sec, std::memory_order_relaxed);
  }
  Slot* find(uint64_t key);
  Slot* room(uint64_t key, Learned& how);
  void write(Slot& s, uint64_t key, uint64_t mac);  // re-key or clear (key 0) under kBusy
  void remove(Slot& s) {
    write(s, 0, 0);
    s.state = State::none;
    --used_;
  }
  static uint32_t last_use_ms(const Slot& s) {
    uint32_t used = s.used_s.load(std::memory_order_relaxed) * 1000;
    return used > s.since_ms ? used : s.since_ms;
  }
  bool step(Slot& s, uint32_t now_ms, Aged& out);  // true when the entry needs a probe

  HashSecret secret_;
  std::array<Slot, kSlots> slots_;
  uint32_t used_ = 0;
  uint32_t hand_ = 0;
};

inline const NeighborTable::Slot* NeighborTable::find_mac(int iface, Ipv4 addr, uint8_t mac[6]) const {
  uint64_t key = make_key(iface, addr);
  const Slot* b = &slots_[bucket_of(key)];
  for (uint32_t w = 0; w < kWays; ++w)
    if (b[w].key.load(std::memory_order_acquire) == key) return read_mac(b[w], key, mac);
  return nullptr;
}

template <class Probe>
NeighborTable::Aged NeighborTable::age(uint32_t now_ms, uint32_t budget, Probe&& probe) {
  Aged out;
  for (uint32_t n = 0; n < budget && used_ > 0; ++n) {
    hand_ = (hand_ + 1) & (kSlots - 1);
    Slot& s = slots_[hand_];
    if (s.state == State::none || !step(s, now_ms, out)) continue;
    uint64_t key = s.key.load(std::memory_order_relaxed);
    probe(static_cast<int>((key >> 32) - 1), static_cast<Ipv4>(key));
    ++out.probes;
  }
  return out;
}

}  // namespace wp
