// Which protocol class a packet for one of our addresses belongs to on the
// punt path (docs/operations.md § Punt path): each class has its own token
// bucket per worker, so a flood of one (TCP SYNs to port 179) cannot take the
// share of the others or starve the control thread. BGP is TCP port 179
// (RFC 4271 § 8.2.1); its connection requests (any segment with SYN) are a
// class of their own, so a SYN flood to port 179 leaves established peers
// their share (a peer sends SYNs only when it connects). OSPF IP protocol 89 (RFC 2328 § A.1), BFD UDP 3784
// single hop (RFC 5881), 3785 echo, 4784 multihop (RFC 5883). IPv6 (#19) takes the same classes.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "dataplane/ip/ipv6.h"
#include "dataplane/ip/packet.h"

namespace wp {

enum class PuntClass : uint8_t { bgp, bgp_syn, ospf, bfd, icmp, other, count };
inline constexpr size_t kPuntClasses = static_cast<size_t>(PuntClass::count);
inline constexpr std::array<std::string_view, kPuntClasses> kPuntClassNames = {"bgp", "bgp_syn", "ospf",
                                                                               "bfd", "icmp",    "other"};

inline constexpr uint8_t kProtoOspf = 89;
inline constexpr uint16_t kBgpPort = 179;

// By the upper-layer protocol and ports, IPv4 or IPv6 (OSPFv3 is protocol 89
// too, RFC 5340 § A.1; ICMPv6 is the icmp class).
inline PuntClass punt_class(uint8_t proto, uint16_t sport, uint16_t dport, uint8_t tcp_flags) {
  switch (proto) {
    case kProtoTcp:
      if (dport != kBgpPort && sport != kBgpPort) return PuntClass::other;
      return tcp_flags & kTcpSyn ? PuntClass::bgp_syn : PuntClass::bgp;
    case kProtoUdp: return dport == 3784 || dport == 3785 || dport == 4784 ? PuntClass::bfd : PuntClass::other;
    case kProtoIcmp:
    case kProtoIcmpv6: return PuntClass::icmp;
    case kProtoOspf: return PuntClass::ospf;
    default: return PuntClass::other;
  }
}
inline PuntClass punt_class(const ParsedPacket& pp) { return punt_class(pp.proto, pp.sport, pp.dport, pp.tcp_flags); }

// 224.0.0.0/24 (RFC 5771): link-local control multicast such as OSPF's
// AllSPFRouters (224.0.0.5) and AllDRouters (224.0.0.6); never forwarded.
inline bool is_link_local_multicast(Ipv4 dst) { return (dst >> 8) == 0xe00000; }

}  // namespace wp
