// The IKE responder inside waypointd; see ike_service.h.
#include "dataplane/control/ike_service.h"

#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>

#include "dataplane/control/ike/responder_config.h"

namespace wp {
namespace {

using std::chrono::duration_cast;
using std::chrono::minutes;
using std::chrono::seconds;
using std::chrono::steady_clock;

constexpr seconds kHalfOpenMax{30};
constexpr minutes kCookieRotation{5};  // § 2.6: a cookie ages out within two periods
constexpr seconds kNatKeepalive{20};   // RFC 3948 § 2.3's default
// How long the inbound SA of a Child SA rekeyed away keeps opening after the
// peer's Delete answer (strongSwan's charon.delete_rekeyed_delay is 5 s too):
// ESP the peer sealed just before it took our Delete can still be in a
// worker's queue when the control thread has the answer (docs/ipsec.md).
constexpr seconds kRekeyedInboundGrace{5};

using ike::ike_suite_name;

std::string esp_suite_name(const ike::EspSuite& s) {
  return std::string(s.aead() ? "aes256gcm16" : "aes256-sha256") + (s.esn ? "-esn" : "");
}

std::string hex(uint64_t v, int digits) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%0*llx", digits, static_cast<unsigned long long>(v));
  return buf;
}


// Seconds from `now` to `at` (0 when past; -1 when `at` is unset).
int64_t seconds_to(steady_clock::time_point at, steady_clock::time_point now) {
  if (at == steady_clock::time_point{}) return -1;
  return at > now ? duration_cast<seconds>(at - now).count() : 0;
}

uint32_t random_u32() {
  const ike::Bytes b = ike::random_bytes(4);
  return uint32_t{b[0]} << 24 | uint32_t{b[1]} << 16 | uint32_t{b[2]} << 8 | b[3];
}

std::string selector_text(const ike::TrafficSelector& t) {
  auto ip = [](const ike::Bytes& b) {
    const auto a = IpAddress::from_bytes(b);  // TS_IPV4_ or TS_IPV6_ADDR_RANGE
    return a ? a->str() : std::string("?");
  };
  std::string s = ip(t.start_addr) + "-" + ip(t.end_addr);
  if (t.ip_protocol) s += " proto " + std::to_string(t.ip_protocol);
  if (t.start_port != 0 || t.end_port != 65535)
    s += " ports " + std::to_string(t.start_port) + "-" + std::to_string(t.end_port);
  return s;
}

}  // namespace

std::string_view ike_service_counter_name(IkeServiceCounter c) {
  static constexpr std::string_view kNames[] = {
#define WP_X(n) #n,
      WP_IKE_SERVICE_COUNTERS(WP_X)
#undef WP_X
  };
  return kNames[static_cast<size_t>(c)];
}

IkeService::IkeService(const waypoint::config::Config& cfg, std::atomic<const EspSaTable*>& published,
                       Readers readers, Log log)
    : published_(published),
      readers_(std::move(readers)),
      log_(std::move(log)),
      responder_(ike::responder_config(cfg), log_) {
  configure(cfg, {});
  publish();  // an empty table: the tunnels, no SA yet
  render(steady_clock::now());
}

void IkeService::configure(const waypoint::config::Config& cfg, std::map<std::string, Initiating> kept) {
  config_.Clear();
  *config_.mutable_ipsec_peers() = cfg.ipsec_peers();
  *config_.mutable_tunnels() = cfg.tunnels();
  peers_.clear();
  for (const auto& p : cfg.ipsec_peers()) {
    PeerInfo info;
    info.name = p.name();
    // Validated: one family (mgmt/config_validate_ipsec_local.cc); an unset
    // local address is "any of ours" of the peer's family.
    info.address = IpAddress::parse(p.address()).value_or(IpAddress{});
    info.local = IpAddress::parse(p.local_address()).value_or(IpAddress{});
    info.ike_lifetime_s = p.ike_lifetime_s() ? p.ike_lifetime_s() : 14400;
    info.child_lifetime_s = p.child_lifetime_s() ? p.child_lifetime_s() : 3600;
    info.child_lifetime_bytes = p.child_lifetime_bytes();
    if (p.dpd_interval_s()) info.dpd = seconds(p.dpd_interval_s());
    for (const auto& t : cfg.tunnels())
      if (t.peer() == p.name()) info.tunnel = t.name();
    peers_.push_back(std::move(info));
  }
  // A tunnel a reload removed keeps its slot in the book (no SA: the workers
  // drop what still reaches it as esp_no_sa) until a later one takes its index.
  tunnels_.clear();
  for (int t = 0; t < cfg.tunnels_size() && t < static_cast<int>(kMaxEspTunnels); ++t) {
    const auto& tu = cfg.tunnels(t);
    uint16_t tenant = 0;
    for (int i = 0; i < cfg.tenants_size(); ++i)
      if (cfg.tenants(i).name() == tu.tenant()) tenant = static_cast<uint16_t>(i);
    book_.set_tunnel(static_cast<uint16_t>(t), tenant, static_cast<uint16_t>(tu.mtu() ? tu.mtu() : 1400));
    tunnels_.push_back({tu.name(), tu.peer(), tu.tenant(), tu.mtu() ? tu.mtu() : 1400});
  }
  // Peers we initiate to: an attempt or SA a reload kept goes on under the
  // peer's new entry (its next start uses it); the others start at once.
  initiating_.clear();
  const ike::ResponderConfig& rc = responder_.config();
  for (int i = 0; i < cfg.ipsec_peers_size() && static_cast<size_t>(i) < rc.peers.size(); ++i) {
    const auto& p = cfg.ipsec_peers(i);
    if (!p.initiate()) continue;
    Initiating in;
    if (auto k = kept.find(p.name()); k != kept.end()) in = std::move(k->second);
    in.peer = static_cast<size_t>(i);
    in.config = rc.peers[static_cast<size_t>(i)];
    in.ike_suites = ike::peer_ike_suites(p);
    in.from = IpAddress::parse(p.initiate_from()).value_or(peers_[static_cast<size_t>(i)].local);
    initiating_.push_back(std::move(in));
  }
}

const ike::Initiator* IkeService::initiator(size_t peer) const {
  for (const Initiating& in : initiating_)
    if (in.peer == peer) return in.initiator.get();
  return nullptr;
}

const ike::InitiateSchedule* IkeService::schedule(size_t peer) const {
  for (const Initiating& in : initiating_)
    if (in.peer == peer) return &in.schedule;
  return nullptr;
}

IkeService::~IkeService() {
  // Nothing reads the table any more (the workers stopped first).
  published_.store(nullptr, std::memory_order_release);
}

ike::Bytes IkeService::input(ike::CSpan payload, const IpAddress& src, uint16_t sport, const IpAddress& dst, uint16_t dport,
                             steady_clock::time_point now) {
  consumed_ = false;
  // A peer bound to one of our addresses (local_address) is answered on it
  // only; the others on any of ours.
  bool known = false, elsewhere = false;
  for (const PeerInfo& p : peers_)
    if (p.address == src) (p.local.unset() || p.local == dst ? known : elsewhere) = true;
  // Drops that change no SA only count: the document shows them within a
  // second (poll), and a flood of them costs no rendering.
  if (!known)
    return add(elsewhere ? IkeServiceCounter::wrong_local_address : IkeServiceCounter::unknown_peer), ike::Bytes{};
  size_t off = 0;
  if (dport == kIkeNattPort) {
    if (payload.size() == 1 && payload[0] == 0xff) return add(IkeServiceCounter::keepalives), ike::Bytes{};
    if (payload.size() < 4 || (payload[0] | payload[1] | payload[2] | payload[3]) != 0)
      return add(IkeServiceCounter::esp_without_dataplane), ike::Bytes{};
    off = 4;  // the non-ESP marker (RFC 3948 § 2.2)
  }
  if (payload.size() - off < ike::kHeaderLen) return add(IkeServiceCounter::malformed), ike::Bytes{};
  const ike::CSpan msg = payload.subspan(off);
  ike::Bytes reply;
  uint64_t spi_i = 0, spi_r = 0;
  for (size_t k = 0; k < 8; ++k) spi_i = spi_i << 8 | msg[k];
  for (size_t k = 8; k < 16; ++k) spi_r = spi_r << 8 | msg[k];
  const bool initiator_flag = msg[19] & ike::kFlagInitiator;
  Initiating* in = nullptr;
  for (Initiating& i : initiating_)
    if (i.initiator && i.initiator->owns(spi_i, spi_r, initiator_flag) && peers_[i.peer].address == src)
      in = &i;  // or its old SA
  // The peer is the responder of this SA (§ 3.1): one we initiated, by
  // ipsec_peers[].initiate, or by our rekey of an SA the peer began (the
  // responder holds those: ike::IkeSa::we_initiated). Or the peer's rekey
  // of an SA our initiator holds made the peer its initiator
  // (ike::IkeSa::peer_initiated): the initiator keeps it all the same.
  if (in || (!initiator_flag && !responder_.holds_as_initiator(spi_i))) {
    if (!in) return add(IkeServiceCounter::initiator_unmatched), ike::Bytes{};
    add(IkeServiceCounter::datagrams);
    const bool init_sent = in->initiator->state() == ike::InitiatorState::sa_init_sent;
    const uint64_t answered = in->initiator->counters().responses;
    const ike::Endpoint from{src.bytes(), sport};
    const uint64_t moved = in->initiator->counters().peer_moved;
    reply = in->initiator->handle(msg, now, &from);
    if (in->initiator->counters().peer_moved != moved) add(IkeServiceCounter::initiator_peer_moved);
    consumed_ = in->initiator->counters().responses > answered;
    if (init_sent && in->initiator->nat_t()) {
      add(IkeServiceCounter::initiator_nat_t);
      if (in->initiator->sa()->nat_detected) add(IkeServiceCounter::initiator_nat_detected);
    }
    // Its own next request (not an answer to the peer's): from and to the
    // SA's ports, which NAT-T may just have moved to 4500.
    if (reply.size() > ike::kHeaderLen && !(reply[19] & ike::kFlagResponse)) queue(*in, std::exchange(reply, {}));
    check_initiator(*in, now);
  } else {
    add(IkeServiceCounter::datagrams);
    const ike::Endpoint peer{src.bytes(), sport}, local{dst.bytes(), dport};
    const uint64_t answered = responder_.own_counters().answers;
    reply = responder_.handle(msg, peer, local, now);
    // The peer's answer to a request of ours (rekey, Delete) that ended it.
    consumed_ = reply.empty() && responder_.own_counters().answers > answered;
  }
  if (!reply.empty()) {
    if (dport == kIkeNattPort) reply.insert(reply.begin(), 4, 0);
    add(IkeServiceCounter::replies);
  }
  sync_sas(now);
  ha_step(now);
  render(now);
  return reply;
}

const IkeService::PeerInfo* IkeService::peer_of(const ike::IkeSa& sa) const {
  if (!sa.config) return nullptr;
  for (const PeerInfo& p : peers_)
    if (p.name == sa.config->name) return &p;
  return nullptr;
}

void IkeService::poll(steady_clock::time_point now) {
  const size_t before = responder_.sas().size();
  const auto counters_before = counters_;
  responder_.expire_half_open(now, kHalfOpenMax);
  if (!last_rotation_) {
    last_rotation_ = now;
  } else if (now - *last_rotation_ > kCookieRotation) {
    responder_.rotate_cookie_secret();
    last_rotation_ = now;
  }
  retire_quiesced();
  const uint64_t published = counter(IkeServiceCounter::tables_published);
  // Before DPD: a rekey or Delete is a request the peer answers too.
  enforce_lifetimes(now);
  site_liveness(now);
  bool changed = responder_.sas().size() != before;
  // The HA peer's records first: a start below must see a copy that arrived
  // before we claimed our address back.
  if (ha_ && ha_answers_) ha_receive(now);
  for (Initiating& in : initiating_) {
    if (in.initiator) {
      if (ike::Bytes r = in.initiator->tick(now); !r.empty()) {
        add(IkeServiceCounter::initiator_retransmits);
        queue(in, std::move(r));
      } else if (in.initiator->state() == ike::InitiatorState::established && !in.initiator->request_outstanding() &&
                 now - in.initiator->last_inbound() >= peers_[in.peer].dpd && in.initiator->sa() &&
                 ha_answers_for(*in.initiator->sa())) {
        // Our DPD (§ 2.4): tick() fails the SA as dead_peer when it stays unanswered.
        if (ike::Bytes l = in.initiator->liveness(now); !l.empty()) queue(in, std::move(l));
      }
      const ike::Initiator* i = in.initiator.get();
      if (i->state() == ike::InitiatorState::established && i->nat_local() &&
          now - in.last_keepalive >= kNatKeepalive) {
        in.last_keepalive = now;
        add(IkeServiceCounter::initiator_keepalives);
        outgoing_.push_back({in.local, peers_[in.peer].address, kIkeNattPort, kIkeNattPort, ike::Bytes{0xff}});
      }
      const bool had = in.initiator != nullptr;
      check_initiator(in, now);
      changed |= had && !in.initiator;
    }
    if (in.schedule.due(now)) start(in, now);
  }
  if (!draining_.empty() && draining_.front().until <= now) changed = true;
  if (changed) sync_sas(now);
  else if (!deferred_.empty() && settle_deferred(now, nullptr)) publish();
  changed |= counter(IkeServiceCounter::tables_published) != published;
  changed |= ha_step(now);
  changed |= counters_ != counters_before;  // the HA peer's records taken in above, before ha_step
  // Ages in the document stay within a second; SAs that went away at once.
  if (changed || now - last_render_ >= seconds(1)) render(now);
}

void IkeService::start(Initiating& in, steady_clock::time_point now) {
  const IpAddress peer = peers_[in.peer].address;
  const IpAddress route_src = source_ ? source_(peer) : IpAddress{};
  if (route_src.unset()) {
    add(IkeServiceCounter::initiate_no_route);
    in.schedule.postpone(now);
    return;
  }
  const IpAddress src = in.from ? in.from : route_src;
  // HA (docs/ipsec.md § HA): only the node that answers for initiate_from
  // initiates, and not while a copy of the peer's SA waits to be carried on.
  if (ha_ && ha_answers_ && (ha_answers_(src) == HaAddress::not_ours_now || ha_init_copies_.count(in.peer))) {
    add(IkeServiceCounter::initiate_standby);
    in.schedule.postpone(now);
    return;
  }
  ike::InitiatorConfig c;
  c.peer = in.config;
  c.ike_suites = in.ike_suites;
  c.local = {src.bytes(), kIkePort};
  c.remote = {peer.bytes(), kIkePort};
  in.initiator = std::make_unique<ike::Initiator>(std::move(c), log_);
  in.local = src;
  in.up = false;
  in.last_keepalive = now;
  in.seen_rekeys = {};
  in.schedule.started();
  ike::Bytes r = in.initiator->start(now);
  if (r.empty()) {  // no DH key: counted by the initiator, tried again later
    add(IkeServiceCounter::initiator_failures);
    in.initiator.reset();
    in.schedule.ended(now);
    return;
  }
  add(IkeServiceCounter::initiations);
  if (log_)
    log_("ike: " + peers_[in.peer].name + ": initiating IKE SA " + src.str() + " -> " + peer.str() +
         " (attempt after " + std::to_string(in.schedule.failures()) + " failures)");
  queue(in, std::move(r));
}

void IkeService::check_initiator(Initiating& in, steady_clock::time_point now) {
  const ike::Initiator* i = in.initiator.get();
  if (!i) return;
  if (i->state() == ike::InitiatorState::established && !in.up) {
    in.up = true;
    in.schedule.established();
    if (log_) log_("ike: " + peers_[in.peer].name + ": IKE SA we initiated established");
  }
  if (i->state() != ike::InitiatorState::failed && i->state() != ike::InitiatorState::deleted) return;
  const auto f = i->failure();
  const bool timeout = f && (*f == ike::InitFailure::timeout || *f == ike::InitFailure::dead_peer);
  add(timeout ? IkeServiceCounter::initiator_timeouts : IkeServiceCounter::initiator_failures);
  if (f) ++init_failures_[static_cast<size_t>(*f)];
  in.schedule.ended(now);
  if (log_)
    log_("ike: " + peers_[in.peer].name + ": IKE SA we initiated " +
         (f ? "failed (" + std::string(ike::init_failure_name(*f)) + ")" : std::string("deleted by the peer")) +
         ", next attempt in " + std::to_string(duration_cast<seconds>(in.schedule.next() - now).count()) + " s");
  fold_rekeys(in);
  in.initiator.reset();  // its Child SAs leave the table at the next sync_sas
  in.up = false;
}

void IkeService::queue(const Initiating& in, ike::Bytes request) {
  uint16_t port = kIkePort, peer_port = kIkePort;
  if (in.initiator && in.initiator->nat_t()) {
    port = peer_port = kIkeNattPort;
    // Where the peer's NAT maps it now (§ 2.23, Initiator::handle).
    if (const ike::IkeSa* sa = in.initiator->sa(); sa && sa->peer.port) peer_port = sa->peer.port;
    request.insert(request.begin(), 4, 0);  // the non-ESP marker (RFC 3948 § 2.2)
  }
  outgoing_.push_back({in.local, peers_[in.peer].address, port, peer_port, std::move(request)});
}

void IkeService::sync_sas(steady_clock::time_point now) {
  bool changed = false;
  std::set<uint32_t> live;
  // Runs after every datagram: a Child SA the site's Delete took is here
  // (settle_deferred) in the same call that finds it gone.
  std::set<uint32_t> site_deleted;
  for (uint32_t spi : responder_.take_peer_deleted()) site_deleted.insert(spi);
  for (Initiating& in : initiating_)
    if (in.initiator)
      for (uint32_t spi : in.initiator->take_peer_deleted()) site_deleted.insert(spi);
  std::vector<const ike::IkeSa*> sas;
  for (const auto& [spi, sa] : responder_.sas()) sas.push_back(sa.get());
  for (const Initiating& in : initiating_)
    if (in.initiator && in.initiator->sa()) sas.push_back(in.initiator->sa());
  for (const ike::IkeSa* sa : sas) {
    if (sa->state != ike::IkeSaState::established || !sa->config) continue;
    // Oldest first: installed anew together (an HA takeover or resume), the
    // newest seals, or waits while the one it replaced seals (EspSaBook::add).
    for (const ike::ChildSa* c : ike::children_oldest_first(*sa)) {
      const ike::ChildSa& child = *c;
      const uint32_t spi_in = child.spi_in;
      live.insert(spi_in);
      if (installed_.count(spi_in)) {
        // The site's NAT mapping moved (§ 2.23): its ESP in UDP follows.
        if (sa->udp_encap && sa->peer.port != kIkePort) changed |= book_.set_peer_port(spi_in, sa->peer.port);
        continue;
      }
      // Back before its grace ran out (an HA hand-back and takeover again):
      // installed anew below.
      for (auto d = draining_.begin(); d != draining_.end(); ++d)
        if (d->spi_in == spi_in) {
          book_.remove(spi_in);
          draining_.erase(d);
          break;
        }
      TunnelEndpoint ep;
      ep.tunnel = static_cast<uint16_t>(sa->config->tunnel);
      ep.local = ike::record_address(sa->local.addr);
      ep.peer = ike::record_address(sa->peer.addr);
      ep.local_port = kIkeNattPort;
      ep.peer_port = sa->peer.port == kIkePort ? kIkeNattPort : sa->peer.port;
      ep.udp_encap = sa->udp_encap;  // a NAT on the path or IKE begun on 4500; else IP protocol 50
      // Taken over from the HA peer, or resumed: its lifetime goes on from
      // where it stood there (an SA would live up to twice its lifetime
      // across a failover otherwise); the soft point is drawn again, ahead
      // of where it stands (below).
      steady_clock::time_point born = now;
      uint64_t bytes_before = 0;
      if (auto st = ha_starts_.find(spi_in); st != ha_starts_.end()) {
        ep.seq_out_start = st->second.seq_out;
        ep.replay_start = st->second.replay_top;
        if (st->second.born) born = std::min(*st->second.born, now);
        bytes_before = st->second.bytes;
      }
      std::string error;
      if (!book_.add(engine_, child, ep, error)) {
        add(IkeServiceCounter::sa_install_failed);
        if (log_) log_("ike: " + sa->peer.str() + ": child SA " + hex(spi_in, 8) + " not published: " + error);
        live.erase(spi_in);
        continue;
      }
      // Resumed from our own HA copy while it waited: it waits from when it
      // was first installed, and its deferral was counted then.
      steady_clock::time_point since = now;
      const auto waited = ha_waiting_since_.find(spi_in);
      const bool resumed_waiting = waited != ha_waiting_since_.end();
      if (resumed_waiting) {
        since = waited->second;
        ha_waiting_since_.erase(waited);
      }
      if (book_.pending(ep.tunnel) == spi_in) {
        deferred_[spi_in] = ep.tunnel;
        if (!resumed_waiting) add(IkeServiceCounter::rekey_switch_deferred);
      }
      const PeerInfo* peer = peer_of(*sa);
      const auto lifetime = seconds(peer ? peer->child_lifetime_s : 0);
      const uint64_t byte_life = peer ? peer->child_lifetime_bytes : 0;
      // Carried on: its soft point is drawn again no earlier than how far it has come.
      const double floor = ike::carried_fraction(born, now, lifetime, bytes_before, byte_life);
      installed_[spi_in] = {ep.tunnel, since, tunnel_bytes(ep.tunnel), bytes_before,
                            ike::SaLifetime(born, lifetime, byte_life, random_u32(), floor)};
      if (log_)
        log_("ike: " + sa->peer.str() + ": Child SA " + hex(spi_in, 8) + " in the workers' SA table (tunnel " +
             std::to_string(ep.tunnel) + ")");
      changed = true;
    }
  }
  changed |= settle_deferred(now, &live, &site_deleted);  // before the old SA leaves: it stops sealing, then drains
  for (auto it = installed_.begin(); it != installed_.end();) {
    if (live.count(it->first)) {
      ++it;
      continue;
    }
    // Rekeyed away (another Child SA of its tunnel seals now): it keeps
    // opening for kRekeyedInboundGrace. Otherwise (deleted, its IKE SA gone)
    // it leaves the book at once.
    EspSaBook::Slots slots;
    const uint16_t sealing = book_.sealing(it->second.tunnel);
    if (book_.slots(it->first, slots) && sealing != kEspNoSa && sealing != slots.out) {
      book_.drain(it->first);
      draining_.push_back({it->first, now + kRekeyedInboundGrace});
    } else {
      book_.remove(it->first);
    }
    it = installed_.erase(it);
    changed = true;
  }
  while (!draining_.empty() && draining_.front().until <= now) {
    book_.remove(draining_.front().spi_in);
    draining_.pop_front();
    changed = true;
  }
  if (changed) publish();
}

bool IkeService::settle_deferred(steady_clock::time_point now, const std::set<uint32_t>* live,
                                 const std::set<uint32_t>* site_deleted) {
  bool moved = false;
  for (auto d = deferred_.begin(); d != deferred_.end();) {
    const auto [spi, tunnel] = *d;
    const auto inst = installed_.find(spi);
    if (book_.pending(tunnel) != spi || inst == installed_.end()) {
      // A newer SA took its place (our rekey's seals at once, another
      // rekey of the site's waits instead): the site has moved past it, so
      // it waits no more. Its holder is told, or an HA resume would install
      // it waiting beside the SA it replaced (counted deferred again) until
      // the newer one seals. Not a switch of ours: no rekey_switch_ count.
      // One that left the book (deleted, or its IKE SA set aside, to wait
      // again once resumed) has no holder here: nothing is told.
      end_wait(spi);
      d = deferred_.erase(d);
      continue;
    }
    if (live && !live->count(spi)) {  // leaving itself (its IKE SA gone): nothing to move to
      ++d;
      continue;
    }
    IkeServiceCounter cause;
    if (child_counters(spi).first.packets != 0)  // the owner worker seals on it already
      cause = IkeServiceCounter::rekey_switch_first_packet;
    else if (const uint32_t old = book_.sealing_child(tunnel); live && old != 0 && !live->count(old))
      cause = site_deleted && site_deleted->count(old) ? IkeServiceCounter::rekey_switch_delete
                                                       : IkeServiceCounter::rekey_switch_old_gone;
    else if (now - inst->second.since >= kRekeyDeferFallback)
      cause = IkeServiceCounter::rekey_switch_fallback;
    else {
      ++d;
      continue;
    }
    book_.promote(tunnel);
    add(cause);
    // Its own flag says it waited: installed again (an HA set-aside and
    // resume), it must not wait again on the SA it replaced.
    end_wait(spi);
    if (log_)
      log_("ike: tunnel " + std::to_string(tunnel) + ": Child SA " + hex(spi, 8) + " seals (" +
           std::string(ike_service_counter_name(cause)).substr(std::string_view("rekey_switch_").size()) + ")");
    moved = true;
    d = deferred_.erase(d);
  }
  return moved;
}

void IkeService::end_wait(uint32_t spi_in) {
  if (responder_.child_sealed(spi_in)) return;
  for (Initiating& in : initiating_)
    if (in.initiator && in.initiator->child_sealed(spi_in)) return;
}

void IkeService::publish() {
  std::unique_ptr<const EspSaTable> next = book_.build();
  const EspSaTable* old = published_.exchange(next.get(), std::memory_order_acq_rel);
  (void)old;  // == current_.get()
  add(IkeServiceCounter::tables_published);
  if (current_) {
    Retired r{std::move(current_), {}};
    for (const auto* e : readers_) r.epochs.push_back(e->load(std::memory_order_acquire));
    retired_.push_back(std::move(r));
  }
  current_ = std::move(next);
  retire_quiesced();
}

// A reader whose epoch moved twice since the swap has finished the loop
// iteration that may have read the old table.
void IkeService::retire_quiesced() {
  while (!retired_.empty()) {
    const Retired& r = retired_.front();
    for (size_t w = 0; w < r.epochs.size(); ++w)
      if (readers_[w]->load(std::memory_order_acquire) < r.epochs[w] + 2) return;
    retired_.pop_front();
  }
}

void IkeService::render(steady_clock::time_point now) {
  using nlohmann::json;
  last_render_ = now;
  auto age = [now](steady_clock::time_point t) { return duration_cast<seconds>(now - t).count(); };
  const ike::ResponderCounters& rc = responder_.counters();
  const ike::OwnRequestCounters& oc = responder_.own_counters();
  json counters = {{"requests", rc.requests},
                   {"responder_liveness_sent", oc.liveness_sent},  // our DPD on the sites' IKE SAs
                   {"responder_liveness_answered", oc.liveness_answered},
                   {"responses_sent", rc.responses_sent},
                   {"retransmits", rc.retransmits},
                   {"ike_sas_established", rc.ike_sas_established},
                   {"ike_sas_rekeyed", rc.ike_sas_rekeyed},
                   {"ike_sas_deleted", rc.ike_sas_deleted},
                   {"child_sas_installed", rc.child_sas_installed},
                   {"child_sas_deleted", rc.child_sas_deleted}};
  for (size_t i = 0; i < kIkeServiceCounters; ++i)
    counters[std::string(ike_service_counter_name(static_cast<IkeServiceCounter>(i)))] = counters_[i];
  json refused = json::object();
  for (size_t i = 0; i < ike::kRefusals; ++i)
    refused[std::string(ike::refusal_name(static_cast<ike::Refusal>(i)))] = rc.refused[i];
  json ike_sas = json::array(), child_sas = json::array();
  struct Listed {
    const ike::IkeSa* sa;
    const char* role;  // ours in the exchange
    const char* ha;    // docs/ipsec.md § HA
  };
  std::vector<Listed> sas;
  for (const auto& [spi, sa] : responder_.sas())
    sas.push_back({sa.get(), sa->we_initiated ? "initiator" : "responder", ha_role(*sa)});
  for (const Initiating& in : initiating_)
    if (in.initiator && in.initiator->sa())
      sas.push_back({in.initiator->sa(), in.initiator->sa()->peer_initiated ? "responder" : "initiator",
                     ha_ ? (in.ha_taken ? "taken over" : "own") : "none"});
  for (const auto& [spi, copy] : ha_copies_)
    if (copy.sa) sas.push_back({copy.sa.get(), copy.sa->we_initiated ? "initiator" : "responder", "peer copy"});
  for (const auto& [peer, copy] : ha_init_copies_)
    if (copy.sa) sas.push_back({copy.sa.get(), copy.sa->peer_initiated ? "responder" : "initiator", "peer copy"});
  for (const auto& [sa, role, ha] : sas) {
    const PeerInfo* peer = peer_of(*sa);
    const auto life = ike_lives_.find({sa->spi_i, sa->spi_r});
    ike_sas.push_back({{"peer", peer ? peer->name : ""},
                       {"tunnel", peer ? peer->tunnel : ""},
                       {"role", role},
                       {"ha", ha},
                       {"local_id", sa->config ? sa->config->local_id : ""},
                       {"remote_id", sa->remote_id},
                       {"remote", sa->peer.str()},
                       {"local", sa->local.str()},
                       {"state", sa->state == ike::IkeSaState::established ? "ESTABLISHED" : "INIT_DONE"},
                       // On the wire: an SA the responder holds as its initiator has ours
                       // first, one our initiator holds as its responder the peer's.
                       {"spi_i", hex(sa->we_initiated || sa->peer_initiated ? sa->spi_r : sa->spi_i, 16)},
                       {"spi_r", hex(sa->we_initiated || sa->peer_initiated ? sa->spi_i : sa->spi_r, 16)},
                       {"proposal", ike_suite_name(sa->suite)},
                       {"nat_detected", sa->nat_detected},
                       {"encap", sa->udp_encap ? "udp" : "none"},
                       {"age_s", age(sa->created)},
                       {"lifetime_s", peer ? peer->ike_lifetime_s : 0},
                       {"rekey_in_s", life != ike_lives_.end() ? seconds_to(life->second.soft_at(), now) : -1},
                       {"expires_in_s", ike_expires_in(*sa, now)},
                       {"child_sas", sa->children.size()}});
    for (const auto& [spi_in, c] : sa->children) {
      json local = json::array(), remote = json::array();
      for (const auto& t : c.ts_local) local.push_back(selector_text(t));
      for (const auto& t : c.ts_remote) remote.push_back(selector_text(t));
      const auto inst = installed_.find(spi_in);
      const auto [in, out] = child_counters(spi_in);
      child_sas.push_back({{"peer", peer ? peer->name : ""},
                           {"tunnel", peer ? peer->tunnel : ""},
                           {"ike_spi_r", hex(sa->spi_r, 16)},
                           {"state", std::string_view(ha) == "peer copy" ? "PEER_COPY"
                                     : inst != installed_.end()    ? "INSTALLED"
                                                                   : "NEGOTIATED"},
                           {"spi_in", hex(spi_in, 8)},
                           {"spi_out", hex(c.spi_out, 8)},
                           {"proposal", esp_suite_name(c.suite)},
                           {"encap", sa->udp_encap ? "udp" : "none"},
                           {"local_ts", local},
                           {"remote_ts", remote},
                           {"age_s", inst != installed_.end() ? age(inst->second.life.start()) : 0},
                           {"lifetime_s", peer ? peer->child_lifetime_s : 0},
                           {"lifetime_bytes", peer ? peer->child_lifetime_bytes : 0},
                           {"bytes", child_bytes(spi_in)},
                           {"in_packets", in.packets},
                           {"in_bytes", in.bytes},
                           {"in_drops", in.drops},
                           {"replay_drops", in.replay_drops},
                           {"integrity_failures", in.auth_failures},
                           {"out_packets", out.packets},
                           {"out_bytes", out.bytes},
                           {"out_drops", out.drops},
                           {"rekey_in_s", inst != installed_.end() && inst->second.life.timed()
                                              ? seconds_to(inst->second.life.soft_at(), now)
                                              : -1},
                           {"expires_in_s", inst != installed_.end() ? inst->second.life.seconds_left(now) : -1},
                           {"sealing", inst != installed_.end() &&
                                           book_.sealing(inst->second.tunnel) != kEspNoSa &&
                                           current_ && current_->slot(book_.sealing(inst->second.tunnel)).spi ==
                                                           c.spi_out}});
    }
  }
  // Per tunnel: what the workers opened and sealed, and refused (summed over workers).
  json rekey = json::object();
  const ike::RekeyCounters rc_rekey = rekey_counters();
  for (size_t i = 0; i < ike::kRekeyCounters; ++i)
    rekey[std::string(ike::rekey_counter_name(static_cast<ike::RekeyCounter>(i)))] = rc_rekey.v[i];
  json tunnels = json::array();
  for (size_t t = 0; t < tunnels_.size(); ++t) {
    uint64_t v[6] = {};
    for (uint32_t w = 0; tunnel_counters_ && w < counter_readers_; ++w) {
      const EspTunnelCounters& c = tunnel_counters_[w * kEspCounterTunnels + t];
      v[0] += c.in_packets.load(std::memory_order_relaxed);
      v[1] += c.in_bytes.load(std::memory_order_relaxed);
      v[2] += c.in_drops.load(std::memory_order_relaxed);
      v[3] += c.out_packets.load(std::memory_order_relaxed);
      v[4] += c.out_bytes.load(std::memory_order_relaxed);
      v[5] += c.out_drops.load(std::memory_order_relaxed);
    }
    const TunnelInfo& ti = tunnels_[t];
    // The SPI (the site's) we seal with, and the one of the site's rekey we
    // answered that waits for it (docs/ipsec.md § Rekeying); "" when none.
    const EspTunnel* et = current_ ? current_->tunnel(static_cast<uint32_t>(t)) : nullptr;
    auto spi_at = [this](uint16_t slot) { return slot == kEspNoSa ? std::string() : hex(current_->slot(slot).spi, 8); };
    tunnels.push_back({{"name", ti.name},
                       {"outbound_spi", et ? spi_at(et->out_sa) : ""},
                       {"outbound_pending_spi", et ? spi_at(et->pending_out) : ""},
                       {"peer", ti.peer},
                       {"tenant", ti.tenant},
                       {"mtu", ti.mtu},
                       {"path_mtu", path_mtu_ ? path_mtu_->path(static_cast<uint32_t>(t)) : 0},
                       {"in_packets", v[0]},
                       {"in_bytes", v[1]},
                       {"in_drops", v[2]},
                       {"out_packets", v[3]},
                       {"out_bytes", v[4]},
                       {"out_drops", v[5]}});
  }
  // The peers we initiate to: where their attempt stands.
  json initiating = json::array();
  for (const Initiating& in : initiating_) {
    const auto next = in.schedule.next();
    initiating.push_back(
        {{"peer", peers_[in.peer].name},
         {"state", in.initiator ? std::string(ike::initiator_state_name(in.initiator->state())) : "waiting"},
         {"failures", in.schedule.failures()},
         {"next_attempt_s", in.initiator || next <= now ? 0 : duration_cast<seconds>(next - now).count() + 1}});
  }
  json doc = {{"enabled", true},
              {"ike_sas", ike_sas},
              {"initiating", initiating},
              {"child_sas", child_sas},
              {"tunnels", tunnels},
              {"half_open", responder_.half_open()},
              {"esp_dataplane", tunnel_counters_ != nullptr},
              {"counters", counters},
              {"rekey", rekey},
              {"refused", refused}};
  auto text = std::make_shared<const std::string>(doc.dump(2));
  {
    std::lock_guard lock(mu_);
    status_ = std::move(text);
  }
  size_t established = 0;  // ours, not the HA peer's copies
  for (const Listed& l : sas)
    if (l.sa->state == ike::IkeSaState::established && std::string_view(l.ha) != "peer copy") ++established;
  copy_metrics(established, installed_.size());
}

std::string IkeService::status_json() const {
  std::shared_ptr<const std::string> s;
  {
    std::lock_guard lock(mu_);
    s = status_;
  }
  return s ? *s : std::string("{}");
}

}  // namespace wp
