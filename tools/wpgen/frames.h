// wpgen's frames, at the byte level (no DPDK), so they are unit-testable:
// the UDP request a client sends into the router under test, the stamp it
// carries in its payload, the in-place echo the server end makes of it, and
// the ARP wpgen needs (it answers every ARP request on its ports, for all the
// client and service addresses it stands in for, and asks for the gateways).
//
// Payload stamp (18 bytes, so a 64-byte frame still holds it): magic 0x5747
// ("WG"), session number (u32), sequence number (u32), TSC at tx (u64), all
// big-endian. The rest of the payload is zeros, which is why the UDP checksum
// is computed over headers and stamp only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "tools/wpgen/flow_plan.h"

namespace wp::gen {

inline constexpr uint16_t kStampMagic = 0x5747;
inline constexpr size_t kStampBytes = 18;
inline constexpr size_t kHeadersBytes = 14 + 20 + 8;
inline constexpr size_t kMinFrame = kHeadersBytes + kStampBytes;  // 60 = 64 B with FCS

struct Mac {
  uint8_t b[6] = {};
};

struct Stamp {
  uint32_t session = 0;
  uint32_t seq = 0;
  uint64_t tsc = 0;
};

// Writes a request frame of `len` bytes (>= kMinFrame, without FCS) into
// `out`: client -> service of tuple `t`, UDP checksum filled.
void build_request(uint8_t* out, uint16_t len, const Mac& src, const Mac& dst, const FlowTuple& t, const Stamp& s);

// A wpgen UDP frame as seen on a port: addresses as on the wire (src/dst),
// and its stamp. Empty for anything else (not IPv4/UDP, fragment, too short,
// no magic).
struct SeenFrame {
  Ipv4 src = 0, dst = 0;
  uint16_t sport = 0, dport = 0;
  Stamp stamp;
};
std::optional<SeenFrame> parse_frame(const uint8_t* data, size_t len);

// Turns a request that reached the server end into its reply, in place:
// MACs, addresses and ports swapped (checksums are unchanged by a swap).
void echo_in_place(uint8_t* data, const Mac& self);

// ARP. parse_arp: opcode (1 request, 2 reply), sender and target; empty if
// not an Ethernet/IPv4 ARP frame.
struct ArpSeen {
  uint16_t op = 0;
  Mac sender_mac;
  Ipv4 sender_ip = 0, target_ip = 0;
};
std::optional<ArpSeen> parse_arp(const uint8_t* data, size_t len);
// 42-byte frames into `out` (>= 60 bytes; padded to 60).
uint16_t build_arp_request(uint8_t* out, const Mac& self, Ipv4 self_ip, Ipv4 target);
uint16_t build_arp_reply(uint8_t* out, const Mac& self, const ArpSeen& request);

}  // namespace wp::gen
