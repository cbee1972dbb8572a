// Metadata in a packet of its own (docs/svr-wire-format.md § Handshake, TLV 24).
//
// After a migration the handshake starts over on the new path, but the
// session is in full flow: a full-size segment has no room left for ~150
// bytes of metadata and its HMAC under the MTU. Such a packet goes out bare
// on the new path, preceded by a metadata-only packet of the same 5-tuple:
// L4 header, the block with control message TLV 24 = keep-alive (header
// section), the HMAC trailer, no data. It is signed and queued before the
// data packet, so on one path it arrives first. The receiving router acts on
// its metadata like on any other (re-bind, TLV 18 ack) and consumes it: a
// keep-alive is never forwarded to a host. The egress router answers a
// forward keep-alive at once with a reverse one carrying TLV 18, which ends
// the ingress router's forward metadata without waiting for reverse traffic.
// Per session at most one every kMetadataOnlyGapMs while the handshake is
// open, so a bulk flow does not double its packet rate.
#pragma once

#include <rte_mbuf.h>

#include <cstddef>
#include <cstdint>

#include "dataplane/ip/packet.h"
#include "dataplane/session/session.h"
#include "dataplane/svr/crypto_batch.h"
#include "dataplane/svr/fragments.h"
#include "dataplane/worker/context.h"
#include "dataplane/worker/tx.h"

namespace wp {

class MetadataOnly {
 public:
  static constexpr uint16_t kGapMs = 10;

  MetadataOnly(WorkerContext& ctx, CryptoBatch& crypto, Fragments& fragments, Tx& tx)
      : ctx_(ctx), crypto_(crypto), fragments_(fragments), tx_(tx) {}

  // Whether the metadata a packet leaving on `out` needs would not fit under the MTU.
  bool due(const ParsedPacket& pp, const Session& s, const SideOut& out) const;
  // A keep-alive block with the session's TLVs, at most one per kGapMs per session.
  void send(rte_mempool* pool, Session& s, Dir dir, const SideOut& out);
  // A forward keep-alive on side B now, whatever the gap: what the session's forward TLVs
  // say changed (an application found after the handshake, TLV 35). False if none left.
  bool send_now(rte_mempool* pool, Session& s);
  // A received keep-alive (its metadata already acted on): answered when the
  // ingress router waits for TLV 18, then freed.
  void consume(rte_mbuf* m, Session& s, Dir dir);
  // A metadata block alone in a signed packet of the session's tuple on
  // `out` (L4 header, block, HMAC): also how TLV 26 markers travel alone.
  // `key`: the pair-key version the block names (write_key_tlvs). `data`:
  // `data_len` bytes after the block, under the HMAC (an ICMP error that
  // TLV 21 carries, svr/svr6_lan.h).
  bool send_block(rte_mempool* pool, const SideOut& out, const PairKey& key, const uint8_t* block, size_t md_len,
                  const uint8_t* data = nullptr, size_t data_len = 0);

 private:
  WorkerContext& ctx_;
  CryptoBatch& crypto_;
  Fragments& fragments_;  // to a peer's IPv6 waypoint (svr/waypoint6.h)
  Tx& tx_;
};

}  // namespace wp
