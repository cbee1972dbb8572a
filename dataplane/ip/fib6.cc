// IPv6 longest-prefix match; see fib6.h.
#include "dataplane/ip/fib6.h"

#include <algorithm>

namespace wp {

Fib6::Fib6(std::vector<Route6> routes) {
  for (Route6& r : routes) {
    const Ipv6 m = Ipv6Prefix::mask_of(r.prefix.len);
    r.prefix.addr = {r.prefix.addr.hi & m.hi, r.prefix.addr.lo & m.lo};
    if (std::none_of(routes_.begin(), routes_.end(), [&](const Route6& o) { return o.prefix == r.prefix; }))
      routes_.push_back(r);
  }
  std::vector<uint32_t> order(routes_.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    const Ipv6Prefix &pa = routes_[a].prefix, &pb = routes_[b].prefix;
    return pa.len != pb.len ? pa.len > pb.len : pa.addr < pb.addr;
  });
  for (uint32_t i : order) {
    const uint8_t len = routes_[i].prefix.len;
    if (lengths_.empty() || lengths_.back().len != len)
      lengths_.push_back({len, static_cast<uint32_t>(entries_.size()), static_cast<uint32_t>(entries_.size())});
    entries_.push_back({routes_[i].prefix.addr, i});
    ++lengths_.back().end;
  }
}

const Route6* Fib6::lookup(const Ipv6& dst) const {
  for (const Length& l : lengths_) {
    const Ipv6 m = Ipv6Prefix::mask_of(l.len);
    const Ipv6 key{dst.hi & m.hi, dst.lo & m.lo};
    const Entry* first = entries_.data() + l.begin;
    const Entry* last = entries_.data() + l.end;
    const Entry* it = std::lower_bound(first, last, key, [](const Entry& e, const Ipv6& k) { return e.key < k; });
    if (it != last && it->key == key) return &routes_[it->route];
  }
  return nullptr;
}

}  // namespace wp
