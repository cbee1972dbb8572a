// ICMPv6 echo over SVR; see svr6_echo.h.
#include "dataplane/svr/svr6_echo.h"

#include <cstring>

#include "dataplane/ip/ndp.h"  // kIcmp6EchoRequest, kIcmp6EchoReply
#include "dataplane/ip/packet_edit.h"

namespace wp {

bool wrap_svr6_echo(rte_mbuf* m, Ipv6View& v) {
  const uint32_t head = v.l4;  // Ethernet and IPv6 headers
  const auto udp_len = static_cast<uint16_t>(v.end - v.l4 + kSvr6EchoUdpLen);
  uint8_t* d = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, kSvr6EchoUdpLen));
  if (!d) return false;
  std::memmove(d, d + kSvr6EchoUdpLen, head);
  uint8_t* udp = d + head;
  store_be16(udp, v.sport);  // the identifier, both ways
  store_be16(udp + 2, v.dport);
  store_be16(udp + 4, udp_len);
  store_be16(udp + 6, 0);
  d[v.l3 + 6] = kProtoUdp;
  store_be16(d + v.l3 + 4, udp_len);
  v = parse_ipv6_packet(d, v.end + kSvr6EchoUdpLen, kEthHdrLen);
  return true;
}

bool unwrap_svr6_echo(rte_mbuf* m, Dir dir, uint16_t id) {
  uint8_t* d = pkt_data(m);
  const uint32_t l4 = kEthHdrLen + kIpv6HdrLen;
  const uint8_t* echo = d + l4 + kSvr6EchoUdpLen;
  const uint8_t want = dir == Dir::forward ? kIcmp6EchoRequest : kIcmp6EchoReply;
  // Never another ICMPv6 type onto the LAN, whatever the peer sends.
  if (m->data_len < l4 + kSvr6EchoUdpLen + 8 || echo[0] != want || echo[1] != 0 || load_be16(echo + 4) != id)
    return false;
  std::memmove(d + kSvr6EchoUdpLen, d, l4);
  d = reinterpret_cast<uint8_t*>(rte_pktmbuf_adj(m, kSvr6EchoUdpLen));
  d[kEthHdrLen + 6] = kProtoIcmpv6;
  store_be16(d + kEthHdrLen + 4, static_cast<uint16_t>(m->data_len - l4));
  return true;
}

}  // namespace wp
