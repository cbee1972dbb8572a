// What every benchmark's report shares: the median of its samples (one
// preemption on a shared VM spoils a sample, not the result) and the UTC
// stamp in its JSON line.
#pragma once

#include <algorithm>
#include <ctime>
#include <string>
#include <vector>

namespace wp::bench {

// The middle sample (the mean of the two middle ones for an even count); 0 without samples.
template <typename T>
double median(std::vector<T> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? static_cast<double>(v[n / 2])
               : (static_cast<double>(v[n / 2 - 1]) + static_cast<double>(v[n / 2])) / 2;
}

// Now as ISO 8601 UTC, e.g. 2026-01-31T12:00:00Z.
inline std::string iso_date_now() {
  char buf[32];
  std::time_t t = std::time(nullptr);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

// CPU seconds this thread has run: the per-packet figures of the worker benches divide by it,
// so time the host gave to other processes does not count.
inline double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

}  // namespace wp::bench
