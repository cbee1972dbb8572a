// ICMPv4 errors through IPv4 SVR sessions (issue #19/#17; dataplane/svr/svr_icmp4.h,
// docs/svr-wire-format.md § ICMP errors through the session, TLV 20): an error that reaches
// the egress router's LAN about a packet of the session (a router beyond it: Fragmentation
// Needed; the server: Port Unreachable; or the egress's own Fragmentation Needed for a
// restored DF segment above its LAN MTU) is carried to the ingress router in a signed
// metadata packet of the session and reaches the client from the address that generated
// it, quoting the client's own packet (IPv4 header + 8 bytes), checksums valid. Forged
// carriers dropped (bad_hmac), signed ones about another packet or from a non-unicast
// location refused (svr_icmp4_error_invalid); rate limited at both routers. Real workers of
// r1 and r2 (svr_harness.h); the IPv6 twin is svr6_icmp_error_test.cc.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/ip/icmp.h"
#include "tests/unit/icmp4_error_check.h"
#include "tests/unit/icmp_error_rate_check.h"
#include "tests/unit/svr_harness.h"
#include "tests/unit/svr_pair_steps.h"

namespace wp {
namespace {

using namespace test;

const Ipv4 kBeyond = ip("10.2.0.254");  // a router on r2's LAN, on the way to the server
const Ipv4 kR2Lan = ip("10.2.0.1");
constexpr uint16_t kClientPort = 40000;

// r1 (branch) or r2 (headend): web (TCP 80) and dns (UDP 53) on the server's subnet.
config::Config pair_config(bool r1) {
  config::Config c = router_base(r1 ? "r1" : "r2", r1 ? "10.1.0.1/24" : "10.2.0.1/24",
                                 {{"wan0", r1 ? "172.16.0.1/24" : "172.16.0.2/24"}});
  add_tenant(c, "branch", "10.1.0.0/25");
  add_web_and_dns(c, r1, "10.2.0.0/24", "branch");
  add_peer(c, r1 ? "r2" : "r1", {r1 ? "172.16.0.2" : "172.16.0.1"}, kKey12);
  return c;
}

class SvrIcmpError : public ::testing::Test {
 protected:
  void SetUp() override { make(pair_config(false)); }
  void make(const config::Config& c2) {
    r1 = std::make_unique<Router>(pair_config(true));
    r2 = std::make_unique<Router>(c2);
    r1->neighbor(kLan, kClient, kClientMac);
    r1->neighbor(kWan, kR2Wan, kR2Mac);
    r2->neighbor(kLan, kServer, kServerMac);
    r2->neighbor(kWan, kR1Wan, kR1Mac);
  }
  static std::vector<uint8_t> client_tcp(uint8_t flags, size_t data = 0) {
    return Pkt()
        .eth(kR1Mac, kClientMac)
        .ipv4(kClient, kServer)
        .frag(0x4000)
        .tcp(kClientPort, 80, flags, 7000, 1)
        .payload(std::string(data, 'd'))
        .bytes();
  }
  // SYN and SYN-ACK through both routers.
  void open_tcp() {
    via_wan(*r1, *r2, client_tcp(0x02));
    const auto synack = Pkt().eth(kR2Mac, kServerMac).ipv4(kServer, kClient).tcp(80, kClientPort, 0x12, 9000, 7001);
    via_wan(*r2, *r1, synack.bytes());
  }
  // What r2 put on its LAN for the client's `sent`.
  Frame restored_at_r2(const std::vector<uint8_t>& sent) {
    const Frame lan = via_wan(*r1, *r2, sent);
    EXPECT_EQ(lan.port, kLan);
    return lan;
  }
  // An ICMPv4 error from `from` to the client about `restored` (r2's LAN frame), as it reaches r2's LAN port.
  static std::vector<uint8_t> error_at_r2(Ipv4 from, uint8_t type, uint8_t code, uint32_t rest, const Frame& restored) {
    return icmp4_error_frame(kR2Mac, kServerMac, from, kClient, type, code, rest, restored);
  }
  // The TCP session opened, then r2's carrier (on its WAN) of a far router's Fragmentation
  // Needed (MTU 1280) about the client's segment `seg`.
  Frame frag_needed_carrier() {
    open_tcp();
    const Frame c =
        r2->send_one(kLan, error_at_r2(kBeyond, kIcmpDestUnreachable, kIcmpCodeFragNeeded, 1280, restored_at_r2(seg)));
    EXPECT_EQ(c.port, kWan);
    return c;
  }
  // Where TLV 20's value (kBeyond) sits in `f`.
  static size_t location_in(const Frame& f) {
    uint8_t loc[4];
    put32(loc, kBeyond);
    return static_cast<size_t>(std::search(f.raw.begin(), f.raw.end(), loc, loc + 4) - f.raw.begin());
  }
  // `error` into r2's LAN: one carrier on r2's WAN, which r1 turns into one frame on its LAN.
  Frame through(const std::vector<uint8_t>& error) { return via_wan(*r2, *r1, error); }
  static void expect_to_client(const Frame& f, const std::vector<uint8_t>& sent, Ipv4 from, uint8_t type, uint8_t code,
                               uint32_t rest) {
    expect_icmp4_to_client(f, sent, from, type, code, rest);
  }

  const std::vector<uint8_t> seg = client_tcp(0x18, 1300);  // a full segment of the client's
  std::unique_ptr<Router> r1, r2;
};

// A router past r2 says the client's DF segment is too big: the client hears it from that
// router, about its own segment, MTU as said; the session goes on.
TEST_F(SvrIcmpError, FragNeededFromBeyondTheEgressReachesTheClient) {
  open_tcp();
  const Frame f = through(error_at_r2(kBeyond, kIcmpDestUnreachable, kIcmpCodeFragNeeded, 1280, restored_at_r2(seg)));
  expect_to_client(f, seg, kBeyond, kIcmpDestUnreachable, kIcmpCodeFragNeeded, 1280);
  EXPECT_EQ(r2->count(Counter::svr_icmp4_errors_carried), 1u);
  EXPECT_EQ(r1->count(Counter::svr_icmp4_errors_relayed), 1u);
  EXPECT_EQ(r1->total_drops(), 0u) << r1->drops();
  EXPECT_EQ(r2->total_drops(), 0u) << r2->drops();
  const auto next = client_tcp(0x10, 100);
  EXPECT_EQ(restored_at_r2(next).payload().size(), 100u);
}

// The server's port is closed: Port Unreachable from the server itself.
TEST_F(SvrIcmpError, PortUnreachableFromTheServerReachesTheClient) {
  const auto dns = Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kServer).udp(5354, 53).payload("query").bytes();
  const Frame f = through(error_at_r2(kServer, kIcmpDestUnreachable, 3, 0, restored_at_r2(dns)));
  expect_to_client(f, dns, kServer, kIcmpDestUnreachable, 3, 0);
  EXPECT_EQ(r1->count(Counter::svr_icmp4_errors_relayed), 1u);
}

// r2's own LAN is smaller than the client's DF segment: r2's Fragmentation Needed (from its
// address on the server's link, its LAN MTU) reaches the client through the session.
TEST_F(SvrIcmpError, RestoredAboveTheEgressLanMtuIsAnsweredThroughTheSession) {
  config::Config c2 = pair_config(false);
  c2.mutable_router()->mutable_lan()->set_mtu(1400);
  make(c2);
  open_tcp();
  const auto big = client_tcp(0x18, 1380);  // 1420 bytes: fits r1's WAN leg sealed, not r2's LAN
  const Frame carrier = via_wan(*r1, *r2, big);
  ASSERT_EQ(carrier.port, kWan) << "the error goes back, the segment nowhere";
  EXPECT_EQ(r2->drop_count(DropReason::mtu_exceeded), 1u);
  EXPECT_EQ(r2->count(Counter::svr_icmp4_frag_needed), 1u);
  EXPECT_TRUE(hmac_ok(carrier, kKey12));
  expect_to_client(r1->send_one(kWan, carrier.raw), big, kR2Lan, kIcmpDestUnreachable, kIcmpCodeFragNeeded, 1400);
}

// The carrier's HMAC covers the location and the error: a byte changed on the WAN and r1
// drops it (bad_hmac), nothing reaches the client; no session data crosses in it.
TEST_F(SvrIcmpError, AForgedCarrierIsDroppedAndNeverEmitted) {
  const Frame carrier = frag_needed_carrier();
  EXPECT_FALSE(contains(carrier, std::string(16, 'd'))) << "the segment's data stays out";
  const size_t at = location_in(carrier);
  ASSERT_LT(at, carrier.raw.size()) << "TLV 20 holds the location";
  std::vector<uint8_t> forged = carrier.raw;
  forged[at + 3] ^= 0x01;  // another location
  EXPECT_TRUE(r1->send(kWan, forged).empty());
  std::vector<uint8_t> mtu_changed = carrier.raw;
  // Byte 7 of the carried error (its MTU): the error, its 28 bytes of quote and the HMAC end the frame.
  mtu_changed[mtu_changed.size() - 16 - 28 - 8 + 7] ^= 0x40;
  EXPECT_TRUE(r1->send(kWan, mtu_changed).empty());
  EXPECT_EQ(r1->drop_count(DropReason::bad_hmac), 2u);
  EXPECT_EQ(r1->count(Counter::svr_icmp4_errors_relayed), 0u);
  expect_to_client(r1->send_one(kWan, carrier.raw), seg, kBeyond, kIcmpDestUnreachable, kIcmpCodeFragNeeded, 1280);
}

// A carrier signed with the pair key (a peer that builds them wrongly) is still checked: it
// must be an ICMPv4 error quoting a packet r1's client sent in that session, from a unicast
// location (svr_icmp4_error_invalid); nothing reaches the client.
TEST_F(SvrIcmpError, ASignedCarrierThatIsNotAnErrorAboutTheSessionIsRefused) {
  const Frame carrier = frag_needed_carrier();
  const size_t msg = carrier.raw.size() - 16 - 36;  // the carried error: 8 bytes, 20 of IPv4 header, 8 of TCP
  EXPECT_TRUE(r1->send(kWan, edited_and_signed(carrier, msg + 8 + 20 + 3, 81)).empty()) << "quotes destination port 81";
  EXPECT_TRUE(r1->send(kWan, edited_and_signed(carrier, msg, kIcmpEchoRequest)).empty()) << "not an error";
  const size_t at = location_in(carrier);
  ASSERT_LT(at, carrier.raw.size());
  EXPECT_TRUE(r1->send(kWan, edited_and_signed(carrier, at, 239)).empty()) << "a multicast location";
  EXPECT_EQ(r1->drop_count(DropReason::svr_icmp4_error_invalid), 3u) << r1->drops();
  EXPECT_EQ(r1->drop_count(DropReason::bad_hmac), 0u) << "signed";
  EXPECT_EQ(r1->count(Counter::svr_icmp4_errors_relayed), 0u);
  expect_to_client(r1->send_one(kWan, carrier.raw), seg, kBeyond, kIcmpDestUnreachable, kIcmpCodeFragNeeded, 1280);
}

// An error about no session's packet, or not addressed to the quoted packet's source, is
// dropped at r2 (no_session), never carried.
TEST_F(SvrIcmpError, AnErrorAboutAnotherPacketIsNotCarried) {
  open_tcp();
  Frame restored = restored_at_r2(client_tcp(0x18, 100));
  put16(restored.raw.data() + 14 + 20, 40999);  // another client port
  EXPECT_TRUE(r2->send(kLan, error_at_r2(kBeyond, kIcmpDestUnreachable, 1, 0, restored)).empty());
  EXPECT_EQ(r2->drop_count(DropReason::no_session), 1u) << r2->drops();
  EXPECT_EQ(r2->count(Counter::svr_icmp4_errors_carried), 0u);
}

// RFC 1812 § 4.3.2.8 at both routers: the egress carries at most kIcmpErrorRateBurst at once
// (the rest dropped as svr_icmp4_not_carried), the ingress relays at the same rate.
TEST_F(SvrIcmpError, CarryingAndRelayingAreRateLimited) {
  open_tcp();
  const std::vector<uint8_t> error =
      error_at_r2(kBeyond, kIcmpDestUnreachable, kIcmpCodeFragNeeded, 1280, restored_at_r2(seg));
  expect_error_rates(*r1, *r2, error, Counter::svr_icmp4_rate_limited, DropReason::svr_icmp4_not_carried);
}

}  // namespace
}  // namespace wp
