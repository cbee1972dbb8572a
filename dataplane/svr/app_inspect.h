// Applications on a worker: classifying a session's first packets at the ingress router,
// taking the application other routers name in TLV 35, and application policy
// (docs/applications.md; TLV 35 in docs/svr-wire-format.md § TLV types).
//
// Only the ingress router classifies: a session it creates takes a slot of the worker's own
// classifier (apps/classifier.h: its own nDPI, no lock, no allocation) and its packets, both
// directions, are fed with their LAN-side addresses until nDPI decides or the bound
// (`max_packets`) is reached. A router whose session came from a peer never classifies it: it
// takes the application from TLV 35 (on the first packet when the ingress knew it by then,
// later in a metadata-only update). Once a session's application is known, each hop checks
// it against its own config (zero trust): the policy's deny lists, then the service's own
// lists (a service that names applications admits only those; docs/applications.md says
// why the first packet cannot be matched by application). A refused session is closed and
// the packet dropped with `app_policy_deny` or `app_not_in_service`; the session stays in
// the table, refused (kAppDenied), so the rest of its packets are dropped (app_policy_deny)
// rather than starting a new session each, until it ages out. An application found
// after the WAN leg's handshake ended travels to the next router in a metadata-only packet
// (svr/metadata_only.h: a keep-alive whose forward TLVs now include TLV 35).
#pragma once

#include <rte_mbuf.h>

#include <cstdint>
#include <string_view>

#include "dataplane/ip/packet.h"
#include "dataplane/session/session.h"
#include "dataplane/svr/metadata_only.h"
#include "dataplane/worker/context.h"

namespace wp {

class AppInspect {
 public:
  AppInspect(WorkerContext& ctx, MetadataOnly& metadata_only) : ctx_(ctx), metadata_only_(metadata_only) {}

  // Ingress: a new session starts being classified (when this worker classifies at all).
  void start(Session& s);
  // A packet of a session being classified, carrying the session's LAN-side addresses.
  // False when the application refused the session (`m` dropped).
  bool inspect(rte_mbuf* m, const ParsedPacket& pp, Session& s, Dir dir);
  // A packet of a session with app_slot != kAppDone before Emit sends it: dropped when the
  // session was refused, fed to the classifier when forward. False when `m` was dropped.
  bool before_send(rte_mbuf* m, const ParsedPacket& pp, Session& s, Dir dir) {
    if (s.app_slot == kAppDenied) return ctx_.drop(m, DropReason::app_policy_deny), false;
    return dir != Dir::forward || inspect(m, pp, s, dir);
  }
  // Egress/transit: this router's id for the application TLV 35 names (kAppUnknown: none,
  // or a name this router's nDPI does not know).
  uint16_t from_metadata(std::string_view name) const;
  // Whether application `app` is refused for tenant -> service; `why` says by what.
  bool denied(int tenant, int service, uint16_t app, DropReason& why) const;
  // A session whose application a peer named (or changed) after it was set up. False when
  // the application closed the session (`m` dropped).
  bool learned_from_peer(rte_mbuf* m, Session& s, uint16_t app);

 private:
  // The application is now known: policy, the `update` event, the next router.
  bool settle(rte_mbuf* m, Session& s, uint16_t app);
  void close(rte_mbuf* m, Session& s, DropReason why);

  WorkerContext& ctx_;
  MetadataOnly& metadata_only_;
};

}  // namespace wp
