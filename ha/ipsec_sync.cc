// The HA thread's side of IKE and Child SA sync (docs/ipsec.md § HA); see
// ha_node.h and dataplane/worker/ike_ha_channel.h.
//
// The IKE service on the control thread decides what to sync; this thread
// only carries it: IkeSync bodies the service queued go out as HaMessages
// in the same totally ordered CPG stream as the session batches, the peer's
// are queued back to the service. A resync to a (re)joining peer asks the
// service for a full dump and sends ResyncDone only after it, so the peer
// holds our IKE state before it claims its addresses back.
#include "ha/ha_node.h"

namespace wp::ha {

uint32_t HaNode::pump_ike() {
  IkeHaChannel& ch = shared_.ha.ike;
  if (!ch.attached.load(std::memory_order_acquire)) return 0;
  uint32_t n = 0;
  for (const std::string& body : ch.take_to_peer()) {
    ++n;
    // Nobody to tell: a joining peer gets a full dump.
    if (!transport_ || (!peer_present_ && !resync_out_active_)) continue;
    pb::HaMessage m;
    if (!m.mutable_ike_sync()->ParseFromString(body)) continue;
    send(m);
  }
  return n;
}

void HaNode::take_ike(const pb::IkeSync& sync) {
  IkeHaChannel& ch = shared_.ha.ike;
  if (ch.attached.load(std::memory_order_acquire)) ch.from_peer(sync.SerializeAsString());
}

void HaNode::request_ike_dump() { shared_.ha.ike.dump_req.fetch_add(1, std::memory_order_acq_rel); }

// The service has queued the dump asked for (then it goes out now, before
// ResyncDone), or there is no service.
bool HaNode::ike_dump_sent() {
  IkeHaChannel& ch = shared_.ha.ike;
  if (!ch.attached.load(std::memory_order_acquire)) return true;
  if (ch.dump_done.load(std::memory_order_acquire) != ch.dump_req.load(std::memory_order_acquire)) return false;
  pump_ike();
  return true;
}

}  // namespace wp::ha
