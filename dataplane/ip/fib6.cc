// IPv6 longest-prefix match; see fib6.h.
#include "dataplane/ip/fib6.h"

#include <algorithm>

namespace wp {

template <class R>
PrefixTable6<R>::PrefixTable6(std::vector<R> routes) {
  for (R& r : routes) {
    const Ipv6 m = Ipv6Prefix::mask_of(r.prefix.len);
    r.prefix.addr = {r.prefix.addr.hi & m.hi, r.prefix.addr.lo & m.lo};
  }
  // Sorted by length (longest first), then address; among equal prefixes the first given stays first and wins.
  std::vector<uint32_t> order(routes.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    const Ipv6Prefix &pa = routes[a].prefix, &pb = routes[b].prefix;
    return pa.len != pb.len ? pa.len > pb.len : pa.addr < pb.addr;
  });
  std::vector<bool> dup(routes.size(), false);
  for (size_t i = 1; i < order.size(); ++i)
    if (routes[order[i]].prefix == routes[order[i - 1]].prefix) dup[order[i]] = true;
  std::vector<uint32_t> index(routes.size());  // input position -> routes_ position (input order kept)
  for (uint32_t i = 0; i < routes.size(); ++i)
    if (!dup[i]) {
      index[i] = static_cast<uint32_t>(routes_.size());
      routes_.push_back(routes[i]);
    }
  for (uint32_t i : order) {
    if (dup[i]) continue;
    const uint8_t len = routes[i].prefix.len;
    if (lengths_.empty() || lengths_.back().len != len)
      lengths_.push_back({len, static_cast<uint32_t>(entries_.size()), static_cast<uint32_t>(entries_.size())});
    entries_.push_back({routes[i].prefix.addr, index[i]});
    ++lengths_.back().end;
  }
}

template <class R>
const R* PrefixTable6<R>::lookup(const Ipv6& dst) const {
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

template class PrefixTable6<Route6>;
template class PrefixTable6<FibRoute6>;

}  // namespace wp
