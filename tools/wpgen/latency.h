// Latency histogram for wpgen: log-linear buckets (32 per power of two, so a
// percentile is exact to ~3 %), fixed size, no allocation while recording.
// Values are nanoseconds of round trip (request stamped at tx, reply seen at
// rx, both on the generator's TSC).
#pragma once

#include <array>
#include <bit>
#include <cstdint>

namespace wp::gen {

class LatencyHistogram {
 public:
  static constexpr int kSub = 32;
  static constexpr int kBuckets = 2 * kSub + (64 - 6) * kSub;

  void record(uint64_t ns) {
    ++counts_[bucket(ns)];
    ++total_;
    if (ns > max_) max_ = ns;
  }
  uint64_t count() const { return total_; }
  uint64_t max() const { return max_; }
  // Upper bound of the bucket holding the q-quantile (0 < q <= 1); 0 if empty.
  uint64_t percentile(double q) const {
    if (total_ == 0) return 0;
    uint64_t want = static_cast<uint64_t>(q * static_cast<double>(total_) + 0.5);
    if (want == 0) want = 1;
    uint64_t seen = 0;
    for (int b = 0; b < kBuckets; ++b) {
      seen += counts_[b];
      if (seen >= want) return upper(b) < max_ ? upper(b) : max_;
    }
    return max_;
  }

  static int bucket(uint64_t v) {
    if (v < 2 * kSub) return static_cast<int>(v);
    int msb = 63 - std::countl_zero(v);  // >= 6
    int shift = msb - 5;
    return 2 * kSub + (msb - 6) * kSub + static_cast<int>((v >> shift) & (kSub - 1));
  }
  static uint64_t upper(int b) {
    if (b < 2 * kSub) return static_cast<uint64_t>(b);
    int k = (b - 2 * kSub) / kSub, sub = (b - 2 * kSub) % kSub;
    int shift = k + 1;
    return ((uint64_t{kSub} + static_cast<uint64_t>(sub) + 1) << shift) - 1;
  }

 private:
  std::array<uint64_t, kBuckets> counts_{};
  uint64_t total_ = 0;
  uint64_t max_ = 0;
};

}  // namespace wp::gen
