// The WAN egress scheduler (dataplane/qos/scheduler.h) on a simulated clock:
// strict priority, DRR byte shares by weight (equal and mixed packet sizes),
// the port shaper's rate, a class cap, queue limits, queue delay counters and
// next_ready_ns.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "dataplane/qos/scheduler.h"

namespace wp {
namespace {

constexpr uint64_t kMs = 1'000'000;

struct Sim {
  QosScheduler s;
  uint64_t now = 0;
  std::map<QosClass, uint32_t> size;  // packet size each saturated class sends

  explicit Sim(const QosPortConfig& c) : s(c, 0) {}
  // Keeps every class in `size` backlogged and drains for `ms` simulated
  // milliseconds in 10 us steps.
  void run(uint64_t ms) {
    const uint64_t end = now + ms * kMs;
    QosItem out[64];
    for (; now < end; now += 10'000) {
      for (auto [cls, len] : size)
        while (s.counters(cls).depth < 32) s.enqueue(cls, {nullptr, len}, now);
      s.dequeue(out, 64, now);
    }
  }
};

// What a class sent, from its counters.
uint64_t bytes(const Sim& sim, QosClass c) { return sim.s.counters(c).sent_bytes; }

TEST(QosScheduler, StrictClassesLeaveFirstInClassOrder) {
  QosScheduler s(QosPortConfig::defaults(), 0);
  for (int i = 0; i < 5; ++i) s.enqueue(QosClass::bulk, {reinterpret_cast<void*>(1), 100}, 0);
  for (int i = 0; i < 3; ++i) s.enqueue(QosClass::voice, {reinterpret_cast<void*>(2), 100}, 0);
  s.enqueue(QosClass::network_control, {reinterpret_cast<void*>(3), 100}, 0);
  QosItem out[16];
  ASSERT_EQ(s.dequeue(out, 16, 1), 9u);
  EXPECT_EQ(out[0].pkt, reinterpret_cast<void*>(3));
  for (int i = 1; i <= 3; ++i) EXPECT_EQ(out[i].pkt, reinterpret_cast<void*>(2));
  for (int i = 4; i < 9; ++i) EXPECT_EQ(out[i].pkt, reinterpret_cast<void*>(1));
  EXPECT_EQ(s.queued(), 0u);
}

TEST(QosScheduler, SharedClassesGetBytesInProportionToTheirWeights) {
  QosPortConfig c = QosPortConfig::defaults();
  c.rate_bps = 100'000'000;  // 100 Mbit/s, saturated by all four shared classes
  Sim sim(c);
  sim.size = {{QosClass::video, 1200}, {QosClass::interactive, 1200}, {QosClass::best_effort, 1200}, {QosClass::bulk, 1200}};
  sim.run(1000);
  const double total = double(bytes(sim, QosClass::video) + bytes(sim, QosClass::interactive) +
                              bytes(sim, QosClass::best_effort) + bytes(sim, QosClass::bulk));
  EXPECT_NEAR(total * 8 / 1e6, 100.0, 1.0) << "Mbit sent in 1 s";
  EXPECT_NEAR(bytes(sim, QosClass::video) / total, 0.40, 0.01);
  EXPECT_NEAR(bytes(sim, QosClass::interactive) / total, 0.30, 0.01);
  EXPECT_NEAR(bytes(sim, QosClass::best_effort) / total, 0.20, 0.01);
  EXPECT_NEAR(bytes(sim, QosClass::bulk) / total, 0.10, 0.01);
}

TEST(QosScheduler, SharesAreInBytesNotPackets) {
  QosPortConfig c = QosPortConfig::defaults();
  c.rate_bps = 50'000'000;
  c.classes[static_cast<size_t>(QosClass::interactive)].weight = 1;
  c.classes[static_cast<size_t>(QosClass::bulk)].weight = 1;
  Sim sim(c);
  sim.size = {{QosClass::interactive, 64}, {QosClass::bulk, 1500}};  // small vs large packets, equal weights
  sim.run(500);
  const double a = double(bytes(sim, QosClass::interactive)), b = double(bytes(sim, QosClass::bulk));
  EXPECT_NEAR(a / (a + b), 0.5, 0.02);
  EXPECT_GT(sim.s.counters(QosClass::interactive).sent, 10 * sim.s.counters(QosClass::bulk).sent);
}

TEST(QosScheduler, PortShaperHoldsItsRate) {
  for (uint64_t rate : {1'000'000ull, 10'000'000ull, 1'000'000'000ull}) {
    QosPortConfig c = QosPortConfig::defaults();
    c.rate_bps = rate;
    Sim sim(c);
    sim.size = {{QosClass::best_effort, 1000}};
    sim.run(2000);
    const double mbit = bytes(sim, QosClass::best_effort) * 8 / 1e6;
    const double expect = rate * 2 / 1e6 + c.burst_bytes * 8 / 1e6;  // 2 s plus the initial burst
    EXPECT_NEAR(mbit, expect, expect * 0.01 + 0.01) << rate;
  }
}

TEST(QosScheduler, ClassCapLeavesTheRestToOthersAndCapsAStrictClass) {
  QosPortConfig c = QosPortConfig::defaults();
  c.rate_bps = 100'000'000;
  c.classes[static_cast<size_t>(QosClass::voice)].rate_bps = 10'000'000;  // a strict class, capped
  c.classes[static_cast<size_t>(QosClass::bulk)].rate_bps = 5'000'000;
  Sim sim(c);
  sim.size = {{QosClass::voice, 200}, {QosClass::bulk, 1500}, {QosClass::best_effort, 1500}};
  sim.run(1000);
  EXPECT_NEAR(bytes(sim, QosClass::voice) * 8 / 1e6, 10.0, 0.3);
  EXPECT_NEAR(bytes(sim, QosClass::bulk) * 8 / 1e6, 5.0, 0.3);
  EXPECT_NEAR(bytes(sim, QosClass::best_effort) * 8 / 1e6, 85.0, 1.5);  // what is left
}

TEST(QosScheduler, UncappedStrictClassStarvesSharedOnes) {
  QosPortConfig c = QosPortConfig::defaults();
  c.rate_bps = 10'000'000;
  Sim sim(c);
  sim.size = {{QosClass::voice, 200}, {QosClass::best_effort, 1500}};
  sim.run(200);
  EXPECT_GT(bytes(sim, QosClass::voice), 0u);
  EXPECT_LE(bytes(sim, QosClass::best_effort), uint64_t{c.burst_bytes});  // at most the start-up burst
}

TEST(QosScheduler, QueueLimitDropsAndCounts) {
  QosPortConfig c = QosPortConfig::defaults();
  c.classes[static_cast<size_t>(QosClass::bulk)].queue_packets = 4;
  QosScheduler s(c, 0);
  int accepted = 0;
  for (int i = 0; i < 10; ++i) accepted += s.enqueue(QosClass::bulk, {nullptr, 100}, 0);
  EXPECT_EQ(accepted, 4);
  const QosClassCounters& k = s.counters(QosClass::bulk);
  EXPECT_EQ(k.enqueued, 4u);
  EXPECT_EQ(k.dropped, 6u);
  EXPECT_EQ(k.dropped_bytes, 600u);
  EXPECT_EQ(k.depth, 4u);
}

TEST(QosScheduler, QueueDelayAndNextReady) {
  QosPortConfig c = QosPortConfig::defaults();
  c.rate_bps = 8'000'000;  // 1 byte per microsecond
  c.burst_bytes = 1000;
  QosScheduler s(c, 0);
  for (int i = 0; i < 3; ++i) s.enqueue(QosClass::best_effort, {nullptr, 1000}, 0);
  QosItem out[4];
  EXPECT_EQ(s.dequeue(out, 4, 0), 1u);  // the burst
  const uint64_t ready = s.next_ready_ns(0);
  EXPECT_NEAR(double(ready), 1e6, 1e3);  // 1000 bytes at 1 byte/us
  EXPECT_EQ(s.dequeue(out, 4, ready - 2000), 0u);
  EXPECT_EQ(s.dequeue(out, 4, ready), 1u);
  const QosClassCounters& k = s.counters(QosClass::best_effort);
  EXPECT_EQ(k.delay_ns_max, ready);
  EXPECT_EQ(s.next_ready_ns(ready) > ready, true);
  EXPECT_EQ(QosScheduler(c, 0).next_ready_ns(0), UINT64_MAX);  // nothing queued
}

}  // namespace
}  // namespace wp
