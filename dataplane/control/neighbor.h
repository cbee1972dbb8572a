// ARP neighbor table shared by the control thread (only writer) and the
// workers (readers), without locks.
//
// A fixed array of slots, open addressing on (interface, IPv4). A slot's key
// is written once (after its MAC) and never moved or cleared, so a reader that
// sees the key also sees a MAC; MAC refreshes are single 64-bit atomic stores
// (48-bit MAC | valid bit). Entries are re-learned from ARP traffic; the table
// is sized far above any LAN/WAN neighbor count a router has.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>

#include "dataplane/ip/ipv4.h"

namespace wp {

class NeighborTable {
 public:
  static constexpr uint32_t kSlots = 4096;

  // Worker side: true and fills mac when resolved.
  bool lookup(int iface, Ipv4 addr, uint8_t mac[6]) const {
    uint64_t key = make_key(iface, addr);
    for (uint32_t n = 0, i = slot_of(key); n < kSlots; ++n, i = (i + 1) & (kSlots - 1)) {
      uint64_t k = slots_[i].key.load(std::memory_order_acquire);
      if (k == 0) return false;
      if (k != key) continue;
      uint64_t v = slots_[i].mac.load(std::memory_order_acquire);
      if (!(v >> 48)) return false;
      for (int b = 0; b < 6; ++b) mac[b] = static_cast<uint8_t>(v >> (40 - 8 * b));
      return true;
    }
    return false;
  }

  // Control side only.
  bool learn(int iface, Ipv4 addr, const uint8_t mac[6]) {
    uint64_t key = make_key(iface, addr);
    uint64_t v = uint64_t{1} << 48;
    for (int b = 0; b < 6; ++b) v |= uint64_t{mac[b]} << (40 - 8 * b);
    for (uint32_t n = 0, i = slot_of(key); n < kSlots; ++n, i = (i + 1) & (kSlots - 1)) {
      uint64_t k = slots_[i].key.load(std::memory_order_relaxed);
      if (k == key || k == 0) {
        slots_[i].mac.store(v, std::memory_order_release);
        if (k == 0) slots_[i].key.store(key, std::memory_order_release);
        return true;
      }
    }
    return false;
  }

 private:
  static uint64_t make_key(int iface, Ipv4 addr) { return (uint64_t{static_cast<uint8_t>(iface)} + 1) << 32 | addr; }
  static uint32_t slot_of(uint64_t key) {
    uint64_t h = key * 0x9e3779b97f4a7c15ULL;
    return static_cast<uint32_t>(h >> 52) & (kSlots - 1);
  }
  struct Slot {
    std::atomic<uint64_t> key{0};
    std::atomic<uint64_t> mac{0};
  };
  Slot slots_[kSlots];
};

}  // namespace wp
