// The control thread's side of IKE (docs/ipsec.md § IKE in waypointd): UDP
// 500 and 4500 to one of our addresses on a WAN interface, which workers
// hand over as local input, goes to the IKE service; its answer leaves the
// port the request came in on, to the MAC it came from (as echo replies
// do), from the address and port it was sent to. The service counts why a
// datagram got no answer; the packet is dropped as `ike_unanswered`, unless
// it was a peer's answer that ended an exchange we started. The
// requests of the peers we initiate to (ipsec_peers[].initiate) leave the
// WAN interface the route to the peer takes, through send_ip (ARP), from
// and to the ports the service names (500, or 4500 after NAT-T's move).
#include <rte_ether.h>

#include <chrono>
#include <cstring>
#include <optional>

#include "dataplane/control/control_thread.h"
#include "dataplane/control/ike_service.h"
#include "dataplane/control/route_choice.h"
#include "dataplane/ip/checksum.h"
#include "dataplane/ip/packet_edit.h"

namespace wp {
namespace {

constexpr uint16_t kEthLen = 14, kIpLen = 20, kUdpLen = 8;

}  // namespace

bool Control::ike_wanted(const ParsedPacket& pp, int iface) const {
  return ike_ && pp.status == ParseStatus::ipv4 && pp.proto == kProtoUdp && IkeService::is_ike_port(pp.dport) &&
         model().interfaces[iface].wan;
}

void Control::ike_input(rte_mbuf* m, const ParsedPacket& pp, int iface) {
  const uint8_t* d = pkt_data(m);
  const uint16_t udp_len = load_be16(d + pp.l4 + 4);
  if (udp_len < kUdpLen || pp.l4 + udp_len > pp.end) return drop(m, DropReason::parse_error);
  const ike::Bytes reply = ike_->input(ike::CSpan(d + pp.payload, udp_len - kUdpLen), pp.src, pp.sport, pp.dst, pp.dport);
  if (reply.empty()) {
    // An answer to a request of ours whose next request the service queued
    // (IKE_AUTH, maybe on 4500 now): sent at once, the datagram consumed.
    if (!ike_->has_outgoing()) {
      // The answer that ended an exchange of ours (IKE_AUTH's, a rekey's, a
      // liveness check's) is taken, not dropped; anything else went unanswered.
      if (ike_->consumed()) return rte_pktmbuf_free(m);
      return drop(m, DropReason::ike_unanswered);
    }
    rte_pktmbuf_free(m);
    return ike_send_outgoing();
  }
  uint8_t dst_mac[6];
  std::memcpy(dst_mac, d + 6, 6);  // back to where it came from (the site or its router)
  rte_pktmbuf_free(m);
  if (rte_mbuf* out = ike_packet(pp.dst, pp.src, pp.dport, pp.sport, reply)) send_l2(out, iface, dst_mac);
}

// Ethernet (type only: send_l2 writes the addresses), IPv4 and UDP around
// an IKE datagram; null (counted ike_reply_failed) without an mbuf or when
// it does not fit one (IKE fragmentation does not exist).
rte_mbuf* Control::ike_packet(Ipv4 src, Ipv4 dst, uint16_t sport, uint16_t dport, const ike::Bytes& payload) {
  const size_t len = kEthLen + kIpLen + kUdpLen + payload.size();
  rte_mbuf* out = rte_pktmbuf_alloc(pool_);
  if (!out) return counters().drop(DropReason::ike_reply_failed), nullptr;
  auto* p = reinterpret_cast<uint8_t*>(len <= UINT16_MAX ? rte_pktmbuf_append(out, static_cast<uint16_t>(len)) : nullptr);
  if (!p) return drop(out, DropReason::ike_reply_failed), nullptr;
  store_be16(p + 12, kEtherTypeIpv4);
  uint8_t* ip = p + kEthLen;
  std::memset(ip, 0, kIpLen);
  ip[0] = 0x45;
  store_be16(ip + 2, static_cast<uint16_t>(kIpLen + kUdpLen + payload.size()));
  ip[8] = 64;
  ip[9] = kProtoUdp;
  store_be32(ip + 12, src);
  store_be32(ip + 16, dst);
  store_be16(ip + 10, ipv4_header_checksum(ip));
  uint8_t* udp = ip + kIpLen;
  store_be16(udp, sport);
  store_be16(udp + 2, dport);
  store_be16(udp + 4, static_cast<uint16_t>(kUdpLen + payload.size()));
  store_be16(udp + 6, 0);
  std::memcpy(udp + kUdpLen, payload.data(), payload.size());
  store_be16(udp + 6, l4_checksum(ip, udp, static_cast<uint16_t>(kUdpLen + payload.size())));
  return out;
}

// Toward a peer we initiate to (ipsec_peers[].initiate): the route the
// workers would take (config and FRR), only out of a WAN interface, where
// the answers reach the IKE service; the next hop resolved with ARP like
// any packet the control thread sends.
std::optional<NextHop> Control::ike_route(Ipv4 peer) const {
  const RouterModel& m = model();
  const auto nh = route_next_hop(route_winner(m, shared_.fib.load(std::memory_order_acquire), peer), peer, 0);
  if (!nh || nh->tunnel() || nh->iface < 0 || static_cast<size_t>(nh->iface) >= m.interfaces.size() ||
      !m.interfaces[nh->iface].wan || m.interfaces[nh->iface].addr == 0)
    return std::nullopt;
  return nh;
}

void Control::set_ike(IkeService* ike) {
  ike_ = ike;
  if (!ike_) return;
  ike_->set_source([this](Ipv4 peer) -> Ipv4 {
    const auto nh = ike_route(peer);
    return nh ? model().interfaces[nh->iface].addr : 0;
  });
}

void Control::ike_poll() {
  // A live commit of ipsec_peers/tunnels (the ConfigStore waits for `applied`).
  IpsecReload& r = shared_.ipsec_reload;
  if (const uint64_t posted = r.posted.load(std::memory_order_acquire); posted != r.applied.load(std::memory_order_relaxed)) {
    std::shared_ptr<const waypoint::config::Config> next;
    {
      std::lock_guard lock(r.mu);
      next = r.next;
    }
    if (next) ike_->reload(*next, std::chrono::steady_clock::now());
    r.applied.store(posted, std::memory_order_release);
  }
  ike_->poll(std::chrono::steady_clock::now());
  ike_send_outgoing();
}

void Control::ike_send_outgoing() {
  for (const IkeDatagram& d : ike_->take_outgoing()) {
    const auto nh = ike_route(d.dst);
    if (!nh) {
      counters().drop(DropReason::ike_reply_failed);
      continue;
    }
    if (rte_mbuf* out = ike_packet(d.src, d.dst, d.sport, d.dport, d.payload)) send_ip(out, nh->iface, nh->addr);
  }
}

}  // namespace wp
