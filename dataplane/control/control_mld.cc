// The control thread's MLDv2 listener (RFC 3810; docs/ipv6.md § Multicast
// Listener Discovery). An MLD-snooping switch forwards multicast only to the
// ports whose listeners reported it, so on every interface with IPv6 we
// report the groups the router must hear: the solicited-node group of each of
// our addresses (RFC 4861 § 7.2.1; tentative ones too, RFC 4862 § 5.4.2:
// their DAD listens there), link-local included, and all-routers (ff02::2,
// RFC 4291 § 2.8) on LAN interfaces, where hosts send Router Solicitations.
// With HA, an address this node answers Neighbor Solicitations for only while
// it holds it (control_nd.cc nd_input: our global ones while `own_held`, the
// peer's while `peer_taken`) is listened for only then: a yield leaves the
// group, a takeover joins it. A duplicate address (dad6.h) is never answered
// for and not listened for. All-nodes (ff02::1) is never reported (§ 6).
// Reports leave from the interface's link-local address, or from :: while it
// is tentative (RFC 3590 § 4). The groups are re-read when a commit publishes
// a model and every kMldRecheckMs (HA and DAD changes); mld_listener.h keeps
// the state and its timers.
#include <rte_cycles.h>

#include "dataplane/control/control_thread.h"
#include "dataplane/ip/packet_edit.h"  // pkt_data
#include "dataplane/ip/router_advert.h"  // kAllRouters

namespace wp {

void Control::mld_query_input(rte_mbuf* m, const Ipv6View& v, int iface) {
  const uint8_t* d = pkt_data(m);
  MldQuery q;
  if (parse_mld_query(d + v.l3, v.end - v.l3, d + v.l4, v.end - v.l4, q) != MldQueryStatus::ok)
    return drop(m, DropReason::mld_bad_query);
  rte_pktmbuf_free(m);
  counters().add(Counter::mld_queries_received);
  if (mld_.query(iface, q.group, q.max_delay_ms, now_ms_)) counters().add(Counter::mld_queries_answered);
}

std::vector<Ipv6> Control::mld_groups(const RouterModel& rm, int iface) const {
  std::vector<Ipv6> groups;
  const InterfaceModel& in = rm.interfaces[static_cast<size_t>(iface)];
  if (in.addrs6.size() <= 1) return groups;  // no configured IPv6: no IPv6 at all (as dad6_poll)
  const HaDataplane& ha = shared_.ha;
  const bool own_held = !ha.enabled || ha.own_held.load(std::memory_order_acquire);
  for (const Ipv6& a : in.addrs6) {
    const DadTable::Entry* e = dad6_.find(iface, a);
    if (e && e->state == DadTable::State::duplicate) continue;
    if (a.is_link_local() || own_held) groups.push_back(solicited_node_of(a));
  }
  if (ha.enabled && ha.peer_taken.load(std::memory_order_acquire))
    for (const HaAddress6& p : ha.peer_addresses6)
      if (p.iface == iface) groups.push_back(solicited_node_of(p.addr));
  if (!in.wan) groups.push_back(kAllRouters);
  return groups;
}

void Control::mld_poll(uint32_t now_ms) {
  const RouterModel& rm = model();
  if (&rm != mld_model_ || now_ms - mld_checked_ms_ >= kMldRecheckMs) {
    if (!mld_model_) mld_.seed(rte_rdtsc() ^ reinterpret_cast<uintptr_t>(&mld_));
    mld_model_ = &rm;
    mld_checked_ms_ = now_ms;
    const size_t n = std::max(rm.interfaces.size(), mld_.interfaces());
    for (size_t i = 0; i < n; ++i)
      mld_.set(static_cast<int>(i), i < rm.interfaces.size() ? mld_groups(rm, static_cast<int>(i)) : std::vector<Ipv6>{},
               now_ms);
  }
  mld_.tick(now_ms, [this](int iface, std::span<const MldRecord> records) { mld_send(iface, records); });
}

void Control::retire_mld() {
  mld_.leave_all([this](int iface, std::span<const MldRecord> records) { mld_send(iface, records); });
}

void Control::mld_send(int iface, std::span<const MldRecord> records) {
  const RouterModel& rm = model();
  if (static_cast<size_t>(iface) >= rm.interfaces.size()) return;  // a port a commit removed: nothing to send on
  const InterfaceModel& in = rm.interfaces[static_cast<size_t>(iface)];
  if (in.addrs6.empty()) return;
  const Ipv6 src = dad6_.usable(iface, in.addrs6[0]) ? in.addrs6[0] : Ipv6{};
  // A Report's length depends on its records: written into the largest one's room, then trimmed.
  const auto write = [&](uint8_t* f) { return write_mld2_report(f, in.mac, src, records); };
  if (send_nd(iface, write, kMld2MaxFrameLen)) counters().add(Counter::mld_reports_sent);
}

}  // namespace wp
