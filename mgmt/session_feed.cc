// Session event feed, snapshot and IPFIX records; see session_feed.h.
#include "mgmt/session_feed.h"

#include <rte_ring.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>

#include "dataplane/worker/context.h"
#include "mgmt/app_stats.h"
#include "mgmt/svr6_view.h"

namespace wp::mgmt {
namespace {

std::string name_of(const std::vector<std::string>& names, int idx) {
  return idx >= 0 && static_cast<size_t>(idx) < names.size() ? names[static_cast<size_t>(idx)] : std::string();
}
std::string service_name(const RouterModel& m, int idx) {
  return idx >= 0 && static_cast<size_t>(idx) < m.services.size() ? m.services[static_cast<size_t>(idx)].name
                                                                  : std::string();
}
uint64_t epoch_now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return uint64_t(ts.tv_sec) * 1000 + uint64_t(ts.tv_nsec) / 1000000;
}

}  // namespace

IpfixRecord ipfix_record(const SessionEvent& ev, const RouterModel& model, const DataplaneClock& clock) {
  const Session& s = ev.session;
  IpfixRecord r;
  r.start_ms = clock.epoch_ms(s.created_ms);
  r.end_ms = clock.epoch_ms(s.last_ms);
  r.pre = s.key_a();
  r.post = s.out_fwd.tuple;
  // Between IPv6 waypoints (template 259, ipfix_encoder.h): the IPv4 client -> server tuple
  // and the IPv6 waypoint leg at both routers, never the stand-ins the worker keeps it under.
  // At a transit router the post-NAT elements are the leg it leaves on, IPv6 only when that one is.
  if (const Svr6Leg leg = waypoint6_leg(s); leg.role != Svr6Role::none) {
    r.pre = s.original;
    const Svr6Waypoints w = svr6_waypoints(model, leg.role == Svr6Role::transit ? onward_leg(leg) : leg);
    if (!w.ipv4) {
      r.post = FiveTuple{0, 0, w.sport, w.dport, s.original.proto};
      r.post_ipv6 = true;
      r.post_src6 = w.src6;  // :: when not known (svr6_view.h)
      r.post_dst6 = w.dst6;
    }
  }
  r.initiator_octets = s.bytes[static_cast<int>(Dir::forward)];
  r.responder_octets = s.bytes[static_cast<int>(Dir::reverse)];
  r.initiator_packets = s.packets[static_cast<int>(Dir::forward)];
  r.responder_packets = s.packets[static_cast<int>(Dir::reverse)];
  bool live = ev.kind != SessionEventKind::closed;
  r.nat_event = live ? kNatEventSessionCreate : kNatEventSessionDelete;
  r.end_reason = live ? static_cast<uint8_t>(SessionEndReason::active_timeout) : static_cast<uint8_t>(ev.reason);
  // Interfaces as ifIndex-style numbers: config order + 1 (LAN = 1, wan[0] = 2);
  // an IPsec tunnel is 1001 + its index in tunnels[].
  auto if_index = [](const SideOut& side) {
    return side.iface == kIfaceTunnel ? 1001 + side.next_hop : static_cast<uint32_t>(side.iface + 1);
  };
  r.ingress_if = if_index(s.out_rev);
  r.egress_if = if_index(s.out_fwd);
  r.session_id = s.uuid;
  r.set_tenant(name_of(model.tenants, s.tenant));
  r.set_service(service_name(model, s.service));
  r.app_id = s.app;  // nDPI id; IE 96 names it, "Unknown" for 0 (not recognised, or not yet)
  r.set_app(s.app ? app_name(s.app) : "Unknown");
  return r;
}

IpfixRecord ipfix_record6(const Session6Event& ev, const RouterModel& model, const DataplaneClock& clock) {
  const Session6& s = ev.session;
  const auto fw = static_cast<int>(Dir::forward), rv = static_cast<int>(Dir::reverse);
  IpfixRecord r;
  r.start_ms = clock.epoch_ms(s.created_ms);
  r.end_ms = clock.epoch_ms(s.last_ms);
  r.ipv6 = true;
  // Routed, not translated: the session leaves with the tuple it arrived with.
  r.pre_src6 = r.post_src6 = s.original.src;
  r.pre_dst6 = r.post_dst6 = s.original.dst;
  r.pre = r.post = FiveTuple{0, 0, s.original.sport, s.original.dport, s.original.proto};
  // SVR carries it: the post-NAT elements are its waypoint leg on both routers
  // (ipfix_encoder.h; template 258 for IPv4 waypoints, 257 for IPv6 ones).
  if (ev.svr.role != Svr6Role::none) {
    // At a transit router: the leg it leaves on, as an IPv4 transit session's post-NAT tuple.
    const Svr6Waypoints w =
        svr6_waypoints(model, ev.svr.role == Svr6Role::transit ? onward_leg(ev.svr) : ev.svr);
    r.post_ipv4 = w.ipv4;
    r.post = FiveTuple{w.src4, w.dst4, w.sport, w.dport, s.original.proto};
    r.post_src6 = w.src6;  // :: when not known (svr6_view.h)
    r.post_dst6 = w.dst6;
  }
  r.initiator_octets = s.bytes[fw];
  r.responder_octets = s.bytes[rv];
  r.initiator_packets = s.packets[fw];
  r.responder_packets = s.packets[rv];
  const bool live = ev.kind != SessionEventKind::closed;
  r.nat_event = live ? kNatEventSessionCreate : kNatEventSessionDelete;
  r.end_reason = live ? static_cast<uint8_t>(SessionEndReason::active_timeout) : static_cast<uint8_t>(ev.reason);
  // As IPv4's: config order + 1. SVR: the WAN interface is the egress at the ingress router, the ingress at the egress.
  const bool transit = ev.svr.role == Svr6Role::transit;
  const int in = ev.svr.role == Svr6Role::egress || transit ? ev.svr.iface : side6(s, rv);
  const int out = ev.svr.role == Svr6Role::ingress ? ev.svr.iface : transit ? ev.svr.onward_iface : side6(s, fw);
  r.ingress_if = static_cast<uint32_t>(in + 1);
  r.egress_if = static_cast<uint32_t>(out + 1);
  r.session_id = s.uuid;
  r.set_tenant(name_of(model.tenants, s.tenant));
  r.set_service(service_name(model, s.service));
  r.set_app("Unknown");  // IPv6 sessions are not classified (docs/ipv6.md)
  return r;
}

void SessionFeed::handle6(const Session6Event& ev, const RouterModel& model) {
  if (snapshot_) snapshot_->v6().apply(ev, model, clock_);
  if (ev.reason == SessionEndReason::handed_over) return;  // the HA peer carries it on and exports it
  if (exporter_ && (ev.kind == SessionEventKind::closed || ev.kind == SessionEventKind::update))
    exporter_->enqueue(ipfix_record6(ev, model, clock_));
}

uint32_t SessionFeed::poll6(uint32_t worker, const RouterModel& model) {
  rte_ring* r = shared_.event6_ring(worker);
  if (!r) return 0;
  constexpr uint32_t kBurst = 32;
  Session6Event evs[kBurst];
  uint32_t total = 0;
  for (int round = 0; round < 64; ++round) {
    const unsigned n = rte_ring_sc_dequeue_burst_elem(r, evs, sizeof(Session6Event), kBurst, nullptr);
    for (unsigned i = 0; i < n; ++i) handle6(evs[i], model);
    total += n;
    if (n < kBurst) break;
  }
  return total;
}

void SessionFeed::handle(const SessionEvent& ev, const RouterModel& model) {
  if (snapshot_) snapshot_->apply(ev, model, clock_);
  // An IPv6 session that SVR carries is exported by its IPv6 view (handle6),
  // never by this IPv4 form with internal or stand-in addresses.
  if (!exporter_ || carries_ipv6(ev.session) || ev.reason == SessionEndReason::handed_over) return;
  // Records on end and, for live sessions, on every update (workers post
  // updates every active_timeout when IPFIX is on).
  if (ev.kind == SessionEventKind::closed || ev.kind == SessionEventKind::update)
    exporter_->enqueue(ipfix_record(ev, model, clock_));
}

uint32_t SessionFeed::poll_once(uint64_t now_epoch_ms) {
  constexpr uint32_t kBurst = 64;
  SessionEvent evs[kBurst];
  uint32_t total = 0;
  const RouterModel* model = shared_.model.load(std::memory_order_acquire);
  for (uint32_t w = 0; w < shared_.workers; ++w) {
    rte_ring* r = shared_.event_ring(EventConsumer::ipfix, w);
    if (!r) continue;
    // Bounded per pass so one busy worker cannot starve the flush.
    for (int round = 0; round < 64; ++round) {
      unsigned n = rte_ring_sc_dequeue_burst_elem(r, evs, sizeof(SessionEvent), kBurst, nullptr);
      for (unsigned i = 0; i < n; ++i) handle(evs[i], *model);
      total += n;
      if (n < kBurst) break;
    }
    total += poll6(w, *model);
  }
  quiescent.fetch_add(1, std::memory_order_release);
  events_.fetch_add(total, std::memory_order_relaxed);
  if (exporter_ && (exporter_->queued() >= kFlushRecords || now_epoch_ms - last_flush_ms_ >= kFlushMs)) {
    exporter_->flush(now_epoch_ms);
    last_flush_ms_ = now_epoch_ms;
  }
  return total;
}

void SessionFeed::start() {
  run_.store(true);
  thread_ = std::thread([this] {
    while (run_.load(std::memory_order_relaxed)) {
      if (poll_once(epoch_now_ms()) == 0) usleep(1000);
    }
    poll_once(epoch_now_ms());  // what the workers posted while stopping
    if (exporter_) exporter_->flush(epoch_now_ms());
  });
}

void SessionFeed::stop() {
  run_.store(false);
  if (thread_.joinable()) thread_.join();
}

}  // namespace wp::mgmt
