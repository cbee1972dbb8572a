// Our DPD on the IKE SAs the sites began (RFC 7296 § 2.4, docs/ipsec.md
// § IKE in waypointd): the responder only answered the site's liveness
// checks, so a site that died (strongSwan killed) kept its Child SAs, its
// tunnel and its routes here for good. Every poll, an established IKE SA the
// responder holds (ours: an HA peer's copies are not in it) that heard
// nothing authenticated from the site for the peer's dpd_interval_s (30 s,
// as the initiators' DPD) and has no request of ours outstanding gets an
// empty INFORMATIONAL, sent and retransmitted as our rekeys are
// (ike_responder_requests.cc). An answer only moves IkeSa::last_inbound;
// unanswered after every try the IKE SA is deleted with its Child SAs
// (responder_dead_peers), which leave the table at the next sync_sas.
// Any IKE message of the site's on the SA counts as life, ESP does not
// (as strongSwan's DPD; § 2.4 allows either).
#include "dataplane/control/ike_service.h"

namespace wp {

void IkeService::site_liveness(std::chrono::steady_clock::time_point now) {
  // The responder lives as long as the service: its count is ours.
  counters_[static_cast<size_t>(IkeServiceCounter::responder_dead_peers)] = responder_.own_counters().dead_peers;
  for (const auto& [spi_r, sa] : responder_.sas()) {
    if (sa->state != ike::IkeSaState::established || !sa->config || responder_.request_outstanding(spi_r) ||
        !ha_answers_for(*sa))
      continue;
    if (const PeerInfo* p = peer_of(*sa); p && now - sa->last_inbound >= p->dpd)
      queue_request(*sa, responder_.liveness(spi_r, now));
  }
}

}  // namespace wp
