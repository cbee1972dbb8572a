// Our own lifetimes of IKE and Child SAs (RFC 7296 § 2.8; docs/ipsec.md
// § Rekeying). Lifetimes are not negotiated: each end rekeys on its own
// timers. An SA is rekeyed at its soft lifetime, a jittered fraction of the
// configured one (85..95 %, so two ends with the same lifetime seldom start
// at the same moment, § 2.8.1), by time (ipsec_peers[].ike_lifetime_s,
// child_lifetime_s) or, for a Child SA, by the inner bytes the workers sealed
// and opened on it (child_lifetime_bytes); at the hard lifetime, when no
// rekey succeeded, it is deleted. A rekey that failed is tried again after
// kRekeyRetry until then.
//
// Pure logic with an injected clock and random value (unit-tested in
// ike_lifetime_test); control thread only.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <string_view>

#include "dataplane/control/ike/ike_crypto.h"  // CSpan

namespace wp::ike {

inline constexpr double kSoftMin = 0.85, kSoftMax = 0.95;
inline constexpr std::chrono::seconds kRekeyRetry{10};

// The soft fraction for a random 32-bit value: kSoftMin..kSoftMax, or `floor`..kSoftMax for a
// floor above kSoftMin (`floor` itself above kSoftMax).
double soft_fraction(uint32_t random, double floor = kSoftMin);

// How far an SA carried on (an HA takeover or resume) has come into its lifetime: its age at
// `now` over `lifetime` (0: none by time), or `bytes` over `byte_life` (0: none by bytes) when
// further; kSoftMin when neither says more. Its soft point is drawn again no earlier
// (SaLifetime's `floor`), or every such SA would rekey at once.
double carried_fraction(std::chrono::steady_clock::time_point start, std::chrono::steady_clock::time_point now,
                        std::chrono::seconds lifetime, uint64_t bytes = 0, uint64_t byte_life = 0);

enum class Expiry : uint8_t { none, soft_time, soft_bytes, hard };

class SaLifetime {
 public:
  using Clock = std::chrono::steady_clock;
  SaLifetime() = default;
  // `lifetime` 0: none by time; `bytes` 0: none by bytes. `floor`: the lowest soft fraction
  // drawn, for an SA carried on this far into its lifetime (an HA takeover or resume): soft
  // points drawn again behind it would rekey every such SA at once.
  SaLifetime(Clock::time_point start, std::chrono::seconds lifetime, uint64_t bytes, uint32_t random,
             double floor = kSoftMin);

  // What is due at `now` with `bytes` carried so far: hard before soft, time before bytes.
  Expiry check(Clock::time_point now, uint64_t bytes) const;
  // A rekey may start now: none started yet, or the last one kRekeyRetry ago.
  bool may_start(Clock::time_point now) const { return attempts_ == 0 || now >= last_try_ + kRekeyRetry; }
  void started(Clock::time_point now) {
    last_try_ = now;
    ++attempts_;
  }
  uint32_t attempts() const { return attempts_; }
  bool timed() const { return hard_at_ != Clock::time_point{}; }
  Clock::time_point start() const { return start_; }
  Clock::time_point soft_at() const { return soft_at_; }
  Clock::time_point hard_at() const { return hard_at_; }
  uint64_t soft_bytes() const { return soft_bytes_; }
  uint64_t hard_bytes() const { return hard_bytes_; }
  // Seconds to the hard lifetime (0 when past; -1 when none by time).
  int64_t seconds_left(Clock::time_point now) const;

 private:
  Clock::time_point start_{}, soft_at_{}, hard_at_{}, last_try_{};
  uint64_t soft_bytes_ = 0, hard_bytes_ = 0;
  uint32_t attempts_ = 0;
};

// RFC 7296 § 2.8.1: when both ends rekeyed the same SA at once, the SA made
// with the lowest of the four nonces is redundant and deleted by whoever made
// it. Ours was made with (our_ni, peer_nr), the peer's with (peer_ni, our_nr):
// true when ours is the redundant one (nonces compared as unsigned big-endian
// octet strings, a shorter prefix lower).
bool our_rekey_redundant(CSpan our_ni, CSpan peer_nr, CSpan peer_ni, CSpan our_nr);

// What we did about lifetimes (GET /api/v1/ipsec `rekey`).
#define WP_REKEY_COUNTERS(X)                                                                          \
  X(child_rekeys_time)      /* Child SA rekeys we started: soft lifetime by time */                  \
  X(child_rekeys_bytes)     /* ... by bytes (child_lifetime_bytes) */                                \
  X(ike_rekeys_time)        /* IKE SA rekeys we started: soft lifetime by time */                    \
  X(child_rekeys_completed) /* our Child SA rekeys answered: new SA installed, old one deleted */     \
  X(ike_rekeys_completed)   /* our IKE SA rekeys answered: Child SAs moved to the new IKE SA */      \
  X(rekey_collisions)       /* the peer rekeyed the same SA at the same time (§ 2.8.1) */            \
  X(rekey_failures)         /* our rekeys refused or unanswered (tried again until the hard lifetime) */ \
  X(child_sas_expired)      /* Child SAs deleted at their hard lifetime (no rekey succeeded) */      \
  X(ike_sas_expired)        /* IKE SAs deleted at their hard lifetime */                            \
  X(rekey_collisions_won)   /* collisions resolved by the nonces (§ 2.8.1, § 2.8.2): our new SA survived */ \
  X(rekey_collisions_lost)  /* ... our new SA was redundant (deleted by us) */                       \
  X(peer_child_rekeys)      /* the peer's Child SA rekeys answered (REKEY_SA), either end's IKE SA */ \
  X(peer_child_sas)         /* new Child SAs the peer asked for after IKE_AUTH (CREATE_CHILD_SA) */  \
  X(peer_requests_refused)  /* the peer's CREATE_CHILD_SA refused on IKE SAs we initiated */ \
  X(peer_ike_rekeys)        /* the peer's IKE SA rekeys answered on IKE SAs we initiated */

enum class RekeyCounter : uint8_t {
#define WP_X(n) n,
  WP_REKEY_COUNTERS(WP_X)
#undef WP_X
      count
};
inline constexpr size_t kRekeyCounters = static_cast<size_t>(RekeyCounter::count);
std::string_view rekey_counter_name(RekeyCounter c);

struct RekeyCounters {
  std::array<uint64_t, kRekeyCounters> v{};
  uint64_t& operator[](RekeyCounter c) { return v[static_cast<size_t>(c)]; }
  uint64_t operator[](RekeyCounter c) const { return v[static_cast<size_t>(c)]; }
};

}  // namespace wp::ike
