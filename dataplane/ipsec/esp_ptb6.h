// An ICMPv6 Packet Too Big (RFC 4443 § 3.2) about our ESP over IPv6: which
// tunnel it names and what MTU it leaves (the learned value lives in
// esp_path_mtu.h; docs/ipsec.md § IPv6 outer addresses).
//
// Anyone on the path, or off it, can send a PTB; RFC 8201 § 4 and RFC 4443
// § 5.2 ask a node to check what it quotes. It is taken only when the packet
// it quotes is one we could have sent: an IPv6 header from the address the
// PTB came to, ESP right after it (next header 50) or in UDP (next header 17)
// with the SA's ports and a non-zero SPI (zero is IKE's non-ESP marker,
// RFC 3948 § 2.2), and that SPI is an outbound SA of ours with IPv6 outer
// addresses whose peer is the quoted destination and whose local address is
// the quoted source (or any of ours). The reported MTU is raised to 1280
// (RFC 8200 § 5: no IPv6 link is smaller; a PTB saying less is not ignored,
// RFC 8201 § 4), and the inner MTU is the largest inner packet that, sealed
// by that SA, fits it.
#pragma once

#include <cstddef>
#include <cstdint>

#include "dataplane/ip/ipv6.h"
#include "dataplane/ipsec/esp_sa.h"

namespace wp {

enum class EspPtb6Verdict : uint8_t {
  not_esp,  // it quotes no ESP of ours (another protocol, IKE's UDP 4500 with SPI 0): not ours to judge
  invalid,  // ESP, but no outbound SA of ours with those addresses and ports, or cut too short
  taken,
};

struct EspPtb6 {
  EspPtb6Verdict verdict = EspPtb6Verdict::invalid;
  uint16_t tunnel = 0;
  uint16_t path_mtu = 0;   // the reported MTU, at least 1280
  uint16_t inner_mtu = 0;  // the largest inner packet that fits it sealed
};

// `icmp`: the ICMPv6 message (`len` bytes, its checksum verified) that came
// to our address `to`.
// `table`: the published SA table, null when there is none.
EspPtb6 esp_ptb6_check(const uint8_t* icmp, size_t len, const Ipv6& to, const EspSaTable* table);

// The largest inner packet that `sa` seals into at most `path` bytes (0 when none fits).
uint16_t esp_inner_mtu(const EspSa& sa, uint16_t path);

}  // namespace wp
