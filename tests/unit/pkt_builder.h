// Readable packet fixtures for unit tests (as in Click's tests: a packet in,
// the expected packet out, compared field by field).
//
//   auto bytes = Pkt().ipv4("10.1.0.5", "10.2.0.10").udp(1000, 53).payload("x").bytes();
//   rte_mbuf* m = Pkt().ipv4(a, b).tcp(1, 2, kTcpSyn).mbuf(test_pool(), /*port=*/0);
//
// The builder fills every length and checksum (IPv4 header, TCP/UDP with the
// pseudo-header, ICMP) with its own RFC 1071 code, independent of
// dataplane/checksum.cc, so tests can use it as an oracle. Knobs for broken
// packets (bad lengths, options, fragments, padding) are explicit. `Frame`
// reads a packet back into fields and re-verifies its checksums.
#pragma once

#include <rte_mbuf.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/ip/ipv4.h"

namespace wp::test {

using Mac = std::array<uint8_t, 6>;
inline constexpr Mac kMacA = {0x02, 0, 0, 0, 0, 0x0a};
inline constexpr Mac kMacB = {0x02, 0, 0, 0, 0, 0x0b};

inline Ipv4 ip(std::string_view text) { return parse_ipv4(text).value(); }

inline void put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void put32(uint8_t* p, uint32_t v) {
  put16(p, static_cast<uint16_t>(v >> 16));
  put16(p + 2, static_cast<uint16_t>(v));
}
inline uint16_t get16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline uint32_t get32(const uint8_t* p) { return uint32_t{get16(p)} << 16 | get16(p + 2); }

// RFC 1071 one's-complement sum, written plainly (test oracle).
inline uint32_t ones_sum(const uint8_t* p, size_t n, uint32_t sum = 0) {
  for (size_t i = 0; i < n; ++i) sum += (i % 2 == 0) ? uint32_t{p[i]} << 8 : p[i];
  return sum;
}
inline uint16_t ones_fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}
// Sum over the TCP/UDP pseudo-header (RFC 793 § 3.1, RFC 768).
inline uint32_t pseudo_sum(const uint8_t* ip4, uint8_t proto, size_t l4_len) {
  return ones_sum(ip4 + 12, 8) + proto + static_cast<uint32_t>(l4_len);
}

class Pkt {
 public:
  static constexpr uint8_t kTcp = 6, kUdp = 17, kIcmp = 1;

  Pkt& eth(Mac dst = kMacB, Mac src = kMacA, uint16_t type = 0x0800) {
    dst_mac_ = dst;
    src_mac_ = src;
    ethertype_ = type;
    return *this;
  }
  Pkt& ipv4(Ipv4 src, Ipv4 dst, uint8_t ttl = 64) {
    src_ = src;
    dst_ = dst;
    ttl_ = ttl;
    return *this;
  }
  Pkt& ipv4(std::string_view src, std::string_view dst, uint8_t ttl = 64) { return ipv4(ip(src), ip(dst), ttl); }
  Pkt& udp(uint16_t sport, uint16_t dport) {
    proto_ = kUdp;
    sport_ = sport;
    dport_ = dport;
    return *this;
  }
  Pkt& tcp(uint16_t sport, uint16_t dport, uint8_t flags = 0x10, uint32_t seq = 1000, uint32_t ack = 0) {
    proto_ = kTcp;
    sport_ = sport;
    dport_ = dport;
    tcp_flags_ = flags;
    seq_ = seq;
    ack_ = ack;
    return *this;
  }
  Pkt& icmp_echo(uint16_t id, uint16_t seq, uint8_t type = 8) {
    proto_ = kIcmp;
    sport_ = id;
    dport_ = seq;
    icmp_type_ = type;
    return *this;
  }
  Pkt& proto(uint8_t p) {  // any other protocol: no L4 header is built
    proto_ = p;
    return *this;
  }
  Pkt& payload(std::string_view s) {
    data_.assign(s.begin(), s.end());
    return *this;
  }
  Pkt& payload(std::span<const uint8_t> b) {
    data_.assign(b.begin(), b.end());
    return *this;
  }
  // Knobs for broken or unusual packets.
  Pkt& ip_options(uint8_t bytes) {  // multiple of 4, filled with NOP (1)
    ip_opts_ = bytes;
    return *this;
  }
  Pkt& tcp_options(uint8_t bytes) {
    tcp_opts_ = bytes;
    return *this;
  }
  Pkt& frag(uint16_t flags_offset) {  // raw flags/offset word, e.g. 0x2000 = MF
    frag_ = flags_offset;
    return *this;
  }
  Pkt& id(uint16_t v) {
    ip_id_ = v;
    return *this;
  }
  Pkt& pad(size_t bytes) {  // Ethernet padding after the IP datagram
    pad_ = bytes;
    return *this;
  }
  Pkt& no_udp_checksum() {
    udp_csum_ = false;
    return *this;
  }

  std::vector<uint8_t> bytes() const {
    size_t l4h = l4_header_len();
    size_t ihl = 20 + ip_opts_;
    size_t total = ihl + l4h + data_.size();
    std::vector<uint8_t> f(14 + total + pad_, 0);
    std::memcpy(f.data(), dst_mac_.data(), 6);
    std::memcpy(f.data() + 6, src_mac_.data(), 6);
    put16(f.data() + 12, ethertype_);
    uint8_t* ip4 = f.data() + 14;
    ip4[0] = static_cast<uint8_t>(0x40 | (ihl / 4));
    put16(ip4 + 2, static_cast<uint16_t>(total));
    put16(ip4 + 4, ip_id_);
    put16(ip4 + 6, frag_);
    ip4[8] = ttl_;
    ip4[9] = proto_;
    put32(ip4 + 12, src_);
    put32(ip4 + 16, dst_);
    std::memset(ip4 + 20, 1, ip_opts_);
    put16(ip4 + 10, static_cast<uint16_t>(~ones_fold(ones_sum(ip4, ihl))));
    uint8_t* l4 = ip4 + ihl;
    if (!data_.empty()) std::memcpy(l4 + l4h, data_.data(), data_.size());
    size_t l4_len = l4h + data_.size();
    if (proto_ == kUdp) {
      put16(l4, sport_);
      put16(l4 + 2, dport_);
      put16(l4 + 4, static_cast<uint16_t>(l4_len));
      if (udp_csum_) {
        uint16_t c = static_cast<uint16_t>(~ones_fold(pseudo_sum(ip4, kUdp, l4_len) + ones_sum(l4, l4_len)));
        put16(l4 + 6, c == 0 ? 0xffff : c);
      }
    } else if (proto_ == kTcp) {
      put16(l4, sport_);
      put16(l4 + 2, dport_);
      put32(l4 + 4, seq_);
      put32(l4 + 8, ack_);
      l4[12] = static_cast<uint8_t>((l4h / 4) << 4);
      l4[13] = tcp_flags_;
      put16(l4 + 14, 65535);
      std::memset(l4 + 20, 1, tcp_opts_);
      put16(l4 + 16, static_cast<uint16_t>(~ones_fold(pseudo_sum(ip4, kTcp, l4_len) + ones_sum(l4, l4_len))));
    } else if (proto_ == kIcmp) {
      l4[0] = icmp_type_;
      put16(l4 + 4, sport_);
      put16(l4 + 6, dport_);
      put16(l4 + 2, static_cast<uint16_t>(~ones_fold(ones_sum(l4, l4_len))));
    }
    return f;
  }

  // A single-segment mbuf holding the frame, with the pool's default headroom.
  rte_mbuf* mbuf(rte_mempool* pool, uint16_t port = 0) const { return to_mbuf(pool, bytes(), port); }

  static rte_mbuf* to_mbuf(rte_mempool* pool, std::span<const uint8_t> frame, uint16_t port = 0) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool);
    if (!m) return nullptr;
    char* p = rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size()));
    if (!p) {
      rte_pktmbuf_free(m);
      return nullptr;
    }
    std::memcpy(p, frame.data(), frame.size());
    m->port = port;
    return m;
  }

  // ARP frame (RFC 826, Ethernet/IPv4).
  static std::vector<uint8_t> arp(uint16_t op, Mac sha, Ipv4 spa, Mac tha, Ipv4 tpa) {
    std::vector<uint8_t> f(14 + 28, 0);
    std::memset(f.data(), 0xff, 6);
    std::memcpy(f.data() + 6, sha.data(), 6);
    put16(f.data() + 12, 0x0806);
    uint8_t* a = f.data() + 14;
    put16(a, 1);
    put16(a + 2, 0x0800);
    a[4] = 6;
    a[5] = 4;
    put16(a + 6, op);
    std::memcpy(a + 8, sha.data(), 6);
    put32(a + 14, spa);
    std::memcpy(a + 18, tha.data(), 6);
    put32(a + 24, tpa);
    return f;
  }

 private:
  size_t l4_header_len() const {
    if (proto_ == kUdp || proto_ == kIcmp) return 8;
    if (proto_ == kTcp) return 20 + tcp_opts_;
    return 0;
  }
  Mac dst_mac_ = kMacB, src_mac_ = kMacA;
  uint16_t ethertype_ = 0x0800;
  Ipv4 src_ = 0x0a000001, dst_ = 0x0a000002;
  uint8_t ttl_ = 64, proto_ = kUdp, tcp_flags_ = 0x10, icmp_type_ = 8;
  uint16_t sport_ = 1, dport_ = 2, frag_ = 0, ip_id_ = 0x1234;
  uint32_t seq_ = 1000, ack_ = 0;
  uint8_t ip_opts_ = 0, tcp_opts_ = 0;
  size_t pad_ = 0;
  bool udp_csum_ = true;
  std::vector<uint8_t> data_;
};

// A received frame read back into fields (Ethernet + IPv4 + TCP/UDP only).
struct Frame {
  std::vector<uint8_t> raw;
  uint16_t port = 0;  // the port it was transmitted on

  const uint8_t* ip4() const { return raw.data() + 14; }
  size_t ihl() const { return (ip4()[0] & 0x0f) * 4u; }
  const uint8_t* l4() const { return ip4() + ihl(); }
  uint8_t proto() const { return ip4()[9]; }
  uint8_t ttl() const { return ip4()[8]; }
  size_t ip_total() const { return get16(ip4() + 2); }
  size_t l4_len() const { return ip_total() - ihl(); }
  Ipv4 src() const { return get32(ip4() + 12); }
  Ipv4 dst() const { return get32(ip4() + 16); }
  uint16_t sport() const { return get16(l4()); }
  uint16_t dport() const { return get16(l4() + 2); }
  size_t l4_header_len() const { return proto() == Pkt::kTcp ? (l4()[12] >> 4) * 4u : 8u; }
  uint8_t tcp_flags() const { return l4()[13]; }
  const uint8_t* data() const { return l4() + l4_header_len(); }
  size_t data_len() const { return l4_len() - l4_header_len(); }
  std::vector<uint8_t> payload() const { return {data(), data() + data_len()}; }
  std::string payload_string() const { return {reinterpret_cast<const char*>(data()), data_len()}; }
  const uint8_t* dst_mac() const { return raw.data(); }
  const uint8_t* src_mac() const { return raw.data() + 6; }

  bool ip_checksum_ok() const { return ones_fold(ones_sum(ip4(), ihl())) == 0xffff; }
  bool l4_checksum_ok() const {
    const size_t n = l4_len();
    if (proto() == Pkt::kUdp) {
      if (get16(l4() + 6) == 0) return true;  // no checksum
      if (get16(l4() + 4) != n) return false;
    }
    return ones_fold(pseudo_sum(ip4(), proto(), n) + ones_sum(l4(), n)) == 0xffff;
  }
  bool lengths_ok() const {
    if (raw.size() < 14 + ip_total()) return false;
    return proto() != Pkt::kUdp || get16(l4() + 4) == l4_len();
  }
};

inline Frame frame_of(const rte_mbuf* m) {
  const auto* p = rte_pktmbuf_mtod(m, const uint8_t*);
  return Frame{{p, p + rte_pktmbuf_data_len(m)}, m->port};
}

}  // namespace wp::test
