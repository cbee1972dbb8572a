// Duplicate Address Detection of our own IPv6 addresses (RFC 4862 § 5.4),
// kept by the control thread (docs/ipv6.md § Duplicate Address Detection).
//
// Every address of an interface with configured IPv6 addresses (its
// link-local too; an IPv4-only port originates no IPv6) starts tentative: one solicitation from the unspecified address to its
// solicited-node group (DupAddrDetectTransmits = 1, § 5.1), then
// RetransTimer (1 s) of listening. Meanwhile the address is not ours to
// answer for: solicitations for it from a unicast source are not answered
// (§ 5.4.3), echo requests to it are not answered. What proves another node
// holds it (§ 5.4.3, § 5.4.4): a DAD solicitation (unspecified source) for it
// that is not our own looped back, or any advertisement for it. Our
// solicitations carry a random nonce (RFC 7527 § 4.1), so one that comes back
// through a loop in the LAN is recognised and ignored instead of taken for a
// duplicate. A duplicate address stays unused (never answered for) until the
// configuration changes it; one that passes becomes preferred, and an
// advertisement for it later is only counted as a conflict (our answers to
// solicitations defend it). Plain data, no DPDK: unit-tested on its own.
#pragma once

#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include "dataplane/ip/ipv6.h"
#include "dataplane/ip/ndp.h"

namespace wp {

class DadTable {
 public:
  static constexpr uint32_t kRetransMs = 1000;  // RFC 4861 RETRANS_TIMER
  static constexpr int kTransmits = 1;          // RFC 4862 § 5.1 DupAddrDetectTransmits
  enum class State : uint8_t { tentative, preferred, duplicate };
  // What an ND message about one of our addresses means for it.
  enum class Seen : uint8_t {
    untracked,  // not one of ours, or preferred: handle the message as usual
    ignored,    // tentative or duplicate: not answered
    looped,     // our own DAD solicitation, come back
    duplicate,  // this message shows the address is another node's: now duplicate
    conflict,   // an advertisement for a preferred (or already duplicate) address
  };
  struct Entry {
    int iface = 0;
    Ipv6 addr;
    State state = State::tentative;
    int sent = 0;
    uint32_t last_ms = 0;
    uint8_t nonce[kNdNonceLen] = {};
  };

  // The addresses to check, as (interface, address). An address already
  // known on the same interface keeps its state; a new one starts tentative
  // with a nonce from `seed` (mixed per address); one no longer listed goes.
  void set(const std::vector<std::pair<int, Ipv6>>& addrs, uint64_t seed) {
    std::vector<Entry> next;
    next.reserve(addrs.size());
    for (const auto& [iface, addr] : addrs) {
      if (const Entry* old = find(iface, addr)) {
        next.push_back(*old);
        continue;
      }
      Entry e;
      e.iface = iface;
      e.addr = addr;
      uint64_t x = seed ^ addr.hi ^ (addr.lo * 0x9e3779b97f4a7c15ULL) ^ (uint64_t(iface) << 48);
      x = mix(x);
      for (size_t i = 0; i < kNdNonceLen; ++i) e.nonce[i] = static_cast<uint8_t>(x >> (8 * i));
      next.push_back(e);
    }
    entries_ = std::move(next);
  }

  // Timers: `send(entry)` for each solicitation due now; tentative addresses
  // whose last solicitation went unanswered for kRetransMs become preferred.
  // Returns how many became preferred.
  template <class Send>
  uint32_t tick(uint32_t now_ms, Send&& send) {
    uint32_t passed = 0;
    for (Entry& e : entries_) {
      if (e.state != State::tentative) continue;
      const bool waited = e.sent > 0 && now_ms - e.last_ms >= kRetransMs;
      if (e.sent == 0 || (waited && e.sent < kTransmits)) {
        send(std::as_const(e));
        ++e.sent;
        e.last_ms = now_ms;
      } else if (waited) {
        e.state = State::preferred;
        ++passed;
      }
    }
    return passed;
  }

  // A Neighbor Solicitation for `target` on `iface`; `from_unspecified`: a
  // DAD probe; `nonce`: its nonce option, or null.
  Seen solicit_seen(int iface, const Ipv6& target, bool from_unspecified, const uint8_t* nonce) {
    Entry* e = find_mut(iface, target);
    if (!e || e->state == State::preferred) return Seen::untracked;
    if (e->state == State::duplicate || !from_unspecified) return Seen::ignored;
    if (nonce && std::memcmp(nonce, e->nonce, kNdNonceLen) == 0) return Seen::looped;
    e->state = State::duplicate;
    return Seen::duplicate;
  }

  // A Neighbor Advertisement for `target` on `iface`.
  Seen advert_seen(int iface, const Ipv6& target) {
    Entry* e = find_mut(iface, target);
    if (!e) return Seen::untracked;
    if (e->state != State::tentative) return Seen::conflict;
    e->state = State::duplicate;
    return Seen::duplicate;
  }

  // Whether we may answer for `a` on `iface` (untracked addresses: yes).
  bool usable(int iface, const Ipv6& a) const {
    const Entry* e = find(iface, a);
    return !e || e->state == State::preferred;
  }
  const Entry* find(int iface, const Ipv6& a) const {
    for (const Entry& e : entries_)
      if (e.iface == iface && e.addr == a) return &e;
    return nullptr;
  }
  const std::vector<Entry>& entries() const { return entries_; }

 private:
  Entry* find_mut(int iface, const Ipv6& a) { return const_cast<Entry*>(std::as_const(*this).find(iface, a)); }
  static uint64_t mix(uint64_t x) {  // splitmix64's finaliser
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
  }
  std::vector<Entry> entries_;
};

}  // namespace wp
