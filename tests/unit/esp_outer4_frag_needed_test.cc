// ICMPv4 Fragmentation Needed about our ESP over IPv4
// (docs/ipsec.md § Fragmentation Needed on the outer path;
// ipsec/esp_ptb.h, ipsec/esp_path_mtu.h): our outer IPv4 header copies the inner
// DF (an inner IPv6 packet's is set above 1280 bytes), so a router on the path that cannot
// forward a DF one answers Fragmentation Needed; a real worker hands it to the control thread,
// which checks what it quotes against the outbound SA and lowers the tunnel's outer path MTU;
// the next inner packet that no longer fits gets what one above tunnels[].mtu gets (DF: ICMP
// "fragmentation needed" to the LAN sender; without DF: fragmented before ESP; TCP SYN: MSS
// clamp). Forged ones (another SPI, peer, source, port, cut short, bad checksum, on or to the
// LAN) change nothing and are counted; an MTU under 576 counts as 576; next-hop MTU 0 (RFC 1191
// § 5) takes the plateau below the quoted length; after 10 minutes the configured MTU holds
// again; a flood of them is metered in a bucket of its own.
#include <gtest/gtest.h>

#include "tests/unit/esp_ptb_rig.h"

namespace wp {
namespace {

using namespace test;

// GCM, UDP 4500, IPv4: 20 + 8 + 8 (SPI, sequence) + 8 (IV) + 2 + 16 (ICV) around the inner
// packet, padded to 4 bytes with the trailer: 1300 bytes leave 1238 inner ones, 576 leave 514.
constexpr uint16_t kInnerOf1300 = 1238;
constexpr uint16_t kInnerOf576 = 514;

struct Frag4Rig : PtbRig {
  explicit Frag4Rig(const config::Config& c = headend_config()) : PtbRig(false, c) {}
};

bool outer_df(const Frame& f) { return (f.raw[14 + 6] & 0x40) != 0; }

// RFC 4301 § 8.1 "copy": the outer header carries the inner IPv4 packet's DF; an inner IPv6
// packet's is set only above 1280 bytes (RFC 4213 § 3.2). The id differs packet to packet.
TEST(EspOuter4FragNeeded, TheOuterHeaderCopiesTheInnerDf) {
  Frag4Rig rig;
  const Frame df = rig.sealed(rig.big(1300, true));
  const Frame no_df = rig.sealed(rig.big(1300, false));
  EXPECT_TRUE(outer_df(df));
  EXPECT_FALSE(outer_df(no_df));
  EXPECT_EQ(get16(df.ip4() + 6), 0x4000) << "DF alone, no MF, offset 0";
  EXPECT_NE(get16(df.ip4() + 4), get16(no_df.ip4() + 4)) << "the ids differ";
  EXPECT_TRUE(ipv4_header_checksum_ok(df.ip4()));
  EXPECT_TRUE(ipv4_header_checksum_ok(no_df.ip4()));
  EXPECT_FALSE(rig.tu.open(df).empty());
  // Inner IPv6 (what the site seals the same way): DF above 1280 bytes only.
  for (const uint16_t len : {uint16_t{1280}, uint16_t{1281}}) {
    Bytes six(14 + len, 0);
    six[14] = 0x60;
    put16(six.data() + 14 + 4, static_cast<uint16_t>(len - 40));
    six[14 + 6] = 59;  // no next header
    six[14 + 7] = 64;
    Frame f;
    f.raw = rig.tu.seal(six);
    EXPECT_EQ(outer_df(f), len > 1280) << len;
  }
}

TEST(EspOuter4FragNeeded, FragNeededQuotingOurEspLowersTheTunnelMtuAndTheNextBigPacketGetsFragNeeded) {
  Frag4Rig rig;
  const Frame first = rig.sealed(rig.big(1300));  // fits the tunnel's 1400: sealed, 1364 bytes, DF
  ASSERT_TRUE(outer_df(first));
  EXPECT_EQ(rig.path_mtu(), 0);
  rig.deliver(rig.frag_needed(first, 1300));
  EXPECT_EQ(rig.taken(), 1u);
  EXPECT_EQ(rig.refused(), 0u);
  EXPECT_EQ(rig.path_mtu(), 1300);
  EXPECT_EQ(rig.r->shared().esp_path_mtu.limit(kTunnel, 1400), kInnerOf1300);
  // The LAN sender learns the inner MTU the path leaves; sealed, what fits fits the path.
  rig.expect_inner_mtu(1300, kInnerOf1300);
}

TEST(EspOuter4FragNeeded, ForgedOnesChangeNothingAndAreCounted) {
  Frag4Rig rig;
  const Frame first = rig.sealed(rig.big(1300));
  auto edited = [&](size_t at, uint8_t x) {  // `first` with one byte of its IPv4 datagram changed
    Frame f = first;
    f.raw[14 + at] ^= x;
    return f;
  };
  rig.deliver(rig.frag_needed(edited(20 + 8, 0x01), 1280));  // another SPI
  rig.deliver(rig.frag_needed(edited(19, 0x01), 1280));      // to another peer than the SA's
  rig.deliver(rig.frag_needed(edited(15, 0x01), 1280));      // from another source (not where it came)
  rig.deliver(rig.frag_needed(edited(23, 0x01), 1280));      // to another UDP port than the SA's peer's
  rig.deliver(rig.frag_needed(first, 1280, kR2Wan, 20 + 8 + 2));  // cut before the SPI ends
  Bytes bad = rig.frag_needed(first, 1280);
  bad[14 + 20 + 2] ^= 0x01;  // its ICMP checksum
  rig.deliver(bad);
  EXPECT_EQ(rig.refused(), 6u);
  // On the LAN port, though to the WAN address and quoting well: not from the path.
  Bytes on_lan = rig.frag_needed(first, 1280);
  std::memcpy(on_lan.data(), rig.r->model().interfaces[kLan].mac, 6);
  rig.deliver(on_lan, kLan);
  // To r2's LAN address: not where our ESP leaves from.
  rig.deliver(rig.frag_needed(first, 1280, ip("10.2.0.1")));
  EXPECT_EQ(rig.refused(), 8u);
  EXPECT_EQ(rig.taken(), 0u);
  EXPECT_EQ(rig.path_mtu(), 0);
  // IKE's own datagrams on 4500 (SPI 0, the non-ESP marker) and a later fragment's quote are not
  // ESP: not judged here (dropped as not ours without the punt path).
  Frame ike = first;
  std::memset(ike.raw.data() + 14 + 28, 0, 4);
  rig.deliver(rig.frag_needed(ike, 1280));
  rig.deliver(rig.frag_needed(edited(7, 0x10), 1280));  // fragment offset 16
  EXPECT_EQ(rig.refused(), 8u);
  EXPECT_EQ(rig.path_mtu(), 0);
  EXPECT_EQ(rig.sealed(rig.big(1300)).port, kWan) << "the tunnel still takes 1300";
}

TEST(EspOuter4FragNeeded, AnMtuBelow576CountsAs576AndZeroTakesThePlateauBelowTheQuotedLength) {
  {
    Frag4Rig rig;
    const Frame first = rig.sealed(rig.big(1300));
    rig.deliver(rig.frag_needed(first, 300));
    EXPECT_EQ(rig.taken(), 1u);
    EXPECT_EQ(rig.path_mtu(), 576);
    EXPECT_EQ(rig.frag_needed_mtu(600), kInnerOf576);
    rig.deliver(rig.frag_needed(first, 1400));
    EXPECT_EQ(rig.taken(), 2u);
    EXPECT_EQ(rig.path_mtu(), 576) << "an error never raises it";
  }
  Frag4Rig rig;
  const Frame first = rig.sealed(rig.big(1300));
  ASSERT_EQ(first.raw.size() - 14, 1364u);
  rig.deliver(rig.frag_needed(first, 0));  // an RFC 1191 § 5 router that does not say
  EXPECT_EQ(rig.taken(), 1u);
  EXPECT_EQ(rig.path_mtu(), 1006) << "RFC 1191 § 7: the plateau below 1364";
  EXPECT_EQ(rig.frag_needed_mtu(1100), esp_inner_mtu(*rig.tu.headend->outbound(kTunnel), 1006));
}

TEST(EspOuter4FragNeeded, TheLearnedMtuAgesBackToTheConfiguredOneAfterTenMinutes) {
  Frag4Rig rig;
  const Frame first = rig.sealed(rig.big(1300));
  rig.deliver(rig.frag_needed(first, 1300));
  ASSERT_EQ(rig.path_mtu(), 1300);
  rig.expect_ages_back();
}

// A flood of them is metered in a bucket of their own (rate_limit.h: 32, then 100 a second),
// not the ARP or ND one.
TEST(EspOuter4FragNeeded, AFloodIsMeteredInItsOwnBucket) {
  Frag4Rig rig;
  const Frame first = rig.sealed(rig.big(1300));
  Frame forged = first;
  forged.raw[14 + 28] ^= 0x01;  // another SPI: each one counted as refused when it gets through
  const Bytes f = rig.frag_needed(forged, 1280);
  constexpr uint32_t kFlood = 96;
  for (uint32_t i = 0; i < kFlood; ++i) EXPECT_TRUE(rig.r->send(kWan, f).empty());
  for (uint32_t i = 0; i < kFlood / 16; ++i) rig.control.poll_once(rig.now);  // a burst of the ring per poll
  const uint64_t limited = rig.r->drop_count(DropReason::icmp_path_mtu_rate_limited);
  EXPECT_EQ(rig.refused() + limited, kFlood);
  EXPECT_GE(rig.refused(), PathMtuErrorMeter::kBurst);
  EXPECT_GE(limited, kFlood - PathMtuErrorMeter::kBurst - 16) << "at most 160 ms of refill";
  EXPECT_EQ(rig.r->drop_count(DropReason::arp_rate_limited), 0u);
}

}  // namespace
}  // namespace wp
