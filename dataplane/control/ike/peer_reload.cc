// What a live commit changes for each IPsec peer; see peer_reload.h.
#include "dataplane/control/ike/peer_reload.h"

#include <google/protobuf/util/message_differencer.h>

namespace wp::ike {
namespace {

using waypoint::config::Config;
using waypoint::config::IpsecPeer;

const IpsecPeer* peer_named(const Config& c, const std::string& name) {
  for (const IpsecPeer& p : c.ipsec_peers())
    if (p.name() == name) return &p;
  return nullptr;
}

// The index and name of the tunnel naming `peer`; -1 and "" for none.
std::pair<int, std::string> tunnel_of(const Config& c, const std::string& peer) {
  for (int t = 0; t < c.tunnels_size(); ++t)
    if (c.tunnels(t).peer() == peer) return {t, c.tunnels(t).name()};
  return {-1, ""};
}

// The peer without what may change under SAs that stay up.
IpsecPeer binding(const IpsecPeer& p) {
  IpsecPeer b = p;
  b.clear_psk();
  b.clear_psk_file();
  b.clear_certificate_file();
  b.clear_private_key_file();
  b.clear_ca_file();
  b.clear_ca_certificates();  // the inline form of ca_file: a CA refresh, as a CRL refresh
  b.clear_certificate();
  b.clear_private_key();
  b.clear_crl_file();
  b.clear_crls();
  b.clear_ike_proposals();
  b.clear_esp_proposals();
  b.clear_ike_lifetime_s();
  b.clear_child_lifetime_s();
  b.clear_child_lifetime_bytes();
  b.clear_dpd_interval_s();
  return b;
}

}  // namespace

std::string_view peer_change_name(PeerChange c) {
  switch (c) {
    case PeerChange::same: return "same";
    case PeerChange::credentials: return "credentials";
    case PeerChange::rebound: return "rebound";
    case PeerChange::added: return "added";
    case PeerChange::removed: return "removed";
  }
  return "?";
}

std::map<std::string, PeerChange> plan_peer_reload(const Config& was, const Config& next) {
  using google::protobuf::util::MessageDifferencer;
  std::map<std::string, PeerChange> plan;
  for (const IpsecPeer& p : was.ipsec_peers()) plan[p.name()] = PeerChange::removed;
  for (const IpsecPeer& p : next.ipsec_peers()) {
    const IpsecPeer* old = peer_named(was, p.name());
    if (!old) {
      plan[p.name()] = PeerChange::added;
      continue;
    }
    if (tunnel_of(was, p.name()) != tunnel_of(next, p.name()) ||
        !MessageDifferencer::Equals(binding(*old), binding(p)))
      plan[p.name()] = PeerChange::rebound;
    else
      plan[p.name()] = MessageDifferencer::Equals(*old, p) ? PeerChange::same : PeerChange::credentials;
  }
  return plan;
}

}  // namespace wp::ike
