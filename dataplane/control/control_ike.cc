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
//
// IPv6 outer addresses (docs/ipsec.md § IPv6 outer addresses): UDP 500/4500
// to one of a WAN interface's IPv6 addresses reaches icmp6_input (the
// workers hand it up, ipv6_input.cc) and comes here with its UDP checksum
// verified (mandatory on IPv6, RFC 8200 § 8.1: a zero or wrong one is
// dropped as ike_unanswered, the service counting udp6_bad_checksum); answers leave the same way as IPv4's, with
// an IPv6 header and a UDP checksum; our requests leave by the IPv6 route
// to the peer (config or FRR) out of a WAN interface, through Neighbor
// Discovery (resolve6), from that interface's global address.
#include <rte_ether.h>

#include <chrono>
#include <cstring>
#include <optional>

#include "dataplane/control/control_thread.h"
#include "dataplane/control/ike_service.h"
#include "dataplane/control/route_choice.h"
#include "dataplane/ip/checksum.h"
#include "dataplane/ip/nat64_packet.h"
#include "dataplane/ip/packet_edit.h"

namespace wp {
namespace {

constexpr uint16_t kEthLen = 14, kIpLen = 20, kIp6Len = 40, kUdpLen = 8;

}  // namespace

bool Control::ike_wanted(const ParsedPacket& pp, int iface) const {
  return ike_ && pp.status == ParseStatus::ipv4 && pp.proto == kProtoUdp && IkeService::is_ike_port(pp.dport) &&
         model().interfaces[iface].wan;
}

void Control::ike_input(rte_mbuf* m, const ParsedPacket& pp, int iface) {
  const uint8_t* d = pkt_data(m);
  const uint16_t udp_len = load_be16(d + pp.l4 + 4);
  if (udp_len < kUdpLen || pp.l4 + udp_len > pp.end) return drop(m, DropReason::parse_error);
  ike_answer(m, d + pp.payload, static_cast<uint16_t>(udp_len - kUdpLen), pp.src, pp.sport, pp.dst, pp.dport, iface);
}

bool Control::ike_wanted6(const Ipv6View& v, int iface) const {
  const InterfaceModel& in = model().interfaces[iface];
  // Ours, or the HA peer's (ha.peer_addresses6) while we hold it after a takeover.
  return ike_ && v.proto == kProtoUdp && IkeService::is_ike_port(v.dport) && in.wan &&
         (in.holds6(v.dst) || shared_.ha.holds_peer_address6(v.dst, iface)) && !v.dst.is_link_local();
}

void Control::ike_input6(rte_mbuf* m, const Ipv6View& v, int iface) {
  const uint8_t* d = pkt_data(m);
  if (v.end < v.l4 + kUdpLen) return drop(m, DropReason::parse_error);
  const uint16_t udp_len = load_be16(d + v.l4 + 4);
  if (udp_len < kUdpLen || v.l4 + udp_len != v.end) return drop(m, DropReason::parse_error);
  const uint16_t sum = load_be16(d + v.l4 + 6);
  if (sum == 0 || l4_checksum6(v.src, v.dst, kProtoUdp, d + v.l4, udp_len) != sum) {
    ike_->refuse_udp6_checksum();
    return drop(m, DropReason::ike_unanswered);
  }
  ike_answer(m, d + v.l4 + kUdpLen, static_cast<uint16_t>(udp_len - kUdpLen), IpAddress(v.src), v.sport,
             IpAddress(v.dst), v.dport, iface);
}

void Control::ike_answer(rte_mbuf* m, const uint8_t* payload, uint16_t len, const IpAddress& src, uint16_t sport,
                         const IpAddress& dst, uint16_t dport, int iface) {
  const uint8_t* d = pkt_data(m);
  const ike::Bytes reply = ike_->input(ike::CSpan(payload, len), src, sport, dst, dport);
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
  if (rte_mbuf* out = ike_packet(dst, src, dport, sport, reply)) send_l2(out, iface, dst_mac);
}

// Ethernet (type only: send_l2 writes the addresses), IPv4 or IPv6 (of
// src's family) and UDP around an IKE datagram; null (counted
// ike_reply_failed) without an mbuf or when it does not fit one (IKE
// fragmentation does not exist).
rte_mbuf* Control::ike_packet(const IpAddress& src, const IpAddress& dst, uint16_t sport, uint16_t dport,
                              const ike::Bytes& payload) {
  const size_t len = kEthLen + (src.v6 ? kIp6Len : kIpLen) + kUdpLen + payload.size();
  rte_mbuf* out = rte_pktmbuf_alloc(pool_);
  if (!out) return counters().drop(DropReason::ike_reply_failed), nullptr;
  auto* p = reinterpret_cast<uint8_t*>(len <= UINT16_MAX ? rte_pktmbuf_append(out, static_cast<uint16_t>(len)) : nullptr);
  if (!p) return drop(out, DropReason::ike_reply_failed), nullptr;
  const uint16_t udp_len = static_cast<uint16_t>(kUdpLen + payload.size());
  if (src.v6) {
    store_be16(p + 12, kEtherTypeIpv6);
    uint8_t* ip = p + kEthLen;
    std::memset(ip, 0, kIp6Len);
    ip[0] = 0x60;  // no traffic class, no flow label
    store_be16(ip + 4, udp_len);
    ip[6] = kProtoUdp;
    ip[7] = 64;
    store_ipv6(ip + 8, src.addr6);
    store_ipv6(ip + 24, dst.addr6);
    uint8_t* udp = ip + kIp6Len;
    store_be16(udp, sport);
    store_be16(udp + 2, dport);
    store_be16(udp + 4, udp_len);
    std::memcpy(udp + kUdpLen, payload.data(), payload.size());
    store_be16(udp + 6, l4_checksum6(src.addr6, dst.addr6, kProtoUdp, udp, udp_len));  // never 0 (0xffff)
    return out;
  }
  store_be16(p + 12, kEtherTypeIpv4);
  uint8_t* ip = p + kEthLen;
  std::memset(ip, 0, kIpLen);
  ip[0] = 0x45;
  store_be16(ip + 2, static_cast<uint16_t>(kIpLen + kUdpLen + payload.size()));
  ip[8] = 64;
  ip[9] = kProtoUdp;
  store_be32(ip + 12, src.v4);
  store_be32(ip + 16, dst.v4);
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

// IPv6: the same rule (the route's interface must be a WAN one), from its
// first global address on the peer's link, else its first global one.
std::optional<Route6> Control::ike_route6(const Ipv6& peer) const {
  const RouterModel& m = model();
  const auto r = route6_to(m, shared_.fib6.load(std::memory_order_acquire), peer, 0);
  if (!r || r->tunnel() || r->iface < 0 || static_cast<size_t>(r->iface) >= m.interfaces.size() ||
      !m.interfaces[r->iface].wan || ike_source6(r->iface, peer).is_unspecified())
    return std::nullopt;
  return r;
}

Ipv6 Control::ike_source6(int iface, const Ipv6& peer) const {
  const InterfaceModel& in = model().interfaces[iface];
  const Ipv6 on_link = in.source6_for(peer);
  if (!on_link.is_link_local() && !on_link.is_unspecified()) return on_link;
  for (const Ipv6& a : in.addrs6)
    if (!a.is_link_local() && !a.is_unspecified()) return a;
  return Ipv6{};
}

void Control::set_ike(IkeService* ike) {
  ike_ = ike;
  if (!ike_) return;
  ike_->set_source([this](const IpAddress& peer) -> IpAddress {
    if (peer.v6) {
      const auto r = ike_route6(peer.addr6);
      return r ? IpAddress(ike_source6(r->iface, peer.addr6)) : IpAddress(Ipv6{});
    }
    const auto nh = ike_route(peer.v4);
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
    if (d.dst.v6) {
      const auto r = ike_route6(d.dst.addr6);
      rte_mbuf* out = r && d.src.v6 ? ike_packet(d.src, d.dst, d.sport, d.dport, d.payload) : nullptr;
      if (!out) {
        if (!r || !d.src.v6) counters().drop(DropReason::ike_reply_failed);
        continue;
      }
      if (r->connected())
        mark_resolve6(out, r->iface);
      else if (!mark_resolve6_via(out, r->iface, r->next_hop)) {
        drop(out, DropReason::ike_reply_failed);
        continue;
      }
      resolve6(out);
      continue;
    }
    const auto nh = ike_route(d.dst.v4);
    if (!nh) {
      counters().drop(DropReason::ike_reply_failed);
      continue;
    }
    if (rte_mbuf* out = ike_packet(d.src, d.dst, d.sport, d.dport, d.payload)) send_ip(out, nh->iface, nh->addr);
  }
}

}  // namespace wp
