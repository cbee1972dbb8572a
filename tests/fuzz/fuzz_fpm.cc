// libFuzzer target for the FPM stream zebra sends (dataplane/control/fpm/:
// fpm_frame_length, decode_fpm_frame, RouteTable, FibTable, FibTable6).
//
// The input is the byte stream of one connection, as the listener reads it:
// frames are cut by their FPM header, each decoded and applied to a route
// table (with its interfaces and an ifindex namer), a replay begins halfway,
// and a FIB is built after the sweep at the end.
// Checked: a frame length never exceeds the bytes held; a decoded prefix has
// no host bits; every FIB route is found by a lookup of its own network
// address with a prefix at least as long; every next hop names a known
// interface; a route's ECMP set holds at most kFibMaxPaths distinct members;
// the same for IPv6 routes (build6), none of them link-local or multicast.
// wp_fuzz_seeds writes seeds (FpmWriter: single, multipath, next-hop groups,
// withdrawals, blackholes, another table, IPv6 with link-local gateways).
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "dataplane/control/fpm/fpm_decoder.h"
#include "dataplane/control/fpm/route_table.h"

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

void check_fib(const wp::FibTable& fib, size_t interfaces) {
  for (const wp::FibRoute& r : fib.routes()) {
    const wp::FibRoute* got = fib.lookup(r.prefix.addr);
    check(got && got->prefix.len >= r.prefix.len && got->prefix.contains(r.prefix.addr));
    check(r.paths <= wp::kFibMaxPaths);
    for (int i = 0; i < r.paths; ++i) {
      check(r.hops[i].iface >= 0 && static_cast<size_t>(r.hops[i].iface) < interfaces);
      for (int j = 0; j < i; ++j) check(!(r.hops[i] == r.hops[j]));
    }
  }
}

void check_fib6(const wp::FibTable6& fib, size_t interfaces) {
  for (const wp::FibRoute6& r : fib.routes()) {
    const wp::FibRoute6* got = fib.lookup(r.prefix.addr);
    check(got && got->prefix.len >= r.prefix.len && got->prefix.contains(r.prefix.addr));
    check(!r.prefix.addr.is_link_local() && !r.prefix.addr.is_multicast());
    check(r.paths <= wp::kFibMaxPaths);
    for (int i = 0; i < r.paths; ++i) {
      check(r.hops[i].iface >= 0 && static_cast<size_t>(r.hops[i].iface) < interfaces);
      for (int j = 0; j < i; ++j) check(!(r.hops[i] == r.hops[j]));
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<wp::fpm::RouteInterface> ifs = {{"lan", {0x0a020000, 24}, -1, "", {{{0x20010db800020000, 0}, 64}}},
                                              {"wan0", {0xc6336400, 24}, -1, "", {{{0x20010db800700000, 0}, 64}}}};
  wp::fpm::RouteTable table(ifs, [](uint32_t i) { return i == 3 ? std::string("lan") : std::string(); });
  std::vector<wp::fpm::FpmMessage> msgs;
  std::span<const uint8_t> rest(data, size);
  bool replayed = false;
  while (!rest.empty()) {
    const long len = wp::fpm::fpm_frame_length(rest);
    if (len <= 0) break;  // lost stream, or an incomplete frame at the end
    check(static_cast<size_t>(len) <= rest.size());
    const wp::fpm::FpmError e = wp::fpm::decode_fpm_frame(rest.first(static_cast<size_t>(len)), msgs);
    check(!wp::fpm::fpm_error_name(e).empty());
    for (const wp::fpm::FpmMessage& m : msgs) {
      check((m.prefix.addr & ~m.prefix.mask()) == 0 && m.prefix.len <= 32);
      const wp::Ipv6 mask6 = wp::Ipv6Prefix::mask_of(m.prefix6.len);
      check(m.prefix6.len <= 128 && (m.prefix6.addr.hi & ~mask6.hi) == 0 && (m.prefix6.addr.lo & ~mask6.lo) == 0);
      table.apply(m, 1);
    }
    rest = rest.subspan(static_cast<size_t>(len));
    if (!replayed && rest.size() < size / 2) {
      table.begin_replay();
      replayed = true;
    }
  }
  table.sweep();
  // One build per input: each maps a 64 MiB top-level table (fast natively, slow under ASan).
  check_fib(*table.build(), ifs.size());
  check_fib6(*table.build6(), ifs.size());
  return 0;
}
