// Alternate-marking maths of one leg and the slot table; see flow_monitor.h.
#include "dataplane/paths/flow_monitor.h"

namespace wp {
namespace {

// 28-bit clock arithmetic: a - b as a signed distance.
int32_t ms_diff(uint32_t a, uint32_t b) {
  uint32_t d = (a - b) & kPathMetricsMsMask;
  return d & 0x08000000 ? static_cast<int32_t>(d | 0xf0000000) : static_cast<int32_t>(d);
}

}  // namespace

PathMetricsTlv LegMonitor::next_marker(uint32_t now_ms) {
  if (tx_started_) {
    // Close the block: its count waits (one report) for the receiver's.
    sent_[tx_colour_] = static_cast<uint16_t>(tx_count_);
    uint16_t bit = static_cast<uint16_t>(1u << tx_colour_);
    sent_valid_ = tx_count_ <= kPathMetricsCountMax ? static_cast<uint16_t>(sent_valid_ | bit)
                                                    : static_cast<uint16_t>(sent_valid_ & ~bit);
    tx_colour_ = (tx_colour_ + 1) & 15;
    sent_valid_ &= static_cast<uint16_t>(~(1u << tx_colour_));  // 16 blocks old: never reported
  }
  tx_started_ = true;
  tx_count_ = 0;
  tx_start_ms_ = now_ms;
  PathMetricsTlv t;
  t.tx_colour = tx_colour_;
  t.tx_ms = now_ms & kPathMetricsMsMask;
  if (have_echo_) {
    t.rx_ms = (echo_tx_ms_ + (now_ms - echo_at_ms_)) & kPathMetricsMsMask;
    if (t.rx_ms == 0) t.rx_ms = 1;  // 0 means "no echo": be 1 ms off once in 3 days instead
  }
  t.rx_colour = done_colour_;
  t.drop = done_state_ != kValid;
  t.prev_count = t.drop ? 0 : static_cast<uint16_t>(done_count_);
  done_state_ = kNone;  // each block is reported once
  return t;
}

FlowSample LegMonitor::on_marker(const PathMetricsTlv& t, uint32_t now_ms) {
  FlowSample out;
  // Our packets, counted by the far end.
  if (!t.drop && (sent_valid_ & (1u << t.rx_colour))) {
    sent_valid_ &= static_cast<uint16_t>(~(1u << t.rx_colour));
    out.block = true;
    out.sent = sent_[t.rx_colour];
    out.received = t.prev_count;
  }
  if (t.rx_ms != 0 && tx_started_) {
    int32_t rtt = ms_diff(now_ms & kPathMetricsMsMask, t.rx_ms);
    if (rtt >= 0 && static_cast<uint32_t>(rtt) <= kMaxRttMs) {
      out.rtt = true;
      out.rtt_ms = static_cast<uint32_t>(rtt);
    }
  }
  // Its packets, counted by us: a new colour closes the block.
  if (!rx_started_) {
    rx_started_ = true;
    done_state_ = kNone;
  } else if (t.tx_colour != rx_colour_) {
    done_colour_ = rx_colour_;
    done_count_ = rx_count_;
    bool next = t.tx_colour == ((rx_colour_ + 1) & 15);
    done_state_ = next && rx_count_ <= kPathMetricsCountMax ? kValid : kInvalid;
  } else {
    return out;  // a repeated marker (reordering): same block, nothing closes
  }
  rx_colour_ = t.tx_colour;
  rx_count_ = 0;
  // One-way delay variation: transit = our clock - theirs; the offset cancels.
  uint32_t transit = (now_ms - t.tx_ms) & kPathMetricsMsMask;
  if (have_transit_) {
    int32_t d = ms_diff(transit, last_transit_);
    out.delay_variation = true;
    out.delta_ms = static_cast<uint32_t>(d < 0 ? -d : d);
  }
  last_transit_ = transit;
  have_transit_ = true;
  echo_tx_ms_ = t.tx_ms;
  echo_at_ms_ = now_ms;
  have_echo_ = true;
  return out;
}

void FlowMonitorTable::init(uint32_t slots) {
  if (slots == 0) {
    slots_.reset();
    mask_ = UINT32_MAX;
    return;
  }
  uint32_t n = 1;
  while (n < slots && n < (1u << 20)) n <<= 1;
  slots_ = std::make_unique<Slot[]>(n);
  mask_ = n - 1;
}

}  // namespace wp
