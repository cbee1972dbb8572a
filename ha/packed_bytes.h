// Little-endian loads and stores of packed session records (packed_ops.h,
// packed_ops6.h): one definition for both record types, whatever the host.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>

#include "dataplane/ip/ipv6.h"
#include "dataplane/ip/tuple.h"

namespace wp::ha {

template <typename T>
T packed_little(T v) {
  if constexpr (std::endian::native == std::endian::big) {
    if constexpr (sizeof(T) == 2) return static_cast<T>(__builtin_bswap16(v));
    if constexpr (sizeof(T) == 4) return static_cast<T>(__builtin_bswap32(v));
    if constexpr (sizeof(T) == 8) return static_cast<T>(__builtin_bswap64(v));
  }
  return v;
}

template <typename T>
void packed_put(uint8_t* p, T v) {
  v = packed_little(v);
  std::memcpy(p, &v, sizeof v);
}

template <typename T>
T packed_get(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return packed_little(v);
}

// An IPv6 five-tuple as both IPv6 record kinds lay it out (packed_ops6.h,
// packed_svr6.h): source and destination in network order, then the ports
// and the protocol.
inline constexpr size_t kPackedTuple6Bytes = 37;

inline void packed_put_tuple6(uint8_t* p, const FiveTuple6& t) {
  store_ipv6(p, t.src);
  store_ipv6(p + 16, t.dst);
  packed_put<uint16_t>(p + 32, t.sport);
  packed_put<uint16_t>(p + 34, t.dport);
  p[36] = t.proto;
}

inline FiveTuple6 packed_get_tuple6(const uint8_t* p) {
  return {load_ipv6(p), load_ipv6(p + 16), packed_get<uint16_t>(p + 32), packed_get<uint16_t>(p + 34), p[36]};
}

// #17: a body's records byte column by byte column (byte j of record i at
// j * n + i; packed_ops.h, kPackedColumnsFormat). LZ4 finds long matches in
// columns: what a batch's sessions share (names, addresses and ports of a
// waypoint pair, times and counters' high bytes, zero padding) sits in runs
// instead of repeating every record_bytes. Blocks of 16 records keep the
// strided side in the L1 cache.
inline void packed_to_columns(const uint8_t* rows, size_t n, size_t record_bytes, uint8_t* cols) {
  for (size_t i0 = 0; i0 < n; i0 += 16) {
    const size_t i1 = i0 + 16 < n ? i0 + 16 : n;
    for (size_t j = 0; j < record_bytes; ++j)
      for (size_t i = i0; i < i1; ++i) cols[j * n + i] = rows[i * record_bytes + j];
  }
}

inline void packed_from_columns(const uint8_t* cols, size_t n, size_t record_bytes, uint8_t* rows) {
  for (size_t i0 = 0; i0 < n; i0 += 16) {
    const size_t i1 = i0 + 16 < n ? i0 + 16 : n;
    for (size_t j = 0; j < record_bytes; ++j)
      for (size_t i = i0; i < i1; ++i) rows[i * record_bytes + j] = cols[j * n + i];
  }
}

}  // namespace wp::ha
