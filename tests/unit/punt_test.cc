// The worker's side of the punt path (docs/operations.md § Punt path): what
// for us is classed how, and each class metered on its own so a flood of one
// (SYNs to port 179) leaves the others their share, IPv4 and IPv6. The
// kernel side (taps, ARP and Neighbor Discovery answered into them) is
// exercised by tests/e2e/test_punt.sh.
#include <gtest/gtest.h>

#include "dataplane/ip/packet.h"
#include "dataplane/ip/ndp.h"
#include "dataplane/worker/punt_class.h"
#include "tests/unit/pkt6_builder.h"
#include "tests/unit/svr_harness.h"

namespace wp {
namespace {

using namespace test;

ParsedPacket parsed(const std::vector<uint8_t>& f) { return parse_packet(f.data(), static_cast<uint32_t>(f.size())); }

TEST(PuntClass, ByProtocolAndPort) {
  auto tcp = [](uint16_t s, uint16_t d) { return Pkt().eth().ipv4("10.1.0.5", "10.1.0.1").tcp(s, d, 0x02).bytes(); };
  auto udp = [](uint16_t d) { return Pkt().eth().ipv4("10.1.0.5", "10.1.0.1").udp(49152, d).bytes(); };
  EXPECT_EQ(punt_class(parsed(tcp(40000, 179))), PuntClass::bgp_syn);  // a connection request
  auto ack = [](uint16_t s, uint16_t d) { return Pkt().eth().ipv4("10.1.0.5", "10.1.0.1").tcp(s, d).bytes(); };
  EXPECT_EQ(punt_class(parsed(ack(40000, 179))), PuntClass::bgp);
  EXPECT_EQ(punt_class(parsed(ack(179, 40000))), PuntClass::bgp);  // the session we opened
  EXPECT_EQ(punt_class(parsed(tcp(40000, 22))), PuntClass::other);
  EXPECT_EQ(punt_class(parsed(udp(3784))), PuntClass::bfd);
  EXPECT_EQ(punt_class(parsed(udp(4784))), PuntClass::bfd);
  EXPECT_EQ(punt_class(parsed(udp(53))), PuntClass::other);
  EXPECT_EQ(punt_class(parsed(Pkt().eth().ipv4("10.1.0.5", "10.1.0.1").icmp_echo(1, 1).bytes())), PuntClass::icmp);
  EXPECT_EQ(punt_class(parsed(Pkt().eth().ipv4("10.1.0.5", "224.0.0.5").proto(kProtoOspf).payload("hello").bytes())),
            PuntClass::ospf);
  EXPECT_TRUE(is_link_local_multicast(ip("224.0.0.5")));
  EXPECT_TRUE(is_link_local_multicast(ip("224.0.0.255")));
  EXPECT_FALSE(is_link_local_multicast(ip("224.0.1.1")));
  EXPECT_FALSE(is_link_local_multicast(ip("10.1.0.1")));
}

config::Config punt_config(bool punt) {
  config::Config c = router_base("r1", "10.1.0.1/24", {{"wan0", "172.16.0.1/24"}});
  c.mutable_router()->mutable_punt()->set_enabled(punt);
  c.mutable_router()->mutable_punt()->set_bgp_syn_pps(400);
  return c;
}

std::vector<uint8_t> syn_to_bgp(uint16_t sport) {
  return Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, ip("10.1.0.1")).tcp(sport, 179, 0x02).bytes();
}
std::vector<uint8_t> bgp_keepalive() {  // a segment of an established session
  return Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, ip("10.1.0.1")).tcp(40000, 179).payload("keepalive").bytes();
}
std::vector<uint8_t> ospf_hello() {
  return Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, ip("224.0.0.5"), 1).proto(kProtoOspf).payload("hello").bytes();
}

TEST(PuntMeter, ASynFloodToBgpIsCutToItsRateAndLeavesPeersAndOspfTheirShare) {
  Router r1(punt_config(true));
  const uint32_t burst = 200 / 4 + 8;  // one worker and the dispatcher share the router rate
  for (uint32_t i = 0; i < burst + 300; ++i) r1.send(kLan, syn_to_bgp(static_cast<uint16_t>(20000 + i)));
  EXPECT_EQ(r1.count(Counter::punt_bgp_syn), burst);
  EXPECT_EQ(r1.drop_count(DropReason::punt_rate_bgp_syn), 300u);
  r1.send(kLan, bgp_keepalive());  // an established peer: the bgp bucket is untouched
  r1.send(kLan, ospf_hello());     // another class: its own bucket
  EXPECT_EQ(r1.count(Counter::punt_bgp), 1u);
  EXPECT_EQ(r1.count(Counter::punt_ospf), 1u);
  EXPECT_EQ(r1.count(Counter::to_control), burst + 2);
  // 100 ms later, 20 more SYNs' worth of tokens.
  r1.worker().set_now_ms(r1.worker().now_ms() + 100);
  for (uint32_t i = 0; i < 100; ++i) r1.send(kLan, syn_to_bgp(static_cast<uint16_t>(30000 + i)));
  EXPECT_EQ(r1.count(Counter::punt_bgp_syn), burst + 20);
}

TEST(PuntMeter, OffByDefaultNothingIsMeteredAndMulticastIsNotOurs) {
  Router r1(punt_config(false));
  for (uint32_t i = 0; i < 200; ++i) r1.send(kLan, syn_to_bgp(static_cast<uint16_t>(20000 + i)));
  EXPECT_EQ(r1.count(Counter::to_control), 200u);  // as before the punt path: the control thread drops them
  EXPECT_EQ(r1.count(Counter::punt_bgp_syn), 0u);
  EXPECT_EQ(r1.drop_count(DropReason::punt_rate_bgp_syn), 0u);
  r1.send(kLan, ospf_hello());
  EXPECT_EQ(r1.count(Counter::to_control), 200u);
  EXPECT_EQ(r1.drop_count(DropReason::unsupported_proto), 1u);
}

// IPv6 (#19): the router's own IPv6 traffic goes up metered by the same
// classes and buckets as IPv4's; ND stays the control thread's (nd_rate).
config::Config punt6_config(bool punt) {
  config::Config c = punt_config(punt);
  c.mutable_router()->mutable_lan()->add_ipv6_addresses("2001:db8:1::1/64");
  c.mutable_router()->mutable_wan(0)->add_ipv6_addresses("2001:db8:70::1/64");
  return c;
}
std::vector<uint8_t> to_r1(const Router& r, Pkt6 p) {  // from a LAN host to r1's MAC
  std::vector<uint8_t> f = p.bytes();
  std::memcpy(f.data(), r.model().interfaces[0].mac, 6);
  return f;
}

TEST(PuntIpv6, OwnAddressesAndLinkScopeMulticastGoUpByClass) {
  Router r1(punt6_config(true));
  const uint64_t up0 = r1.count(Counter::to_control);
  // BGP over IPv6 to the LAN address, and to the WAN's (another interface's: as IPv4's own addresses).
  r1.send(kLan, to_r1(r1, Pkt6().ipv6("2001:db8:1::5", "2001:db8:1::1").tcp(40000, 179, kTcpSyn)));
  r1.send(kLan, to_r1(r1, Pkt6().ipv6("2001:db8:1::5", "2001:db8:70::1").tcp(40001, 179, kTcpAck)));
  // To the link-local address (the EUI-64 of the port's MAC).
  const std::string ll = format_ipv6(link_local_of(r1.model().interfaces[0].mac));
  r1.send(kLan, to_r1(r1, Pkt6().ipv6("fe80::5", ll).udp(50000, 3784)));
  // OSPFv3 hello to ff02::5, and an echo reply to the kernel's ping.
  r1.send(kLan, Pkt6().ipv6("fe80::5", "ff02::5", 1).l4(kProtoOspf, std::vector<uint8_t>(16, 0)).bytes());
  r1.send(kLan, to_r1(r1, Pkt6().ipv6("2001:db8:1::5", "2001:db8:1::1").icmp6_echo(7, kIcmp6EchoReply)));
  EXPECT_EQ(r1.count(Counter::punt_bgp_syn), 1u);
  EXPECT_EQ(r1.count(Counter::punt_bgp), 1u);
  EXPECT_EQ(r1.count(Counter::punt_bfd), 1u);
  EXPECT_EQ(r1.count(Counter::punt_ospf), 1u);
  EXPECT_EQ(r1.count(Counter::punt_icmp), 1u);
  EXPECT_EQ(r1.count(Counter::to_control), up0 + 5);
  EXPECT_EQ(r1.drop_count(DropReason::not_ipv4), 0u) << r1.drops();
  // Not ours: another host's address, multicast beyond link scope, ICMPv6 to link-scope multicast.
  r1.send(kLan, to_r1(r1, Pkt6().ipv6("2001:db8:1::5", "2001:db8:1::9").tcp(40002, 179, kTcpSyn)));
  r1.send(kLan, Pkt6().ipv6("fe80::5", "ff05::5", 1).l4(kProtoOspf, std::vector<uint8_t>(16, 0)).bytes());
  r1.send(kLan, Pkt6().ipv6("fe80::5", "ff02::1", 1).icmp6_echo(8).bytes());
  EXPECT_EQ(r1.count(Counter::to_control), up0 + 5);
  EXPECT_EQ(r1.count(Counter::punt_bgp_syn), 1u);
}

TEST(PuntIpv6, SharesTheClassBucketWithIpv4) {
  Router r1(punt6_config(true));
  const uint32_t burst = 200 / 4 + 8;
  for (uint32_t i = 0; i < burst; ++i) r1.send(kLan, syn_to_bgp(static_cast<uint16_t>(20000 + i)));
  r1.send(kLan, to_r1(r1, Pkt6().ipv6("2001:db8:1::5", "2001:db8:1::1").tcp(40000, 179, kTcpSyn)));
  EXPECT_EQ(r1.count(Counter::punt_bgp_syn), burst);
  EXPECT_EQ(r1.drop_count(DropReason::punt_rate_bgp_syn), 1u);
}

TEST(PuntIpv6, OffTheRoutersOwnIpv6IsNotRouted) {
  Router r1(punt6_config(false));
  const uint64_t up0 = r1.count(Counter::to_control);
  r1.send(kLan, to_r1(r1, Pkt6().ipv6("2001:db8:1::5", "2001:db8:1::1").tcp(40000, 179, kTcpSyn)));
  r1.send(kLan, Pkt6().ipv6("fe80::5", "ff02::5", 1).l4(kProtoOspf, std::vector<uint8_t>(16, 0)).bytes());
  EXPECT_EQ(r1.count(Counter::to_control), up0);
  EXPECT_EQ(r1.count(Counter::punt_bgp_syn), 0u);
  EXPECT_EQ(r1.drop_count(DropReason::not_ipv4), 2u);
}

}  // namespace
}  // namespace wp
