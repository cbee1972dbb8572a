// A session's metadata TLVs; see session_tlvs.h.
#include "dataplane/svr/session_tlvs.h"

namespace wp {

void write_session_tlvs(MetadataWriter& w, const RouterModel& rm, const Session& s, Dir dir, const SideOut& out,
                        bool ack, const FiveTuple6* v6) {
  if (dir == Dir::forward) {
    if (v6)
      w.forward_context6(*v6);  // TLV 3: an IPv6 session between IPv4 waypoints (svr/svr6_lan.h)
    else
      w.forward_context(s.original);
    w.uuid(s.uuid);
    w.tenant(rm.tenants[s.tenant]);
    w.service(rm.services[s.service].name);
    w.source_router(rm.name);
    w.destination_router(rm.peers[out.peer].name);
    w.security_policy(rm.security[s.security].name);
    if (s.duplicated()) w.duplicated();  // TLV 27 (svr/duplication.h)
  } else {
    if (v6)
      w.reverse_context6(v6->reversed());  // TLV 5
    else
      w.reverse_context(s.original.reversed());
    w.uuid(s.uuid);
    w.source_router(rm.name);
    if (ack) w.disable_forward_metadata();
  }
}

void write_app_tlv(MetadataWriter& w, const app::AppClassifier* apps, const Session& s, Dir dir) {
  if (dir == Dir::forward && s.app != app::kAppUnknown && apps) w.application(apps->app_name(s.app));
}

void write_key_tlvs(MetadataWriter& w, const PeerModel& peer, uint8_t version, bool payload_encrypted) {
  KeyVersions held = peer.keys.versions();
  if (!held.only_v1()) w.key_versions(held);
  if (!payload_encrypted && version != 1) w.security_id(kClearPayloadBit | version);
}

}  // namespace wp
