// Applies the frames of an FpmWriter to a RouteTable as the FPM listener
// does (tests only: fib_route_test, esp_worker_test).
#pragma once

#include <gtest/gtest.h>

#include <span>
#include <vector>

#include "dataplane/control/fpm/fpm_decoder.h"
#include "dataplane/control/fpm/fpm_encoder.h"
#include "dataplane/control/fpm/route_table.h"

namespace wp::test {

inline void apply_stream(fpm::RouteTable& t, const fpm::FpmWriter& w, uint64_t now_ms = 1) {
  std::vector<fpm::FpmMessage> msgs;
  std::span<const uint8_t> rest(w.bytes());
  while (!rest.empty()) {
    const long n = fpm::fpm_frame_length(rest);
    ASSERT_GT(n, 0);
    ASSERT_EQ(fpm::decode_fpm_frame(rest.first(static_cast<size_t>(n)), msgs), fpm::FpmError::none);
    for (const auto& m : msgs) t.apply(m, now_ms);
    rest = rest.subspan(static_cast<size_t>(n));
  }
}

}  // namespace wp::test
