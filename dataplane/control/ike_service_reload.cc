// Live reload of ipsec_peers and tunnels (docs/ipsec.md § Live reload),
// as strongSwan's `swanctl --load-conns`: the
// IKE service takes the committed config without a restart. Each peer is
// classified by ike/peer_reload.h; a removed or rebound peer's IKE SAs get
// an INFORMATIONAL Delete (RFC 7296 § 1.4.1; queued once, not
// retransmitted: the SA is gone here at once) and their Child SAs leave the
// workers' table in the same publish, so no packet is sealed or opened with
// them once the commit returns (the ConfigStore waits for that publish and
// two epochs of every reader). Our HA peer hears of the deleted SAs as of
// any other (ha_step), and our copies of its SAs for those peers go too.
// Everything else keeps its SAs, slots and sequence numbers.
#include <cstdio>

#include "dataplane/control/ike/peer_reload.h"
#include "dataplane/control/ike/responder_config.h"
#include "dataplane/control/ike_service.h"

namespace wp {

size_t IkeService::reload_delete(const std::set<std::string>& peers, std::chrono::steady_clock::time_point now,
                                 std::set<uint32_t>& children) {
  size_t deleted = 0;
  auto note = [&](const ike::IkeSa& sa, bool sent) {
    for (const auto& [spi_in, child] : sa.children) children.insert(spi_in);
    ++deleted;
    add(IkeServiceCounter::reload_ike_sas_deleted);
    if (sent) add(IkeServiceCounter::reload_deletes_sent);
    if (log_)
      log_("ike: " + sa.peer.str() + ": IKE SA of " + sa.config->name + " deleted by a config reload" +
           (sent ? " (Delete sent)" : ""));
  };
  std::vector<uint64_t> ours;
  for (const auto& [spi_r, sa] : responder_.sas())
    if (sa->config && peers.count(sa->config->name)) ours.push_back(spi_r);
  for (uint64_t spi_r : ours) {
    const ike::IkeSa& sa = *responder_.sas().at(spi_r);
    ike::Bytes d;
    if (sa.state == ike::IkeSaState::established) d = responder_.delete_sa(spi_r, now);
    const bool sent = !d.empty();
    queue_request(sa, std::move(d));
    note(sa, sent);
    responder_.remove(spi_r);
    ha_installed_.erase(spi_r);
    ha_copies_.erase(spi_r);
  }
  for (Initiating& in : initiating_) {
    if (!peers.count(peers_[in.peer].name) || !in.initiator) continue;
    if (const ike::IkeSa* sa = in.initiator->sa(); sa && sa->config) {
      ike::Bytes d;
      if (in.initiator->state() == ike::InitiatorState::established) d = in.initiator->delete_sa(now);
      const bool sent = !d.empty();
      if (sent) queue(in, std::move(d));
      note(*sa, sent);
    }
    fold_rekeys(in);
    in.initiator.reset();
  }
  // Copies of the HA peer's SAs for these peers: it deletes its own on its commit.
  for (auto it = ha_copies_.begin(); it != ha_copies_.end();)
    it = it->second.sa && it->second.sa->config && peers.count(it->second.sa->config->name) ? ha_copies_.erase(it)
                                                                                           : std::next(it);
  for (auto it = ha_init_copies_.begin(); it != ha_init_copies_.end();)
    it = peers.count(peers_[it->first].name) ? ha_init_copies_.erase(it) : std::next(it);
  return deleted;
}

IkeService::ReloadOutcome IkeService::reload(const waypoint::config::Config& next,
                                             std::chrono::steady_clock::time_point now) {
  ReloadOutcome out;
  std::set<std::string> drop;
  for (const auto& [name, change] : ike::plan_peer_reload(config_, next)) {
    switch (change) {
      case ike::PeerChange::same: continue;
      case ike::PeerChange::added: ++out.added; break;
      case ike::PeerChange::removed: ++out.removed, drop.insert(name); break;
      case ike::PeerChange::rebound: ++out.rebound, drop.insert(name); break;
      case ike::PeerChange::credentials: ++out.credentials; break;
    }
    if (log_) log_("ike: reload: peer " + name + ": " + std::string(ike::peer_change_name(change)));
  }
  // The tunnels the dropped peers' Child SAs fed (old numbering): their
  // drained SAs (rekeyed away, still opening) go too.
  std::set<uint16_t> dropped_tunnels;
  for (size_t t = 0; t < tunnels_.size(); ++t)
    if (drop.count(tunnels_[t].peer)) dropped_tunnels.insert(static_cast<uint16_t>(t));
  std::set<uint32_t> children;
  out.ike_sas_deleted = reload_delete(drop, now, children);
  ha_step(now);  // the HA peer hears the DELETEs while the old numbering still names their peers

  // The initiators that go on, and the HA maps kept by peer index, by name across the renumbering.
  std::map<std::string, Initiating> kept;
  for (Initiating& in : initiating_)
    if (!drop.count(peers_[in.peer].name)) kept.emplace(peers_[in.peer].name, std::move(in));
  std::map<std::string, HaCopy> init_copies;
  for (auto& [peer, copy] : ha_init_copies_) init_copies.emplace(peers_[peer].name, std::move(copy));
  std::map<std::string, InitSent> init_sent;
  for (const auto& [peer, sent] : ha_init_sent_)
    if (!drop.count(peers_[peer].name)) init_sent.emplace(peers_[peer].name, sent);
  ha_init_copies_.clear();
  ha_init_sent_.clear();

  responder_.reconfigure(ike::responder_config(next));
  configure(next, std::move(kept));
  for (size_t i = 0; i < peers_.size(); ++i) {
    if (auto c = init_copies.find(peers_[i].name); c != init_copies.end()) {
      if (c->second.sa) c->second.sa->config = &responder_.config().peers[i];
      ha_init_copies_.emplace(i, std::move(c->second));
    }
    if (auto s = init_sent.find(peers_[i].name); s != init_sent.end()) ha_init_sent_.emplace(i, s->second);
  }

  // Out of the book now: sync_sas would let a rekeyed-away SA drain (open) a while.
  for (uint32_t spi_in : children) {
    if (installed_.erase(spi_in)) book_.remove(spi_in);
    ha_seq_.erase(spi_in);
    ha_starts_.erase(spi_in);
  }
  for (auto d = draining_.begin(); d != draining_.end();) {
    const EspSa* sa = current_ ? current_->inbound(d->spi_in) : nullptr;
    if (children.count(d->spi_in) || (sa && dropped_tunnels.count(sa->tunnel))) {
      book_.remove(d->spi_in);
      d = draining_.erase(d);
    } else {
      ++d;
    }
  }
  add(IkeServiceCounter::reloads);
  sync_sas(now);
  publish();  // the tunnels' new tenants and MTUs, the SAs gone; what the ConfigStore waits for
  ha_step(now);
  render(now);
  if (log_)
    log_("ike: reload: " + std::to_string(out.added) + " peer(s) added, " + std::to_string(out.removed) +
         " removed, " + std::to_string(out.rebound) + " rebound (SAs deleted), " + std::to_string(out.credentials) +
         " with new credentials or proposals (SAs kept), " + std::to_string(out.ike_sas_deleted) + " IKE SA(s) deleted");
  return out;
}

}  // namespace wp
