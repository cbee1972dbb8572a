// The receiving end of packet duplication (docs/qos.md): a session whose
// class asks for it sends each packet over the two best paths with the same
// per-session sequence number; the receiver forwards the first copy, drops
// the second, and counts what never arrived on either path.
//
// Per session and direction: the highest number seen and a 64-bit bitmap of
// the 64 below it (the window of crypto/replay_window.h, here without the
// HMAC: a duplicate is not an attack, only a copy). Numbers are 32-bit with
// serial arithmetic, so they wrap. A number that falls out of the window
// unseen is a gap: lost on both paths (counted once, when it leaves).
// A number older than the window is `late` and dropped (the copy that got
// through already went, or it is counted as a gap). No allocation; one
// owner worker per session.
#pragma once

#include <bit>
#include <cstdint>

namespace wp {

struct DedupWindow {
  uint64_t seen = 0;  // bit i: top - i arrived
  uint32_t top = 0;
  uint32_t span = 0;  // window positions that hold numbers from the first one seen on (0: none yet)
};
static_assert(sizeof(DedupWindow) == 16);

enum class DedupVerdict : uint8_t { first, duplicate, late };

struct DedupResult {
  DedupVerdict verdict;
  uint32_t gaps;  // numbers that left the window unseen with this packet
};

inline constexpr uint32_t kDedupWindow = 64;

inline uint64_t dedup_low_bits(uint32_t n) { return n >= 64 ? ~uint64_t{0} : (uint64_t{1} << n) - 1; }

inline DedupResult dedup_accept(DedupWindow& w, uint32_t seq) {
  if (w.span == 0) {
    w = {1, seq, 1};
    return {DedupVerdict::first, 0};
  }
  const int32_t ahead = static_cast<int32_t>(seq - w.top);
  if (ahead > 0) {
    // Positions shifted out past the bottom that were never seen are gaps
    // (only positions since the first number: nothing was sent before it),
    // and so is every number jumped over that never fitted in the window.
    uint32_t gaps;
    const uint32_t a = static_cast<uint32_t>(ahead);
    if (a >= kDedupWindow) {
      gaps = w.span - static_cast<uint32_t>(std::popcount(w.seen & dedup_low_bits(w.span))) + (a - kDedupWindow);
      w.seen = 1;
      w.span = kDedupWindow;
    } else {
      const uint64_t leaving = w.seen >> (kDedupWindow - a);
      const uint32_t real = w.span + a > kDedupWindow ? w.span + a - kDedupWindow : 0;
      gaps = real - static_cast<uint32_t>(std::popcount(leaving & dedup_low_bits(real)));
      w.seen = (w.seen << a) | 1;
      w.span = w.span + a > kDedupWindow ? kDedupWindow : w.span + a;
    }
    w.top = seq;
    return {DedupVerdict::first, gaps};
  }
  const uint32_t back = static_cast<uint32_t>(-static_cast<int64_t>(ahead));
  if (back >= kDedupWindow) return {DedupVerdict::late, 0};
  const uint64_t bit = uint64_t{1} << back;
  if (w.seen & bit) return {DedupVerdict::duplicate, 0};
  w.seen |= bit;  // a number from before the first one seen (back >= span) is forwarded too
  return {DedupVerdict::first, 0};
}

}  // namespace wp
