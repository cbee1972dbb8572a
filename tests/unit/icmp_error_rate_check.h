// The rate of ICMP errors carried through an SVR session, checked at both routers
// (svr_icmp_error_test.cc for IPv4 sessions' TLV 20, svr6_icmp_error_test.cc for TLV 21).
#pragma once

#include <gtest/gtest.h>

#include <vector>

#include "dataplane/worker/rate_limit.h"
#include "tests/unit/svr_harness.h"

namespace wp::test {

// `error` into r2's LAN kIcmpErrorRateBurst + 3 times at once: r2 carries kIcmpErrorRateBurst
// (the rest counted `rate_limited` and dropped as `not_carried`); r1 relays those once, and
// their replay is over its own rate (`rate_limited` kIcmpErrorRateBurst times).
inline void expect_error_rates(Router& r1, Router& r2, const std::vector<uint8_t>& error, Counter rate_limited,
                               DropReason not_carried) {
  std::vector<std::vector<uint8_t>> carriers;
  for (uint32_t i = 0; i < kIcmpErrorRateBurst + 3; ++i)
    for (const Frame& c : r2.send(kLan, error)) carriers.push_back(c.raw);
  EXPECT_EQ(carriers.size(), kIcmpErrorRateBurst);
  EXPECT_EQ(r2.count(rate_limited), 3u);
  EXPECT_EQ(r2.drop_count(not_carried), 3u);
  size_t relayed = 0;
  for (const auto& c : carriers) relayed += r1.send(kWan, c).size();
  for (const auto& c : carriers) relayed += r1.send(kWan, c).size();  // replayed: over r1's rate now
  EXPECT_EQ(relayed, kIcmpErrorRateBurst);
  EXPECT_EQ(r1.count(rate_limited), kIcmpErrorRateBurst);
}

}  // namespace wp::test
