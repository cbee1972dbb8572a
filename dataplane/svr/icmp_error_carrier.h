// ICMP errors carried through an SVR session (the SVR draft's TLVs 20 and 21;
// docs/svr-wire-format.md § ICMP errors through the session), both families.
//
// An ICMP error that reaches one router's LAN about a packet of a session
// (or the router's own error about a restored packet) is for the host that
// sent that packet, which is across the WAN: the router sends it to the other
// router in a signed metadata-only packet of the session's other direction
// (svr/metadata_only.h): header TLVs [22] [16], 24 = keep-alive (a router that
// does not know the location TLV consumes it, never hands it to a host), the
// location (TLV 20 IPv4 or 21 IPv6: the error's source), payload TLV 6, and
// as data the ICMP message with the quoted headers only (the caller cuts the
// quote: no session data leaves in clear, whatever the policy). At most
// kIcmpErrorRate a second a worker (burst kIcmpErrorRateBurst), one bucket per
// carrier. IPv4 sessions: svr/svr_icmp4.h; IPv6 ones: svr/svr6_lan.h.
//
// A transit hop (both sides of the session WAN legs, r1 -> r2 -> r3) sends a
// carrier that arrived on one leg, its HMAC verified with that leg's pair key,
// on along the other leg the same way: the same location, type, code, bytes
// 4-7 and quote (checked to be the session's packet sent the other way, its
// tuple the session's own for the next router), in a fresh block signed with
// that leg's key, through its own carrier (own bucket, own counter).
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "dataplane/ip/packet.h"
#include "dataplane/session/session.h"
#include "dataplane/svr/metadata.h"
#include "dataplane/worker/context.h"
#include "dataplane/worker/counters.h"
#include "dataplane/worker/rate_limit.h"

namespace wp {

class CryptoBatch;
class MetadataOnly;

// Where an error came from: TLV 20 (4 bytes) or TLV 21 (16 bytes), network order.
struct IcmpErrorLocation {
  Tlv tlv;
  const uint8_t* addr;
  uint16_t len;
};

class IcmpErrorCarrier {
 public:
  // `carried`, `rate_limited`: what counts an error carried, and one not carried over the rate.
  IcmpErrorCarrier(WorkerContext& ctx, CryptoBatch& crypto, MetadataOnly& metadata_only, Counter carried,
                   Counter rate_limited)
      : ctx_(ctx), crypto_(crypto), metadata_only_(metadata_only), carried_(carried), rate_limited_(rate_limited) {}

  // The ICMP message `msg` (`len` bytes: type, code, checksum 0, bytes 4-7, the quoted headers)
  // that `location` generated about a packet of `s` sent in direction `about`: into the session
  // the other way, on its WAN leg that way. False: not sent (no WAN leg that way, over the
  // rate: counted, no mbuf).
  bool carry(rte_mempool* pool, Session& s, Dir about, const IcmpErrorLocation& location, const uint8_t* msg,
             uint32_t len);

 private:
  WorkerContext& ctx_;
  CryptoBatch& crypto_;
  MetadataOnly& metadata_only_;
  Counter carried_;
  Counter rate_limited_;
  TokenBucket rate_;
};

// The ICMP message that a carrier (`m`, parsed `pp`, block `md`, its HMAC verified) holds
// between its block and its HMAC trailer; `len` <= 0: none.
struct CarriedError {
  const uint8_t* msg;
  int len;
};
CarriedError carried_error(rte_mbuf* m, const ParsedPacket& pp, const Metadata& md);

// The other direction of a session.
constexpr Dir other_dir(Dir d) { return d == Dir::forward ? Dir::reverse : Dir::forward; }

}  // namespace wp
