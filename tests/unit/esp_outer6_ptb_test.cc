// ICMPv6 Packet Too Big about our ESP over IPv6 (docs/ipsec.md § IPv6 outer addresses;
// ipsec/esp_ptb.h, ipsec/esp_path_mtu.h): a real worker hands a PTB to r2's WAN IPv6 address
// to the control thread, which checks what it quotes against the outbound SA and lowers the
// tunnel's outer path MTU; the next inner packet that no longer fits gets what one above
// tunnels[].mtu gets (DF: ICMP "fragmentation needed" with the MTU left to the LAN sender,
// esp_too_big). Forged ones (another SPI, another peer, another source of ours, IKE's SPI 0,
// to the LAN) change nothing and are counted; an MTU under 1280 counts as 1280 (RFC 8200 § 5);
// a higher one never raises the MTU; after 10 minutes the configured MTU holds again (RFC 8201).
#include <gtest/gtest.h>

#include "tests/unit/esp_ptb_rig.h"

namespace wp {
namespace {

using namespace test;

// GCM, UDP 4500, IPv6: 40 + 8 + 8 (SPI, sequence) + 8 (IV) + 2 + 16 (ICV) around the inner
// packet, padded to 4 bytes with the trailer: 1300 bytes leave 1218 inner ones.
constexpr uint16_t kInnerOf1300 = 1218;

// The rig (esp_ptb_rig.h) with IPv6 outer addresses.
struct Ptb6Rig : PtbRig {
  explicit Ptb6Rig(const config::Config& c = headend_outer6_config()) : PtbRig(true, c) {}
};

TEST(EspOuter6Ptb, PtbQuotingOurEspLowersTheTunnelMtuAndTheNextBigPacketGetsFragNeeded) {
  Ptb6Rig rig;
  const Frame first = rig.sealed(rig.big(1300));  // fits the tunnel's 1400: sealed, 1382 bytes
  EXPECT_EQ(rig.path_mtu(), 0);
  rig.deliver(rig.ptb(first, 1300));
  EXPECT_EQ(rig.taken(), 1u);
  EXPECT_EQ(rig.refused(), 0u);
  EXPECT_EQ(rig.path_mtu(), 1300);
  EXPECT_EQ(rig.r->shared().esp_path_mtu.limit(kTunnel, 1400), kInnerOf1300);
  // The LAN sender learns the inner MTU the path leaves; sealed, what fits fits the path.
  rig.expect_inner_mtu(1300, kInnerOf1300);
}

TEST(EspOuter6Ptb, ForgedPtbsChangeNothingAndAreCounted) {
  config::Config c = headend_outer6_config();
  c.mutable_router()->mutable_lan()->add_ipv6_addresses("2001:db8:2::1/64");
  Ptb6Rig rig(c);
  const Frame first = rig.sealed(rig.big(1300));
  auto edited = [&](size_t at, uint8_t x) {  // `first` with one byte of its IPv6 packet changed
    Frame f = first;
    f.raw[14 + at] ^= x;
    return f;
  };
  rig.deliver(rig.ptb(edited(40 + 8, 0x01), 1280));   // another SPI
  rig.deliver(rig.ptb(edited(24 + 15, 0x01), 1280));  // to another peer than the SA's
  rig.deliver(rig.ptb(edited(8 + 15, 0x01), 1280));   // from another source than the SA's (and the PTB's)
  rig.deliver(rig.ptb(edited(42, 0x01), 1280));       // to another UDP port than the SA's peer's
  Frame cut = first;
  cut.raw.resize(14 + 40 + 8 + 2);  // the SPI cut off
  rig.deliver(rig.ptb(cut, 1280));
  EXPECT_EQ(rig.refused(), 5u);
  // To r2's LAN address, on the LAN: not a WAN's, refused however well it quotes.
  Bytes lan = rig.ptb(first, 1280, *parse_ipv6("2001:db8:2::1"));
  std::memcpy(lan.data(), rig.r->model().interfaces[kLan].mac, 6);
  rig.deliver(lan, kLan);
  EXPECT_EQ(rig.refused(), 6u);
  EXPECT_EQ(rig.taken(), 0u);
  EXPECT_EQ(rig.path_mtu(), 0);
  // IKE's own datagrams on 4500 (SPI 0, the non-ESP marker) are not ESP: not judged here.
  Frame ike = first;
  std::memset(ike.raw.data() + 14 + 48, 0, 4);
  rig.deliver(rig.ptb(ike, 1280));
  EXPECT_EQ(rig.refused(), 6u);
  EXPECT_EQ(rig.path_mtu(), 0);
  EXPECT_EQ(rig.sealed(rig.big(1300)).port, kWan) << "the tunnel still takes 1300";
}

TEST(EspOuter6Ptb, AnMtuBelow1280CountsAs1280AndAHigherOneNeverRaisesIt) {
  Ptb6Rig rig;
  const Frame first = rig.sealed(rig.big(1300));
  rig.deliver(rig.ptb(first, 1000));
  EXPECT_EQ(rig.taken(), 1u);
  EXPECT_EQ(rig.path_mtu(), 1280);
  EXPECT_EQ(rig.frag_needed_mtu(1250), 1198) << "1280 less 82, padded";
  rig.deliver(rig.ptb(first, 1400));
  EXPECT_EQ(rig.taken(), 2u);
  EXPECT_EQ(rig.path_mtu(), 1280) << "a PTB never raises it (RFC 8201 § 4)";
  // IPv6 inside is never told less than 1280 (RFC 8200 § 5).
  EXPECT_EQ(rig.r->shared().esp_path_mtu.limit(kTunnel, 1400, kIpv6MinMtu), 1280);
}

TEST(EspOuter6Ptb, TheLearnedMtuAgesBackToTheConfiguredOneAfterTenMinutes) {
  Ptb6Rig rig;
  const Frame first = rig.sealed(rig.big(1300));
  rig.deliver(rig.ptb(first, 1300));
  ASSERT_EQ(rig.path_mtu(), 1300);
  rig.expect_ages_back();
}

// A commit keeps what was learned unless it renumbers the tunnels (their names by index).
TEST(EspOuter6Ptb, ACommitKeepsTheLearnedMtuUnlessItRenumbersTheTunnels) {
  Ptb6Rig rig;
  const Frame first = rig.sealed(rig.big(1300));
  rig.deliver(rig.ptb(first, 1300));
  ASSERT_EQ(rig.path_mtu(), 1300);
  config::Config c = headend_outer6_config();
  c.mutable_tunnels(0)->set_mtu(1390);  // a change beside the tunnels' names
  rig.r->commit(c);
  rig.control.poll_once(rig.now);
  EXPECT_EQ(rig.path_mtu(), 1300) << "the same tunnels";
  c.mutable_tunnels(0)->set_name("ipsec9");
  c.mutable_routes(0)->set_interface("ipsec9");
  rig.r->commit(c);
  rig.control.poll_once(rig.now);
  EXPECT_EQ(rig.path_mtu(), 0) << "tunnel 0 is another one now";
}

// A flood of PTBs is metered in its own bucket (rate_limit.h, shared with ICMPv4 Fragmentation
// Needed), not Neighbor Discovery's: NS/NA keep their 1000/s whatever the PTBs do.
TEST(EspOuter6Ptb, AFloodIsMeteredApartFromNeighborDiscovery) {
  Ptb6Rig rig;
  Frame forged = rig.sealed(rig.big(1300));
  forged.raw[14 + 48] ^= 0x01;  // another SPI
  const Bytes f = rig.ptb(forged, 1280);
  constexpr uint32_t kFlood = 96;
  for (uint32_t i = 0; i < kFlood; ++i) EXPECT_TRUE(rig.r->send(kWan, f).empty());
  for (uint32_t i = 0; i < kFlood / 16; ++i) rig.control.poll_once(rig.now);
  const uint64_t limited = rig.r->drop_count(DropReason::icmp_path_mtu_rate_limited);
  EXPECT_EQ(rig.refused() + limited, kFlood);
  EXPECT_GE(limited, kFlood - PathMtuErrorMeter::kBurst - 16) << "at most 160 ms of refill";
  EXPECT_EQ(rig.r->drop_count(DropReason::nd_rate_limited), 0u);
}

TEST(EspOuter6Ptb, InnerMtuOfEachSuite) {
  EspSa sa;
  sa.outer6 = true;
  sa.udp_encap = true;
  sa.keys.cipher = EspCipher::aes256_gcm16;
  EXPECT_EQ(esp_inner_mtu(sa, 1300), kInnerOf1300);
  sa.udp_encap = false;
  EXPECT_EQ(esp_inner_mtu(sa, 1300), 1226) << "no UDP header";
  sa.keys.cipher = EspCipher::aes256_cbc_hmac_sha256;
  // CBC pads to 16 bytes: the largest inner packet whose ESP packet fits, one more does not.
  const uint16_t cbc = esp_inner_mtu(sa, 1300);
  EXPECT_LE(40 + esp_packet_len(sa.keys.cipher, cbc), 1300u);
  EXPECT_GT(40 + esp_packet_len(sa.keys.cipher, cbc + 1u), 1300u);
}

}  // namespace
}  // namespace wp
