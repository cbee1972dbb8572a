// Anti-replay for packets that carry the per-packet HMAC.
//
// Choice: a sequence window, not time. Every packet signed with the session
// key carries a 32-bit sequence number (per session and WAN side, starting
// at 1) inside the HMAC coverage; the receiver keeps the highest number seen
// and a 64-bit bitmap of the 64 numbers below it, as IPsec ESP does
// (RFC 4303 § 3.4.3). A number already seen or older than the window is
// dropped (`replayed`). The window is updated only after the HMAC verified,
// so forged numbers cannot move it. Time windows would need synchronised
// clocks between routers and still accept replays inside the window.
// Numbers compare with serial arithmetic (RFC 1982), so the 32-bit counter
// may wrap; a replay of a packet from exactly 2^32 packets earlier would be
// accepted (extended sequence numbers would close that; not done).
#pragma once

#include <cstdint>

namespace wp {

struct ReplayWindow {
  uint32_t top = 0;
  uint64_t seen = 0;  // bit i: top - i was seen
};

inline constexpr uint32_t kReplayWindowSize = 64;

// True (and recorded) when `seq` is new and inside the window.
inline bool replay_accept(ReplayWindow& w, uint32_t seq) {
  int32_t ahead = static_cast<int32_t>(seq - w.top);
  if (ahead > 0) {
    w.seen = ahead >= static_cast<int32_t>(kReplayWindowSize) ? 1 : (w.seen << ahead) | 1;
    w.top = seq;
    return true;
  }
  uint32_t back = static_cast<uint32_t>(-static_cast<int64_t>(ahead));
  if (back >= kReplayWindowSize) return false;
  uint64_t bit = uint64_t{1} << back;
  if (w.seen & bit) return false;
  w.seen |= bit;
  return true;
}

}  // namespace wp
