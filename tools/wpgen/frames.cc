// wpgen frames; see frames.h.
#include "tools/wpgen/frames.h"

#include <cstring>

#include "dataplane/ip/checksum.h"
#include "dataplane/ip/packet.h"

namespace wp::gen {
namespace {

void store_be64(uint8_t* p, uint64_t v) {
  store_be32(p, static_cast<uint32_t>(v >> 32));
  store_be32(p + 4, static_cast<uint32_t>(v));
}
uint64_t load_be64(const uint8_t* p) { return uint64_t{load_be32(p)} << 32 | load_be32(p + 4); }

}  // namespace

void build_request(uint8_t* out, uint16_t len, const Mac& src, const Mac& dst, const FlowTuple& t, const Stamp& s) {
  if (len < kMinFrame) len = kMinFrame;
  std::memcpy(out, dst.b, 6);
  std::memcpy(out + 6, src.b, 6);
  store_be16(out + 12, kEtherTypeIpv4);
  uint8_t* ip = out + 14;
  uint16_t ip_len = static_cast<uint16_t>(len - 14);
  ip[0] = 0x45;
  ip[1] = 0;
  store_be16(ip + 2, ip_len);
  store_be16(ip + 4, static_cast<uint16_t>(s.seq));
  store_be16(ip + 6, 0x4000);  // DF
  ip[8] = 64;
  ip[9] = kProtoUdp;
  store_be16(ip + 10, 0);
  store_be32(ip + 12, t.client);
  store_be32(ip + 16, t.service);
  store_be16(ip + 10, ipv4_header_checksum(ip));
  uint8_t* udp = ip + 20;
  uint16_t udp_len = static_cast<uint16_t>(ip_len - 20);
  store_be16(udp, t.sport);
  store_be16(udp + 2, t.dport);
  store_be16(udp + 4, udp_len);
  store_be16(udp + 6, 0);
  uint8_t* p = udp + 8;
  store_be16(p, kStampMagic);
  store_be32(p + 2, s.session);
  store_be32(p + 6, s.seq);
  store_be64(p + 10, s.tsc);
  std::memset(p + kStampBytes, 0, udp_len - 8 - kStampBytes);
  // Pseudo header + UDP header + stamp; the zero padding adds nothing.
  uint8_t pseudo[12];
  std::memcpy(pseudo, ip + 12, 8);
  pseudo[8] = 0;
  pseudo[9] = kProtoUdp;
  store_be16(pseudo + 10, udp_len);
  uint16_t c = csum_fold(csum_partial(udp, 8 + kStampBytes, csum_partial(pseudo, 12)));
  store_be16(udp + 6, c == 0 ? 0xffff : c);
}

std::optional<SeenFrame> parse_frame(const uint8_t* d, size_t len) {
  if (len < kMinFrame || load_be16(d + 12) != kEtherTypeIpv4) return std::nullopt;
  const uint8_t* ip = d + 14;
  size_t ihl = (ip[0] & 0x0f) * 4u;
  if ((ip[0] >> 4) != 4 || ihl < 20 || ip[9] != kProtoUdp) return std::nullopt;
  if ((load_be16(ip + 6) & 0x3fff) != 0) return std::nullopt;  // fragment
  if (14 + ihl + 8 + kStampBytes > len) return std::nullopt;
  const uint8_t* udp = ip + ihl;
  const uint8_t* p = udp + 8;
  if (load_be16(p) != kStampMagic) return std::nullopt;
  SeenFrame f;
  f.src = load_be32(ip + 12);
  f.dst = load_be32(ip + 16);
  f.sport = load_be16(udp);
  f.dport = load_be16(udp + 2);
  f.stamp = {load_be32(p + 2), load_be32(p + 6), load_be64(p + 10)};
  return f;
}

void echo_in_place(uint8_t* d, const Mac& self) {
  std::memcpy(d, d + 6, 6);
  std::memcpy(d + 6, self.b, 6);
  uint8_t* ip = d + 14;
  uint8_t a[4];
  std::memcpy(a, ip + 12, 4);
  std::memcpy(ip + 12, ip + 16, 4);
  std::memcpy(ip + 16, a, 4);
  uint8_t* udp = ip + (ip[0] & 0x0f) * 4;
  uint8_t pt[2];
  std::memcpy(pt, udp, 2);
  std::memcpy(udp, udp + 2, 2);
  std::memcpy(udp + 2, pt, 2);
}

std::optional<ArpSeen> parse_arp(const uint8_t* d, size_t len) {
  if (len < 42 || load_be16(d + 12) != kEtherTypeArp) return std::nullopt;
  const uint8_t* a = d + 14;
  if (load_be16(a) != 1 || load_be16(a + 2) != kEtherTypeIpv4 || a[4] != 6 || a[5] != 4) return std::nullopt;
  ArpSeen s;
  s.op = load_be16(a + 6);
  std::memcpy(s.sender_mac.b, a + 8, 6);
  s.sender_ip = load_be32(a + 14);
  s.target_ip = load_be32(a + 24);
  return s;
}

namespace {
uint16_t build_arp(uint8_t* out, uint16_t op, const Mac& eth_dst, const Mac& self, Ipv4 self_ip, const Mac& tmac,
                   Ipv4 tip) {
  std::memset(out, 0, 60);
  std::memcpy(out, eth_dst.b, 6);
  std::memcpy(out + 6, self.b, 6);
  store_be16(out + 12, kEtherTypeArp);
  uint8_t* a = out + 14;
  store_be16(a, 1);
  store_be16(a + 2, kEtherTypeIpv4);
  a[4] = 6;
  a[5] = 4;
  store_be16(a + 6, op);
  std::memcpy(a + 8, self.b, 6);
  store_be32(a + 14, self_ip);
  std::memcpy(a + 18, tmac.b, 6);
  store_be32(a + 24, tip);
  return 60;
}
}  // namespace

uint16_t build_arp_request(uint8_t* out, const Mac& self, Ipv4 self_ip, Ipv4 target) {
  Mac bcast;
  std::memset(bcast.b, 0xff, 6);
  return build_arp(out, 1, bcast, self, self_ip, Mac{}, target);
}

uint16_t build_arp_reply(uint8_t* out, const Mac& self, const ArpSeen& req) {
  return build_arp(out, 2, req.sender_mac, self, req.target_ip, req.sender_mac, req.sender_ip);
}

}  // namespace wp::gen
