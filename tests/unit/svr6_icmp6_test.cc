// ICMPv6 echo through IPv6 sessions over SVR (dataplane/svr/svr6_lan.h,
// docs/ipv6.md § ICMPv6 over SVR, docs/svr-wire-format.md § ICMPv6 echo between waypoints):
// an echo request from the LAN starts a session like a UDP datagram (tenant,
// service with `protocol: any` and no ports, policy; deny by default), rides
// the WAN as UDP with its identifier as both ports and metadata (TLV 3, proto
// 58) on the first packet, and is restored whole at the egress; the reply
// comes back restored. Both waypoint kinds; real workers of r1 and r2 (svr6_pair.h).
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "dataplane/ip/icmp.h"
#include "dataplane/ip/ndp.h"
#include "dataplane/session/owner.h"
#include "dataplane/svr/metadata.h"
#include "tests/unit/icmp6_error_check.h"
#include "tests/unit/pkt6_builder.h"
#include "tests/unit/svr6_frames.h"
#include "tests/unit/svr6_pair.h"

namespace wp {
namespace {

using namespace test;

constexpr uint16_t kEchoId = 0x4d2;

// The pair's routers with a service that takes ICMPv6 (any protocol, no ports) for tenant v6 only.
config::Config ping_config(bool r1, bool wan6) {
  config::Config c = v6wp_config(r1, wan6);
  add_service(c, {"ping6", "2001:db8:72::/64", "any", "", r1 ? "r2" : ""});
  add_policy(c, "v6", "ping6", "");
  return c;
}

// `f` (an echo from client_frame or server_frame) with sequence number `seq` and its ICMPv6
// checksum, as a host sends it.
std::vector<uint8_t> echo_frame(std::vector<uint8_t> f, uint16_t seq) {
  const Ipv6View v = parse_ipv6_packet(f.data(), static_cast<uint32_t>(f.size()), 14);
  uint8_t* icmp = f.data() + v.l4;
  icmp[6] = static_cast<uint8_t>(seq >> 8);
  icmp[7] = static_cast<uint8_t>(seq);
  return v6_checksummed(std::move(f));
}

// The echo message of `f` (an IPv6 frame), header and data.
std::string echo_of(const std::vector<uint8_t>& f) {
  const Ipv6View v = parse_ipv6_packet(f.data(), static_cast<uint32_t>(f.size()), 14);
  return std::string(reinterpret_cast<const char*>(f.data()) + v.l4, v.end - v.l4);
}

class Svr6Echo : public Svr6Pair, public ::testing::WithParamInterface<bool> {
 protected:
  void SetUp() override { make(ping_config(true, GetParam()), ping_config(false, GetParam())); }
  bool wan6() const { return GetParam(); }
  std::vector<uint8_t> request(uint16_t seq, const char* from = kV6Client) const {
    return echo_frame(client_frame(Pkt6().ipv6(from, kV6Server, 64).icmp6_echo(kEchoId).payload("ping data")), seq);
  }
  std::vector<uint8_t> reply(uint16_t seq) const {
    return echo_frame(
        server_frame(Pkt6().ipv6(kV6Server, kV6Client, 64).icmp6_echo(kEchoId, kIcmp6EchoReply).payload("ping data")),
        seq);
  }
  // The UDP datagram (IPv4 form) of WAN frame `w` (from r1: `fwd`), its metadata decoded into `md`.
  MetadataStatus wan_udp(const Frame& w, bool fwd, Metadata& md, Frame& v4) const {
    if (wan6()) return wan6_metadata(w, fwd ? kR1Wan6 : kR2Wan6, fwd ? kR2Wan6 : kR1Wan6, md, v4);
    v4 = w;
    EXPECT_EQ(get16(w.raw.data() + 12), kEtherTypeIpv4) << "no IPv6 header on the WAN";
    expect_valid(w);
    return decode_metadata(w.data(), w.data_len(), md);
  }
};

TEST_P(Svr6Echo, EchoRequestStartsASessionAndTheReplyComesBack) {
  const auto req = request(1);
  Frame w1 = r1->send_one(kLan, req);
  Metadata md;
  Frame w1v4;
  ASSERT_EQ(wan_udp(w1, true, md, w1v4), MetadataStatus::ok);
  EXPECT_EQ(w1v4.proto(), kProtoUdp) << "ICMPv6 rides the WAN as UDP";
  EXPECT_TRUE(hmac_ok(w1v4, kKey12));
  ASSERT_TRUE(md.has_forward_context6) << "TLV 3";
  const FiveTuple6 orig{ip6(kV6Client), ip6(kV6Server), kEchoId, kEchoId, kProtoIcmpv6};
  EXPECT_EQ(md.forward_context6, orig) << "the echo identifier as both ports";
  EXPECT_EQ(md.service, "ping6");
  EXPECT_EQ(class_of_port(w1v4.dport()), affinity_class6(orig)) << "port-encoded owner";
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(w1v4.data()) + md.block_len(), echo_of(req).size()),
            echo_of(req))
      << "the echo message whole after the metadata";
  expect_restored6(req, r2->send_one(kWan, w1.raw));
  EXPECT_EQ(r2->count(Counter::svr6_sessions_created), 1u);

  // The reply: reverse metadata (TLV 5, the ack), restored at r1 as an echo reply.
  const auto rep = reply(1);
  Frame w2 = r2->send_one(kLan, rep);
  Metadata rmd;
  Frame w2v4;
  ASSERT_EQ(wan_udp(w2, false, rmd, w2v4), MetadataStatus::ok);
  EXPECT_TRUE(rmd.has_reverse_context6) << "TLV 5";
  EXPECT_EQ(rmd.reverse_context6, (FiveTuple6{ip6(kV6Server), ip6(kV6Client), kEchoId, kEchoId, kProtoIcmpv6}));
  expect_restored6(rep, r1->send_one(kWan, w2.raw));

  // Later echoes of the same identifier: the session, no metadata either way.
  for (uint16_t seq = 2; seq <= 3; ++seq) {
    const auto q = request(seq);
    Frame w = r1->send_one(kLan, q);
    expect_restored6(q, r2->send_one(kWan, w.raw));
    const auto a = reply(seq);
    Frame wb = r2->send_one(kLan, a);
    if (seq == 3) {
      Metadata none;
      Frame scratch;
      EXPECT_EQ(wan_udp(wb, false, none, scratch), MetadataStatus::absent) << "handshake done";
    }
    expect_restored6(a, r1->send_one(kWan, wb.raw));
  }
  EXPECT_EQ(r1->count(Counter::svr6_sessions_created), 1u) << "one session for the identifier";
  EXPECT_EQ(r1->total_drops(), 0u) << r1->drops();
  EXPECT_EQ(r2->total_drops(), 0u) << r2->drops();
}

// Deny by default: a tenant without a policy for the service, and a service that names a protocol.
TEST_P(Svr6Echo, EchoIsDeniedWithoutAPolicyOrToATcpOnlyService) {
  EXPECT_TRUE(r1->send(kLan, request(1, kV6Guest)).empty());
  EXPECT_EQ(r1->drop_count(DropReason::policy_deny), 1u);
  // r2 checks its own policy: without ping6 there the first packet stops at r2.
  config::Config c2 = v6wp_config(false, wan6());
  make(ping_config(true, wan6()), c2);
  Frame w = r1->send_one(kLan, request(1));
  EXPECT_TRUE(r2->send(kWan, w.raw).empty());
  EXPECT_EQ(r2->drop_count(DropReason::no_service), 1u) << r2->drops();
}

// An echo reply, or an echo request from the server's side, starts nothing.
TEST_P(Svr6Echo, OnlyAnEchoRequestFromTheLanStartsASession) {
  EXPECT_TRUE(r1->send(kLan, client_frame(Pkt6().ipv6(kV6Client, kV6Server, 64)
                                               .icmp6_echo(kEchoId, kIcmp6EchoReply)
                                               .payload("x")))
                  .empty());
  EXPECT_EQ(r1->drop_count(DropReason::unsupported_proto), 1u);
  EXPECT_EQ(r1->count(Counter::svr6_sessions_created), 0u);
}

// An ICMPv6 error from beyond the egress about an echo of the session reaches the client
// through the session (svr6_icmp_error_test.cc has the rest); a quote too short to name a
// session is counted as before.
TEST_P(Svr6Echo, ErrorsAboutAnEchoReachTheClientThroughTheSession) {
  const auto req = request(1);
  Frame w1 = r1->send_one(kLan, req);
  const Frame restored = r2->send_one(kWan, w1.raw);
  std::vector<uint8_t> quote(restored.raw.begin() + 14, restored.raw.end());
  const auto unreachable = server_frame(Pkt6().ipv6(kV6Server, kV6Client, 64)
                                            .l4(kProtoIcmpv6, {kIcmp6DestUnreachable, 4, 0, 0, 0, 0, 0, 0})
                                            .payload(quote));
  const Frame carrier = r2->send_one(kLan, unreachable);
  ASSERT_EQ(carrier.port, kWan) << r2->drops();
  const Frame f = r1->send_one(kWan, carrier.raw);
  EXPECT_EQ(f.port, kLan);
  expect_relayed(f, req, ip6(kV6Server), ip6(kV6Client), kIcmp6DestUnreachable, 4, 0, 8);
  EXPECT_EQ(r2->drop_count(DropReason::svr6_untranslatable), 0u) << r2->drops();
  quote.resize(40);  // the IPv6 header only
  EXPECT_TRUE(r2->send(kLan, server_frame(Pkt6().ipv6(kV6Server, kV6Client, 64)
                                              .l4(kProtoIcmpv6, {kIcmp6PacketTooBig, 0, 0, 0, 0, 0, 5, 0})
                                              .payload(quote)))
                  .empty());
  EXPECT_EQ(r2->drop_count(DropReason::ipv6_no_session), 1u) << r2->drops();
}

INSTANTIATE_TEST_SUITE_P(Waypoints, Svr6Echo, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& i) { return i.param ? "Ipv6" : "Ipv4"; });

}  // namespace
}  // namespace wp
