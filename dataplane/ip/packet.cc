// Header parsing; see packet.h for the contract.
#include "dataplane/ip/packet.h"

#include <cstring>

#include "dataplane/ip/l4_header.h"

namespace wp {
namespace {

bool parse_arp(const uint8_t* p, uint32_t left, ParsedPacket& out) {
  if (left < 28) return false;
  // htype Ethernet, ptype IPv4, hlen 6, plen 4 (RFC 826)
  if (load_be16(p) != 1 || load_be16(p + 2) != kEtherTypeIpv4 || p[4] != 6 || p[5] != 4) return false;
  out.arp.op = load_be16(p + 6);
  std::memcpy(out.arp.sha, p + 8, 6);
  out.arp.spa = load_be32(p + 14);
  std::memcpy(out.arp.tha, p + 18, 6);
  out.arp.tpa = load_be32(p + 24);
  return true;
}

bool parse_l4(const uint8_t* data, ParsedPacket& out) {
  const uint8_t* l4 = data + out.l4;
  uint32_t left = out.end - out.l4;
  switch (out.proto) {
    case kProtoTcp: {
      TcpHeader tcp;
      if (!read_tcp_header(l4, left, tcp)) return false;
      out.sport = tcp.sport;
      out.dport = tcp.dport;
      out.tcp_flags = tcp.flags;
      out.payload = static_cast<uint16_t>(out.l4 + tcp.len);
      return true;
    }
    case kProtoUdp: {
      if (left < 8) return false;
      // The UDP length must describe exactly the IP payload: we rewrite both.
      if (load_be16(l4 + 4) != left) return false;
      out.sport = load_be16(l4);
      out.dport = load_be16(l4 + 2);
      out.payload = static_cast<uint16_t>(out.l4 + 8);
      return true;
    }
    case kProtoIcmp: {
      if (left < 8) return false;
      out.sport = out.dport = load_be16(l4 + 4);  // echo identifier
      out.payload = static_cast<uint16_t>(out.l4 + 8);
      return true;
    }
    default: out.payload = out.l4; return true;
  }
}

}  // namespace

ParsedPacket parse_packet(const uint8_t* data, uint32_t len) {
  ParsedPacket out;
  if (data == nullptr || len < kEthHdrLen) return out;
  uint16_t ethertype = load_be16(data + 12);
  if (ethertype == kEtherTypeArp) {
    out.status = parse_arp(data + kEthHdrLen, len - kEthHdrLen, out) ? ParseStatus::arp : ParseStatus::malformed;
    return out;
  }
  if (ethertype != kEtherTypeIpv4) {
    out.status = ParseStatus::not_ipv4;
    return out;
  }
  const uint8_t* ip = data + kEthHdrLen;
  uint32_t left = len - kEthHdrLen;
  if (left < 20 || (ip[0] >> 4) != 4) return out;
  uint32_t ihl = (ip[0] & 0x0f) * 4u;
  uint32_t total = load_be16(ip + 2);
  if (ihl < 20 || total < ihl || total > left) return out;
  // Offsets are 16-bit: a datagram ending past 65535 cannot be described.
  if (kEthHdrLen + total > 0xffff) return out;
  out.l3 = kEthHdrLen;
  out.l4 = static_cast<uint16_t>(kEthHdrLen + ihl);
  out.end = static_cast<uint16_t>(kEthHdrLen + total);
  out.ttl = ip[8];
  out.proto = ip[9];
  out.src = load_be32(ip + 12);
  out.dst = load_be32(ip + 16);
  uint16_t frag = load_be16(ip + 6);
  if ((frag & 0x3fff) != 0) {  // MF set or offset != 0
    out.status = ParseStatus::fragment;
    return out;
  }
  out.status = parse_l4(data, out) ? ParseStatus::ipv4 : ParseStatus::malformed;
  return out;
}

}  // namespace wp
