// ICMPv4 errors through an IPv4 SVR session whose side at one router is a
// legacy site's IPsec tunnel (docs/ipsec.md § ESP in the worker loop;
// docs/svr-wire-format.md § ICMP errors through the session), through real workers
// of two routers, frames carried between them by the test:
//
//   site host 10.50.0.7 =ESP= [r2 headend] 172.16.0.2 ==WAN== 172.16.0.1 [r1] - server 10.1.0.10
//
// An error about the site host's packet that reaches r1's LAN (a router past
// r1 says Fragmentation Needed) travels back in the session (TLV 20) and r2
// seals it into the tunnel with the tunnel's outbound Child SA, as the
// session's own packets that way: the site opens an error from the location
// to its host, quoting the host's packet with the host's own addresses. With
// no outbound SA it is esp_no_sa, as the session's packets are. r2's own
// Fragmentation Needed for a restored DF segment above the tunnel's MTU goes
// back in the session to the server; for the site host's DF segment too big
// for the WAN once sealed, into the tunnel to the host (from r2's address on
// the tunnel, tunnels[].address).
#include <gtest/gtest.h>

#include <cstring>

#include "dataplane/crypto/session_data.h"
#include "dataplane/ip/icmp.h"
#include "dataplane/svr/fragments.h"
#include "tests/unit/esp_site.h"
#include "tests/unit/icmp4_error_check.h"

namespace wp {
namespace {

using namespace test;

const Ipv4 kFarServer = ip("10.1.0.10");  // on r1's LAN
const Ipv4 kBeyond = ip("10.1.0.254");    // a router on r1's LAN, on the way to the server
constexpr Mac kFarServerMac = {2, 0, 0, 0, 0x71, 0x10};
constexpr uint16_t kSitePort = 40000;

// r2, the headend of esp_site.h: the tunnel's tenant (branch) may reach far behind r1 over SVR,
// with `security` (enc: encrypted, HMAC on every packet).
config::Config headend_svr_config(const char* security) {
  config::Config c = headend_config();
  add_security(c, "enc", "aes256-cbc", "every-packet", false);
  add_service(c, {"far", "10.1.0.10/32", "tcp", "80", "r1"});
  add_service(c, {"farudp", "10.1.0.10/32", "udp", "5353", "r1"});
  add_policy(c, "branch", "far", security);
  add_policy(c, "branch", "farudp", security);
  add_peer(c, "r1", {"172.16.0.1"}, kKey12);
  return c;
}

// r1: far on its LAN, for the tenant named branch (as r2's metadata says).
config::Config far_config(const char* security) {
  config::Config c = router_base("r1", "10.1.0.1/24", {{"wan0", "172.16.0.1/24"}});
  c.add_tenants()->set_name("branch");
  add_security(c, "enc", "aes256-cbc", "every-packet", false);
  add_service(c, {"far", "10.1.0.10/32", "tcp", "80", ""});
  add_service(c, {"farudp", "10.1.0.10/32", "udp", "5353", ""});
  add_policy(c, "branch", "far", security);
  add_policy(c, "branch", "farudp", security);
  add_peer(c, "r2", {"172.16.0.2"}, kKey12);
  return c;
}

struct TwoRouters {
  Tunnel tu;
  std::unique_ptr<Router> r2, r1;
  explicit TwoRouters(const char* security = "")
      : r2(make_router(tu, headend_svr_config(security), RouterOptions().with_key_slots(64))),
        r1(std::make_unique<Router>(far_config(security), RouterOptions().with_key_slots(64))) {
    r2->neighbor(kWan, kR1Wan, kR1Mac);
    r1->neighbor(kWan, kR2Wan, kR2Mac);
    r1->neighbor(kLan, kFarServer, kFarServerMac);
  }
  // The site host's TCP segment (DF) to the server, as the site sends it (a frame, sealed later).
  static Bytes site_tcp(uint8_t flags, size_t data = 0) {
    return Pkt()
        .ipv4(kSiteHost, kFarServer)
        .frag(0x4000)
        .tcp(kSitePort, 80, flags, 7000, 1)
        .payload(std::string(data, 'd'))
        .bytes();
  }
  // `sent` sealed by the site, over SVR from r2 to r1: what r1 put on its LAN.
  Frame restored_at_r1(const Bytes& sent) {
    const Frame w = r2->send_one(kWan, tu.seal(sent));
    EXPECT_EQ(w.dst(), kR1Wan) << r2->drops();
    const Frame lan = r1->send_one(kWan, w.raw);
    EXPECT_EQ(lan.port, kLan) << r1->drops();
    return lan;
  }
  // SYN and SYN-ACK through both routers and the tunnel.
  void open_tcp() {
    restored_at_r1(site_tcp(kTcpSyn));
    const Bytes synack =
        Pkt().eth(kR1Mac, kFarServerMac).ipv4(kFarServer, kSiteHost).tcp(80, kSitePort, 0x12, 9000, 7001).bytes();
    const Frame w = r1->send_one(kLan, synack);
    ASSERT_EQ(w.port, kWan) << r1->drops();
    ASSERT_FALSE(tu.open(r2->send_one(kWan, w.raw)).empty()) << r2->drops();
  }
  // `error` into r1's LAN: r1's carrier (on its WAN), then whatever r2 sends for it.
  std::vector<Frame> through(const Bytes& error) {
    const Frame carrier = r1->send_one(kLan, error);
    EXPECT_EQ(carrier.port, kWan) << r1->drops();
    return r2->send(kWan, carrier.raw);
  }
};

// `inner` (an IPv4 packet) is an ICMPv4 error `type`/`code` (bytes 4-7 `rest`) from `from` to
// `to`, checksums valid, quoting the IPv4 header of `to`'s `sent` (a frame: its addresses,
// protocol, length) and its first 8 bytes of L4 header only.
void expect_icmp4_error(const Bytes& inner, const Bytes& sent, Ipv4 from, Ipv4 to, uint8_t type, uint8_t code,
                        uint32_t rest) {
  ASSERT_GE(inner.size(), 20u);
  EXPECT_EQ(inner[0], 0x45);
  EXPECT_EQ(ones_fold(ones_sum(inner.data(), 20)), 0xffff) << "header checksum";
  EXPECT_EQ(get32(inner.data() + 12), from);
  EXPECT_EQ(get32(inner.data() + 16), to);
  ASSERT_EQ(inner[9], Pkt::kIcmp);
  expect_icmp4_quote(inner.data() + 20, inner.size() - 20, sent.data() + 14, type, code, rest);
}

// A router past r1 says the site host's DF segment is too big: r2 seals the error into the
// tunnel, and the site opens it as from that router to its host, about the host's segment.
TEST(EspSvrIcmpError, FragNeededFromBeyondTheFarRouterIsSealedIntoTheTunnel) {
  TwoRouters n;
  n.open_tcp();
  const Bytes seg = TwoRouters::site_tcp(0x18, 1300);
  const Bytes error = icmp4_error_frame(kR1Mac, kFarServerMac, kBeyond, kSiteHost, kIcmpDestUnreachable,
                                        kIcmpCodeFragNeeded, 1280, n.restored_at_r1(seg));
  const std::vector<Frame> out = n.through(error);
  ASSERT_EQ(out.size(), 1u) << n.r2->drops();
  EXPECT_EQ(out[0].port, kWan);
  EXPECT_EQ(out[0].dst(), kSite) << "ESP to the site";
  const Bytes inner = n.tu.open(out[0]);
  ASSERT_FALSE(inner.empty()) << "the site opens it with its Child SA";
  EXPECT_FALSE(n.tu.opened_ipv6);
  expect_icmp4_error(inner, seg, kBeyond, kSiteHost, kIcmpDestUnreachable, kIcmpCodeFragNeeded, 1280);
  EXPECT_EQ(n.r1->count(Counter::svr_icmp4_errors_carried), 1u);
  EXPECT_EQ(n.r2->count(Counter::svr_icmp4_errors_relayed), 1u);
  EXPECT_EQ(n.r2->drop_count(DropReason::svr_icmp_error_unsupported), 0u);
  EXPECT_EQ(tunnel_counter(*n.r2, &EspTunnelCounters::out_packets), 2u) << "the SYN-ACK and the error";
  EXPECT_EQ(n.r1->total_drops(), 0u) << n.r1->drops();
  EXPECT_EQ(n.r2->total_drops(), 0u) << n.r2->drops();
}

// The tunnel lost its outbound SA after the session opened: the error is dropped where the
// session's own packets would be (esp_no_sa, the tunnel's out_drops), relayed as far as r2.
TEST(EspSvrIcmpError, IntoATunnelWithoutOutboundSaIsEspNoSa) {
  TwoRouters n;
  n.open_tcp();
  const Bytes seg = TwoRouters::site_tcp(0x18, 1300);
  const Bytes error = icmp4_error_frame(kR1Mac, kFarServerMac, kBeyond, kSiteHost, kIcmpDestUnreachable,
                                        kIcmpCodeFragNeeded, 1280, n.restored_at_r1(seg));
  n.tu.headend->mutable_tunnel(kTunnel).out_sa = kEspNoSa;
  EXPECT_TRUE(n.through(error).empty());
  EXPECT_EQ(n.r2->count(Counter::svr_icmp4_errors_relayed), 1u);
  EXPECT_EQ(n.r2->drop_count(DropReason::esp_no_sa), 1u) << n.r2->drops();
  EXPECT_EQ(tunnel_counter(*n.r2, &EspTunnelCounters::out_drops), 1u);
}

// The server's DF segment, restored at r2, is above the tunnel's MTU (1400): r2's own
// Fragmentation Needed, from its address on the tunnel with the tunnel's MTU, goes back in the
// session and r1 sends it to the server; the segment goes nowhere (mtu_exceeded).
TEST(EspSvrIcmpError, RestoredAboveTheTunnelMtuIsAnsweredThroughTheSession) {
  TwoRouters n;
  n.open_tcp();
  const Bytes big = Pkt()
                        .eth(kR1Mac, kFarServerMac)
                        .ipv4(kFarServer, kSiteHost)
                        .frag(0x4000)
                        .tcp(80, kSitePort, 0x18, 9001, 7001)
                        .payload(std::string(1380, 'd'))
                        .bytes();  // 1420 bytes
  const Frame w = n.r1->send_one(kLan, big);
  ASSERT_EQ(w.port, kWan) << n.r1->drops();
  const Frame carrier = n.r2->send_one(kWan, w.raw);
  ASSERT_EQ(carrier.port, kWan) << n.r2->drops();
  EXPECT_EQ(carrier.dst(), kR1Wan) << "the error goes back in the session, the segment nowhere";
  EXPECT_EQ(n.r2->drop_count(DropReason::mtu_exceeded), 1u);
  EXPECT_EQ(n.r2->count(Counter::svr_icmp4_frag_needed), 1u);
  const Frame f = n.r1->send_one(kWan, carrier.raw);
  ASSERT_EQ(f.port, kLan) << n.r1->drops();
  EXPECT_EQ(std::memcmp(f.dst_mac(), kFarServerMac.data(), 6), 0) << "to the server's MAC";
  expect_icmp4_error(Bytes(f.raw.begin() + 14, f.raw.end()), big, ip("169.254.10.1"), kFarServer, kIcmpDestUnreachable,
                     kIcmpCodeFragNeeded, 1400);
  EXPECT_EQ(n.r1->count(Counter::svr_icmp4_errors_relayed), 1u);
}

// The server's DF datagram that is not TCP (no error through the session for it) above the
// tunnel's MTU is cut before sealing, as toward a port (frag_df_cleared). Before, into_tunnel
// asked the routes who sent it: a route into a tunnel sent the error to another host.
TEST(EspSvrIcmpError, ARestoredUdpDatagramAboveTheTunnelMtuIsFragmentedNotRefused) {
  TwoRouters n;
  n.restored_at_r1(Pkt().ipv4(kSiteHost, kFarServer).udp(kSitePort, 5353).payload("q").bytes());
  const Bytes big = Pkt()
                        .eth(kR1Mac, kFarServerMac)
                        .ipv4(kFarServer, kSiteHost)
                        .frag(0x4000)
                        .udp(5353, kSitePort)
                        .payload(std::string(1392, 'a'))
                        .bytes();  // 1420 bytes
  const Frame w = n.r1->send_one(kLan, big);
  ASSERT_EQ(w.port, kWan) << n.r1->drops();
  const std::vector<Frame> out = n.r2->send(kWan, w.raw);
  ASSERT_EQ(out.size(), 2u) << n.r2->drops();
  for (const Frame& f : out) EXPECT_EQ(f.dst(), kSite) << "two ESP packets into the tunnel";
  EXPECT_EQ(n.r2->count(Counter::frag_df_cleared), 1u);
  EXPECT_EQ(n.r2->count(Counter::icmp_frag_needed_sent), 0u);
  EXPECT_EQ(n.r2->total_drops(), 0u) << n.r2->drops();
  const Bytes first = n.tu.open(out[0]);
  ASSERT_GE(first.size(), 20u);
  EXPECT_EQ(get16(first.data() + 6) & 0x6000, 0x2000) << "more fragments, DF clear";
}

// The site host's DF segment does not fit r2's WAN leg once sealed (the session encrypts): r2's
// Fragmentation Needed, from its address on the tunnel, the WAN MTU less the sealing overhead,
// is sealed into the tunnel to the host; the segment goes nowhere (mtu_exceeded).
TEST(EspSvrIcmpError, TooBigForTheWanOnceSealedTellsTheSiteHostThroughTheTunnel) {
  TwoRouters n("enc");
  n.open_tcp();
  n.tu.site->mutable_tunnel(kTunnel).mtu = 1500;       // the site's own side of the tunnel
  const Bytes big = TwoRouters::site_tcp(0x18, 1440);  // 1480 bytes
  const std::vector<Frame> out = n.r2->send(kWan, n.tu.seal(big));
  ASSERT_EQ(out.size(), 1u) << n.r2->drops();
  EXPECT_EQ(out[0].dst(), kSite) << "back into the tunnel, nothing to r1";
  EXPECT_EQ(n.r2->drop_count(DropReason::mtu_exceeded), 1u);
  EXPECT_EQ(n.r2->count(Counter::icmp_frag_needed_sent), 1u);
  const Bytes inner = n.tu.open(out[0]);
  ASSERT_FALSE(inner.empty());
  expect_icmp4_error(inner, big, ip("169.254.10.1"), kSiteHost, kIcmpDestUnreachable, kIcmpCodeFragNeeded,
                     1500 - sealed_overhead(kCryptoEncrypt));
}

}  // namespace
}  // namespace wp
