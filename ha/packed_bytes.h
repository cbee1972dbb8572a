// Little-endian loads and stores of packed session records (packed_ops.h,
// packed_ops6.h): one definition for both record types, whatever the host.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>

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

}  // namespace wp::ha
