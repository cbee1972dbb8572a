// Frame size sequences for wpgen: fixed sizes or simple IMIX. Sizes are
// Ethernet frame lengths including the 4-byte FCS, as in RFC 2544 and testpmd
// reports, so "64" puts 60 bytes on a DPDK port. Simple IMIX is 7:4:1 of
// 64/594/1518 bytes (average 361.8 B), interleaved in a fixed 12-step cycle
// so any window of 12 packets has the exact ratio.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wp::gen {

inline constexpr uint16_t kFcsBytes = 4;

class SizeMix {
 public:
  static std::optional<SizeMix> parse(std::string_view text) {
    SizeMix m;
    m.name_ = std::string(text);
    if (text == "imix") {
      m.cycle_ = {64, 594, 64, 1518, 64, 594, 64, 594, 64, 64, 594, 64};
      return m;
    }
    uint32_t v = 0;
    if (text.empty() || text.size() > 5) return std::nullopt;
    for (char c : text) {
      if (c < '0' || c > '9') return std::nullopt;
      v = v * 10 + static_cast<uint32_t>(c - '0');
    }
    if (v < 64 || v > 1518) return std::nullopt;
    m.cycle_ = {static_cast<uint16_t>(v)};
    return m;
  }
  // Frame size including FCS of the n-th packet.
  uint16_t frame(uint64_t n) const { return cycle_[n % cycle_.size()]; }
  double average() const {
    double s = 0;
    for (uint16_t v : cycle_) s += v;
    return s / static_cast<double>(cycle_.size());
  }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  std::vector<uint16_t> cycle_;
};

}  // namespace wp::gen
