// Readable IPv6 frame fixtures (the IPv6 side of pkt_builder.h):
//
//   auto f = Pkt6().ipv6("2001:db8::1", "2001:db8::2").hop_by_hop().fragment(0, true, 7).udp(1, 2)
//                .payload("x").bytes();
//
// Extension headers come in the order they are added; each one's Next Header
// names the one after it, the last names the upper layer. Lengths are filled
// (payload length, and the UDP length after udp()); checksums are not (the parser does not read
// them). `payload_len()` overrides the IPv6 payload length for lying frames.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "dataplane/ip/ipv6.h"
#include "dataplane/ip/nat64_packet.h"  // l4_checksum6
#include "dataplane/ip/packet.h"

namespace wp::test {

inline Ipv6 ip6(std::string_view text) { return parse_ipv6(text).value(); }

class Pkt6 {
 public:
  Pkt6& ipv6(std::string_view src, std::string_view dst, uint8_t hop_limit = 64) {
    src_ = ip6(src);
    dst_ = ip6(dst);
    hop_limit_ = hop_limit;
    return *this;
  }
  // Hop-by-hop, destination options: `len` bytes (a multiple of 8), PadN inside.
  Pkt6& options(uint8_t type, uint32_t len = 8) {
    std::vector<uint8_t> h(len, 0);
    h[1] = static_cast<uint8_t>(len / 8 - 1);
    h[2] = 1;  // PadN over the rest
    h[3] = static_cast<uint8_t>(len - 4);
    ext_.push_back({type, h});
    return *this;
  }
  Pkt6& hop_by_hop(uint32_t len = 8) { return options(kProtoHopByHop, len); }
  Pkt6& dest_opts(uint32_t len = 8) { return options(kProtoDestOpts, len); }
  // A type 4 (segment routing) header with one segment, segments left 0.
  Pkt6& routing() {
    std::vector<uint8_t> h(24, 0);
    h[1] = 2;
    h[2] = 4;
    ext_.push_back({kProtoRouting, h});
    return *this;
  }
  Pkt6& fragment(uint16_t offset, bool more, uint32_t id) {
    std::vector<uint8_t> h(8, 0);
    uint16_t word = static_cast<uint16_t>((offset & 0xfff8) | (more ? 1 : 0));
    h[2] = static_cast<uint8_t>(word >> 8);
    h[3] = static_cast<uint8_t>(word);
    for (int i = 0; i < 4; ++i) h[4 + i] = static_cast<uint8_t>(id >> (24 - 8 * i));
    ext_.push_back({kProtoFragment, h});
    return *this;
  }
  Pkt6& udp(uint16_t sport, uint16_t dport) {
    l4(kProtoUdp, ports(sport, dport, 8));
    fill_udp_len_ = true;
    return *this;
  }
  Pkt6& tcp(uint16_t sport, uint16_t dport, uint8_t flags) {
    std::vector<uint8_t> h = ports(sport, dport, 20);
    h[12] = 5 << 4;
    h[13] = flags;
    return l4(kProtoTcp, h);
  }
  Pkt6& icmp6_echo(uint16_t id, uint8_t type = 128) {
    std::vector<uint8_t> h = ports(0, id, 8);
    h[0] = type;
    h[1] = h[2] = h[3] = 0;
    h[4] = static_cast<uint8_t>(id >> 8);
    h[5] = static_cast<uint8_t>(id);
    return l4(kProtoIcmpv6, h);
  }
  // Any upper layer (AH, ESP, 59...) with these header bytes, taken as they are.
  Pkt6& l4(uint8_t proto, std::vector<uint8_t> header) {
    proto_ = proto;
    fill_udp_len_ = false;
    l4_ = std::move(header);
    return *this;
  }
  Pkt6& payload(std::string_view text) {
    data_.assign(text.begin(), text.end());
    return *this;
  }
  Pkt6& payload(std::vector<uint8_t> bytes) {
    data_ = std::move(bytes);
    return *this;
  }
  Pkt6& payload_len(uint16_t len) {
    payload_len_ = len;
    return *this;
  }
  Pkt6& padding(uint32_t n) {
    padding_ = n;
    return *this;
  }
  Pkt6& udp_len(uint16_t len) {
    udp_len_ = len;
    return *this;
  }

  // The IPv6 datagram alone (no Ethernet header).
  std::vector<uint8_t> datagram() const {
    std::vector<uint8_t> d(40, 0);
    d[0] = 0x60;
    d[6] = ext_.empty() ? proto_ : ext_[0].type;
    d[7] = hop_limit_;
    store_ipv6(d.data() + 8, src_);
    store_ipv6(d.data() + 24, dst_);
    for (size_t i = 0; i < ext_.size(); ++i) {
      std::vector<uint8_t> h = ext_[i].bytes;
      h[0] = i + 1 < ext_.size() ? ext_[i + 1].type : proto_;
      d.insert(d.end(), h.begin(), h.end());
    }
    size_t l4_at = d.size();
    d.insert(d.end(), l4_.begin(), l4_.end());
    d.insert(d.end(), data_.begin(), data_.end());
    if (fill_udp_len_) {
      uint16_t ulen = udp_len_.value_or(static_cast<uint16_t>(d.size() - l4_at));
      d[l4_at + 4] = static_cast<uint8_t>(ulen >> 8);
      d[l4_at + 5] = static_cast<uint8_t>(ulen);
    }
    uint16_t plen = payload_len_.value_or(static_cast<uint16_t>(d.size() - 40));
    d[4] = static_cast<uint8_t>(plen >> 8);
    d[5] = static_cast<uint8_t>(plen);
    return d;
  }
  // Ethernet + the datagram + padding.
  std::vector<uint8_t> bytes() const {
    std::vector<uint8_t> f = {0x02, 0, 0, 0, 0, 0x0b, 0x02, 0, 0, 0, 0, 0x0a, 0x86, 0xdd};
    std::vector<uint8_t> d = datagram();
    f.insert(f.end(), d.begin(), d.end());
    f.resize(f.size() + padding_, 0);
    return f;
  }

 private:
  struct Ext {
    uint8_t type;
    std::vector<uint8_t> bytes;
  };
  static std::vector<uint8_t> ports(uint16_t sport, uint16_t dport, size_t len) {
    std::vector<uint8_t> h(len, 0);
    h[0] = static_cast<uint8_t>(sport >> 8);
    h[1] = static_cast<uint8_t>(sport);
    h[2] = static_cast<uint8_t>(dport >> 8);
    h[3] = static_cast<uint8_t>(dport);
    return h;
  }

  Ipv6 src_ = ip6("2001:db8:1::5"), dst_ = ip6("2001:db8:2::10");
  uint8_t hop_limit_ = 64;
  std::vector<Ext> ext_;
  uint8_t proto_ = kProtoNoNext;
  std::vector<uint8_t> l4_, data_;
  std::optional<uint16_t> payload_len_, udp_len_;
  uint32_t padding_ = 0;
  bool fill_udp_len_ = false;
};

// The builder leaves L4 checksums zero: a host's packet has a valid one.
inline std::vector<uint8_t> v6_checksummed(std::vector<uint8_t> f) {
  const Ipv6View v = parse_ipv6_packet(f.data(), static_cast<uint32_t>(f.size()), 14);
  uint8_t* l4 = f.data() + v.l4;
  const uint16_t at = v.proto == kProtoTcp ? 16 : v.proto == kProtoIcmpv6 ? 2 : 6;
  l4[at] = l4[at + 1] = 0;
  const uint16_t c = l4_checksum6(v.src, v.dst, v.proto, l4, static_cast<uint32_t>(v.end - v.l4));
  l4[at] = static_cast<uint8_t>(c >> 8);
  l4[at + 1] = static_cast<uint8_t>(c);
  return f;
}

}  // namespace wp::test
