// IPv6 reassembly (RFC 8200 § 4.5): IPv6's face of the DatagramStore in
// ip/reassembly.h, so both versions share one preallocated, keyed,
// flood-safe design (fixed slots, no mbufs held, per-source bound with the
// /64 as the source, timeouts). The key is (src, dst, fragment id).
//
// The caller hands over fragments the header walk (ip/ipv6.h) classed as
// `fragment`: a first fragment that lacks the upper-layer header was already
// refused there (RFC 7112), and atomic fragments (RFC 6946) are whole
// packets, refused here as `not_fragment` so they never join a datagram.
// Overlaps drop the whole datagram (RFC 5722), an exact duplicate alone. The
// reassembled packet is the first fragment's per-fragment headers (the IPv6
// header and the extension headers before the fragment header), the Next
// Header that named the fragment header now naming what the fragment header
// did, then the fragmentable part; the payload length is fixed.
#pragma once

#include <cstddef>
#include <cstdint>

#include "dataplane/ip/ipv6.h"
#include "dataplane/ip/reassembly.h"

namespace wp {

// Affinity class (0..63) of the fragmented IPv6 datagram `v` belongs to
// (`v` a fragment): a hash of source, destination and identification, the
// same for every fragment of it, ports or not, so all reach one worker.
inline uint32_t fragment_class6(const Ipv6View& v) {
  const uint64_t key = (v.src.lo ^ v.src.hi * 0xff51afd7ed558ccdull ^ v.dst.lo ^ v.dst.hi ^ v.frag.id) *
                       0x9e3779b97f4a7c15ull;
  return static_cast<uint32_t>(key >> 58);
}

class Ipv6ReassemblyTable : public ReassemblyFace {
 public:
  static constexpr uint32_t kMaxDatagram = DatagramStore::kMaxDatagram;  // fragmentable bytes
  static constexpr uint32_t kMaxFragments = DatagramStore::kMaxFragments;

  explicit Ipv6ReassemblyTable(uint32_t slots = 256, uint32_t timeout_ms = DatagramStore::kDefaultTimeoutMs,
                               uint32_t per_source = 0, HashSecret secret = boot_secret())
      : ReassemblyFace(slots, timeout_ms, per_source, secret) {}

  // One fragment: `frame` the bytes `v` was parsed from.
  ReassemblyResult add(const uint8_t* frame, const Ipv6View& v, uint32_t now_ms);
  // After `complete`: writes the whole datagram (from its IPv6 header) into
  // `out`; returns its length, or 0 when it does not fit `cap` (dropped
  // either way: the slot is free again).
  size_t take(uint8_t* out, size_t cap);
};

}  // namespace wp
