// Automatic retirement of old pair-key versions; see key_retirement.h.
#include "mgmt/key_retirement.h"

#include <openssl/crypto.h>

#include <algorithm>

namespace wp::mgmt {

namespace {

const config::Peer* find_peer(const config::Config& c, const std::string& name) {
  for (const auto& p : c.peers())
    if (p.name() == name) return &p;
  return nullptr;
}

uint32_t or_default(uint32_t v, uint32_t def) { return v ? v : def; }

}  // namespace

uint32_t retire_delay_s(const config::Config& c, const config::Peer& peer) {
  if (peer.retire_after_s()) return peer.retire_after_s();
  const Timeouts def;  // the dataplane's defaults (session/table.h)
  const auto& t = c.timeouts();
  return std::max({or_default(t.tcp_established(), def.tcp_established_ms / 1000),
                   or_default(t.tcp_transitory(), def.tcp_transitory_ms / 1000),
                   or_default(t.udp(), def.udp_ms / 1000)});
}

uint32_t next_key_version(const config::Peer& peer) {
  return peer.next_key_version() ? peer.next_key_version() : or_default(peer.key_version(), 1) + 1;
}

bool promote_next_key(config::Config& c, const std::string& name) {
  for (auto& p : *c.mutable_peers()) {
    if (p.name() != name || p.next_key().empty()) continue;
    const uint32_t version = next_key_version(p);
    p.mutable_key()->swap(*p.mutable_next_key());
    OPENSSL_cleanse(p.mutable_next_key()->data(), p.next_key().size());  // the old key
    p.clear_next_key();
    p.set_key_version(version);
    p.clear_next_key_version();
    return true;
  }
  return false;
}

std::vector<std::string> KeyRetirement::poll(uint64_t now_ms, std::vector<std::string>& log) {
  const std::shared_ptr<const RouterModel> model = store_.model();
  pending_.clear();
  // The common case, no rotation under way: nothing to read beyond the model.
  const bool rotating =
      model && std::any_of(model->peers.begin(), model->peers.end(), [](const PeerModel& p) { return p.keys.size() > 1; });
  if (!rotating) {
    switched_at_.clear();
    return {};
  }
  const config::Config cfg = store_.current();
  std::map<std::string, std::pair<uint32_t, uint64_t>> seen;
  std::vector<std::string> due;
  for (size_t i = 0; i < model->peers.size() && i < kMaxKeyPeers; ++i) {
    const PeerModel& pm = model->peers[i];
    const config::Peer* p = find_peer(cfg, pm.name);
    if (!p || p->next_key().empty() || p->retire_manually() || pm.keys.size() < 2) continue;
    const uint32_t next = next_key_version(*p);
    if (next > 255 ||
        shared_.key_switched[i].load(std::memory_order_relaxed) !=
            DataplaneShared::key_switch(pm.name_hash, static_cast<uint8_t>(next)))
      continue;  // no worker signs with the next version toward it (yet, or any more)
    auto it = switched_at_.find(pm.name);
    const bool known = it != switched_at_.end() && it->second.first == next;
    const uint64_t since = known ? it->second.second : now_ms;
    seen[pm.name] = {next, since};
    const uint32_t delay = retire_delay_s(cfg, *p);
    const uint64_t at = since + uint64_t{delay} * 1000;
    if (!known)
      log.push_back("peer " + pm.name + ": both ends hold pair-key version " + std::to_string(next) +
                    "; the old version retires in " + std::to_string(delay) + " s");
    if (now_ms >= at)
      due.push_back(pm.name);
    else
      pending_.push_back({pm.name, next, at});
  }
  switched_at_ = std::move(seen);
  if (due.empty()) return {};
  std::string who = "key-retirement:";
  for (size_t i = 0; i < due.size(); ++i) who += (i ? "," : "") + due[i];
  CommitOutcome out = store_.edit(
      [&](config::Config& next) {
        bool any = false;
        for (const auto& name : due) {
          const config::Peer* p = find_peer(next, name);
          // The operator may have changed the peer since this poll read the config.
          if (p && !p->retire_manually() && next_key_version(*p) == switched_at_[name].first)
            any = promote_next_key(next, name) || any;
        }
        return any;
      },
      who);
  if (!out.errors.empty()) {
    log.push_back(who + ": not committed: " + out.errors.front().to_string());
    return {};
  }
  if (!out.applied) return {};
  for (const auto& name : due) {
    switched_at_.erase(name);
    log.push_back("peer " + name + ": old pair-key version retired, next_key is now key (config version " +
                  std::to_string(out.version) + ")");
  }
  return due;
}

}  // namespace wp::mgmt
