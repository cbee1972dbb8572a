// In-line flow performance monitoring on live sessions (docs/svr-wire-format.md §
// Path monitoring, TLV 26; alternate marking after RFC 9341 / RFC 8321).
//
// Per session and WAN leg, the sender cuts its packets into blocks of one
// colour (4 bits, +1 per block): the first packet of a block carries TLV 26
// (a "marker"), a new block starts every `period` ms (or after kBlockMax
// packets). The receiver counts the packets arriving between two markers;
// when the next colour arrives, the finished block's count is reported back
// on the next marker the receiver sends the other way (rx colour + previous
// rx colour count). The sender kept its own count per colour, so sent minus
// received is the loss of that block on the path, from live traffic only.
// A block whose end marker was lost (colour gap) or whose count overflowed
// 15 bits is reported with the drop bit and not used: with independent loss
// the blocks that are used still estimate the loss rate without bias.
//
// Times need no clock sync: a marker carries the sender's ms clock (tx time);
// the receiver echoes it as rx time *plus how long it held it* (tx time +
// now - arrival), so the original sender's RTT = now - rx time, the forward
// trip of its marker plus the reverse trip of the answer. The receiver also
// takes one-way transit deltas between successive markers (its clock minus
// the sender's: the offset cancels) as RFC 3550-style delay variation.
//
// This header holds the maths of one leg (pure, unit-tested) and the
// per-worker slot table that gives a sample of sessions their leg state, so
// the session record stays small: slot = session index mod slots.
#pragma once

#include <cstdint>
#include <memory>

#include "dataplane/svr/metadata.h"

namespace wp {

// What one received TLV 26 taught us, for the path's counters.
struct FlowSample {
  bool block = false;  // a block we sent came back counted
  uint32_t sent = 0, received = 0;
  bool rtt = false;
  uint32_t rtt_ms = 0;
  bool delay_variation = false;
  uint32_t delta_ms = 0;  // |transit - previous transit|, one way, toward us
};

class LegMonitor {
 public:
  static constexpr uint32_t kBlockMax = 16384;  // packets; a block closes earlier than 15 bits overflow
  static constexpr uint32_t kMaxRttMs = 60000;  // older echoes (a stall, a wrap) are not RTTs

  // Sender: is it time for a marker on the next packet leaving this leg?
  bool marker_due(uint32_t now_ms, uint32_t period_ms) const {
    return !tx_started_ || now_ms - tx_start_ms_ >= period_ms || tx_count_ >= kBlockMax;
  }
  // Closes our block, starts the next colour, and reports what we received
  // on this leg (the finished block, once; the echo). Count the marker
  // packet with count_tx() after this: it is the first of its block.
  PathMetricsTlv next_marker(uint32_t now_ms);
  void count_tx() { tx_count_ += tx_started_; }

  // Receiver: a marker arrived on this leg; call before count_rx() of its packet.
  FlowSample on_marker(const PathMetricsTlv& t, uint32_t now_ms);
  void count_rx() { rx_count_ += rx_started_; }

  // The leg moved to another path: nothing measured so far may mix with the new one.
  void reset() { *this = LegMonitor{}; }

 private:
  enum : uint8_t { kNone = 0, kValid = 1, kInvalid = 2 };
  // Sender side: packets we send on the leg.
  uint32_t tx_start_ms_ = 0;
  uint32_t tx_count_ = 0;
  uint16_t sent_[16] = {};
  uint16_t sent_valid_ = 0;  // bit per colour: sent_[c] is a closed block not yet reported
  uint8_t tx_colour_ = 0;
  bool tx_started_ = false;
  // Receiver side: packets arriving from the leg.
  bool rx_started_ = false;
  bool have_echo_ = false;
  bool have_transit_ = false;
  uint8_t rx_colour_ = 0;
  uint8_t done_colour_ = 0;
  uint8_t done_state_ = kNone;
  uint32_t rx_count_ = 0;
  uint32_t done_count_ = 0;
  uint32_t echo_tx_ms_ = 0;  // sender clock (28 bits) of the last marker
  uint32_t echo_at_ms_ = 0;  // our clock when it arrived
  uint32_t last_transit_ = 0;
};

// A worker's sessions under measurement: slot = session index & (slots - 1),
// owned by (index, UUID); a session whose slot another live session holds is
// simply not sampled.
class FlowMonitorTable {
 public:
  struct Slot {
    uint32_t session = UINT32_MAX;  // session index; UINT32_MAX = free
    uint32_t last_ms = 0;           // last marker either way: idle slots may be taken
    SessionUuid uuid{};
    LegMonitor leg[2];  // [0] side A (out_rev), [1] side B (out_fwd)
  };
  static constexpr uint32_t kIdleMs = 30000;

  // Rounds `slots` up to a power of two; 0 = off.
  void init(uint32_t slots);
  bool on() const { return mask_ != UINT32_MAX; }
  Slot& slot_for(uint32_t session) { return slots_[session & mask_]; }
  static bool owns(const Slot& s, uint32_t session, const SessionUuid& uuid) {
    return s.session == session && s.uuid == uuid;
  }

 private:
  std::unique_ptr<Slot[]> slots_;
  uint32_t mask_ = UINT32_MAX;
};

}  // namespace wp
