// Source-NAT port pools; see nat_ports.h.
#include "dataplane/session/nat_ports.h"

#include "dataplane/ip/packet.h"
#include "dataplane/session/owner.h"

namespace wp {

NatPorts::NatPorts(uint32_t worker, uint32_t workers) {
  std::vector<uint16_t> mine;
  for (uint32_t p = kWaypointPortMin; workers != 0 && p <= kWaypointPortMax; ++p)
    if (owner_of_class(class_of_port(static_cast<uint16_t>(p)), workers) == worker)
      mine.push_back(static_cast<uint16_t>(p));
  capacity_ = static_cast<uint32_t>(mine.size());
  for (Pool& pool : pools_) {
    pool.ring = mine;
    pool.count = capacity_;
  }
}

int NatPorts::pool_of(uint8_t proto) {
  switch (proto) {
    case kProtoTcp: return 0;
    case kProtoUdp: return 1;
    case kProtoIcmp: return 2;
    default: return -1;
  }
}

uint16_t NatPorts::take(uint8_t proto) {
  int i = pool_of(proto);
  if (i < 0 || pools_[i].count == 0) return 0;
  Pool& pool = pools_[i];
  uint16_t port = pool.ring[pool.head];
  pool.head = pool.head + 1 == capacity_ ? 0 : pool.head + 1;
  pool.count--;
  pool.used[port >> 6] |= uint64_t{1} << (port & 63);
  return port;
}

void NatPorts::give(uint8_t proto, uint16_t port) {
  int i = pool_of(proto);
  if (i < 0) return;
  Pool& pool = pools_[i];
  uint64_t bit = uint64_t{1} << (port & 63);
  if (!(pool.used[port >> 6] & bit)) return;  // not ours, or already free
  pool.used[port >> 6] &= ~bit;
  uint32_t tail = pool.head + pool.count;
  pool.ring[tail >= capacity_ ? tail - capacity_ : tail] = port;
  pool.count++;
}

uint32_t NatPorts::available(uint8_t proto) const {
  int i = pool_of(proto);
  return i < 0 ? 0 : pools_[i].count;
}

}  // namespace wp
