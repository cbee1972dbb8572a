// Router Advertisements on LAN interfaces (docs/ipv6.md § Router Advertisements):
// the codec of ip/router_advert.h against RFC 4861 § 4.2/§ 4.6 (a hand-checked
// frame), § 6.1.1's refusals of Router Solicitations, the schedule of § 6.2.4
// and § 6.2.6 (interval bounds, the initial fast advertisements, the 3 s
// limit), the control thread's advertising, answering and withdrawing, and
// the config's validation. The options beyond RFC 4861: RDNSS and DNSSL (RFC
// 8106 § 5), Route Information (RFC 4191 § 2.3) byte for byte, the 1280-byte
// bound, Router Lifetime 0 on an HA node holding none of the interface's
// addresses, and ra_no_mbuf. A Linux host taking its default route and a SLAAC
// address from them: tests/e2e/test_svr6.sh.
#include "dataplane/ip/router_advert.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "mgmt/config_load.h"
#include "tests/unit/nd_control_rig.h"
#include "tests/unit/pkt6_builder.h"

namespace wp {
namespace {

using namespace test;

constexpr uint8_t kMac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
constexpr uint8_t kHostMac[6] = {0x02, 0, 0, 0, 0x66, 0x01};

std::vector<uint8_t> hex(const std::string& s) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < s.size(); i += 2) out.push_back(static_cast<uint8_t>(std::stoul(s.substr(i, 2), nullptr, 16)));
  return out;
}

TEST(RouterAdvert, FrameMatchesTheRfcLayoutByteForByte) {
  RaSettings s;
  s.other = true;
  s.router_lifetime_s = 1800;
  const Ipv6 ll = link_local_of(kMac);
  const Ipv6Prefix prefixes[] = {*parse_prefix6("2001:db8:1::/64")};
  std::vector<uint8_t> f(kRaMaxFrameLen);
  const uint16_t len = write_router_advert(f.data(), kMac, ll, s, s.router_lifetime_s, 1500, prefixes);
  ASSERT_EQ(len, kEthHdrLen + kIpv6HdrLen + 64);
  f.resize(len);
  // Ethernet to 33:33:00:00:00:01 from us; IPv6 fe80::5054:ff:fe12:3456 -> ff02::1, 64 bytes, ICMPv6, hop limit 255.
  EXPECT_EQ(std::vector<uint8_t>(f.begin(), f.begin() + 14), hex("33330000000152540012345686dd"));
  EXPECT_EQ(std::vector<uint8_t>(f.begin() + 14, f.begin() + 54),
            hex("6000000000403aff" "fe80000000000000505400fffe123456" "ff020000000000000000000000000001"));
  // Type 134, code 0, checksum 0xe531 (computed apart from this code: RFC 8200 § 8.1's pseudo-header sum),
  // Cur Hop Limit 64, M=0 O=1, Router Lifetime 1800, Reachable Time and Retrans Timer 0; source
  // link-layer option; MTU 1500; prefix 2001:db8:1::/64, L=1 A=1, valid 2592000, preferred 604800.
  EXPECT_EQ(std::vector<uint8_t>(f.begin() + 54, f.end()),
            hex("8600e531" "40400708" "00000000" "00000000"
                "0101525400123456"
                "05010000000005dc"
                "030440c0" "00278d00" "00093a80" "00000000" "20010db8000100000000000000000000"));
  Frame6 ra{f};
  EXPECT_EQ(icmpv6_checksum(ra.src(), ra.dst(), ra.icmp(), ra.icmp_len()), 0);
}

TEST(RouterAdvert, OnlySlash64PrefixesAreAutonomousAndTheMtuOptionIsOptional) {
  RaSettings s;
  s.managed = true;
  s.mtu_option = false;
  const Ipv6Prefix prefixes[] = {*parse_prefix6("2001:db8:2::/56"), *parse_prefix6("2001:db8:1::/64")};
  std::vector<uint8_t> f(kRaMaxFrameLen);
  f.resize(write_router_advert(f.data(), kMac, link_local_of(kMac), s, 0, 1500, prefixes));
  Frame6 ra{f};
  ASSERT_EQ(ra.icmp_len(), 16u + 8 + 2 * 32);  // no MTU option
  EXPECT_EQ(ra.icmp()[5], kRaManaged);
  EXPECT_EQ(load_be16(ra.icmp() + 6), 0);  // Router Lifetime 0: not a default router
  const uint8_t* p = ra.icmp() + 24;
  EXPECT_EQ(p[0], kNdOptPrefixInfo);
  EXPECT_EQ(p[2], 56);
  EXPECT_EQ(p[3], kPrefixOnLink);  // on-link only: SLAAC needs a /64 (RFC 4862 § 5.5.3 d)
  EXPECT_EQ(p[32 + 2], 64);
  EXPECT_EQ(p[32 + 3], kPrefixOnLink | kPrefixAutonomous);
  EXPECT_EQ(icmpv6_checksum(ra.src(), ra.dst(), ra.icmp(), ra.icmp_len()), 0);
}

// The options after the RA's header and source link-layer option (no MTU option, no prefixes).
std::vector<uint8_t> ra_options(const RaSettings& s) {
  std::vector<uint8_t> f(kRaMaxFrameLen);
  f.resize(write_router_advert(f.data(), kMac, link_local_of(kMac), s, 0, 1500, {}));
  Frame6 ra{f};
  EXPECT_EQ(icmpv6_checksum(ra.src(), ra.dst(), ra.icmp(), ra.icmp_len()), 0);
  EXPECT_EQ(ra.icmp_len(), router_advert_len(s, 0));
  return std::vector<uint8_t>(ra.icmp() + kRaHeaderLen + 8, ra.icmp() + ra.icmp_len());
}

RaSettings bare_settings() {
  RaSettings s;
  s.mtu_option = false;
  return s;
}

// RFC 8106 § 5.1: type 25, length 1 + 2 per server, reserved, lifetime, the addresses.
TEST(RouterAdvert, RdnssOptionByteForByte) {
  RaSettings s = bare_settings();
  s.dns_servers = {ip6("2001:db8::53"), ip6("2001:db8:1::35")};
  s.dns_lifetime_s = 1800;
  EXPECT_EQ(ra_options(s), hex("19050000" "00000708"
                               "20010db8000000000000000000000053"
                               "20010db8000100000000000000000035"));
}

// RFC 8106 § 5.2: type 31, length in 8-byte units, reserved, lifetime, RFC 1035 § 3.1
// names back to back, zero-padded to the option's length.
TEST(RouterAdvert, DnsslOptionEncodesLabelsAndPads) {
  RaSettings s = bare_settings();
  ASSERT_EQ(encode_dns_name("eng.corp.example", s.dns_search), "");
  ASSERT_EQ(encode_dns_name("x.org.", s.dns_search), "");  // a trailing dot is the same name
  s.dns_lifetime_s = 0xffffffff;
  // 8 + 18 + 7 = 33 bytes of option: 40 with 7 bytes of padding, length 5.
  EXPECT_EQ(ra_options(s), hex("1f050000" "ffffffff"
                               "03656e6704636f7270076578616d706c6500"
                               "0178036f726700"
                               "00000000000000"));
}

// RFC 4191 § 2.3: 8 bytes for /0, 16 up to /64, 24 past it; Prf in bits 3-4 of the flags byte.
TEST(RouterAdvert, RouteInformationUsesTheShortestLength) {
  RaSettings s = bare_settings();
  s.routes = {*parse_prefix6("::/0"), *parse_prefix6("2001:db8:100::/48"), *parse_prefix6("2001:db8:200:1::/64"),
              *parse_prefix6("2001:db8::1/128")};
  s.route_lifetime_s = 1800;
  s.route_preference = RoutePreference::high;
  EXPECT_EQ(ra_options(s), hex("18010008" "00000708"
                               "18023008" "00000708" "20010db801000000"
                               "18024008" "00000708" "20010db802000001"
                               "18038008" "00000708" "20010db8000000000000000000000001"));
  s.routes.resize(1);
  s.route_preference = RoutePreference::low;  // 11
  EXPECT_EQ(ra_options(s), hex("18010018" "00000708"));
  s.route_preference = RoutePreference::medium;  // 00
  EXPECT_EQ(ra_options(s), hex("18010000" "00000708"));
}

TEST(RouterAdvert, DnsNamesFollowRfc1035LabelRules) {
  std::vector<uint8_t> out;
  EXPECT_EQ(encode_dns_name("a-1.example", out), "");
  EXPECT_NE(encode_dns_name("", out), "");
  EXPECT_NE(encode_dns_name(".", out), "");
  EXPECT_NE(encode_dns_name("a..b", out), "");
  EXPECT_NE(encode_dns_name("-a.example", out), "");
  EXPECT_NE(encode_dns_name("a-.example", out), "");
  EXPECT_NE(encode_dns_name("a_b.example", out), "");
  EXPECT_EQ(encode_dns_name(std::string(63, 'a') + ".example", out), "");
  EXPECT_NE(encode_dns_name(std::string(64, 'a') + ".example", out), "");
  std::string long_name;  // 4 labels of 63: 4 × 64 + 1 = 257 bytes encoded
  for (int i = 0; i < 4; ++i) long_name += std::string(63, 'a' + i) + (i < 3 ? "." : "");
  EXPECT_NE(encode_dns_name(long_name, out), "");
  EXPECT_EQ(out.size(), 13u + 73u);  // only the good names were appended
}

// A Router Solicitation from `src` to all-routers: 8 bytes, then the options.
std::vector<uint8_t> rs_frame(const Ipv6& src, const std::vector<uint8_t>& options = {}) {
  std::vector<uint8_t> f(kEthHdrLen + kIpv6HdrLen + 8 + options.size());
  uint8_t dst_mac[6];
  multicast_mac_of(kAllRouters, dst_mac);
  uint8_t* icmp = f.data() + write_nd_headers(f.data(), dst_mac, kHostMac, src, kAllRouters,
                                              static_cast<uint16_t>(8 + options.size()));
  icmp[0] = kNdRouterSolicit;
  std::copy(options.begin(), options.end(), icmp + 8);
  store_be16(icmp + 2, icmpv6_checksum(src, kAllRouters, icmp, static_cast<uint32_t>(8 + options.size())));
  return f;
}

std::vector<uint8_t> slla_option() {
  std::vector<uint8_t> o(8);
  o[0] = kNdOptSourceLla;
  o[1] = 1;
  std::memcpy(o.data() + 2, kHostMac, 6);
  return o;
}

RsStatus parse_rs(const std::vector<uint8_t>& f, NdMessage& rs, uint32_t len_cut = 0) {
  Frame6 s{f};
  return parse_router_solicit(s.icmp(), s.icmp_len() - len_cut, s.src(), s.ip()[7], rs);
}

TEST(RouterAdvert, SolicitationsFailingRfc4861Section611AreRefused) {
  const Ipv6 host = ip6("fe80::66:1");
  NdMessage rs;
  ASSERT_EQ(parse_rs(rs_frame(host, slla_option()), rs), RsStatus::ok);
  EXPECT_TRUE(rs.has_lla);
  EXPECT_EQ(std::memcmp(rs.lla, kHostMac, 6), 0);
  NdMessage anon;
  EXPECT_EQ(parse_rs(rs_frame(Ipv6{}), anon), RsStatus::ok);  // from :: without a link-layer option
  EXPECT_FALSE(anon.has_lla);

  auto far = rs_frame(host);
  far[kEthHdrLen + 7] = 64;
  EXPECT_EQ(parse_rs(far, rs), RsStatus::bad_hop_limit);
  auto code = rs_frame(host);
  code[kEthHdrLen + kIpv6HdrLen + 1] = 1;
  EXPECT_EQ(parse_rs(code, rs), RsStatus::malformed);
  EXPECT_EQ(parse_rs(rs_frame(host), rs, /*len_cut=*/4), RsStatus::malformed);  // ICMP length 4 < 8
  auto zero = slla_option();
  zero[1] = 0;
  EXPECT_EQ(parse_rs(rs_frame(host, zero), rs), RsStatus::malformed);
  EXPECT_EQ(parse_rs(rs_frame(host, slla_option()), rs, /*len_cut=*/2), RsStatus::malformed);  // truncated option
  EXPECT_EQ(parse_rs(rs_frame(Ipv6{}, slla_option()), rs), RsStatus::bad_source);
}

TEST(RaSchedule, InitialAdvertisementsComeFastThenTheIntervalStaysInMinMax) {
  for (uint64_t seed = 1; seed < 40; ++seed) {
    RaSchedule s;
    const uint32_t min = 198'000, max = 600'000;
    uint32_t now = 5000;
    s.start(now, min, max, seed);
    EXPECT_TRUE(s.due(now));  // the first at once
    for (uint32_t i = 1; i <= 10; ++i) {
      s.sent(now);
      const uint32_t gap = s.next_ms() - now;
      if (i < RaSchedule::kMaxInitialAdverts) {
        EXPECT_LE(gap, RaSchedule::kMaxInitialIntervalMs) << "advert " << i;  // MAX_INITIAL_RTR_ADVERT_INTERVAL
        EXPECT_GE(gap, RaSchedule::kMinDelayBetweenMs);
      } else {
        EXPECT_GE(gap, min) << "advert " << i;
        EXPECT_LE(gap, max) << "advert " << i;
      }
      EXPECT_FALSE(s.due(s.next_ms() - 1));
      EXPECT_TRUE(s.due(s.next_ms()));
      now = s.next_ms();
    }
  }
}

TEST(RaSchedule, SolicitationsBringTheNextForwardButNeverWithin3sOfTheLast) {
  RaSchedule s;
  s.start(0, 198'000, 600'000, 7);
  for (int i = 0; i < 3; ++i) s.sent(s.next_ms());  // past the initial ones
  const uint32_t last = s.next_ms() - 1000;           // pretend the last left 1 s before its due time
  s.sent(last);
  ASSERT_GE(s.next_ms() - last, 198'000u);
  s.solicited(last + 1000);  // 1 s after the last RA: not before 3 s after it
  EXPECT_GE(s.next_ms(), last + RaSchedule::kMinDelayBetweenMs);
  EXPECT_LE(s.next_ms(), last + RaSchedule::kMinDelayBetweenMs + RaSchedule::kMaxDelayMs);
  const uint32_t answered = s.next_ms();
  s.solicited(last + 1500);  // a second solicitation does not move it later
  EXPECT_LE(s.next_ms(), answered);
  s.sent(answered);
  s.solicited(answered + 10'000);  // long after: within MAX_RA_DELAY_TIME
  EXPECT_GE(s.next_ms(), answered + 10'000);
  EXPECT_LE(s.next_ms(), answered + 10'000 + RaSchedule::kMaxDelayMs);
  // Re-enabled 25 days after the last RA (past 2^31 ms): due at once, not weeks later.
  {
    RaSchedule r;
    r.start(0, 198'000, 600'000, 3);
    r.sent(0);
    const uint32_t later = 25u * 24 * 3600 * 1000;
    r.start(later, 198'000, 600'000, 3);
    EXPECT_EQ(r.next_ms(), later);
    EXPECT_TRUE(r.due(later));
    r.sent(later);
    r.solicited(later + 5000);  // and a solicitation is still answered within MAX_RA_DELAY_TIME
    EXPECT_LE(r.next_ms(), later + 5000 + RaSchedule::kMaxDelayMs);
  }
  // Held while due (DAD of the link-local): still due after 30 days, not weeks ahead.
  {
    RaSchedule r;
    r.start(1000, 198'000, 600'000, 3);
    for (uint32_t day = 1; day <= 30; ++day) {
      const uint32_t t = 1000 + day * 24u * 3600 * 1000;
      ASSERT_TRUE(r.due(t)) << "day " << day;
      r.hold(t);
    }
  }
  // A restart (a commit changed the settings) keeps the 3 s from the last one too.
  s.sent(answered + 10'100);
  s.start(answered + 10'200, 1320, 4000, 9);
  EXPECT_EQ(s.next_ms(), answered + 10'100 + RaSchedule::kMinDelayBetweenMs);
}

config::Config ra_config(bool enabled) {
  config::Config c = router_base("r1", "10.1.0.1/24", {{"wan0", "172.16.0.1/24"}});
  config::Interface* lan = c.mutable_router()->mutable_lan();
  lan->add_ipv6_addresses("2001:db8:1::1/64");
  lan->add_ipv6_addresses("2001:db8:1::2/64");  // the same prefix: advertised once
  lan->add_ipv6_addresses("2001:db8:9::1/48");
  lan->mutable_ipv6_ra()->set_enabled(enabled);
  lan->mutable_ipv6_ra()->set_interval_s(10);
  return c;
}

// The Router Advertisements among `frames`.
std::vector<std::vector<uint8_t>> ras(const std::vector<std::vector<uint8_t>>& frames) {
  std::vector<std::vector<uint8_t>> out;
  for (const auto& f : frames)
    if (f.size() > kEthHdrLen + kIpv6HdrLen && Frame6{f}.icmp()[0] == kNdRouterAdvert) out.push_back(f);
  return out;
}

// Our addresses through DAD: what the control thread sends once they are usable.
std::vector<std::vector<uint8_t>> settle(ControlRig& rig) {
  EXPECT_TRUE(ras(rig.poll()).empty());  // the link-local is tentative: no RA from it yet
  rig.now += DadTable::kRetransMs;
  return ras(rig.poll());
}

TEST(ControlRa, AdvertisesAnswersSolicitationsAndWithdrawsWhenDisabled) {
  ControlRig rig(ra_config(true), /*settle=*/false);
  const InterfaceModel& lan = rig.r1.model().interfaces[0];
  auto out = settle(rig);  // the link-local passed DAD: the first RA leaves
  ASSERT_EQ(out.size(), 1u);
  Frame6 ra{out[0]};
  EXPECT_EQ(ra.src(), lan.addrs6[0]);
  EXPECT_EQ(ra.dst(), kAllNodes);
  EXPECT_EQ(ra.icmp()[0], kNdRouterAdvert);
  EXPECT_EQ(load_be16(ra.icmp() + 6), 30);  // 3 × interval_s
  EXPECT_EQ(ra.icmp_len(), 16u + 8 + 8 + 2 * 32);  // two distinct prefixes
  EXPECT_EQ(load_be32(ra.icmp() + 16 + 8 + 4), lan.mtu);
  EXPECT_EQ(icmpv6_checksum(ra.src(), ra.dst(), ra.icmp(), ra.icmp_len()), 0);
  EXPECT_EQ(rig.count(Counter::ra_sent), 1u);

  // A solicitation 1 s later: answered no sooner than 3 s after that RA, and within 3.5 s.
  rig.now += 1000;
  EXPECT_TRUE(rig.local(rs_frame(ip6("fe80::66:1"), slla_option())).empty());
  EXPECT_EQ(rig.count(Counter::rs_answered), 1u);
  rig.now += 1999;
  EXPECT_TRUE(rig.poll().empty());
  rig.now += 1 + RaSchedule::kMaxDelayMs;
  EXPECT_EQ(ras(rig.poll()).size(), 1u);
  EXPECT_EQ(rig.count(Counter::ra_sent), 2u);

  // Refused solicitations are counted by reason and answer nothing.
  auto far = rs_frame(ip6("fe80::66:1"));
  far[kEthHdrLen + 7] = 64;  // the checksum does not cover the hop limit
  rig.local(far);
  EXPECT_EQ(rig.drops(DropReason::nd_bad_hop_limit), 1u);
  rig.local(rs_frame(Ipv6{}, slla_option()));
  EXPECT_EQ(rig.drops(DropReason::nd_bad_router_solicit), 1u);
  EXPECT_EQ(rig.count(Counter::rs_answered), 1u);

  // A commit that disables them: one final RA with Router Lifetime 0, then nothing.
  rig.r1.commit(ra_config(false));
  out = ras(rig.poll());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(load_be16(Frame6{out[0]}.icmp() + 6), 0);
  rig.now += 60'000;
  EXPECT_TRUE(ras(rig.poll()).empty());
  rig.control.retire_router_adverts();
  EXPECT_TRUE(rig.out.empty());  // nothing left to withdraw
}

TEST(ControlRa, ShutdownWithdrawsAndNothingIsSentWhenNotEnabled) {
  {
    ControlRig rig(ra_config(true), /*settle=*/false);
    ASSERT_EQ(settle(rig).size(), 1u);
    rig.control.retire_router_adverts();
    ASSERT_EQ(rig.out.size(), 1u);
    EXPECT_EQ(load_be16(Frame6{rig.out[0]}.icmp() + 6), 0);
  }
  ControlRig off(ra_config(false), /*settle=*/false);
  EXPECT_TRUE(settle(off).empty());
  off.now += 60'000;
  EXPECT_TRUE(ras(off.poll()).empty());
  EXPECT_EQ(off.count(Counter::ra_sent), 0u);
}

// Walks an RA's options: the first of `type`, empty if none.
std::vector<uint8_t> find_option(const Frame6& ra, uint8_t type) {
  for (uint32_t at = kRaHeaderLen; at + 8 <= ra.icmp_len() && ra.icmp()[at + 1] != 0; at += ra.icmp()[at + 1] * 8u)
    if (ra.icmp()[at] == type) return std::vector<uint8_t>(ra.icmp() + at, ra.icmp() + at + ra.icmp()[at + 1] * 8u);
  return {};
}

config::Config ra_options_config() {
  config::Config c = ra_config(true);
  auto* ra = c.mutable_router()->mutable_lan()->mutable_ipv6_ra();
  ra->add_dns_servers("2001:db8::53");
  ra->add_dns_search("corp.example");
  ra->add_route_prefixes("2001:db8:100::/48");
  ra->set_route_preference("high");
  return c;
}

TEST(ControlRa, ConfiguredRoutesAndDnsAreAdvertisedWithDefaultLifetimes) {
  ControlRig rig(ra_options_config(), /*settle=*/false);
  auto out = settle(rig);
  ASSERT_EQ(out.size(), 1u);
  Frame6 ra{out[0]};
  EXPECT_EQ(icmpv6_checksum(ra.src(), ra.dst(), ra.icmp(), ra.icmp_len()), 0);
  // Lifetimes 0 in the config: 3 × interval_s (10 s) = 30 = 0x1e.
  EXPECT_EQ(find_option(ra, kNdOptRouteInfo), hex("18023008" "0000001e" "20010db801000000"));
  EXPECT_EQ(find_option(ra, kNdOptRdnss), hex("19030000" "0000001e" "20010db8000000000000000000000053"));
  EXPECT_EQ(find_option(ra, kNdOptDnssl), hex("1f030000" "0000001e" "04636f7270076578616d706c6500" "0000"));
  // Without them (ra_config): none of the three options.
  ControlRig plain(ra_config(true), /*settle=*/false);
  out = settle(plain);
  ASSERT_EQ(out.size(), 1u);
  for (uint8_t type : {kNdOptRouteInfo, kNdOptRdnss, kNdOptDnssl}) EXPECT_TRUE(find_option(Frame6{out[0]}, type).empty());
}

// The Route Information option's Route Lifetime (RFC 4191 § 2.3), bytes 4-7.
uint32_t route_lifetime(const Frame6& ra) {
  const std::vector<uint8_t> rio = find_option(ra, kNdOptRouteInfo);
  return rio.size() >= 8 ? load_be32(rio.data() + 4) : 0xffffffffu;
}

// HA: a node that holds none of the interface's addresses advertises Router Lifetime 0 and
// Route Lifetime 0 for its routes (they outlive the Router Lifetime, RFC 4191 § 2.3; its
// prefixes still), and at once full ones when it takes its own or the peer's addresses.
TEST(ControlRa, HaNodeHoldingNoAddressAdvertisesNoRouterLifetimeUntilItTakesOver) {
  config::Config c = ra_options_config();
  c.mutable_router()->mutable_lan()->mutable_ipv6_ra()->set_interval_s(600);  // later RAs >= 198 s apart
  ControlRig rig(c, /*settle=*/false);
  HaDataplane& ha = rig.r1.shared().ha;
  ha.enabled = true;
  ha.own_held.store(false);
  auto out = settle(rig);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(load_be16(Frame6{out[0]}.icmp() + 6), 0);
  EXPECT_EQ(route_lifetime(Frame6{out[0]}), 0u) << "no route through a node that serves none of the link";
  EXPECT_FALSE(find_option(Frame6{out[0]}, kNdOptPrefixInfo).empty());
  // It takes its addresses: a full RA 3 s after the last (MIN_DELAY_BETWEEN_RAS), not 16 s later.
  rig.now += 1000;
  ha.own_held.store(true);
  EXPECT_TRUE(ras(rig.poll()).empty());
  rig.now += RaSchedule::kMinDelayBetweenMs - 1000;
  out = ras(rig.poll());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(load_be16(Frame6{out[0]}.icmp() + 6), 1800);
  EXPECT_EQ(route_lifetime(Frame6{out[0]}), 1800u) << "3 times interval_s";
  // It loses them: Router Lifetime 0 within 3 s again.
  ha.own_held.store(false);
  rig.now += RaSchedule::kMinDelayBetweenMs;
  out = ras(rig.poll());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(load_be16(Frame6{out[0]}.icmp() + 6), 0);
  EXPECT_EQ(route_lifetime(Frame6{out[0]}), 0u);
  // The peer's LAN address taken over is one of the interface's addresses too.
  ha.peer_addresses6.push_back({ip6("2001:db8:1::99"), 0});
  ha.peer_taken.store(true);
  rig.now += RaSchedule::kMinDelayBetweenMs;
  out = ras(rig.poll());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(load_be16(Frame6{out[0]}.icmp() + 6), 1800);
  ha.peer_taken.store(false);
  ha.enabled = false;
}

TEST(ControlRa, AnAdvertisementWithoutAnMbufIsCounted) {
  ControlRig rig(ra_config(true), /*settle=*/false);
  ASSERT_EQ(settle(rig).size(), 1u);
  std::vector<rte_mbuf*> taken;
  while (rte_mbuf* m = rte_pktmbuf_alloc(nd_control_pool())) taken.push_back(m);
  rig.now += RaSchedule::kMaxInitialIntervalMs;  // the second initial RA is due by then
  EXPECT_TRUE(rig.poll().empty());
  EXPECT_EQ(rig.count(Counter::ra_no_mbuf), 1u);
  EXPECT_EQ(rig.count(Counter::ra_sent), 1u);
  for (rte_mbuf* m : taken) rte_pktmbuf_free(m);
  rig.now += RaSchedule::kMaxInitialIntervalMs;  // the next one is on schedule
  EXPECT_EQ(ras(rig.poll()).size(), 1u);
  EXPECT_EQ(rig.count(Counter::ra_sent), 2u);
}

std::vector<std::string> errors(const config::Config& c) {
  std::vector<std::string> out;
  for (const auto& e : mgmt::validate_config(c)) out.push_back(e.to_string());
  return out;
}

bool has_error(const std::vector<std::string>& errs, const std::string& part) {
  for (const auto& e : errs)
    if (e.find(part) != std::string::npos) return true;
  return false;
}

TEST(RaConfig, ValidationRefusesWhatHostsCouldNotUse) {
  EXPECT_TRUE(errors(ra_config(true)).empty()) << testing::PrintToString(errors(ra_config(true)));
  config::Config c = ra_config(true);
  c.mutable_router()->mutable_lan()->clear_ipv6_addresses();
  EXPECT_TRUE(has_error(errors(c), "router.lan.ipv6_ra.enabled: the interface has no ipv6_addresses"));
  c = ra_config(true);
  c.mutable_router()->mutable_wan(0)->add_ipv6_addresses("2001:db8:5::1/64");
  c.mutable_router()->mutable_wan(0)->mutable_ipv6_ra()->set_enabled(true);
  EXPECT_TRUE(has_error(errors(c), "router.wan[0].ipv6_ra.enabled: Router Advertisements are sent on LAN interfaces only"));
  for (uint32_t bad : {3u, 1801u}) {
    c = ra_config(true);
    c.mutable_router()->mutable_lan()->mutable_ipv6_ra()->set_interval_s(bad);
    EXPECT_TRUE(has_error(errors(c), "router.lan.ipv6_ra.interval_s: " + std::to_string(bad) + " is out of range"));
  }
  c = ra_config(true);
  c.mutable_router()->mutable_lan()->mutable_ipv6_ra()->set_router_lifetime_s(9001);
  EXPECT_TRUE(has_error(errors(c), "router.lan.ipv6_ra.router_lifetime_s: 9001 is out of range"));
  c.mutable_router()->mutable_lan()->mutable_ipv6_ra()->set_router_lifetime_s(5);
  EXPECT_TRUE(has_error(errors(c), "router.lan.ipv6_ra.router_lifetime_s: 5 is shorter than interval_s (10)"));
  c = ra_config(true);
  c.mutable_router()->mutable_lan()->mutable_ipv6_ra()->set_valid_lifetime_s(3600);
  EXPECT_TRUE(has_error(errors(c), "router.lan.ipv6_ra.preferred_lifetime_s: 604800 is longer than the valid lifetime (3600)"));
  c.mutable_router()->mutable_lan()->mutable_ipv6_ra()->set_preferred_lifetime_s(1800);
  EXPECT_TRUE(errors(c).empty()) << testing::PrintToString(errors(c));
  c = ra_config(true);
  c.mutable_router()->mutable_lan()->set_mtu(1279);
  EXPECT_TRUE(has_error(errors(c), "router.lan.ipv6_ra.enabled: the interface's mtu 1279 is below 1280"));
  c.mutable_router()->mutable_lan()->set_mtu(1280);
  EXPECT_TRUE(errors(c).empty()) << testing::PrintToString(errors(c));
}

TEST(RaConfig, DnsAndRouteOptionsAreValidated) {
  EXPECT_TRUE(errors(ra_options_config()).empty()) << testing::PrintToString(errors(ra_options_config()));
  config::Config c = ra_options_config();
  auto* ra = c.mutable_router()->mutable_lan()->mutable_ipv6_ra();
  ra->add_dns_servers("fe80::53");
  ra->add_dns_servers("ff02::1");
  ra->add_dns_servers("2001:db8::53");
  ra->add_dns_servers("dns.example");
  ra->add_dns_search("-bad.example");
  ra->add_dns_search("a..b");
  ra->add_route_prefixes("2001:db8:100::1/48");
  ra->add_route_prefixes("2001:db8:1:0:8000::/65");
  ra->add_route_prefixes("2001:db8:100::/48");
  ra->add_route_prefixes("2001:db8::/129");
  ra->set_route_preference("urgent");
  ra->set_dns_lifetime_s(5);
  ra->set_route_lifetime_s(9);
  const auto errs = errors(c);
  for (const std::string& e : std::vector<std::string>{
           "router.lan.ipv6_ra.dns_servers: 5 servers: at most 3",
           "router.lan.ipv6_ra.dns_servers[1]: \"fe80::53\" is link-local",
           "router.lan.ipv6_ra.dns_servers[2]: \"ff02::1\" is not a unicast address",
           "router.lan.ipv6_ra.dns_servers[3]: \"2001:db8::53\" is listed twice",
           "router.lan.ipv6_ra.dns_servers[4]: \"dns.example\" is not an IPv6 address",
           "router.lan.ipv6_ra.dns_search[1]: \"-bad.example\" has label \"-bad\" starting or ending with a hyphen",
           "router.lan.ipv6_ra.dns_search[2]: \"a..b\" has an empty label",
           "router.lan.ipv6_ra.route_prefixes[1]: \"2001:db8:100::1/48\" has bits set past its length: write 2001:db8:100::/48",
           "router.lan.ipv6_ra.route_prefixes[2]: \"2001:db8:1:0:8000::/65\" is inside 2001:db8:1::/64 (router.lan.ipv6_addresses[0]), which is on-link",
           "router.lan.ipv6_ra.route_prefixes[3]: \"2001:db8:100::/48\" is listed twice",
           "router.lan.ipv6_ra.route_prefixes[4]: \"2001:db8::/129\" is not an IPv6 prefix",
           "router.lan.ipv6_ra.route_preference: \"urgent\" is not low, medium or high",
           "router.lan.ipv6_ra.dns_lifetime_s: 5 is shorter than interval_s (10)",
           "router.lan.ipv6_ra.route_lifetime_s: 9 is shorter than interval_s (10)"})
    EXPECT_TRUE(has_error(errs, e)) << e << " not in " << testing::PrintToString(errs);
  EXPECT_EQ(errs.size(), 14u) << testing::PrintToString(errs);
  c = ra_options_config();
  c.mutable_router()->mutable_lan()->mutable_ipv6_ra()->add_route_prefixes("::/0");  // a default route, low or high
  c.mutable_router()->mutable_lan()->mutable_ipv6_ra()->add_route_prefixes("2001:db8::/32");  // covers the /64: fine
  EXPECT_TRUE(errors(c).empty()) << testing::PrintToString(errors(c));
}

// The whole RA within 1280 bytes: 40 + 16 + 8 (link-layer) + 8 (MTU) + 2 × 32 (prefixes) = 136,
// plus 24 per /128 route: 47 routes make 1264 bytes, 48 make 1288.
TEST(RaConfig, AnAdvertisementOver1280BytesIsRefused) {
  config::Config c = ra_config(true);
  auto* ra = c.mutable_router()->mutable_lan()->mutable_ipv6_ra();
  for (int i = 1; i <= 47; ++i) ra->add_route_prefixes("2001:db8:f::" + std::to_string(i) + "/128");
  EXPECT_TRUE(errors(c).empty()) << testing::PrintToString(errors(c));
  {
    ControlRig rig(c, /*settle=*/false);
    auto out = settle(rig);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].size(), kEthHdrLen + 1264u);
  }
  ra->add_route_prefixes("2001:db8:f::48/128");
  EXPECT_TRUE(has_error(errors(c), "router.lan.ipv6_ra: the Router Advertisement would be 1288 bytes, over 1280"))
      << testing::PrintToString(errors(c));
  ra->set_omit_mtu(true);  // 1280 exactly
  EXPECT_TRUE(errors(c).empty()) << testing::PrintToString(errors(c));
}

// RFC 4861 § 6.2.1: MinRtrAdvInterval defaults to 0.33 times MaxRtrAdvInterval from 9 s up, and
// to MaxRtrAdvInterval below (never under 3 s).
TEST(RaConfig, MinimumIntervalNeverBelow3s) {
  for (const auto& [interval, min_ms] : std::vector<std::pair<uint32_t, uint32_t>>{{4, 4000}, {8, 8000}, {9, 3000}, {10, 3300}, {0, 198'000}}) {
    config::Config c = ra_config(true);
    c.mutable_router()->mutable_lan()->mutable_ipv6_ra()->set_interval_s(interval);
    ControlRig rig(c);
    const RaSettings& s = rig.r1.model().interfaces[0].ra;
    EXPECT_EQ(s.min_interval_ms, min_ms) << "interval_s " << interval;
    EXPECT_EQ(s.max_interval_ms, (interval ? interval : 600) * 1000) << "interval_s " << interval;
  }
}

}  // namespace
}  // namespace wp
