// HA thread setup and loop; see ha_thread.h.
#include "ha/ha_thread.h"

#include <poll.h>
#include <rte_lcore.h>

#include <algorithm>
#include <ctime>

#include "dataplane/control/waypoint6_addr.h"
#include "ha/cpg_transport.h"

namespace wp::ha {
HaThread::~HaThread() { stop(); }

// HaDataplane::is_peer_address tells the stand-ins 0.255.254.j by this prefix.
static_assert((kWaypoint6Net | kWaypoint6HaPeer) == 0x00FFFE00u);

void take_peer_waypoints6(const RouterModel& rm, HaDataplane& ha) {
  for (const HaWaypoint6& w : rm.ha_waypoints6) ha.peer_addresses6.push_back({w.addr, w.iface});
  ha.peer_waypoints6 = static_cast<uint32_t>(rm.ha_waypoints6.size());
}

bool HaThread::prepare(const config::Config& cfg, DataplaneShared& shared, std::string& error) {
  if (!cfg.has_ha()) return true;
  const config::Ha& h = cfg.ha();
  const RouterModel& rm = *shared.model.load();
  auto place = [&](const std::string& text, bool wan) {
    auto a = parse_ipv4(text);
    for (size_t i = 0; a && i < rm.interfaces.size(); ++i)
      if (rm.interfaces[i].wan == wan && rm.interfaces[i].subnet.contains(*a)) {
        shared.ha.peer_addresses.push_back({*a, static_cast<int>(i)});
        return true;
      }
    error = "ha: peer address " + text + " is on none of our " + (wan ? "WAN" : "LAN") + " subnets";
    return false;
  };
  for (const auto& a : h.peer_waypoints())
    if (!parse_ipv6(a) && !place(a, true)) return false;
  take_peer_waypoints6(rm, shared.ha);
  for (const auto& a : h.peer_lan())
    if (!place(a, false)) return false;
  for (const auto& text : h.peer_addresses6()) {  // #19
    auto a = parse_ipv6(text);
    bool placed = false;
    for (size_t i = 0; a && !placed && i < rm.interfaces.size(); ++i)
      for (const Ipv6Prefix& p : rm.interfaces[i].subnets6)
        if (!placed && !p.addr.is_link_local() && p.contains(*a)) {
          shared.ha.peer_addresses6.push_back({*a, static_cast<int>(i)});
          placed = true;
        }
    if (!placed) return error = "ha: peer address " + text + " is on none of our IPv6 subnets", false;
  }
  uint32_t ring = h.event_ring() ? h.event_ring() : 65536;
  int socket = static_cast<int>(rte_socket_id());
  if (!shared.enable_events(EventConsumer::ha, ring, socket, error)) return false;
  if (!shared.ha.create(shared.workers, ring, socket, error)) return false;
  // #19: routed IPv6 sessions (a quarter of the IPv4 ring: IPv6 events are fewer, and 160 B each).
  if (rm.ipv6_routing && !shared.ha.create6(shared.workers, std::max<uint32_t>(ring / 4, 1024), socket, error))
    return false;
  HaSettings s;
  s.node_id = h.node_id();
  s.preempt = !h.no_preempt();
  s.batch_ms = h.batch_ms() ? h.batch_ms() : 1;
  s.sender_thread = true;  // #17: draining and packing on the HA sender thread (sync_encoder.h)
  if (h.unquorate_release_ms()) s.unquorate_release_ms = h.unquorate_release_ms();
  group_ = h.group();
  node_ = std::make_unique<HaNode>(shared, s, [group = group_](std::string& err) -> std::unique_ptr<Transport> {
    auto t = std::make_unique<CpgTransport>();
    if (!t->open(group, err)) return nullptr;
    return t;
  });
  return true;
}

void HaThread::start() {
  if (!node_) return;
  thread_ = std::thread([this] {
    while (!stop_.load(std::memory_order_relaxed)) {
      if (node_->poll(epoch_ms()) != 0) continue;
      pollfd p{node_->fd(), POLLIN, 0};
      if (p.fd >= 0)
        ::poll(&p, 1, 1);
      else
        ::poll(nullptr, 0, 1);
    }
  });
}

void HaThread::stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
  if (node_) node_->stop_sender();  // no thread of ours left running
}

}  // namespace wp::ha
