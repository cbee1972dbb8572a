// ICMP path-MTU errors about our ESP: an ICMPv6 Packet Too Big (RFC 4443
// § 3.2) about ESP over IPv6, an ICMPv4 Fragmentation Needed (type 3 code 4,
// RFC 1191) about ESP over IPv4: which tunnel it names and what MTU it leaves
// (the learned value lives in esp_path_mtu.h;
// docs/ipsec.md § IPv6 outer addresses,
// docs/ipsec.md § Fragmentation Needed on the outer path).
//
// Anyone on the path, or off it, can send one; RFC 8201 § 4, RFC 4443 § 5.2
// and RFC 5927 § 4 ask a node to check what it quotes. It is taken only when
// the packet it quotes is one we could have sent: an IP header from the
// address the error came to, ESP right after it (protocol 50) or in UDP
// (protocol 17) with the SA's ports and a non-zero SPI (zero is IKE's non-ESP
// marker, RFC 3948 § 2.2), and that SPI is an outbound SA of ours of that
// family whose peer is the quoted destination and whose local address is the
// quoted source (or any of ours), found in the table's outbound SPI index.
// The reported MTU is raised to the family's floor (IPv6: 1280, RFC 8200
// § 5, a PTB saying less is not ignored, RFC 8201 § 4; IPv4: 576, RFC 791's
// datagram every host takes, so a forged tiny MTU cannot make us seal
// 68-byte packets); an IPv4 router too old to say its MTU (next-hop MTU 0,
// RFC 1191 § 5) leaves the plateau below the quoted total length (§ 7). The
// inner MTU is the largest inner packet that, sealed by that SA, fits it.
#pragma once

#include <cstddef>
#include <cstdint>

#include "dataplane/ip/ipv4.h"
#include "dataplane/ip/ipv6.h"
#include "dataplane/ipsec/esp_sa.h"

namespace wp {

inline constexpr uint16_t kEspOuter4MinPathMtu = 576;  // RFC 791: every IPv4 host takes 576-byte datagrams

enum class EspPtbVerdict : uint8_t {
  not_esp,  // it quotes no ESP of ours (another protocol, IKE's UDP 4500 with SPI 0): not ours to judge
  invalid,  // ESP, but no outbound SA of ours with those addresses and ports, or cut too short
  taken,
};

struct EspPtb {
  EspPtbVerdict verdict = EspPtbVerdict::invalid;
  uint16_t tunnel = 0;
  uint16_t path_mtu = 0;   // the reported MTU, at least the family's floor
  uint16_t inner_mtu = 0;  // the largest inner packet that fits it sealed
};

// `icmp`: the ICMPv6 message (`len` bytes, its checksum verified) that came
// to our address `to`.
// `table`: the published SA table, null when there is none.
EspPtb esp_ptb6_check(const uint8_t* icmp, size_t len, const Ipv6& to, const EspSaTable* table);

// `icmp`: the ICMPv4 message (`len` bytes, its checksum verified) that came
// to our address `to`; only type 3 code 4 is taken.
EspPtb esp_frag_needed4_check(const uint8_t* icmp, size_t len, Ipv4 to, const EspSaTable* table);

// RFC 1191 § 7's plateau below `total` (a datagram's length that did not fit), at least 68.
uint16_t rfc1191_plateau_below(uint16_t total);

// The largest inner packet that `sa` seals into at most `path` bytes (0 when none fits).
uint16_t esp_inner_mtu(const EspSa& sa, uint16_t path);

}  // namespace wp
