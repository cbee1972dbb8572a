// The rig of the ICMP path-MTU error tests (esp_outer6_ptb_test.cc: ICMPv6 Packet Too Big
// about ESP over IPv6; esp_outer4_frag_needed_test.cc: ICMPv4 Fragmentation Needed about ESP
// over IPv4; docs/ipsec.md § IPv6 outer addresses, § Fragmentation Needed on the outer path):
// r2 as the IPsec headend of esp_site.h with a real worker and control thread, a router on the
// path between r2 and the site that answers what r2 sealed with an ICMP error, and what r2
// then does with inner packets that no longer fit.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "dataplane/control/control_thread.h"
#include "dataplane/ip/checksum.h"
#include "dataplane/ip/icmp.h"
#include "dataplane/ip/nat64_packet.h"  // icmpv6_checksum
#include "dataplane/ip/ndp.h"
#include "dataplane/ipsec/esp_ptb.h"
#include "tests/unit/esp_site.h"

namespace wp::test {

inline const Ipv6 kPathRouter = *parse_ipv6("2001:db8:ff::fe");  // a router between r2 and the site
inline const Ipv4 kPathRouter4 = ip("172.16.0.254");              // the same over IPv4
inline constexpr Mac kPathRouterMac = {2, 0, 0, 0, 0xfe, 0xfe};

struct PtbRig {
  const bool outer6;
  Tunnel tu;
  std::unique_ptr<Router> r;
  Control control;
  uint32_t now = 1000;

  // The control thread's transmit: what it sends is freed, unread. A named
  // function, not a lambda: a lambda in this header's inline constructor is
  // a weak symbol in each test that includes it, which unit_group_odr cannot
  // tell from a clash.
  static uint16_t discard(void*, uint16_t, uint16_t, rte_mbuf** p, uint16_t n) {
    for (uint16_t i = 0; i < n; ++i) rte_pktmbuf_free(p[i]);
    return n;
  }
  // `outer6`: the Child SA's outer addresses are IPv6 (`c` must give wan0 one, headend_outer6_config).
  PtbRig(bool outer6_, const config::Config& c)
      : outer6(outer6_), tu(true, true, outer6_), r(make_router(tu, c)), control(r->shared(), test_pool(), 0) {
    if (outer6) {
      Neighbor6Table& n6 = r->shared().neighbors6;
      n6.begin(kWan, kSite6, 0);
      n6.advert(kWan, kSite6, kSiteMac.data(), kNaSolicited | kNaOverride, 0);
    }
    control.set_tx(discard, nullptr);
    control.poll_once(now);
  }
  // A UDP datagram of `ip_len` IP bytes from the server to the site's host, DF as asked.
  Bytes big(uint16_t ip_len, bool df = true) {
    Pkt p = Pkt().ipv4(kServer, kSiteHost);
    if (df) p.frag(0x4000);
    return lan_frame(*r, p.udp(5000, 53).payload(std::string(ip_len - 28, 'x')));
  }
  // What r2 seals toward the site for `inner`, as the path router saw it.
  Frame sealed(const Bytes& inner) {
    Frame f = r->send_one(kLan, inner);
    EXPECT_EQ(f.port, kWan) << r->drops();
    return f;
  }
  // An Ethernet frame from the path router to r2's port `port` carrying `l3` (`ether_type`).
  Bytes from_path_router(uint16_t ether_type, const Bytes& l3, uint16_t port = kWan) {
    Bytes f(14 + l3.size(), 0);  // sized at once: GCC 12's -Warray-bounds misfires on insert
    std::memcpy(f.data(), r->model().interfaces[port].mac, 6);
    std::memcpy(f.data() + 6, kPathRouterMac.data(), 6);
    put16(f.data() + 12, ether_type);
    std::memcpy(f.data() + 14, l3.data(), l3.size());
    return f;
  }
  // The path router's Packet Too Big for `quoted` (an Ethernet frame r2 sent) to `to`,
  // quoting as much as fits 1280 bytes (RFC 4443 § 3.2).
  Bytes ptb(const Frame& quoted, uint32_t mtu, const Ipv6& to = kR2Wan6) {
    const size_t q = std::min<size_t>(quoted.raw.size() - 14, 1280 - 48);
    Bytes ip(40 + 8 + q, 0);
    ip[0] = 0x60;
    put16(ip.data() + 4, static_cast<uint16_t>(8 + q));
    ip[6] = kProtoIcmpv6;
    ip[7] = 64;
    store_ipv6(ip.data() + 8, kPathRouter);
    store_ipv6(ip.data() + 24, to);
    uint8_t* icmp = ip.data() + 40;
    icmp[0] = kIcmp6PacketTooBig;
    put32(icmp + 4, mtu);
    std::memcpy(icmp + 8, quoted.raw.data() + 14, q);
    put16(icmp + 2, icmpv6_checksum(kPathRouter, to, icmp, 8 + q));
    return from_path_router(kEtherTypeIpv6, ip);
  }
  // The path router's Fragmentation Needed (RFC 1191) for `quoted` to `to`, next-hop MTU
  // `mtu`, quoting `quote` bytes of it (RFC 1812 § 4.3.2.3: as much as fits 576 bytes).
  Bytes frag_needed(const Frame& quoted, uint16_t mtu, Ipv4 to = kR2Wan, size_t quote = 576 - 28) {
    const size_t q = std::min<size_t>(quoted.raw.size() - 14, quote);
    Bytes ip(20 + 8 + q, 0);
    ip[0] = 0x45;
    put16(ip.data() + 2, static_cast<uint16_t>(ip.size()));
    ip[8] = 64;
    ip[9] = kProtoIcmp;
    put32(ip.data() + 12, kPathRouter4);
    put32(ip.data() + 16, to);
    put16(ip.data() + 10, ipv4_header_checksum(ip.data()));
    uint8_t* icmp = ip.data() + 20;
    icmp[0] = kIcmpDestUnreachable;
    icmp[1] = kIcmpCodeFragNeeded;
    put16(icmp + 6, mtu);
    std::memcpy(icmp + 8, quoted.raw.data() + 14, q);
    put16(icmp + 2, csum_fold(csum_partial(icmp, 8 + q)));
    return from_path_router(0x0800, ip);
  }
  // The error through the worker (up its control ring) and the control thread.
  void deliver(const Bytes& frame, uint16_t port = kWan) {
    EXPECT_TRUE(r->send(port, frame).empty());
    control.poll_once(now);
  }
  uint64_t taken() {
    return r->shared().control_counters().get(outer6 ? Counter::esp_outer6_ptb : Counter::esp_outer4_frag_needed);
  }
  uint64_t refused() {
    return r->shared().control_counters().get(outer6 ? DropReason::esp_outer6_ptb_invalid
                                                     : DropReason::esp_outer4_frag_needed_invalid);
  }
  uint16_t path_mtu() { return r->shared().esp_path_mtu.path(kTunnel); }
  // The ICMP "fragmentation needed" r2 answers a DF datagram with; its MTU, 0 when it was sealed.
  uint16_t frag_needed_mtu(uint16_t ip_len) {
    std::vector<Frame> out = r->send(kLan, big(ip_len));
    EXPECT_EQ(out.size(), 1u) << r->drops();
    if (out.size() != 1 || out[0].port == kWan) return 0;
    EXPECT_EQ(out[0].port, kLan);
    EXPECT_EQ(out[0].dst(), kServer);
    EXPECT_EQ(out[0].l4()[0], 3);
    EXPECT_EQ(out[0].l4()[1], 4);
    return get16(out[0].l4() + 6);
  }
  // A learned path MTU is forgotten 10 minutes after it was learned, not
  // sooner (RFC 8201 § 4 for IPv6, RFC 1191 § 6.3 for IPv4), counted, and
  // 1300 bytes fit the configured 1400 again.
  void expect_ages_back() {
    now += kPathMtuAgeMs - 1;
    control.poll_once(now);
    EXPECT_EQ(path_mtu(), 1300) << "not yet";
    now += 1000;
    control.poll_once(now);
    EXPECT_EQ(path_mtu(), 0);
    EXPECT_EQ(r->shared().control_counters().get(Counter::esp_outer6_path_mtu_aged), 1u);
    EXPECT_EQ(sealed(big(1300)).port, kWan) << "1300 fits the tunnel's 1400 again";
  }
  // After the path MTU was lowered to `path` (inner `inner` left): the LAN
  // sender of a DF datagram learns `inner`, what fits is sealed to exactly
  // `path`, a datagram without DF leaves in two pieces within it, and a TCP
  // SYN crossing the tunnel has its MSS clamped to `inner` less 40.
  void expect_inner_mtu(uint16_t path, uint16_t inner) {
    EXPECT_EQ(frag_needed_mtu(path), inner);
    EXPECT_EQ(r->drop_count(DropReason::esp_too_big), 1u);
    const Frame fits = sealed(big(inner));
    EXPECT_EQ(fits.raw.size() - 14, path);
    EXPECT_FALSE(tu.open(fits).empty());
    std::vector<Frame> pieces = r->send(kLan, big(path, false));
    ASSERT_EQ(pieces.size(), 2u) << r->drops();
    for (const Frame& f : pieces) EXPECT_LE(f.raw.size() - 14, path);
    const Frame syn = r->send_one(kWan, tu.seal(site_syn_mss1460(40001)));
    ASSERT_EQ(syn.port, kLan) << r->drops();
    EXPECT_EQ(get16(syn.l4() + 20 + 2), inner - 40);
    EXPECT_TRUE(syn.l4_checksum_ok());
  }
};

}  // namespace wp::test
