// The TLVs that name a session in its metadata (docs/svr-wire-format.md
// § Metadata block): forward blocks carry the original 5-tuple, UUID,
// tenant, service, both routers and the security policy; reverse blocks the
// reverse context, UUID and source router, and TLV 18 once the handshake is
// acknowledged. Shared by metadata riding on a packet (Emit) and metadata in
// a packet of its own (MetadataOnly), so both say the same.
#pragma once

#include "dataplane/apps/classifier.h"
#include "dataplane/control/router_model.h"
#include "dataplane/session/session.h"
#include "dataplane/svr/metadata.h"

namespace wp {

// The block for a packet leaving on `out`; `ack` adds TLV 18 to a reverse block.
// `v6`: the IPv6 tuple of an IPv6 session between IPv4 waypoints (svr/svr6_lan.h),
// sent as TLV 3 / TLV 5 instead of TLV 2 / TLV 4 from s.original.
void write_session_tlvs(MetadataWriter& w, const RouterModel& rm, const Session& s, Dir dir, const SideOut& out,
                        bool ack, const FiveTuple6* v6 = nullptr);

// TLV 35 in a forward block, once the session's application is known (nDPI's name).
void write_app_tlv(MetadataWriter& w, const app::AppClassifier* apps, const Session& s, Dir dir);

// The header TLVs that name the pair key of a block toward `peer`, first in
// every block: TLV 22 (the versions we hold, unless just {1}) and, for a
// block whose payload stays in clear, TLV 16 with the clear bit naming
// `version` (unless it is 1). An encrypted block gets TLV 16 from
// seal_metadata_payload. The block must then be signed with `version`
// (WorkerContext::md_key picks it).
void write_key_tlvs(MetadataWriter& w, const PeerModel& peer, uint8_t version, bool payload_encrypted);

}  // namespace wp
