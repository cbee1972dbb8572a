// Emitting a session packet on its way out (docs/svr-wire-format.md § First packet steps 1-4,
// § Handshake, cookie false positive).
//
// Forward packets leave on side B, reverse packets on side A. Leaving on a
// WAN leg, a packet carries metadata while that leg's handshake is open:
// forward metadata until the peer's reverse metadata brought TLV 18, reverse
// metadata (with TLV 18) until a forward packet arrived without metadata.
// Otherwise it carries only the NAT rewrite (incremental checksums), except
// that data which itself begins with the cookie gets the bare 12-byte marker
// so the next hop does not mistake it for metadata. Metadata packets are
// signed at the end of the burst, all together (CryptoBatch::sign_pending), so IPsec-MB's
// multi-buffer lanes run full instead of flushing one job at a time.
#pragma once

#include <rte_mbuf.h>

#include <cstddef>

#include "dataplane/ip/packet.h"
#include "dataplane/session/session.h"
#include "dataplane/svr/app_inspect.h"
#include "dataplane/svr/crypto_batch.h"
#include "dataplane/svr/duplication.h"
#include "dataplane/svr/flow_monitor.h"
#include "dataplane/svr/fragments.h"
#include "dataplane/svr/metadata_only.h"
#include "dataplane/worker/context.h"

namespace wp {

class SvrIcmp4;

class Emit {
 public:
  Emit(WorkerContext& ctx, CryptoBatch& crypto, Fragments& fragments, FlowMonitor& flow, MetadataOnly& metadata_only,
       AppInspect& apps, Duplication& dup)
      : ctx_(ctx),
        crypto_(crypto),
        fragments_(fragments),
        flow_(flow),
        metadata_only_(metadata_only),
        apps_(apps),
        dup_(dup) {}

  // Sends a packet of `s` travelling in `dir` out of the session's other side.
  void send(rte_mbuf* m, ParsedPacket& pp, Session& s, Dir dir);
  // Who answers a restored DF segment above the LAN MTU through the session (svr/svr_icmp4.h).
  void attach_icmp4(SvrIcmp4* icmp4) { icmp4_ = icmp4; }
  // Posts "established" once every WAN leg finished its handshake.
  void note_established(Session& s);

 private:
  [[gnu::always_inline]] inline void account(const ParsedPacket& pp, Session& s, Dir dir);
  // Leaving on a WAN leg: metadata, TLV 26 marker or cookie marker as due,
  // then sealed when needed. False when it consumed `m` (queued for sealing
  // or dropped); true when `m` leaves as it is.
  bool prepare_wan(rte_mbuf* m, ParsedPacket& pp, Session& s, Dir dir, const SideOut& out);
  size_t add_metadata(rte_mbuf* m, ParsedPacket& pp, const Session& s, Dir dir, const SideOut& out, bool data_encrypted,
                      bool* fragment_tlv);
  size_t build_block(uint8_t* block, size_t cap, const Session& s, Dir dir, const SideOut& out, bool data_encrypted,
                     const FragmentInfo* frag);

  WorkerContext& ctx_;
  CryptoBatch& crypto_;
  Fragments& fragments_;
  FlowMonitor& flow_;
  MetadataOnly& metadata_only_;
  AppInspect& apps_;
  Duplication& dup_;
  SvrIcmp4* icmp4_ = nullptr;
};

}  // namespace wp
