// Source-NAT port pools; see nat_ports.h.
#include "dataplane/session/nat_ports.h"

#include "dataplane/ip/packet.h"
#include "dataplane/session/owner.h"

namespace wp {

NatPorts::NatPorts(uint32_t worker, uint32_t workers) {
  for (uint32_t p = kWaypointPortMin; workers != 0 && p <= kWaypointPortMax; ++p)
    if (owner_of_class(class_of_port(static_cast<uint16_t>(p)), workers) == worker)
      ports_.push_back(static_cast<uint16_t>(p));
  capacity_ = static_cast<uint32_t>(ports_.size());
  for (Pool& pool : pools_) pool.idle = capacity_;
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
  if (i < 0 || capacity_ == 0) return 0;
  Pool& pool = pools_[i];
  // A port at kMaxUses (65 535 remote ends on one port) is passed over; a few
  // tries, so a pathological pool costs a bounded time and reads as exhausted.
  for (int tries = 0; tries < 8; ++tries) {
    uint16_t port = ports_[pool.next];
    pool.next = pool.next + 1 == capacity_ ? 0 : pool.next + 1;
    uint16_t& n = pool.uses[port];
    if (n == kMaxUses) continue;
    if (n++ == 0) pool.idle--;
    return port;
  }
  return 0;
}

void NatPorts::give(uint8_t proto, uint16_t port) {
  int i = pool_of(proto);
  if (i < 0) return;
  Pool& pool = pools_[i];
  uint16_t& n = pool.uses[port];
  if (n == 0) return;  // not ours (never handed out), or already free
  if (--n == 0) pool.idle++;
}

uint32_t NatPorts::available(uint8_t proto) const {
  int i = pool_of(proto);
  return i < 0 ? 0 : pools_[i].idle;
}

uint32_t NatPorts::uses(uint8_t proto, uint16_t port) const {
  int i = pool_of(proto);
  return i < 0 ? 0 : pools_[i].uses[port];
}

}  // namespace wp
