// IPv6 sessions between IPv4 waypoints (dataplane/svr/svr6_lan.h, docs/ipv6.md
// § IPv6 sessions between IPv4 waypoints): real workers of r1 and r2, frames
// carried between them by the test.
//
//   client 2001:db8:71::5 - [r1] 172.16.0.1 ==IPv4 WAN== 172.16.0.2 [r2] - server 2001:db8:72::10
#include <gtest/gtest.h>

#include "dataplane/ip/nat64_packet.h"
#include "dataplane/svr/metadata.h"
#include "tests/unit/pkt6_builder.h"
#include "tests/unit/route6_test_config.h"
#include "tests/unit/svr6_export_check.h"
#include "tests/unit/svr6_pair.h"

namespace wp {
namespace {

using namespace test;

constexpr const char* kClient6 = kV6Client;
constexpr const char* kGuest6 = kV6Guest;
constexpr const char* kServer6 = kV6Server;

// The pair of svr6_pair.h with IPv4 waypoints only (no IPv6 on the WANs).
class Svr6 : public Svr6Pair {
 protected:
  void SetUp() override { make(v6wp_config(true, false), v6wp_config(false, false)); }
};

// A WAN frame: IPv4 between the waypoints, valid checksums and HMAC when it has metadata.
MetadataStatus wan_metadata(const Frame& f, Metadata& md) {
  EXPECT_EQ(f.port, kWan);
  EXPECT_EQ(get16(f.raw.data() + 12), kEtherTypeIpv4) << "no IPv6 header on the WAN";
  expect_valid(f);
  return decode_metadata(f.data(), f.data_len(), md);
}

TEST_F(Svr6, TcpSessionAcrossIpv4Waypoints) {
  const auto syn = client_frame(Pkt6().ipv6(kClient6, kServer6, 64).tcp(40000, 80, 0x02).payload("GET /"));
  Frame w1 = r1->send_one(kLan, syn);
  EXPECT_EQ(w1.src(), kR1Wan);
  EXPECT_EQ(w1.dst(), kR2Wan);
  Metadata md;
  ASSERT_EQ(wan_metadata(w1, md), MetadataStatus::ok);
  EXPECT_TRUE(hmac_ok(w1, kKey12));
  ASSERT_TRUE(md.has_forward_context6) << "TLV 3";
  EXPECT_FALSE(md.has_forward_context) << "no TLV 2";
  EXPECT_EQ(md.forward_context6, (FiveTuple6{ip6(kClient6), ip6(kServer6), 40000, 80, kProtoTcp}));
  EXPECT_EQ(md.tenant, "v6");
  EXPECT_EQ(md.service, "web6");
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(w1.data()) + md.block_len(), 5), "GET /");
  EXPECT_EQ(r1->count(Counter::svr6_sessions_created), 1u);

  expect_restored6(syn, r2->send_one(kWan, w1.raw));
  EXPECT_EQ(r2->count(Counter::svr6_sessions_created), 1u);

  // The reply: reverse metadata with TLV 5 and the ack, restored at r1.
  const auto synack = server_frame(Pkt6().ipv6(kServer6, kClient6, 64).tcp(80, 40000, 0x12).payload("200 OK"));
  Frame w2 = r2->send_one(kLan, synack);
  EXPECT_EQ(w2.src(), kR2Wan);
  Metadata rmd;
  ASSERT_EQ(wan_metadata(w2, rmd), MetadataStatus::ok);
  EXPECT_TRUE(rmd.has_reverse_context6) << "TLV 5";
  EXPECT_EQ(rmd.reverse_context6, (FiveTuple6{ip6(kServer6), ip6(kClient6), 80, 40000, kProtoTcp}));
  EXPECT_TRUE(rmd.disable_forward_metadata);
  expect_restored6(synack, r1->send_one(kWan, w2.raw));

  // Later packets: no metadata either way, translated by session state.
  for (int i = 0; i < 2; ++i) {
    const auto ack = client_frame(Pkt6().ipv6(kClient6, kServer6, 64).tcp(40000, 80, 0x10).payload("more data"));
    Frame w = r1->send_one(kLan, ack);
    Metadata none;
    EXPECT_EQ(wan_metadata(w, none), MetadataStatus::absent);
    expect_restored6(ack, r2->send_one(kWan, w.raw));
    const auto back = server_frame(Pkt6().ipv6(kServer6, kClient6, 64).tcp(80, 40000, 0x10).payload("body"));
    Frame wb = r2->send_one(kLan, back);
    if (i == 1) {
      EXPECT_EQ(wan_metadata(wb, none), MetadataStatus::absent) << "r2 stopped reverse metadata";
    }
    expect_restored6(back, r1->send_one(kWan, wb.raw));
  }
  EXPECT_EQ(r1->total_drops(), 0u) << r1->drops();
  EXPECT_EQ(r2->total_drops(), 0u) << r2->drops();
}

// REST and IPFIX show the session by its IPv6 tuple and the IPv4 waypoints
// (template 258), with one UUID at both routers (svr6_export_check.h).
TEST_F(Svr6, RestAndIpfixShowTheIpv6TupleAndTheIpv4Waypoints) {
  enable_session_events(*r1);
  enable_session_events(*r2);
  const auto syn = client_frame(Pkt6().ipv6(kClient6, kServer6, 64).tcp(40000, 80, 0x02).payload("GET /"));
  Frame w1 = r1->send_one(kLan, syn);
  expect_restored6(syn, r2->send_one(kWan, w1.raw));
  const auto synack = server_frame(Pkt6().ipv6(kServer6, kClient6, 64).tcp(80, 40000, 0x12).payload("200 OK"));
  Frame w2 = r2->send_one(kLan, synack);
  expect_restored6(synack, r1->send_one(kWan, w2.raw));
  expect_svr6_export(*r1, *r2,
                     {kClient6, kServer6, "172.16.0.1", "172.16.0.2", w1.sport(), w1.dport(),
                      mgmt::kSession6Post4TemplateId, syn.size() - 14, synack.size() - 14});
}

TEST_F(Svr6, UdpFirstPacketCarriesTlv3) {
  const auto q = client_frame(Pkt6().ipv6(kClient6, kServer6, 64).udp(5353, 53).payload("query"));
  Frame w1 = r1->send_one(kLan, q);
  Metadata md;
  ASSERT_EQ(wan_metadata(w1, md), MetadataStatus::ok);
  EXPECT_TRUE(hmac_ok(w1, kKey12));
  ASSERT_TRUE(md.has_forward_context6);
  EXPECT_EQ(md.forward_context6.proto, kProtoUdp);
  EXPECT_EQ(w1.proto(), kProtoUdp);
  expect_restored6(q, r2->send_one(kWan, w1.raw));
}

TEST_F(Svr6, GuestTenantDenied) {
  const auto syn = client_frame(Pkt6().ipv6(kGuest6, kServer6, 64).tcp(40001, 80, 0x02));
  EXPECT_TRUE(r1->send(kLan, syn).empty());
  EXPECT_EQ(r1->drop_count(DropReason::policy_deny), 1u);
  EXPECT_EQ(r1->count(Counter::svr6_sessions_created), 0u);
}

TEST_F(Svr6, EgressPolicyChecksToo) {
  // r2 without the policy: r1's metadata is refused there (zero trust).
  config::Config c = v6wp_config(false, false);
  c.clear_policies();
  make(v6wp_config(true, false), c);
  Frame w1 = r1->send_one(kLan, client_frame(Pkt6().ipv6(kClient6, kServer6, 64).tcp(40002, 80, 0x02)));
  EXPECT_TRUE(r2->send(kWan, w1.raw).empty());
  EXPECT_EQ(r2->drop_count(DropReason::policy_deny), 1u);
}

TEST_F(Svr6, TruncatedTlv3IsDropped) {
  Frame w1 = r1->send_one(kLan, client_frame(Pkt6().ipv6(kClient6, kServer6, 64).tcp(40003, 80, 0x02)));
  ASSERT_TRUE(shorten_tlv(const_cast<uint8_t*>(w1.data()), 3));
  resign(w1, kKey12);
  EXPECT_TRUE(r2->send(kWan, w1.raw).empty());
  EXPECT_EQ(r2->drop_count(DropReason::bad_metadata), 1u);
  EXPECT_EQ(r2->count(Counter::svr6_sessions_created), 0u);
}

}  // namespace
}  // namespace wp
