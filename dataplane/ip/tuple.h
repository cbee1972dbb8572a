// The IPv4 and IPv6 5-tuples and their symmetric hashes: the same value for
// a tuple and its reverse, so both directions of a session hash alike (the
// owner rule in session/owner.h is built on it).
#pragma once

#include <cstdint>

#include "dataplane/ip/ipv4.h"
#include "dataplane/ip/ipv6.h"

namespace wp {

struct FiveTuple {
  Ipv4 src = 0;
  Ipv4 dst = 0;
  uint16_t sport = 0;
  uint16_t dport = 0;
  uint8_t proto = 0;

  bool operator==(const FiveTuple&) const = default;
  FiveTuple reversed() const { return {dst, src, dport, sport, proto}; }
};

inline uint32_t mix32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  x *= 0x846ca68bU;
  x ^= x >> 16;
  return x;
}

// Same value for a tuple and its reverse.
inline uint32_t symmetric_hash(const FiveTuple& t) {
  uint64_t a = uint64_t{t.src} << 16 | t.sport;
  uint64_t b = uint64_t{t.dst} << 16 | t.dport;
  uint64_t lo = a < b ? a : b, hi = a < b ? b : a;
  uint32_t h = mix32(static_cast<uint32_t>(lo) ^ 0x9e3779b9U);
  h = mix32(h ^ static_cast<uint32_t>(lo >> 32) ^ static_cast<uint32_t>(hi << 16));
  h = mix32(h ^ static_cast<uint32_t>(hi >> 16) ^ (uint32_t{t.proto} << 24));
  return h;
}

struct FiveTuple6 {
  Ipv6 src, dst;
  uint16_t sport = 0;
  uint16_t dport = 0;
  uint8_t proto = 0;

  bool operator==(const FiveTuple6&) const = default;
  FiveTuple6 reversed() const { return {dst, src, dport, sport, proto}; }
};

// One endpoint (address, port) folded to 64 bits, the same way for either side.
inline uint64_t endpoint_word(const Ipv6& a, uint16_t port) {
  uint64_t x = a.hi ^ (a.lo * 0x9e3779b97f4a7c15ULL) ^ port;
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  return x;
}

// Same value for a tuple and its reverse: the endpoints are ordered first.
inline uint32_t symmetric_hash(const FiveTuple6& t) {
  uint64_t a = endpoint_word(t.src, t.sport), b = endpoint_word(t.dst, t.dport);
  uint64_t lo = a < b ? a : b, hi = a < b ? b : a;
  uint32_t h = mix32(static_cast<uint32_t>(lo) ^ 0x9e3779b9U);
  h = mix32(h ^ static_cast<uint32_t>(lo >> 32));
  h = mix32(h ^ static_cast<uint32_t>(hi));
  h = mix32(h ^ static_cast<uint32_t>(hi >> 32) ^ (uint32_t{t.proto} << 24));
  return h;
}

}  // namespace wp
