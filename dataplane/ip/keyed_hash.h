// Keyed hashing for tables an attacker fills from the wire (reassembly,
// neighbors): SipHash-1-3 (Aumasson & Bernstein, "SipHash: a fast short-input
// PRF", 2012; the reduced-round variant Python and Rust use for hash tables)
// over two 64-bit words, keyed with a secret drawn once per process. Without
// the secret a sender cannot choose keys that land in one bucket, so the only
// way to fill a set-associative table is to fill all of it, which per-source
// bounds then prevent.
#pragma once

#include <cstdint>
#include <initializer_list>

namespace wp {

struct HashSecret {
  uint64_t k0 = 0, k1 = 0;
};

// Drawn from getrandom(2) on first use; the same for every table of the process.
HashSecret boot_secret();

inline uint64_t siphash13(const HashSecret& s, uint64_t a, uint64_t b) {
  uint64_t v0 = s.k0 ^ 0x736f6d6570736575ULL, v1 = s.k1 ^ 0x646f72616e646f6dULL;
  uint64_t v2 = s.k0 ^ 0x6c7967656e657261ULL, v3 = s.k1 ^ 0x7465646279746573ULL;
  auto rotl = [](uint64_t x, int r) { return x << r | x >> (64 - r); };
  auto round = [&] {
    v0 += v1, v1 = rotl(v1, 13), v1 ^= v0, v0 = rotl(v0, 32);
    v2 += v3, v3 = rotl(v3, 16), v3 ^= v2;
    v0 += v3, v3 = rotl(v3, 21), v3 ^= v0;
    v2 += v1, v1 = rotl(v1, 17), v1 ^= v2, v2 = rotl(v2, 32);
  };
  for (uint64_t m : {a, b, uint64_t{16} << 56}) {  // two words, then the length block
    v3 ^= m;
    round();
    v0 ^= m;
  }
  v2 ^= 0xff;
  round(), round(), round();
  return v0 ^ v1 ^ v2 ^ v3;
}

}  // namespace wp
