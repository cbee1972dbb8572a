// Packet Too Big about our ESP over IPv6; see esp_ptb6.h.
#include "dataplane/ipsec/esp_ptb6.h"

#include <algorithm>

#include "dataplane/ip/icmp.h"    // kIcmp6PacketTooBig
#include "dataplane/ip/packet.h"  // load_be16/32, kProtoUdp
#include "dataplane/ipsec/esp_output.h"
#include "dataplane/ipsec/esp_path_mtu.h"

namespace wp {
namespace {

constexpr size_t kIcmp6HdrLen = 8;  // type, code, checksum, MTU

// The outbound SA `spi` names with IPv6 outer addresses `src` -> `dst`; null when none.
const EspSa* outbound6(const EspSaTable& table, uint32_t spi, const Ipv6& src, const Ipv6& dst) {
  for (uint16_t s = 0; s < kMaxEspSas; ++s) {
    const EspSa& sa = table.slot(s);
    if (sa.generation == 0 || sa.inbound || sa.spi != spi || !sa.outer6) continue;
    if (sa.peer6 == dst && (sa.local6.is_unspecified() || sa.local6 == src)) return &sa;
  }
  return nullptr;
}

}  // namespace

uint16_t esp_inner_mtu(const EspSa& sa, uint16_t path) {
  const size_t outer = esp_outer_header_len(sa) + (sa.udp_encap ? 8 : 0);
  const EspCipher c = sa.keys.cipher;
  const size_t fixed = outer + esp_packet_len(c, 0) - esp_pad_len(c, 0);  // all but the payload and its padding
  if (path <= fixed) return 0;
  size_t inner = path - fixed;
  while (inner > 0 && outer + esp_packet_len(c, inner) > path) --inner;  // at most a cipher block
  return static_cast<uint16_t>(inner);
}

EspPtb6 esp_ptb6_check(const uint8_t* icmp, size_t len, const Ipv6& to, const EspSaTable* table) {
  EspPtb6 out;  // invalid
  if (len < kIcmp6HdrLen + kIpv6HdrLen || icmp[0] != kIcmp6PacketTooBig) return out;
  const uint8_t* q = icmp + kIcmp6HdrLen;  // the quoted packet, as much of it as fit
  const size_t qlen = len - kIcmp6HdrLen;
  const bool udp = q[6] == kProtoUdp;
  // ESP in UDP leaves from our port 4500 (RFC 3948 § 2.1); other UDP and other protocols are not ESP.
  if ((!udp && q[6] != kIpProtoEsp) || (udp && (qlen < kIpv6HdrLen + 8 || load_be16(q + 40) != kIkeNattPort)))
    return out.verdict = EspPtb6Verdict::not_esp, out;
  const size_t spi_at = kIpv6HdrLen + (udp ? 8 : 0);
  if (qlen < spi_at + 4 || (q[0] >> 4) != 6) return out;
  const uint32_t spi = load_be32(q + spi_at);
  if (spi == 0) return out.verdict = EspPtb6Verdict::not_esp, out;  // the non-ESP marker: IKE
  const Ipv6 src = load_ipv6(q + 8), dst = load_ipv6(q + 24);
  if (src != to || !table) return out;  // a PTB goes to the quoted packet's source
  const EspSa* sa = outbound6(*table, spi, src, dst);
  if (!sa || sa->udp_encap != udp) return out;
  if (udp && (load_be16(q + 40) != sa->local_port || load_be16(q + 42) != sa->peer_port)) return out;
  const uint32_t reported = load_be32(icmp + 4);
  out.verdict = EspPtb6Verdict::taken;
  out.tunnel = sa->tunnel;
  out.path_mtu = static_cast<uint16_t>(std::clamp<uint32_t>(reported, kIpv6MinMtu, 0xffff));
  out.inner_mtu = esp_inner_mtu(*sa, out.path_mtu);
  return out;
}

}  // namespace wp
