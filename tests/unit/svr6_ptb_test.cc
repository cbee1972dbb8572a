// Path MTU of IPv6 sessions over SVR (issue #19; dataplane/svr/svr6_lan.h,
// docs/ipv6.md § IPv6 sessions between IPv4 waypoints, **MTU**): a LAN packet
// above 1280 bytes that would exceed the WAN MTU once carried gets an ICMPv6
// Packet Too Big to its sender (RFC 8201; RFC 2473 § 7.1), at both ends of the
// session, rate limited and counted; real workers of r1 and r2 (svr6_pair.h).
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "dataplane/crypto/session_data.h"
#include "dataplane/ip/icmp.h"
#include "tests/unit/icmp6_error_check.h"
#include "tests/unit/svr6_pair.h"

namespace wp {
namespace {

using namespace test;

constexpr uint32_t kWanMtu = 1400;
constexpr const char* kR1Lan6 = "2001:db8:71::1";  // the errors' source toward the client
constexpr const char* kR2Lan6 = "2001:db8:72::1";  // and toward the server

config::Config with_wan_mtu(config::Config c, uint32_t mtu) {
  c.mutable_router()->mutable_wan(0)->set_mtu(mtu);
  return c;
}

// Not a repeating pattern: a misplaced quote would show.
std::string bytes_of(size_t n) {
  std::string d(n, 0);
  for (size_t i = 0; i < n; ++i) d[i] = static_cast<char>((i * 131 + 7) >> 3);
  return d;
}

class Svr6Ptb : public Svr6Pair {
 protected:
  void SetUp() override { make(with_wan_mtu(v6wp_config(true), kWanMtu), with_wan_mtu(v6wp_config(false), kWanMtu)); }
  // A TCP segment of `len` bytes of IPv6 from the client (forward) or the server (reverse).
  std::vector<uint8_t> client_tcp(uint32_t len) const {
    return client_frame(Pkt6().ipv6(kV6Client, kV6Server, 64).tcp(40000, 80, 0x10).payload(bytes_of(len - 60)));
  }
  std::vector<uint8_t> server_tcp(uint32_t len) const {
    return server_frame(Pkt6().ipv6(kV6Server, kV6Client, 64).tcp(80, 40000, 0x10).payload(bytes_of(len - 60)));
  }
  // SYN and SYN-ACK through both routers: the session exists at both, metadata acked.
  void open_tcp() {
    const auto syn = client_frame(Pkt6().ipv6(kV6Client, kV6Server, 64).tcp(40000, 80, 0x02));
    expect_restored6(syn, r2->send_one(kWan, r1->send_one(kLan, syn).raw));
    const auto synack = server_frame(Pkt6().ipv6(kV6Server, kV6Client, 64).tcp(80, 40000, 0x12));
    expect_restored6(synack, r1->send_one(kWan, r2->send_one(kLan, synack).raw));
  }
  // `sent` answered with a Packet Too Big toward the client, on r1's LAN.
  void expect_ptb_to_client(const Frame& f, const std::vector<uint8_t>& sent, uint32_t mtu) {
    EXPECT_EQ(f.port, kLan);
    EXPECT_EQ(std::memcmp(f.raw.data(), kRouteClientMac.data(), 6), 0) << "to the client's MAC";
    EXPECT_EQ(std::memcmp(f.raw.data() + 6, r1->model().interfaces[0].mac, 6), 0);
    expect_icmp6_error(f, sent, ip6(kR1Lan6), ip6(kV6Client), kIcmp6PacketTooBig, mtu);
  }
};

// Between IPv6 waypoints the WAN header is as long as the client's: the
// largest packet that crosses is the WAN MTU itself.
TEST_F(Svr6Ptb, AboveTheWanMtuTheClientGetsPacketTooBigWithTheWanMtu) {
  open_tcp();
  const auto big = client_tcp(1500);
  expect_ptb_to_client(r1->send_one(kLan, big), big, kWanMtu);
  EXPECT_EQ(r1->count(Counter::svr6_icmp6_too_big), 1u);
  EXPECT_EQ(r1->drop_count(DropReason::svr6_wan_too_big), 1u);
  EXPECT_EQ(r1->drop_count(DropReason::waypoint6_too_big), 0u) << "refused before the WAN leg";
  EXPECT_EQ(r1->count(Counter::waypoint6_fragmented), 0u) << "not fragmented";

  // One byte over: refused too; exactly the MTU: one WAN frame, restored byte-exact.
  const auto over = client_tcp(kWanMtu + 1);
  expect_ptb_to_client(r1->send_one(kLan, over), over, kWanMtu);
  const auto fits = client_tcp(kWanMtu);
  const Frame w = r1->send_one(kLan, fits);
  EXPECT_EQ(w.port, kWan);
  EXPECT_EQ(w.raw.size(), 14u + kWanMtu) << "the WAN leg exactly the MTU, not fragmented";
  expect_restored6(fits, r2->send_one(kWan, w.raw));
  EXPECT_EQ(r1->count(Counter::svr6_icmp6_too_big), 2u);
  EXPECT_EQ(r1->drop_count(DropReason::svr6_wan_too_big), 2u);
  EXPECT_EQ(r1->total_drops(), 2u) << r1->drops();
  EXPECT_EQ(r2->total_drops(), 0u) << r2->drops();
}

// The egress router is the entry point of the reverse leg: the server hears it
// from r2's address on its own link.
TEST_F(Svr6Ptb, TheServerGetsPacketTooBigFromTheEgressRouter) {
  open_tcp();
  const auto big = server_tcp(1500);
  const Frame f = r2->send_one(kLan, big);
  EXPECT_EQ(f.port, kLan);
  EXPECT_EQ(std::memcmp(f.raw.data(), kV6ServerMac.data(), 6), 0) << "to the server's MAC";
  expect_icmp6_error(f, big, ip6(kR2Lan6), ip6(kV6Server), kIcmp6PacketTooBig, kWanMtu);
  EXPECT_EQ(r2->count(Counter::svr6_icmp6_too_big), 1u);
  EXPECT_EQ(r2->drop_count(DropReason::svr6_wan_too_big), 1u);
  const auto fits = server_tcp(kWanMtu);
  expect_restored6(fits, r1->send_one(kWan, r2->send_one(kLan, fits).raw));
}

// Between IPv4 waypoints the WAN header is 20 bytes shorter than the client's.
TEST_F(Svr6Ptb, BetweenIpv4WaypointsTheMtuIs20BytesMore) {
  make(with_wan_mtu(v6wp_config(true, false), kWanMtu), with_wan_mtu(v6wp_config(false, false), kWanMtu));
  open_tcp();
  const auto big = client_tcp(1500);
  expect_ptb_to_client(r1->send_one(kLan, big), big, kWanMtu + 20);
  const auto fits = client_tcp(kWanMtu + 20);
  const Frame w = r1->send_one(kLan, fits);
  EXPECT_EQ(get16(w.raw.data() + 12), kEtherTypeIpv4) << "IPv4 waypoints";
  EXPECT_EQ(w.raw.size(), 14u + kWanMtu);
  expect_restored6(fits, r2->send_one(kWan, w.raw));
  EXPECT_EQ(r1->drop_count(DropReason::svr6_wan_too_big), 1u);
  EXPECT_EQ(r1->drop_count(DropReason::mtu_exceeded), 0u) << "no longer a silent drop on the WAN leg";
}

// Sealing grows every packet of an encrypted session: the MTU leaves room for
// it (IV, padding, sequence number, HMAC: 52 bytes).
TEST_F(Svr6Ptb, EncryptedSessionsLeaveRoomForSealing) {
  make(encrypted(with_wan_mtu(v6wp_config(true), kWanMtu)), encrypted(with_wan_mtu(v6wp_config(false), kWanMtu)),
       RouterOptions().with_key_slots(64));
  open_tcp();
  const auto big = client_tcp(1500);
  expect_ptb_to_client(r1->send_one(kLan, big), big, kWanMtu - kCryptoOverhead);
  const auto fits = client_tcp(kWanMtu - kCryptoOverhead);
  const Frame w = r1->send_one(kLan, fits);
  EXPECT_EQ(w.port, kWan);
  EXPECT_LE(w.raw.size(), 14u + kWanMtu) << "sealed, within the WAN MTU";
  expect_restored6(fits, r2->send_one(kWan, w.raw));
}

// Never below 1280 (RFC 8200 § 5): with a WAN of 1280 and an HMAC on every
// packet (20 bytes) a packet of 1280 bytes is still carried, in WAN fragments,
// and a larger one is told 1280.
TEST_F(Svr6Ptb, NeverBelow1280WhichCrossesInWanFragments) {
  const auto hmac_all = [](config::Config c) {
    add_security(c, "hmac", "none", "every-packet", false);
    for (auto& p : *c.mutable_policies()) p.set_security("hmac");
    return c;
  };
  make(hmac_all(with_wan_mtu(v6wp_config(true), kIpv6MinMtu)), hmac_all(with_wan_mtu(v6wp_config(false), kIpv6MinMtu)),
       RouterOptions().with_key_slots(64));
  const auto udp = [&](uint32_t len) {
    return client_frame(Pkt6().ipv6(kV6Client, kV6Server, 64).udp(5354, 53).payload(bytes_of(len - 48)));
  };
  const auto first = udp(200);
  expect_restored6(first, r2->send_one(kWan, r1->send_one(kLan, first).raw));
  const auto min = udp(kIpv6MinMtu);
  const std::vector<Frame> frags = r1->send(kLan, min);
  ASSERT_EQ(frags.size(), 2u) << "1280 bytes cross in two WAN fragments: " << r1->drops();
  for (const Frame& f : frags) EXPECT_EQ(f.port, kWan);
  EXPECT_TRUE(r2->send(kWan, frags[0].raw).empty()) << "held until the datagram is whole";
  expect_restored6(min, r2->send_one(kWan, frags[1].raw));
  const auto over = udp(kIpv6MinMtu + 20);
  expect_ptb_to_client(r1->send_one(kLan, over), over, kIpv6MinMtu);
  EXPECT_EQ(r1->count(Counter::svr6_icmp6_too_big), 1u);
}

// RFC 4443 § 2.4 (f): at most kIcmpErrorRate a second a worker, in bursts of
// kIcmpErrorRateBurst; every refused packet is dropped and counted all the same.
TEST_F(Svr6Ptb, PacketTooBigIsRateLimited) {
  open_tcp();
  const auto big = client_tcp(1500);
  size_t sent = 0;
  for (uint32_t i = 0; i < kIcmpErrorRateBurst + 5; ++i) sent += r1->send(kLan, big).size();
  EXPECT_EQ(sent, kIcmpErrorRateBurst);
  EXPECT_EQ(r1->count(Counter::svr6_icmp6_too_big), kIcmpErrorRateBurst);
  EXPECT_EQ(r1->count(Counter::svr6_icmp6_rate_limited), 5u);
  EXPECT_EQ(r1->drop_count(DropReason::svr6_wan_too_big), kIcmpErrorRateBurst + 5);
  // 100 ms later: 10 more tokens.
  r1->worker().set_now_ms(r1->worker().now_ms() + 100);
  sent = 0;
  for (int i = 0; i < 12; ++i) sent += r1->send(kLan, big).size();
  EXPECT_EQ(sent, kIcmpErrorRate / 10);
  EXPECT_EQ(r1->count(Counter::svr6_icmp6_rate_limited), 7u);
}

}  // namespace
}  // namespace wp
