// NAT64 address mapping (RFC 6052) and ICMP translation tables (RFC 7915):
// the RFC 6052 § 2.4 example table both ways, bad prefixes and u octets, the
// Well-Known Prefix's global-only rule, every ICMP type/code row, MTU and
// Parameter Problem pointer adjustments.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <string>

#include "dataplane/ip/nat64.h"

namespace wp {
namespace {

Ipv6Bytes v6(const char* text) {
  Ipv6Bytes b{};
  EXPECT_EQ(inet_pton(AF_INET6, text, b.data()), 1) << text;
  return b;
}
Ipv4 v4(const char* text) { return parse_ipv4(text).value(); }

struct Row {
  const char* prefix;
  uint8_t len;
  const char* embedded;
};

// RFC 6052 § 2.4, Table 2 (192.0.2.33 under each prefix) and the Well-Known Prefix line.
const Row kRfc6052[] = {
    {"2001:db8::", 32, "2001:db8:c000:221::"},
    {"2001:db8:100::", 40, "2001:db8:1c0:2:21::"},
    {"2001:db8:122::", 48, "2001:db8:122:c000:2:2100::"},
    {"2001:db8:122:300::", 56, "2001:db8:122:3c0:0:221::"},
    {"2001:db8:122:344::", 64, "2001:db8:122:344:c0:2:2100:0"},
    {"2001:db8:122:344::", 96, "2001:db8:122:344::192.0.2.33"},
    {"64:ff9b::", 96, "64:ff9b::192.0.2.33"},
};

TEST(Nat64, Rfc6052ExamplesEmbedAndExtract) {
  for (const Row& r : kRfc6052) {
    SCOPED_TRACE(std::string(r.prefix) + "/" + std::to_string(r.len));
    EXPECT_EQ(nat64_embed(v6(r.prefix), r.len, v4("192.0.2.33")), v6(r.embedded));
    EXPECT_EQ(nat64_extract(v6(r.prefix), r.len, v6(r.embedded)), v4("192.0.2.33"));
  }
  EXPECT_EQ(nat64_embed(kNat64WellKnownPrefix, 96, v4("10.2.0.10")), v6("64:ff9b::a02:a"));
}

TEST(Nat64, ExtractRefusesOtherPrefixesLengthsAndAUOctet) {
  const Ipv6Bytes p = v6("2001:db8:122::");
  EXPECT_EQ(nat64_extract(p, 48, v6("2001:db8:123:c000:2:2100::")), std::nullopt);  // not under the prefix
  EXPECT_EQ(nat64_extract(p, 44, v6("2001:db8:122:c000:2:2100::")), std::nullopt);  // not an RFC 6052 length
  EXPECT_EQ(nat64_extract(p, 48, v6("2001:db8:122:c000:ff02:2100::")), std::nullopt);  // u octet set
  for (uint8_t len = 0; len <= 128; ++len)
    EXPECT_EQ(nat64_prefix_len_ok(len), len == 32 || len == 40 || len == 48 || len == 56 || len == 64 || len == 96);
}

TEST(Nat64, EmbedKeepsTheUOctetZeroAndIgnoresPrefixHostBits) {
  Ipv6Bytes p = v6("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff");
  for (uint8_t len : {32, 40, 48, 56, 64}) {
    const Ipv6Bytes a = nat64_embed(p, len, v4("255.255.255.255"));
    EXPECT_EQ(a[8], 0) << int(len);
    EXPECT_EQ(nat64_extract(p, len, a), v4("255.255.255.255")) << int(len);
  }
}

TEST(Nat64, WellKnownPrefixOnlyForGlobalAddresses) {
  for (const char* a : {"10.1.2.3", "172.16.0.1", "192.168.1.1", "127.0.0.1", "169.254.1.1", "100.64.0.1",
                        "192.0.2.33", "198.51.100.1", "203.0.113.9", "224.0.0.1", "255.255.255.255", "0.1.2.3"})
    EXPECT_FALSE(nat64_wkp_allows(v4(a))) << a;
  for (const char* a : {"8.8.8.8", "1.1.1.1", "93.184.216.34", "172.32.0.1", "100.128.0.1"})
    EXPECT_TRUE(nat64_wkp_allows(v4(a))) << a;
}

TEST(Nat64, Icmpv6ToIcmpv4Rows) {
  auto x = [](uint8_t t, uint8_t c) { return icmp6_to_icmp4(t, c); };
  EXPECT_EQ((std::pair{x(128, 0).type, x(128, 0).code}), (std::pair<uint8_t, uint8_t>{8, 0}));
  EXPECT_EQ(x(129, 0).type, 0);
  EXPECT_FALSE(x(128, 0).inner_packet);
  for (uint8_t c : {0, 2, 3}) EXPECT_EQ((std::pair{x(1, c).type, x(1, c).code}), (std::pair<uint8_t, uint8_t>{3, 1}));
  EXPECT_EQ(x(1, 1).code, 10);
  EXPECT_EQ(x(1, 4).code, 3);
  EXPECT_TRUE(x(1, 5).drop);
  EXPECT_EQ((std::pair{x(2, 0).type, x(2, 0).code}), (std::pair<uint8_t, uint8_t>{3, 4}));
  EXPECT_TRUE(x(2, 0).mtu_adjust);
  EXPECT_TRUE(x(2, 0).inner_packet);
  EXPECT_EQ(x(3, 1).type, 11);
  EXPECT_EQ(x(3, 1).code, 1);
  EXPECT_TRUE(x(4, 0).pointer_adjust);
  EXPECT_EQ(x(4, 0).type, 12);
  EXPECT_EQ((std::pair{x(4, 1).type, x(4, 1).code}), (std::pair<uint8_t, uint8_t>{3, 2}));
  EXPECT_TRUE(x(4, 2).drop);
  for (uint8_t t : {130, 131, 132, 133, 134, 135, 136, 137, 200, 100}) EXPECT_TRUE(x(t, 0).drop) << int(t);
}

TEST(Nat64, Icmpv4ToIcmpv6Rows) {
  auto x = [](uint8_t t, uint8_t c) { return icmp4_to_icmp6(t, c); };
  EXPECT_EQ(x(8, 0).type, 128);
  EXPECT_EQ(x(0, 0).type, 129);
  for (uint8_t c : {0, 1, 5, 6, 7, 8, 11, 12}) EXPECT_EQ((std::pair{x(3, c).type, x(3, c).code}), (std::pair<uint8_t, uint8_t>{1, 0})) << int(c);
  EXPECT_EQ((std::pair{x(3, 2).type, x(3, 2).code}), (std::pair<uint8_t, uint8_t>{4, 1}));
  EXPECT_TRUE(x(3, 2).pointer_adjust);
  EXPECT_EQ(x(3, 3).code, 4);
  EXPECT_EQ(x(3, 4).type, 2);
  EXPECT_TRUE(x(3, 4).mtu_adjust);
  for (uint8_t c : {9, 10, 13, 15}) EXPECT_EQ((std::pair{x(3, c).type, x(3, c).code}), (std::pair<uint8_t, uint8_t>{1, 1})) << int(c);
  EXPECT_TRUE(x(3, 14).drop);
  EXPECT_EQ(x(11, 0).type, 3);
  EXPECT_EQ(x(12, 0).type, 4);
  EXPECT_EQ(x(12, 2).type, 4);
  EXPECT_TRUE(x(12, 1).drop);
  for (uint8_t t : {4, 5, 6, 9, 10, 13, 14, 15, 16, 17, 18, 99}) EXPECT_TRUE(x(t, 0).drop) << int(t);
}

TEST(Nat64, MtuAndPointerAdjustments) {
  EXPECT_EQ(nat64_mtu_6to4(1400, 1500), 1380u);
  EXPECT_EQ(nat64_mtu_6to4(1500, 1400), 1400u);  // the IPv4 link is smaller
  EXPECT_EQ(nat64_mtu_4to6(1400, 1500), 1420u);
  EXPECT_EQ(nat64_mtu_4to6(1000, 1500), 1280u);  // never below the IPv6 minimum
  EXPECT_EQ(nat64_mtu_4to6(0, 1500), 1280u);     // an old router's zero MTU
  EXPECT_EQ(nat64_mtu_4to6(9000, 1500), 1500u);
  EXPECT_EQ(nat64_pointer_6to4(6), 9);
  EXPECT_EQ(nat64_pointer_6to4(7), 8);
  EXPECT_EQ(nat64_pointer_6to4(4), 2);
  EXPECT_EQ(nat64_pointer_6to4(20), 12);
  EXPECT_EQ(nat64_pointer_6to4(30), 16);
  EXPECT_EQ(nat64_pointer_6to4(2), std::nullopt);  // flow label
  EXPECT_EQ(nat64_pointer_6to4(40), std::nullopt);
  EXPECT_EQ(nat64_pointer_4to6(9), 6u);
  EXPECT_EQ(nat64_pointer_4to6(8), 7u);
  EXPECT_EQ(nat64_pointer_4to6(3), 4u);
  EXPECT_EQ(nat64_pointer_4to6(14), 8u);
  EXPECT_EQ(nat64_pointer_4to6(17), 24u);
  EXPECT_EQ(nat64_pointer_4to6(4), std::nullopt);  // identification
  EXPECT_EQ(nat64_pointer_4to6(10), std::nullopt);  // header checksum
  // The pointer maps round trip where both sides have the field.
  for (uint32_t p : {0u, 1u, 4u, 6u, 7u, 8u, 24u}) EXPECT_EQ(nat64_pointer_4to6(nat64_pointer_6to4(p).value()), p);
}

}  // namespace
}  // namespace wp
