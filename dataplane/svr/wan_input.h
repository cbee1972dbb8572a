// WAN input: metadata verification, the handshake, and the first packet at
// the egress or transit router (docs/svr-wire-format.md § First packet, § Handshake, § Security).
//
// Every WAN packet that starts with the SVR cookie is a metadata packet: its
// HMAC-SHA256-128 trailer is verified with the pair key of the sending peer
// before anything else is believed, then the TLVs are decoded (malformed ->
// dropped with a counter). With no session, only a verified metadata packet
// whose tenant -> service this router's own policy allows creates one (zero
// trust: every hop decides for itself); where that policy asks for metadata
// encryption, session metadata that came in clear is refused (downgrade
// protection, metadata_not_encrypted). The last hop restores the original
// addresses from the forward context; a transit hop binds a new WAN leg
// toward its next peer with ports of the same affinity class. Metadata is
// always stripped here; Emit decides what the next leg carries.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "dataplane/ip/packet.h"
#include "dataplane/session/session.h"
#include "dataplane/svr/app_inspect.h"
#include "dataplane/svr/crypto_batch.h"
#include "dataplane/svr/duplication.h"
#include "dataplane/svr/emit.h"
#include "dataplane/svr/flow_monitor.h"
#include "dataplane/svr/fragments.h"
#include "dataplane/svr/metadata.h"
#include "dataplane/svr/metadata_only.h"
#include "dataplane/svr/migration.h"
#include "dataplane/svr/policy_recheck.h"
#include "dataplane/worker/context.h"

namespace wp {

class SvrIcmp4;

class WanInput {
 public:
  WanInput(WorkerContext& ctx, Emit& emit, CryptoBatch& crypto, Fragments& fragments, PathMigration& migration,
           FlowMonitor& flow, MetadataOnly& metadata_only, PolicyRecheck& recheck, AppInspect& apps, Duplication& dup)
      : ctx_(ctx),
        emit_(emit),
        crypto_(crypto),
        fragments_(fragments),
        migration_(migration),
        flow_(flow),
        metadata_only_(metadata_only),
        recheck_(recheck),
        apps_(apps),
        dup_(dup) {}

  // A packet this worker owns that arrived on a WAN interface.
  void input(rte_mbuf* m, ParsedPacket& pp);
  // Where carried ICMPv4 errors (TLV 20) go (svr/svr_icmp4.h); without it they drop.
  void attach_icmp4(SvrIcmp4* icmp4) { icmp4_ = icmp4; }
  // End of the burst: verify and decrypt the queued steady-state packets
  // together, then carry on with each.
  void open_pending();

 private:
  // Decodes and verifies a metadata packet; false when it dropped `m`.
  bool read_metadata(rte_mbuf* m, ParsedPacket& pp, Metadata& md, int& peer);
  // A reply from the internet to a breakout session whose data happens to
  // begin with the cookie: data, not metadata (no peer signs it).
  bool breakout_reply(const ParsedPacket& pp) const;
  // A packet of an existing session, with its metadata (status ok) or without.
  void session_input(rte_mbuf* m, ParsedPacket& pp, SessionRef ref, MetadataStatus status, const Metadata& md);
  void handshake(Session& s, Dir dir, const Metadata& md, int data_len);
  bool downgraded(rte_mbuf* m, int security, const Metadata& md);
  void first_packet(rte_mbuf* m, ParsedPacket& pp, const Metadata& md, int peer);
  // The last hop restores the original addresses; a transit hop binds its onward WAN leg.
  bool bind_onward(Session& s, int service, uint32_t cls, DropReason& why);
  // The same for an IPv6 session (TLV 3): its Session6 toward the LAN, or on to the next peer.
  bool bind_onward6(Session& s, const FiveTuple6& t, int service, uint32_t cls, DropReason& why);
  void continue_wan(rte_mbuf* m, ParsedPacket& pp, Session& s, Dir dir, bool bare);

  WorkerContext& ctx_;
  Emit& emit_;
  CryptoBatch& crypto_;
  Fragments& fragments_;
  PathMigration& migration_;
  FlowMonitor& flow_;
  MetadataOnly& metadata_only_;
  PolicyRecheck& recheck_;
  AppInspect& apps_;
  Duplication& dup_;
  SvrIcmp4* icmp4_ = nullptr;
};

}  // namespace wp
