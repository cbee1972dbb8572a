// ICMP path-MTU errors about our ESP; see esp_ptb.h.
#include "dataplane/ipsec/esp_ptb.h"

#include <algorithm>
#include <array>

#include "dataplane/ip/icmp.h"    // kIcmp6PacketTooBig, kIcmpDestUnreachable
#include "dataplane/ip/packet.h"  // load_be16/32, kProtoUdp
#include "dataplane/ipsec/esp_output.h"
#include "dataplane/ipsec/esp_path_mtu.h"

namespace wp {
namespace {

constexpr size_t kIcmpHdrLen = 8;  // type, code, checksum, 4 bytes (IPv6: MTU; IPv4: unused, next-hop MTU)
constexpr size_t kIpv4MinHdrLen = 20;

// The transport of a quoted packet: ESP (protocol 50) or ESP in UDP from our port 4500, and its SPI.
struct QuotedEsp {
  EspPtbVerdict verdict = EspPtbVerdict::invalid;  // taken: ESP with a non-zero SPI
  bool udp = false;
  uint32_t spi = 0;
  uint16_t sport = 0, dport = 0;
};

// `l4`: what follows the quoted IP header (`len` bytes of it quoted), protocol `proto`.
QuotedEsp quoted_esp(const uint8_t* l4, size_t len, uint8_t proto) {
  QuotedEsp e;
  e.udp = proto == kProtoUdp;
  // ESP in UDP leaves from our port 4500 (RFC 3948 § 2.1); other UDP and other protocols are not ESP.
  if ((!e.udp && proto != kIpProtoEsp) || (e.udp && (len < 8 || load_be16(l4) != kIkeNattPort)))
    return e.verdict = EspPtbVerdict::not_esp, e;
  const size_t spi_at = e.udp ? 8 : 0;
  if (len < spi_at + 4) return e;  // cut before the SPI (an old router quoting 8 bytes of ESP in UDP)
  e.spi = load_be32(l4 + spi_at);
  if (e.spi == 0) return e.verdict = EspPtbVerdict::not_esp, e;  // the non-ESP marker: IKE
  if (e.udp) e.sport = load_be16(l4), e.dport = load_be16(l4 + 2);
  e.verdict = EspPtbVerdict::taken;
  return e;
}

// Taken when `sa` (found by the quote's SPI and addresses) sent what `e` quotes; `path` bytes fit.
EspPtb judge(const EspSa* sa, const QuotedEsp& e, uint32_t path, uint16_t floor) {
  EspPtb out;  // invalid
  if (!sa || sa->udp_encap != e.udp) return out;
  if (e.udp && (e.sport != sa->local_port || e.dport != sa->peer_port)) return out;
  out.verdict = EspPtbVerdict::taken;
  out.tunnel = sa->tunnel;
  out.path_mtu = static_cast<uint16_t>(std::clamp<uint32_t>(path, floor, 0xffff));
  out.inner_mtu = esp_inner_mtu(*sa, out.path_mtu);
  return out;
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

EspPtb esp_ptb6_check(const uint8_t* icmp, size_t len, const Ipv6& to, const EspSaTable* table) {
  EspPtb out;  // invalid
  if (len < kIcmpHdrLen + kIpv6HdrLen || icmp[0] != kIcmp6PacketTooBig) return out;
  const uint8_t* q = icmp + kIcmpHdrLen;  // the quoted packet, as much of it as fit
  const QuotedEsp e = quoted_esp(q + kIpv6HdrLen, len - kIcmpHdrLen - kIpv6HdrLen, q[6]);
  if (e.verdict != EspPtbVerdict::taken) return out.verdict = e.verdict, out;
  if ((q[0] >> 4) != 6) return out;
  const Ipv6 src = load_ipv6(q + 8), dst = load_ipv6(q + 24);
  if (src != to || !table) return out;  // a PTB goes to the quoted packet's source
  const EspSa* sa = table->outbound_spi(e.spi, [&](const EspSa& s) {
    return !s.inbound && s.outer6 && s.peer6 == dst && (s.local6.is_unspecified() || s.local6 == src);
  });
  return judge(sa, e, load_be32(icmp + 4), kIpv6MinMtu);
}

EspPtb esp_frag_needed4_check(const uint8_t* icmp, size_t len, Ipv4 to, const EspSaTable* table) {
  EspPtb out;  // invalid
  if (len < kIcmpHdrLen + kIpv4MinHdrLen || icmp[0] != kIcmpDestUnreachable || icmp[1] != kIcmpCodeFragNeeded)
    return out;
  const uint8_t* q = icmp + kIcmpHdrLen;  // the quoted datagram: its header and at least 8 bytes (RFC 792)
  const size_t ihl = size_t{q[0] & 0x0fu} * 4;
  if ((q[0] >> 4) != 4 || ihl < kIpv4MinHdrLen || len - kIcmpHdrLen < ihl) return out;
  // A later fragment's payload does not start with an ESP header (and we send no fragments).
  if ((load_be16(q + 6) & 0x1fff) != 0)
    return out.verdict = q[9] == kIpProtoEsp ? EspPtbVerdict::invalid : EspPtbVerdict::not_esp, out;
  const QuotedEsp e = quoted_esp(q + ihl, len - kIcmpHdrLen - ihl, q[9]);
  if (e.verdict != EspPtbVerdict::taken) return out.verdict = e.verdict, out;
  const Ipv4 src = load_be32(q + 12), dst = load_be32(q + 16);
  if (src != to || !table) return out;  // the error goes to the quoted datagram's source
  const EspSa* sa = table->outbound_spi(e.spi, [&](const EspSa& s) {
    return !s.inbound && !s.outer6 && s.peer == dst && (s.local == 0 || s.local == src);
  });
  uint32_t mtu = load_be16(icmp + 6);
  if (mtu == 0) mtu = rfc1191_plateau_below(load_be16(q + 2));  // RFC 1191 § 5: a router that does not say
  return judge(sa, e, mtu, kEspOuter4MinPathMtu);
}

uint16_t rfc1191_plateau_below(uint16_t total) {
  static constexpr std::array<uint16_t, 11> kPlateaus = {65535, 32000, 17914, 8166, 4352, 2002,
                                                          1492,  1006,  508,   296,  68};
  for (const uint16_t p : kPlateaus)
    if (p < total) return p;
  return kPlateaus.back();
}

}  // namespace wp
