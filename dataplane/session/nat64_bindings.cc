// NAT64 bindings; see nat64_bindings.h.
#include "dataplane/session/nat64_bindings.h"

#include <algorithm>

#include "dataplane/ip/packet.h"

namespace wp {

Nat64Bindings::Nat64Bindings(uint32_t capacity, uint32_t worker, uint32_t workers, HashSecret secret)
    : secret_(secret), slots_(capacity), fwd_(capacity, kEmpty), rev_(capacity, kEmpty), ports_(worker, workers) {
  free_.reserve(capacity);
  for (uint32_t i = capacity; i > 0; --i) free_.push_back(i - 1);
}

void Nat64Bindings::set_pool(std::span<const Ipv4> pool) {
  pool_size_ = static_cast<uint32_t>(std::min(pool.size(), kMaxPool));
  std::copy_n(pool.begin(), pool_size_, pool_.begin());
}

uint32_t Nat64Bindings::idle_ms(uint8_t proto) {
  return proto == kProtoTcp ? kTcpMs : proto == kProtoUdp ? kUdpMs : kIcmpMs;
}

uint32_t Nat64Bindings::fwd_bucket(const Ipv6& src, uint16_t port, uint8_t proto) const {
  uint64_t h = siphash13(secret_, src.hi, src.lo ^ (uint64_t{port} << 8 | proto));
  return (static_cast<uint32_t>(h) & (static_cast<uint32_t>(slots_.size()) / kWays - 1)) * kWays;
}

uint32_t Nat64Bindings::rev_bucket(Ipv4 v4, uint16_t port, uint8_t proto) const {
  uint64_t h = siphash13(secret_, uint64_t{v4} << 32 | uint64_t{port} << 8 | proto, 0x4e415436);
  return (static_cast<uint32_t>(h) & (static_cast<uint32_t>(slots_.size()) / kWays - 1)) * kWays;
}

uint32_t* Nat64Bindings::free_way(std::vector<uint32_t>& index, uint32_t bucket) {
  for (uint32_t w = 0; w < kWays; ++w)
    if (index[bucket + w] == kEmpty) return &index[bucket + w];
  return nullptr;
}

void Nat64Bindings::unindex(std::vector<uint32_t>& index, uint32_t bucket, uint32_t slot) {
  for (uint32_t w = 0; w < kWays; ++w)
    if (index[bucket + w] == slot) index[bucket + w] = kEmpty;
}

const Nat64Bindings::Binding* Nat64Bindings::find(const Ipv6& src, uint16_t port, uint8_t proto, uint32_t now_ms) {
  const uint32_t fb = fwd_bucket(src, port, proto);
  for (uint32_t w = 0; w < kWays; ++w) {
    uint32_t i = fwd_[fb + w];
    if (i == kEmpty) continue;
    Binding& b = slots_[i];
    if (b.v6 == src && b.v6_port == port && b.proto == proto) {
      b.used_ms = now_ms;
      return &b;
    }
  }
  return nullptr;
}

const Nat64Bindings::Binding* Nat64Bindings::outbound(const Ipv6& src, uint16_t port, uint8_t proto, uint32_t now_ms,
                                                      Made& how) {
  if (const Binding* b = find(src, port, proto, now_ms)) {
    how = Made::found;
    return b;
  }
  const uint32_t fb = fwd_bucket(src, port, proto);
  if (pool_size_ == 0) return how = Made::no_pool, nullptr;
  uint32_t* fway = free_way(fwd_, fb);
  if (!fway || free_.empty()) return how = Made::full, nullptr;
  const Ipv4 v4 = pool_[siphash13(secret_, src.hi, src.lo) % pool_size_];
  const uint16_t v4_port = ports_.take(proto);
  if (v4_port == 0) return how = Made::no_port, nullptr;
  uint32_t* rway = free_way(rev_, rev_bucket(v4, v4_port, proto));
  if (!rway) {
    ports_.give(proto, v4_port);
    return how = Made::full, nullptr;
  }
  const uint32_t slot = free_.back();
  free_.pop_back();
  slots_[slot] = Binding{src, port, proto, v4, v4_port, now_ms};
  *fway = *rway = slot;
  ++used_;
  how = Made::created;
  return &slots_[slot];
}

const Nat64Bindings::Binding* Nat64Bindings::inbound(Ipv4 dst, uint16_t port, uint8_t proto, uint32_t now_ms) {
  const uint32_t rb = rev_bucket(dst, port, proto);
  for (uint32_t w = 0; w < kWays; ++w) {
    uint32_t i = rev_[rb + w];
    if (i == kEmpty) continue;
    Binding& b = slots_[i];
    if (b.v4 == dst && b.v4_port == port && b.proto == proto) {
      b.used_ms = now_ms;
      return &b;
    }
  }
  return nullptr;
}

void Nat64Bindings::remove(uint32_t slot) {
  Binding& b = slots_[slot];
  unindex(fwd_, fwd_bucket(b.v6, b.v6_port, b.proto), slot);
  unindex(rev_, rev_bucket(b.v4, b.v4_port, b.proto), slot);
  ports_.give(b.proto, b.v4_port);
  b.proto = 0;
  free_.push_back(slot);
  --used_;
}

uint32_t Nat64Bindings::expire(uint32_t now_ms, uint32_t budget) {
  uint32_t removed = 0;
  const uint32_t n = static_cast<uint32_t>(slots_.size());
  for (uint32_t k = 0; k < budget && used_ > 0; ++k) {
    hand_ = hand_ + 1 == n ? 0 : hand_ + 1;
    const Binding& b = slots_[hand_];
    if (b.proto == 0 || now_ms - b.used_ms < idle_ms(b.proto)) continue;
    remove(hand_);
    ++removed;
  }
  return removed;
}

}  // namespace wp
