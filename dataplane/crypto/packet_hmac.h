// The HMAC-SHA256-128 trailer of an SVR packet (docs/svr-wire-format.md
// § Security): it covers the L4 header (checksum zeroed) through the end of
// the data, never the IP header, so NAT and fragmentation may rewrite that.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "dataplane/crypto/hmac.h"
#include "dataplane/ip/packet_edit.h"

namespace wp {

// Appends room for the HMAC trailer and fixes the lengths (the UDP length is
// covered and must count the trailer, exactly as the receiver sees it), and
// zeroes the L4 checksum: [l4, end - 16) is then ready to sign, and the
// trailer is the last 16 bytes. nullptr when there is no tailroom.
uint8_t* reserve_hmac(rte_mbuf* m, ParsedPacket& pp);

// reserve_hmac + sign now (one packet); false when there is no tailroom.
bool append_hmac(rte_mbuf* m, ParsedPacket& pp, HmacEngine& hmac, const HmacKey& key);

// Verifies the trailing HMAC over [l4, end - 16) with the checksum zeroed.
bool verify_hmac(rte_mbuf* m, const ParsedPacket& pp, HmacEngine& hmac, const HmacKey& key);

}  // namespace wp
