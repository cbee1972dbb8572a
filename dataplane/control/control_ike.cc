// The control thread's side of IKE (docs/ipsec.md § IKE in waypointd): UDP
// 500 and 4500 to one of our addresses on a WAN interface, which workers
// hand over as local input, goes to the IKE service; its answer leaves the
// port the request came in on, to the MAC it came from (as echo replies
// do), from the address and port it was sent to. The service counts why a
// datagram got no answer; the packet is dropped as `ike_unanswered`.
#include <rte_ether.h>

#include <chrono>
#include <cstring>

#include "dataplane/control/control_thread.h"
#include "dataplane/control/ike_service.h"
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
  if (reply.empty()) return drop(m, DropReason::ike_unanswered);
  uint8_t dst_mac[6];
  std::memcpy(dst_mac, d + 6, 6);  // back to where it came from (the site or its router)
  rte_pktmbuf_free(m);
  const size_t len = kEthLen + kIpLen + kUdpLen + reply.size();
  rte_mbuf* out = rte_pktmbuf_alloc(pool_);
  if (!out) return counters().drop(DropReason::ike_reply_failed);
  auto* p = reinterpret_cast<uint8_t*>(len <= UINT16_MAX ? rte_pktmbuf_append(out, static_cast<uint16_t>(len)) : nullptr);
  if (!p) return drop(out, DropReason::ike_reply_failed);  // beyond one mbuf: IKE fragmentation does not exist
  store_be16(p + 12, kEtherTypeIpv4);
  uint8_t* ip = p + kEthLen;
  std::memset(ip, 0, kIpLen);
  ip[0] = 0x45;
  store_be16(ip + 2, static_cast<uint16_t>(kIpLen + kUdpLen + reply.size()));
  ip[8] = 64;
  ip[9] = kProtoUdp;
  store_be32(ip + 12, pp.dst);
  store_be32(ip + 16, pp.src);
  store_be16(ip + 10, ipv4_header_checksum(ip));
  uint8_t* udp = ip + kIpLen;
  store_be16(udp, pp.dport);
  store_be16(udp + 2, pp.sport);
  store_be16(udp + 4, static_cast<uint16_t>(kUdpLen + reply.size()));
  store_be16(udp + 6, 0);
  std::memcpy(udp + kUdpLen, reply.data(), reply.size());
  store_be16(udp + 6, l4_checksum(ip, udp, static_cast<uint16_t>(kUdpLen + reply.size())));
  send_l2(out, iface, dst_mac);
}

void Control::ike_poll() { ike_->poll(std::chrono::steady_clock::now()); }

}  // namespace wp
