// Building the DIR-24-8 table; see fib.h.
#include "dataplane/ip/fib.h"

#include <algorithm>
#include <cstdlib>
#include <new>

namespace wp {

std::unique_ptr<const FibTable> FibTable::build(std::vector<FibRoute> routes) {
  // Shorter prefixes first: a longer one overwrites the slots it covers.
  std::stable_sort(routes.begin(), routes.end(),
                   [](const FibRoute& a, const FibRoute& b) { return a.prefix.len < b.prefix.len; });
  std::unique_ptr<FibTable> t(new FibTable);
  t->routes_ = std::move(routes);
  t->tbl24_.reset(static_cast<uint32_t*>(std::calloc(size_t{1} << 24, sizeof(uint32_t))));
  if (!t->tbl24_) throw std::bad_alloc();
  for (uint32_t i = 0; i < t->routes_.size(); ++i) t->insert(i);
  return t;
}

void FibTable::Free::operator()(uint32_t* p) const { std::free(p); }

// The slot's 256-entry group, created on first use with the slot's old value.
uint32_t FibTable::group_for(uint32_t slot) {
  if (tbl24_[slot] & kGroup) return tbl24_[slot] & kIndexMask;
  const uint32_t group = static_cast<uint32_t>(tbl8_.size() / 256);
  tbl8_.resize(tbl8_.size() + 256, tbl24_[slot]);
  tbl24_[slot] = kGroup | group;
  return group;
}

void FibTable::insert(uint32_t index) {
  const Ipv4Prefix& p = routes_[index].prefix;
  const uint32_t value = kValid | index;
  const Ipv4 first = p.addr & p.mask();
  if (p.len <= 24) {
    const uint32_t begin = first >> 8, count = 1u << (24 - p.len);
    std::fill(tbl24_.get() + begin, tbl24_.get() + begin + count, value);
    return;
  }
  const uint32_t group = group_for(first >> 8);
  const uint32_t begin = group * 256 + (first & 0xff), count = 1u << (32 - p.len);
  std::fill(tbl8_.begin() + begin, tbl8_.begin() + begin + count, value);
}

size_t FibTable::memory_bytes() const {
  return (size_t{1} << 24) * sizeof(uint32_t) + tbl8_.size() * sizeof(uint32_t) + routes_.size() * sizeof(FibRoute);
}

}  // namespace wp
