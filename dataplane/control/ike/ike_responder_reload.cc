// The responder's side of a live reload of ipsec_peers (docs/ipsec.md
// § Live reload): IkeSa::config points into the
// responder's PeerConfig list, so a new list re-binds every SA to its
// peer's new entry by name before the old list goes.
#include <utility>
#include <vector>

#include "dataplane/control/ike/ike_responder.h"

namespace wp::ike {

void Responder::reconfigure(ResponderConfig next) {
  // By name, while the old entries still hold the names.
  std::vector<std::pair<IkeSa*, size_t>> bound;
  std::vector<uint64_t> orphans;
  for (auto& [spi_r, sa] : sas_) {
    if (!sa->config) continue;  // half-open: bound at IKE_AUTH, by the new list
    size_t k = 0;
    while (k < next.peers.size() && next.peers[k].name != sa->config->name) ++k;
    if (k < next.peers.size())
      bound.emplace_back(sa.get(), k);
    else
      orphans.push_back(spi_r);
  }
  config_ = std::move(next);
  set_cert_request();
  for (auto [sa, k] : bound) sa->config = &config_.peers[k];
  for (uint64_t spi_r : orphans) {
    IkeSa& sa = *sas_.at(spi_r);
    sa.config = nullptr;
    log_("ike: " + sa.peer.str() + ": IKE SA of " + sa.remote_id + " removed: its peer left ipsec_peers");
    erase(spi_r);
  }
}

}  // namespace wp::ike
