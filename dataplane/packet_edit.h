// In-place edits of a parsed packet in a single-segment mbuf: NAT rewrite,
// TTL, SVR metadata insert/strip and the HMAC trailer (SVR.md § First packet,
// § Security). Offsets in ParsedPacket stay valid across edits: headers are
// moved towards the front (prepend) or the tail is shifted, never re-parsed.
//
// Checksums: a plain rewrite updates IPv4 and L4 checksums incrementally
// (RFC 1624); insert/strip change the L4 length and bytes, so those paths
// finish with a full recompute (finish_l4).
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "dataplane/hmac.h"
#include "dataplane/packet.h"
#include "dataplane/tuple.h"

namespace wp {

inline uint8_t* pkt_data(rte_mbuf* m) { return rte_pktmbuf_mtod(m, uint8_t*); }

// Rewrites addresses/ports to `to` and decrements TTL, with incremental checksums.
void rewrite_tuple(rte_mbuf* m, ParsedPacket& pp, const FiveTuple& to);

// Drops Ethernet padding so the frame ends where the IP datagram ends.
void trim_padding(rte_mbuf* m, const ParsedPacket& pp);

// Inserts `len` bytes at the L4 payload offset (zero-filled; returns where to
// write them) and fixes IP/UDP lengths. nullptr when the mbuf has no room.
uint8_t* insert_at_payload(rte_mbuf* m, ParsedPacket& pp, uint16_t len);

// Removes `len` bytes at the payload offset and `trailer` bytes at the end;
// fixes lengths and recomputes checksums.
void strip_at_payload(rte_mbuf* m, ParsedPacket& pp, uint16_t len, uint16_t trailer);

// Appends room for the HMAC trailer and fixes the lengths (the UDP length is
// covered and must count the trailer, exactly as the receiver sees it), and
// zeroes the L4 checksum: [l4, end - 16) is then ready to sign, and the
// trailer is the last 16 bytes. nullptr when there is no tailroom.
uint8_t* reserve_hmac(rte_mbuf* m, ParsedPacket& pp);

// reserve_hmac + sign now (one packet); false when there is no tailroom.
bool append_hmac(rte_mbuf* m, ParsedPacket& pp, HmacEngine& hmac, const HmacKey& key);

// Verifies the trailing HMAC over [l4, end - 16) with the checksum zeroed.
bool verify_hmac(rte_mbuf* m, const ParsedPacket& pp, HmacEngine& hmac, const HmacKey& key);

// Full IPv4 header + L4 checksum recompute (after insert/strip/append).
void finish_checksums(rte_mbuf* m, const ParsedPacket& pp);

}  // namespace wp
