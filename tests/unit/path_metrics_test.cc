// In-line flow performance monitoring (TLV 26): the TLV codec, the
// alternate-marking maths of a leg (colour counting, loss, RTT from echoed
// timestamps, one-way delay variation), the control thread's window, and
// how the result combines with probe metrics for SLAs.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "dataplane/paths/flow_monitor.h"
#include "dataplane/svr/metadata.h"
#include "dataplane/paths/path_monitor.h"
#include "dataplane/paths/path_table.h"

namespace wp {
namespace {

// --- TLV 26 codec ---------------------------------------------------------------

TEST(PathMetricsTlv, RoundTripsEveryFieldAtItsLimits) {
  PathMetricsTlv t{15, kPathMetricsMsMask, 9, 123456, true, kPathMetricsCountMax};
  uint8_t v[kPathMetricsLen];
  encode_path_metrics(t, v);
  EXPECT_EQ(v[0] >> 4, 15) << "colour in the top 4 bits";
  EXPECT_EQ(v[8] & 0x80, 0x80) << "drop bit is bit 15 of the last u16";
  PathMetricsTlv d = decode_path_metrics(v);
  EXPECT_EQ(d.tx_colour, 15);
  EXPECT_EQ(d.tx_ms, kPathMetricsMsMask);
  EXPECT_EQ(d.rx_colour, 9);
  EXPECT_EQ(d.rx_ms, 123456u);
  EXPECT_TRUE(d.drop);
  EXPECT_EQ(d.prev_count, kPathMetricsCountMax);
  // Times wider than 28 bits keep their low bits and do not spill into the colour.
  PathMetricsTlv w{3, 0xffffffff, 0, 0x10000005, false, 7};
  encode_path_metrics(w, v);
  d = decode_path_metrics(v);
  EXPECT_EQ(d.tx_colour, 3);
  EXPECT_EQ(d.tx_ms, kPathMetricsMsMask);
  EXPECT_EQ(d.rx_ms, 5u);
  EXPECT_FALSE(d.drop);
  EXPECT_EQ(d.prev_count, 7);
}

std::vector<uint8_t> block_with(Tlv type, const uint8_t* v, uint16_t len, bool header) {
  std::vector<uint8_t> b(kMaxMetadataLen);
  MetadataWriter w(b.data(), b.size());
  w.raw_tlv(type, v, len, header);
  b.resize(w.finish());
  return b;
}

TEST(PathMetricsTlv, DecodesInTheHeaderSectionOfABlock) {
  std::vector<uint8_t> b(kMaxMetadataLen);
  MetadataWriter w(b.data(), b.size());
  w.path_metrics(PathMetricsTlv{4, 1000, 3, 900, false, 42});
  size_t n = w.finish();
  ASSERT_EQ(n, 26u) << "cookie/lengths 12 + TLV header 4 + value 10";
  Metadata md;
  ASSERT_EQ(decode_metadata(b.data(), n, md), MetadataStatus::ok);
  EXPECT_EQ(md.header_len, 26);
  EXPECT_EQ(md.payload_len, 0);
  ASSERT_TRUE(md.has_path_metrics);
  EXPECT_EQ(md.path_metrics.tx_colour, 4);
  EXPECT_EQ(md.path_metrics.tx_ms, 1000u);
  EXPECT_EQ(md.path_metrics.prev_count, 42);
  EXPECT_FALSE(md.has_uuid);
}

TEST(PathMetricsTlv, MalformedLengthsAndSectionsAreRejected) {
  uint8_t v[11] = {};
  Metadata md;
  auto short_v = block_with(Tlv::path_metrics, v, 9, true);
  EXPECT_EQ(decode_metadata(short_v.data(), short_v.size(), md), MetadataStatus::malformed);
  auto long_v = block_with(Tlv::path_metrics, v, 11, true);
  EXPECT_EQ(decode_metadata(long_v.data(), long_v.size(), md), MetadataStatus::malformed);
  auto payload = block_with(Tlv::path_metrics, v, 10, false);
  EXPECT_EQ(decode_metadata(payload.data(), payload.size(), md), MetadataStatus::malformed)
      << "TLV 26 belongs to the header section";
  auto ok = block_with(Tlv::path_metrics, v, 10, true);
  for (size_t cut = 12; cut < ok.size(); ++cut)  // truncated value: never read past the buffer
    EXPECT_EQ(decode_metadata(ok.data(), cut, md), MetadataStatus::malformed) << cut;
  EXPECT_EQ(decode_metadata(ok.data(), ok.size(), md), MetadataStatus::ok);
}

// --- one leg, both ends -----------------------------------------------------------

// A sends on the leg, B receives; B's markers the other way carry the reports.
struct Wire {
  LegMonitor a, b;
  uint32_t a_clock = 5000, b_clock = 9000000;  // unsynchronised clocks
  FlowSample last;
  void a_marker() { b_in(a.next_marker(a_clock)); }
  void b_in(const PathMetricsTlv& t) { b.on_marker(t, b_clock); }
  // A sends n packets, of which the ones with index in `lost` vanish.
  void a_sends(int n, std::vector<int> lost = {}) {
    for (int i = 0; i < n; ++i) {
      a.count_tx();
      bool gone = false;
      for (int l : lost) gone |= l == i;
      if (!gone) b.count_rx();
    }
  }
  FlowSample b_reports() {
    last = a.on_marker(b.next_marker(b_clock), a_clock);
    return last;
  }
  void tick(uint32_t ms) {
    a_clock += ms;
    b_clock += ms;
  }
};

TEST(LegMonitor, CountsAColourBlockAndReportsItsLossOnce) {
  Wire w;
  w.a_marker();  // colour 0 starts; the marker packet is the block's first
  w.a_sends(100, {3, 50, 99});
  w.tick(100);
  w.a_marker();  // colour 1 closes colour 0
  w.a_sends(1);
  FlowSample s = w.b_reports();
  ASSERT_TRUE(s.block);
  EXPECT_EQ(s.sent, 100u);
  EXPECT_EQ(s.received, 97u);
  // The same block is never counted twice.
  w.tick(10);
  EXPECT_FALSE(w.b_reports().block);
}

TEST(LegMonitor, ALostMarkerSetsTheDropBitAndTheBlockIsNotUsed) {
  Wire w;
  w.a_marker();
  w.a_sends(20);
  w.tick(100);
  (void)w.a.next_marker(w.a_clock);  // colour 1's marker is lost on the way
  w.a_sends(20);
  w.tick(100);
  w.a_marker();  // colour 2 arrives after colour 0: B counted 0 and 1 together
  w.a_sends(5);
  PathMetricsTlv rep = w.b.next_marker(w.b_clock);
  EXPECT_TRUE(rep.drop);
  FlowSample s = w.a.on_marker(rep, w.a_clock);
  EXPECT_FALSE(s.block) << "a block spanning a lost marker says nothing reliable";
  // The next clean block is measured again.
  w.tick(100);
  w.a_marker();
  s = w.b_reports();
  ASSERT_TRUE(s.block);
  EXPECT_EQ(s.sent, 5u);
  EXPECT_EQ(s.received, 5u);
}

TEST(LegMonitor, ColoursWrapAfterSixteenBlocks) {
  Wire w;
  w.a_marker();
  for (int blk = 0; blk < 40; ++blk) {
    w.a_sends(10 + blk, {0});  // the marker of each block gets through, another one is lost
    w.tick(100);
    w.a_marker();
    FlowSample s = w.b_reports();
    ASSERT_TRUE(s.block) << blk;
    EXPECT_EQ(s.sent, 10u + blk);
    EXPECT_EQ(s.received, 9u + blk);
  }
}

TEST(LegMonitor, RoundTripFromTheEchoWithoutClockSync) {
  Wire w;
  w.a_marker();  // A's marker leaves at a_clock, arrives at once
  w.tick(30);    // 30 ms forward trip
  w.b.on_marker(w.a.next_marker(w.a_clock - 30), w.b_clock);
  w.tick(200);  // B holds the echo 200 ms before its next marker
  PathMetricsTlv rep = w.b.next_marker(w.b_clock);
  w.tick(20);  // 20 ms reverse trip
  FlowSample s = w.a.on_marker(rep, w.a_clock);
  ASSERT_TRUE(s.rtt);
  EXPECT_EQ(s.rtt_ms, 50u) << "30 forward + 20 back; B's 200 ms hold and the clock offset cancel";
}

TEST(LegMonitor, OneWayDelayVariationBetweenMarkers) {
  LegMonitor b;
  uint32_t t_send = 1000, offset = 777777;
  FlowSample s = b.on_marker(PathMetricsTlv{0, t_send, 0, 0, true, 0}, t_send + offset + 10);
  EXPECT_FALSE(s.delay_variation) << "needs two markers";
  s = b.on_marker(PathMetricsTlv{1, t_send + 100, 0, 0, true, 0}, t_send + 100 + offset + 25);
  ASSERT_TRUE(s.delay_variation);
  EXPECT_EQ(s.delta_ms, 15u);
  s = b.on_marker(PathMetricsTlv{2, t_send + 200, 0, 0, true, 0}, t_send + 200 + offset + 5);
  EXPECT_EQ(s.delta_ms, 20u) << "absolute value of a decrease";
}

TEST(LegMonitor, TwentyEightBitClockWrapsAreHarmless) {
  Wire w;
  w.a_clock = kPathMetricsMsMask - 10;  // A's clock wraps between marker and answer
  w.a_marker();
  w.a_sends(10);
  w.tick(40);
  w.a_marker();
  FlowSample s = w.b_reports();
  ASSERT_TRUE(s.rtt);
  EXPECT_EQ(s.rtt_ms, 0u) << "instant links in this model: only the 40 ms hold, which cancels";
  ASSERT_TRUE(s.block);
  EXPECT_EQ(s.sent, 10u);
}

TEST(LegMonitor, MarkerDueByTimeOrByCount) {
  LegMonitor a;
  EXPECT_TRUE(a.marker_due(0, 100)) << "the first packet opens the first block";
  (void)a.next_marker(0);
  EXPECT_FALSE(a.marker_due(99, 100));
  EXPECT_TRUE(a.marker_due(100, 100));
  for (uint32_t i = 0; i < LegMonitor::kBlockMax; ++i) a.count_tx();
  EXPECT_TRUE(a.marker_due(1, 100)) << "long before 15 bits overflow";
}

TEST(LegMonitor, ResetAfterAMoveForgetsTheOldPath) {
  Wire w;
  w.a_marker();
  w.a_sends(10);
  w.tick(100);
  w.a_marker();
  w.a.reset();  // A moved the leg: B's report about the old path must not count
  EXPECT_FALSE(w.b_reports().block);
}

// --- the control thread's window --------------------------------------------------

TEST(FlowWindow, LossNeedsEnoughPacketsAndLapsesWithoutTraffic) {
  FlowWindow f;
  EXPECT_FALSE(f.update(1000000, 1000000, 0, 0, 0, 0, 0, 0)) << "the first call opens the window";
  EXPECT_FALSE(f.update(1500000, 1000000, 1000, 900, 0, 0, 0, 0)) << "window not over";
  ASSERT_TRUE(f.update(2000000, 1000000, 1000, 900, 300, 10, 40, 8));
  EXPECT_TRUE(f.have_loss);
  EXPECT_EQ(f.loss_permille, 100u);
  EXPECT_EQ(f.rtt_us, 30000u);
  EXPECT_EQ(f.jitter_us, 5000u);
  // 20 more packets: too few for a loss figure, the old one stays.
  f.update(3000000, 1000000, 1020, 900, 300, 10, 40, 8);
  EXPECT_EQ(f.loss_permille, 100u);
  // Received above sent (markers overtaken in a burst) is no loss, not a wrap.
  ASSERT_TRUE(f.update(4000000, 1000000, 1100, 1005, 300, 10, 40, 8));
  EXPECT_EQ(f.loss_permille, 0u);
  EXPECT_TRUE(f.update(4000000 + FlowWindow::kStaleUs + 1, 1000000, 1100, 1005, 300, 10, 40, 8));
  EXPECT_FALSE(f.have_loss);
  EXPECT_FALSE(f.have_time);
}

TEST(FlowWindow, APathThatWentDownStartsOverFromItsCurrentSums) {
  FlowWindow f;
  f.update(0 + 1, 1000000, 0, 0, 0, 0, 0, 0);
  ASSERT_TRUE(f.update(1000001, 1000000, 1000, 500, 100, 1, 0, 0));
  EXPECT_EQ(f.loss_permille, 500u);
  f.rebase = true;  // BFD Down: blocks counted before say nothing about the path now
  EXPECT_TRUE(f.update(1100000, 1000000, 1600, 600, 100, 1, 0, 0));
  EXPECT_FALSE(f.have_loss);
  EXPECT_FALSE(f.have_time);
  ASSERT_TRUE(f.update(2100000, 1000000, 1700, 700, 100, 1, 0, 0));
  EXPECT_EQ(f.loss_permille, 0u) << "only the 100 packets since the rebase count";
}

TEST(PathLive, SlaJudgesTheWorseOfProbeAndFlow) {
  PathLive l;
  EXPECT_FALSE(l.sla_measured());
  l.measured = true;
  l.rtt_us = 20000;
  l.loss_permille = 0;
  EXPECT_EQ(l.sla_rtt_us(), 20000u);
  l.flow_measured = true;
  l.flow_rtt_us = 15000;
  l.flow_loss_permille = 80;
  EXPECT_EQ(l.sla_rtt_us(), 20000u) << "the probe's higher RTT stands";
  EXPECT_EQ(l.sla_loss_permille(), 80u) << "live traffic loses packets the probes did not see";
  l.measured = false;
  EXPECT_EQ(l.sla_rtt_us(), 15000u) << "an unmeasured probe does not vouch with its zero";
}

}  // namespace
}  // namespace wp
