// In-place edits of a parsed packet in a single-segment mbuf: NAT rewrite,
// TTL, SVR metadata insert/strip and the HMAC trailer (docs/svr-wire-format.md § First packet,
// § Security). Offsets in ParsedPacket stay valid across edits: headers are
// moved towards the front (prepend) or the tail is shifted, never re-parsed.
//
// Checksums: a plain rewrite updates IPv4 and L4 checksums incrementally
// (RFC 1624); insert/strip change the L4 length and bytes, so those paths
// finish with a full recompute (finish_l4).
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "dataplane/ip/packet.h"
#include "dataplane/ip/tuple.h"

namespace wp {

inline uint8_t* pkt_data(rte_mbuf* m) { return rte_pktmbuf_mtod(m, uint8_t*); }

// Rewrites addresses/ports to `to` and decrements TTL, with incremental checksums.
void rewrite_tuple(rte_mbuf* m, ParsedPacket& pp, const FiveTuple& to);

// Drops Ethernet padding so the frame ends where the IP datagram ends.
void trim_padding(rte_mbuf* m, const ParsedPacket& pp);

// Offset of the L4 checksum field in a TCP or UDP header.
inline uint16_t l4_check_offset(uint8_t proto) { return proto == kProtoTcp ? 16 : 6; }

// Writes the IPv4 total length (and the UDP length) for a datagram ending at pp.end.
void set_lengths(uint8_t* d, const ParsedPacket& pp);

// Opens `len` zeroed bytes at absolute offset `at` and moves pp.end; the
// headers move towards the headroom when there is room (they are short),
// else the tail moves. Lengths in the headers are left to the caller.
// nullptr when the mbuf has no room either way.
uint8_t* open_gap(rte_mbuf* m, ParsedPacket& pp, uint16_t at, uint16_t len);

// Inserts `len` bytes at the L4 payload offset (zero-filled; returns where to
// write them) and fixes IP/UDP lengths. nullptr when the mbuf has no room.
uint8_t* insert_at_payload(rte_mbuf* m, ParsedPacket& pp, uint16_t len);

// At least `need` bytes of headroom in front of the frame, the whole frame
// moved toward the tail when the headroom is shorter (open_gap prefers the
// headroom, so a packet that grew a metadata block and an IV may have used
// it up). Offsets into the frame (ParsedPacket) stay valid. False: no room
// either way, nothing changed.
bool make_headroom(rte_mbuf* m, uint16_t need);

// Removes `len` bytes at the payload offset and `trailer` bytes at the end;
// fixes lengths and recomputes checksums.
void strip_at_payload(rte_mbuf* m, ParsedPacket& pp, uint16_t len, uint16_t trailer);

// Full IPv4 header + L4 checksum recompute (after insert/strip/append).
void finish_checksums(rte_mbuf* m, const ParsedPacket& pp);

}  // namespace wp
