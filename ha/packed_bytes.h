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

}  // namespace wp::ha
