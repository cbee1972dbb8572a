// ESP anti-replay with 64-bit extended sequence numbers (RFC 4303 § 2.2.1,
// § 3.4.3 and Appendix A2), for the worker that owns an SA.
//
// An ESP packet carries only the low 32 bits of its sequence number; with
// ESN the high 32 bits are inferred from the window (A2.2) and authenticated
// implicitly (they are part of the ICV input, RFC 4303 § 2.2.1), so a wrong
// guess fails the ICV, never the window. The receiver therefore runs three
// steps, in this order:
//   1. seq = esn_infer(window, low)      what the packet's number must be
//   2. esn_check(window, seq)            new, or already seen / too old: drop
//   3. ICV verified with seq's high half, then esn_update(window, seq)
// so a forged packet can never move the window. Without ESN (`esn` false on
// the SA) the high half is always 0 and a number past 2^32 - 1 never exists:
// the sender must rekey first (esp_seq_next refuses).
//
// The window is kEspWindow (1024) numbers wide, a ring of bits indexed by
// seq % kEspWindow, so moving the top never shifts the bitmap: the words
// between the old and the new top are cleared (all of them on a jump of a
// window or more). One worker owns the SA (docs/ipsec.md), so there are no
// atomics; the HA peer gets `top` and, on takeover, the sender's counter is
// advanced by a safety margin (esp_seq_takeover) so no number is reused.
// No allocation, no branches on secret data.
#pragma once

#include <cstdint>
#include <cstring>

namespace wp {

inline constexpr uint32_t kEspWindow = 1024;  // bits; a multiple of 64
inline constexpr uint32_t kEspWindowWords = kEspWindow / 64;

struct EspReplayWindow {
  uint64_t top = 0;  // highest authenticated number (0: none yet; numbers start at 1)
  uint64_t bits[kEspWindowWords] = {};
};

enum class EspReplay : uint8_t { fresh, replayed, too_old };

// The 64-bit number of a packet whose low half is `low` (RFC 4303 A2.2);
// `esn` false: the low half itself.
inline uint64_t esn_infer(const EspReplayWindow& w, uint32_t low, bool esn) {
  if (!esn) return low;
  const uint32_t tl = static_cast<uint32_t>(w.top), th = static_cast<uint32_t>(w.top >> 32);
  const uint32_t bottom = tl - (kEspWindow - 1);  // Tl - W + 1, mod 2^32
  uint32_t high;
  if (tl >= kEspWindow - 1) {  // Case A: the window lies in one 2^32 subspace
    high = low >= bottom ? th : th + 1;
  } else {  // Case B: it reaches into the previous subspace
    high = low >= bottom ? th - 1 : th;
    // Subspace 0 has nothing below it: the number is taken as ahead in
    // subspace 0 (a guess like any other; the ICV decides).
    if (th == 0 && low >= bottom) high = 0;
  }
  return uint64_t{high} << 32 | low;
}

// Whether `seq` may be accepted (before the ICV check): above the top, or
// inside the window and not yet seen. Number 0 is never sent.
inline EspReplay esn_check(const EspReplayWindow& w, uint64_t seq) {
  if (seq == 0) return EspReplay::too_old;
  if (seq > w.top) return EspReplay::fresh;
  if (w.top - seq >= kEspWindow) return EspReplay::too_old;
  const uint32_t i = static_cast<uint32_t>(seq % kEspWindow);
  return (w.bits[i / 64] >> (i % 64)) & 1 ? EspReplay::replayed : EspReplay::fresh;
}

// Records an authenticated `seq` (esn_check said fresh).
inline void esn_update(EspReplayWindow& w, uint64_t seq) {
  if (seq > w.top) {
    const uint64_t ahead = seq - w.top;
    if (ahead >= kEspWindow) {
      std::memset(w.bits, 0, sizeof w.bits);
    } else {
      // Clear the bits of top+1 .. seq (they held numbers a window older).
      for (uint64_t s = w.top + 1; s <= seq;) {
        const uint32_t i = static_cast<uint32_t>(s % kEspWindow);
        if (i % 64 == 0 && seq - s >= 63) {  // a whole word
          w.bits[i / 64] = 0;
          s += 64;
        } else {
          w.bits[i / 64] &= ~(uint64_t{1} << (i % 64));
          ++s;
        }
      }
    }
    w.top = seq;
  }
  const uint32_t i = static_cast<uint32_t>(seq % kEspWindow);
  w.bits[i / 64] |= uint64_t{1} << (i % 64);
}

// The sender's next number into `seq` (starting at 1). False when the SA is
// used up: 2^32 - 1 sent without ESN, 2^64 - 1 with it (RFC 4303 § 3.3.3: the
// SA must be rekeyed before, never wrapped).
inline bool esp_seq_next(uint64_t& counter, bool esn, uint64_t& seq) {
  const uint64_t last = esn ? UINT64_MAX : UINT32_MAX;
  if (counter >= last) return false;
  seq = ++counter;
  return true;
}

// The sender's counter on the node that takes an SA over from its HA peer:
// the last number the peer synced plus `margin` (more than the peer can have
// sent between two syncs), so no number is ever sent twice.
inline uint64_t esp_seq_takeover(uint64_t synced, uint64_t margin, bool esn) {
  const uint64_t last = esn ? UINT64_MAX : UINT32_MAX;
  return synced > last - margin ? last : synced + margin;
}

}  // namespace wp
