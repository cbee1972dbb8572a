// ICMPv6 errors through IPv6 sessions over SVR (issue #19; dataplane/svr/svr6_lan.h,
// docs/svr-wire-format.md § ICMP errors through the session, TLV 21): an error
// that reaches one router's LAN about a packet of the session (from the
// server, or a router beyond the egress; or the egress's own Packet Too Big
// for a restored packet above its LAN MTU) is carried to the other router in
// a signed metadata packet of the session and reaches the host that sent the
// packet, quoting it with its own addresses and ports, checksum valid, from
// the address that generated it. Both waypoint kinds; forged carriers
// dropped; rate limited. Real workers of r1 and r2 (svr6_pair.h).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "dataplane/ip/icmp.h"
#include "dataplane/ip/ndp.h"  // kIcmp6EchoRequest
#include "tests/unit/icmp6_error_check.h"
#include "tests/unit/icmp_error_rate_check.h"
#include "tests/unit/svr6_pair.h"
#include "tests/unit/svr_pair_steps.h"

namespace wp {
namespace {

using namespace test;

constexpr const char* kBeyond = "2001:db8:99::1";  // a router past the egress, toward the server
constexpr const char* kR2Lan6 = "2001:db8:72::1";

std::vector<uint8_t> be32(uint32_t v) {
  return {static_cast<uint8_t>(v >> 24), static_cast<uint8_t>(v >> 16), static_cast<uint8_t>(v >> 8),
          static_cast<uint8_t>(v)};
}

// The IPv6 packet (no Ethernet header) of frame `f`.
std::vector<uint8_t> datagram_of(const std::vector<uint8_t>& f) { return {f.begin() + 14, f.end()}; }

class Svr6IcmpError : public Svr6Pair {
 protected:
  // SYN and SYN-ACK through both routers.
  void open_tcp() {
    const auto syn = client_frame(Pkt6().ipv6(kV6Client, kV6Server, 64).tcp(40000, 80, 0x02));
    expect_restored6(syn, via_wan(*r1, *r2, syn));
    const auto synack = server_frame(Pkt6().ipv6(kV6Server, kV6Client, 64).tcp(80, 40000, 0x12));
    expect_restored6(synack, via_wan(*r2, *r1, synack));
  }
  std::vector<uint8_t> client_tcp(size_t data) const {
    return client_frame(Pkt6().ipv6(kV6Client, kV6Server, 64).tcp(40000, 80, 0x18).payload(std::string(data, 'd')));
  }
  // What r2 put on its LAN for the client's `sent` (forwarded through the session).
  std::vector<uint8_t> restored_at_r2(const std::vector<uint8_t>& sent) {
    const Frame lan = via_wan(*r1, *r2, sent);
    EXPECT_EQ(lan.port, kLan);
    return lan.raw;
  }
  // An ICMPv6 error from `from` to the client about `restored` (r2's LAN frame), as it reaches r2.
  std::vector<uint8_t> error_at_r2(const char* from, uint8_t type, uint8_t code, uint32_t rest,
                                   const std::vector<uint8_t>& restored) const {
    std::vector<uint8_t> h = {type, code, 0, 0};
    for (uint8_t b : be32(rest)) h.push_back(b);
    std::vector<uint8_t> quote = datagram_of(restored);
    quote.resize(std::min<size_t>(quote.size(), kIcmp6ErrorMax - 48));
    return server_frame(Pkt6().ipv6(from, kV6Client, 62).l4(kProtoIcmpv6, h).payload(quote));
  }
  // `error` into r2's LAN: one carrier on r2's WAN, which r1 turns into one frame on its LAN.
  Frame through(const std::vector<uint8_t>& error) { return via_wan(*r2, *r1, error); }
  void expect_to_client(const Frame& f) {
    EXPECT_EQ(f.port, kLan);
    EXPECT_EQ(std::memcmp(f.raw.data(), kRouteClientMac.data(), 6), 0) << "to the client's MAC";
  }
};

// A router past r2 says the client's segment is too big: the client hears it from that router,
// about its own segment, MTU as said.
TEST_F(Svr6IcmpError, PacketTooBigFromBeyondTheEgressReachesTheClient) {
  open_tcp();
  const auto seg = client_tcp(1300);
  const Frame f = through(error_at_r2(kBeyond, kIcmp6PacketTooBig, 0, 1300, restored_at_r2(seg)));
  expect_to_client(f);
  expect_relayed(f, seg, ip6(kBeyond), ip6(kV6Client), kIcmp6PacketTooBig, 0, 1300, 20);
  EXPECT_EQ(r2->count(Counter::svr6_icmp6_errors_carried), 1u);
  EXPECT_EQ(r1->count(Counter::svr6_icmp6_errors_relayed), 1u);
  EXPECT_EQ(r1->count(Counter::metadata_received), 2u) << "the SYN-ACK's and the carrier's, verified";
  EXPECT_EQ(r1->total_drops(), 0u) << r1->drops();
  EXPECT_EQ(r2->total_drops(), 0u) << r2->drops();
  EXPECT_EQ(r2->drop_count(DropReason::svr6_untranslatable), 0u) << "no longer dropped at the egress";
  // The session goes on.
  const auto next = client_tcp(100);
  expect_restored6(next, via_wan(*r1, *r2, next));
}

TEST_F(Svr6IcmpError, BetweenIpv4WaypointsToo) {
  make(v6wp_config(true, false), v6wp_config(false, false));
  open_tcp();
  const auto seg = client_tcp(1300);
  const std::vector<uint8_t> error = error_at_r2(kBeyond, kIcmp6PacketTooBig, 0, 1280, restored_at_r2(seg));
  const Frame carrier = r2->send_one(kLan, error);
  ASSERT_EQ(carrier.port, kWan);
  EXPECT_EQ(get16(carrier.raw.data() + 12), kEtherTypeIpv4) << "IPv4 waypoints";
  const Frame f = r1->send_one(kWan, carrier.raw);
  expect_to_client(f);
  expect_relayed(f, seg, ip6(kBeyond), ip6(kV6Client), kIcmp6PacketTooBig, 0, 1280, 20);
}

// The server's port is closed: Destination Unreachable (port) from the server itself.
TEST_F(Svr6IcmpError, DestinationUnreachableFromTheServerReachesTheClient) {
  const auto dns = client_frame(Pkt6().ipv6(kV6Client, kV6Server, 64).udp(5354, 53).payload("query"));
  const Frame f = through(error_at_r2(kV6Server, kIcmp6DestUnreachable, 4, 0, restored_at_r2(dns)));
  expect_to_client(f);
  expect_relayed(f, dns, ip6(kV6Server), ip6(kV6Client), kIcmp6DestUnreachable, 4, 0, 8);
  EXPECT_EQ(r1->count(Counter::svr6_icmp6_errors_relayed), 1u);
}

// The other way: the client's host is gone, r1's LAN says so about the server's segment; the
// server hears it through r2.
TEST_F(Svr6IcmpError, AnErrorAtTheIngressLanReachesTheServer) {
  open_tcp();
  const auto seg = server_frame(Pkt6().ipv6(kV6Server, kV6Client, 64).tcp(80, 40000, 0x18).payload("reply"));
  const Frame lan = via_wan(*r2, *r1, seg);
  ASSERT_EQ(lan.port, kLan);
  std::vector<uint8_t> h = {kIcmp6DestUnreachable, 3, 0, 0, 0, 0, 0, 0};
  const auto error = client_frame(Pkt6().ipv6("2001:db8:71::fe", kV6Server, 64).l4(kProtoIcmpv6, h).payload(datagram_of(lan.raw)));
  const Frame carrier = r1->send_one(kLan, error);
  ASSERT_EQ(carrier.port, kWan) << r1->drops();
  const Frame f = r2->send_one(kWan, carrier.raw);
  EXPECT_EQ(f.port, kLan);
  EXPECT_EQ(std::memcmp(f.raw.data(), kV6ServerMac.data(), 6), 0) << "to the server's MAC";
  expect_relayed(f, seg, ip6("2001:db8:71::fe"), ip6(kV6Server), kIcmp6DestUnreachable, 3, 0, 20);
}

// r2's own LAN is smaller than the segment restored: r2's Packet Too Big (from its address on the
// server's link, r2's LAN MTU) reaches the client through the session.
TEST_F(Svr6IcmpError, RestoredAboveTheEgressLanMtuIsAnsweredThroughTheSession) {
  config::Config c2 = v6wp_config(false);
  c2.mutable_router()->mutable_lan()->set_mtu(1400);
  make(v6wp_config(true), c2);
  open_tcp();
  const auto big = client_tcp(1440);
  const Frame carrier = via_wan(*r1, *r2, big);
  ASSERT_EQ(carrier.port, kWan) << "the error goes back, the segment nowhere";
  EXPECT_EQ(r2->drop_count(DropReason::svr6_too_big), 1u);
  EXPECT_EQ(r2->count(Counter::svr6_icmp6_errors_carried), 1u);
  const Frame f = r1->send_one(kWan, carrier.raw);
  expect_to_client(f);
  expect_relayed(f, big, ip6(kR2Lan6), ip6(kV6Client), kIcmp6PacketTooBig, 0, 1400, 20);
}

// The carrier's HMAC covers the location and the error: a byte changed on the WAN and r1 drops
// it (bad_hmac), nothing reaches the client.
TEST_F(Svr6IcmpError, AForgedCarrierIsDroppedAndNeverEmitted) {
  open_tcp();
  const auto seg = client_tcp(1300);
  const std::vector<uint8_t> error = error_at_r2(kBeyond, kIcmp6PacketTooBig, 0, 1300, restored_at_r2(seg));
  const Frame carrier = r2->send_one(kLan, error);
  ASSERT_EQ(carrier.port, kWan);
  const Ipv6 beyond = ip6(kBeyond);
  uint8_t loc[16];
  store_ipv6(loc, beyond);
  const auto at = std::search(carrier.raw.begin(), carrier.raw.end(), loc, loc + 16);
  ASSERT_NE(at, carrier.raw.end()) << "TLV 21 holds the location";
  std::vector<uint8_t> forged = carrier.raw;
  forged[static_cast<size_t>(at - carrier.raw.begin()) + 15] ^= 0x01;  // another location
  EXPECT_TRUE(r1->send(kWan, forged).empty());
  std::vector<uint8_t> mtu_changed = carrier.raw;
  // Byte 6 of the carried error (its MTU): the error, its 60 bytes of quote and the HMAC end the frame.
  mtu_changed[mtu_changed.size() - 16 - 60 - 8 + 6] ^= 0x04;
  EXPECT_TRUE(r1->send(kWan, mtu_changed).empty());
  EXPECT_EQ(r1->drop_count(DropReason::bad_hmac), 2u);
  EXPECT_EQ(r1->count(Counter::svr6_icmp6_errors_relayed), 0u);
  // The genuine one still passes.
  expect_relayed(r1->send_one(kWan, carrier.raw), seg, beyond, ip6(kV6Client), kIcmp6PacketTooBig, 0, 1300, 20);
}

// A carrier signed with the pair key (a peer that builds them wrongly) is still checked: what it
// carries must be an ICMPv6 error quoting a packet r1's client sent in that session, from a
// unicast location (svr6_icmp6_error_invalid); nothing reaches the client.
TEST_F(Svr6IcmpError, ASignedCarrierThatIsNotAnErrorAboutTheSessionIsRefused) {
  make(v6wp_config(true, false), v6wp_config(false, false));  // IPv4 waypoints: resign() edits IPv4 frames
  open_tcp();
  const auto seg = client_tcp(1300);
  const Frame carrier = r2->send_one(kLan, error_at_r2(kBeyond, kIcmp6PacketTooBig, 0, 1300, restored_at_r2(seg)));
  ASSERT_EQ(carrier.port, kWan);
  const size_t msg = carrier.raw.size() - 16 - 68;  // the carried error: 8 bytes, 40 of IPv6 header, 20 of TCP
  EXPECT_TRUE(r1->send(kWan, edited_and_signed(carrier, msg + 8 + 40 + 3, 81)).empty()) << "quotes destination port 81";
  EXPECT_TRUE(r1->send(kWan, edited_and_signed(carrier, msg, kIcmp6EchoRequest)).empty()) << "not an error";
  const Ipv6 beyond = ip6(kBeyond);
  uint8_t loc[16];
  store_ipv6(loc, beyond);
  const auto at = std::search(carrier.raw.begin(), carrier.raw.end(), loc, loc + 16);
  ASSERT_NE(at, carrier.raw.end());
  EXPECT_TRUE(r1->send(kWan, edited_and_signed(carrier, static_cast<size_t>(at - carrier.raw.begin()), 0xff)).empty())
      << "a multicast location";
  EXPECT_EQ(r1->drop_count(DropReason::svr6_icmp6_error_invalid), 3u) << r1->drops();
  EXPECT_EQ(r1->drop_count(DropReason::bad_hmac), 0u) << "signed";
  EXPECT_EQ(r1->count(Counter::svr6_icmp6_errors_relayed), 0u);
  expect_relayed(r1->send_one(kWan, carrier.raw), seg, beyond, ip6(kV6Client), kIcmp6PacketTooBig, 0, 1300, 20);
}

// RFC 4443 § 2.4 (f) at both routers: the egress carries at most kIcmpErrorRateBurst at once
// (the rest dropped as svr6_icmp6_not_carried), the ingress relays at the same rate.
TEST_F(Svr6IcmpError, CarryingAndRelayingAreRateLimited) {
  open_tcp();
  const std::vector<uint8_t> error =
      error_at_r2(kBeyond, kIcmp6PacketTooBig, 0, 1300, restored_at_r2(client_tcp(1300)));
  expect_error_rates(*r1, *r2, error, Counter::svr6_icmp6_rate_limited, DropReason::svr6_icmp6_not_carried);
}

}  // namespace
}  // namespace wp
