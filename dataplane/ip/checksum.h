// Internet checksum (RFC 1071) and incremental update (RFC 1624, eqn. 3:
// HC' = ~(~HC + ~m + m')). NAT rewrites use the incremental form so a
// rewrite touches only the changed words; metadata insert/strip changes the
// L4 length and payload, so those paths recompute the L4 checksum in full.
// All sums work on 16-bit words in network byte order as stored in memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace wp {

// One's-complement sum of `len` bytes (odd tail padded with zero), folded to 32 bits.
uint32_t csum_partial(const uint8_t* data, size_t len, uint32_t sum = 0);
inline uint16_t csum_fold(uint32_t sum) {
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum & 0xffff);
}

// Checksum field (as a big-endian value) after one 16-bit word changes old -> new.
inline uint16_t csum_update16(uint16_t check, uint16_t old_word, uint16_t new_word) {
  uint32_t sum = static_cast<uint16_t>(~check) + static_cast<uint16_t>(~old_word) + uint32_t{new_word};
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}
inline uint16_t csum_update32(uint16_t check, uint32_t old_val, uint32_t new_val) {
  check = csum_update16(check, static_cast<uint16_t>(old_val >> 16), static_cast<uint16_t>(new_val >> 16));
  return csum_update16(check, static_cast<uint16_t>(old_val), static_cast<uint16_t>(new_val));
}

// Full IPv4 header checksum (header at `ip`, checksum field treated as zero).
uint16_t ipv4_header_checksum(const uint8_t* ip);
// Whether the stored header checksum verifies (RFC 1812 § 5.2.2: a router
// must drop a datagram whose header checksum fails): the one's-complement
// sum over the whole header, checksum field included, is all ones.
// The common 20-byte header is summed inline as five native 32-bit words (the
// sum is byte-order independent, RFC 1071): every forwarded packet checks it.
inline bool ipv4_header_checksum_ok(const uint8_t* ip) {
  if ((ip[0] & 0x0f) == 5) [[likely]] {
    uint32_t w[5];
    std::memcpy(w, ip, sizeof w);
    uint64_t acc = uint64_t{w[0]} + w[1] + w[2] + w[3] + w[4];
    acc = (acc & 0xffffffff) + (acc >> 32);
    acc = (acc & 0xffff) + (acc >> 16);
    acc = (acc & 0xffff) + (acc >> 16);
    acc = (acc & 0xffff) + (acc >> 16);
    return acc == 0xffff;
  }
  return csum_fold(csum_partial(ip, (ip[0] & 0x0f) * 4u)) == 0;
}
// Full TCP/UDP checksum over pseudo-header + L4 bytes (checksum field treated as zero).
// For UDP a computed 0 is returned as 0xffff (RFC 768).
uint16_t l4_checksum(const uint8_t* ip, const uint8_t* l4, uint16_t l4_len);

}  // namespace wp
