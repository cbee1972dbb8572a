// IPv6 sessions between IPv6 waypoints (dataplane/svr/waypoint6.h, docs/ipv6.md
// § IPv6 sessions between IPv6 waypoints): real workers of r1 and r2, frames
// carried between them by the test.
//
//   client 2001:db8:71::5 - [r1] 2001:db8:70::1 ==IPv6 WAN== 2001:db8:70::2 [r2] - server 2001:db8:72::10
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "dataplane/crypto/session_data.h"
#include "dataplane/ip/nat64_packet.h"
#include "dataplane/ip/packet_edit.h"
#include "dataplane/session/owner.h"
#include "dataplane/svr/metadata.h"
#include "tests/unit/pkt6_builder.h"
#include "tests/unit/route6_test_config.h"
#include "tests/unit/svr6_export_check.h"
#include "tests/unit/svr6_frames.h"
#include "tests/unit/svr6_pair.h"
#include "tests/unit/svr_pair_steps.h"

namespace wp {
namespace {

using namespace test;

using Svr6v6 = Svr6Pair;

TEST_F(Svr6v6, TcpSessionAcrossIpv6Waypoints) {
  const auto syn = client_frame(Pkt6().ipv6(kV6Client, kV6Server, 64).tcp(40000, 80, 0x02).payload("GET /"));
  Frame w1 = r1->send_one(kLan, syn);
  Metadata md;
  Frame w1v4;
  ASSERT_EQ(wan6_metadata(w1, kR1Wan6, kR2Wan6, md, w1v4), MetadataStatus::ok);
  EXPECT_TRUE(hmac_ok(w1v4, kKey12));
  ASSERT_TRUE(md.has_forward_context6) << "TLV 3";
  EXPECT_FALSE(md.has_forward_context) << "no TLV 2";
  const FiveTuple6 orig{ip6(kV6Client), ip6(kV6Server), 40000, 80, kProtoTcp};
  EXPECT_EQ(md.forward_context6, orig);
  EXPECT_EQ(md.tenant, "v6");
  EXPECT_EQ(md.service, "web6");
  EXPECT_EQ(class_of_port(w1v4.sport()), affinity_class6(orig)) << "port-encoded owner";
  EXPECT_EQ(class_of_port(w1v4.dport()), affinity_class6(orig));
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(w1v4.data()) + md.block_len(), 5), "GET /");
  EXPECT_EQ(r1->count(Counter::waypoint6_sent), 1u);
  EXPECT_EQ(std::memcmp(w1.dst_mac(), kR2Mac.data(), 6), 0) << "the peer waypoint's MAC (Neighbor Discovery)";

  expect_restored6(syn, r2->send_one(kWan, w1.raw));
  EXPECT_EQ(r2->count(Counter::waypoint6_received), 1u);
  EXPECT_EQ(r2->count(Counter::svr6_sessions_created), 1u);

  // The reply: reverse metadata with TLV 5 and the ack, restored at r1.
  const auto synack = server_frame(Pkt6().ipv6(kV6Server, kV6Client, 64).tcp(80, 40000, 0x12).payload("200 OK"));
  Frame w2 = r2->send_one(kLan, synack);
  Metadata rmd;
  Frame w2v4;
  ASSERT_EQ(wan6_metadata(w2, kR2Wan6, kR1Wan6, rmd, w2v4), MetadataStatus::ok);
  EXPECT_TRUE(hmac_ok(w2v4, kKey12));
  EXPECT_TRUE(rmd.has_reverse_context6) << "TLV 5";
  EXPECT_EQ(rmd.reverse_context6, (FiveTuple6{ip6(kV6Server), ip6(kV6Client), 80, 40000, kProtoTcp}));
  EXPECT_TRUE(rmd.disable_forward_metadata);
  expect_restored6(synack, r1->send_one(kWan, w2.raw));

  // Later packets: no metadata either way, translated by session state.
  for (int i = 0; i < 2; ++i) {
    const auto ack = client_frame(Pkt6().ipv6(kV6Client, kV6Server, 64).tcp(40000, 80, 0x10).payload("more data"));
    Frame w = r1->send_one(kLan, ack);
    Metadata none;
    Frame scratch;
    EXPECT_EQ(wan6_metadata(w, kR1Wan6, kR2Wan6, none, scratch), MetadataStatus::absent);
    expect_restored6(ack, r2->send_one(kWan, w.raw));
    const auto back = server_frame(Pkt6().ipv6(kV6Server, kV6Client, 64).tcp(80, 40000, 0x10).payload("body"));
    Frame wb = r2->send_one(kLan, back);
    if (i == 1) {
      EXPECT_EQ(wan6_metadata(wb, kR2Wan6, kR1Wan6, none, scratch), MetadataStatus::absent) << "r2 stopped reverse metadata";
    }
    expect_restored6(back, r1->send_one(kWan, wb.raw));
  }
  EXPECT_EQ(r1->total_drops(), 0u) << r1->drops();
  EXPECT_EQ(r2->total_drops(), 0u) << r2->drops();
}

// An encrypted session's SYN: the MSS is clamped for the IPv6 WAN header (40
// bytes, not IPv4's 20) plus the crypto overhead, so a full-size encrypted
// segment fits the WAN MTU instead of being dropped as waypoint6_too_big.
TEST_F(Svr6v6, EncryptedSessionClampsTheMssForTheIpv6WanHeader) {
  make(encrypted(v6wp_config(true)), encrypted(v6wp_config(false)), RouterOptions().with_key_slots(64));
  std::vector<uint8_t> tcp(24, 0);
  tcp[0] = 40000 >> 8, tcp[1] = 40000 & 0xff, tcp[3] = 80;
  tcp[12] = 6 << 4;  // data offset: 24 bytes, the MSS option
  tcp[13] = kTcpSyn;
  tcp[20] = 2, tcp[21] = 4, tcp[22] = 1440 >> 8, tcp[23] = 1440 & 0xff;  // MSS 1440 (1500 - 60)
  const auto syn = client_frame(Pkt6().ipv6(kV6Client, kV6Server, 64).l4(kProtoTcp, tcp));
  Frame w = r1->send_one(kLan, syn);
  ASSERT_EQ(get16(w.raw.data() + 12), kEtherTypeIpv6);
  const Ipv6View v = parse_ipv6_packet(w.raw.data(), static_cast<uint32_t>(w.raw.size()), 14);
  ASSERT_EQ(v.status, Ipv6Status::ok);
  const uint8_t* opt = w.raw.data() + v.l4 + 20;
  ASSERT_EQ(opt[0], 2) << "the MSS option kept its place";
  const uint16_t mss = get16(opt + 2);
  const uint32_t wan_mtu = r1->model().interfaces[1].mtu;
  EXPECT_LE(mss, wan_mtu - 40 - 20 - kCryptoOverhead) << "IPv6 outer header and crypto overhead";
  EXPECT_GT(mss, 1300u);
  EXPECT_EQ(r1->count(Counter::mss_clamped), 1u);
}

// REST and IPFIX show the session by its IPv6 tuple and the IPv6 waypoints
// (template 257, IEs 281/282), never the 0.255.0.0/16 stand-ins the workers
// keep it under, with one UUID at both routers (svr6_export_check.h).
TEST_F(Svr6v6, RestAndIpfixShowTheIpv6TupleAndTheIpv6Waypoints) {
  enable_session_events(*r1);
  enable_session_events(*r2);
  const auto syn = client_frame(Pkt6().ipv6(kV6Client, kV6Server, 64).tcp(40000, 80, 0x02).payload("GET /"));
  Frame w1 = r1->send_one(kLan, syn);
  ASSERT_EQ(get16(w1.raw.data() + 12), kEtherTypeIpv6);
  const Ipv6View wv = parse_ipv6_packet(w1.raw.data(), static_cast<uint32_t>(w1.raw.size()), 14);
  expect_restored6(syn, r2->send_one(kWan, w1.raw));
  const auto synack = server_frame(Pkt6().ipv6(kV6Server, kV6Client, 64).tcp(80, 40000, 0x12).payload("200 OK"));
  Frame w2 = r2->send_one(kLan, synack);
  expect_restored6(synack, r1->send_one(kWan, w2.raw));
  expect_svr6_export(*r1, *r2,
                     {kV6Client, kV6Server, kR1Wan6, kR2Wan6, wv.sport, wv.dport, mgmt::kSession6TemplateId,
                      syn.size() - 14, synack.size() - 14});
}

TEST_F(Svr6v6, UdpFirstPacketCarriesTlv3) {
  const auto q = client_frame(Pkt6().ipv6(kV6Client, kV6Server, 64).udp(5353, 53).payload("query"));
  Frame w1 = r1->send_one(kLan, q);
  Metadata md;
  Frame w1v4;
  ASSERT_EQ(wan6_metadata(w1, kR1Wan6, kR2Wan6, md, w1v4), MetadataStatus::ok);
  EXPECT_TRUE(hmac_ok(w1v4, kKey12));
  ASSERT_TRUE(md.has_forward_context6);
  EXPECT_EQ(md.forward_context6, (FiveTuple6{ip6(kV6Client), ip6(kV6Server), 5353, 53, kProtoUdp}));
  expect_restored6(q, r2->send_one(kWan, w1.raw));
  // The answer and a second query, without metadata once acked.
  const auto a = server_frame(Pkt6().ipv6(kV6Server, kV6Client, 64).udp(53, 5353).payload("answer"));
  Frame w2 = r2->send_one(kLan, a);
  expect_restored6(a, r1->send_one(kWan, w2.raw));
  const auto q2 = client_frame(Pkt6().ipv6(kV6Client, kV6Server, 64).udp(5353, 53).payload("query 2"));
  Frame w3 = r1->send_one(kLan, q2);
  Metadata none;
  Frame scratch;
  EXPECT_EQ(wan6_metadata(w3, kR1Wan6, kR2Wan6, none, scratch), MetadataStatus::absent);
  expect_restored6(q2, r2->send_one(kWan, w3.raw));
  EXPECT_EQ(r1->total_drops(), 0u) << r1->drops();
  EXPECT_EQ(r2->total_drops(), 0u) << r2->drops();
}

// An encrypted session's first packet carries the metadata block and the IV
// and padding; between IPv6 waypoints its outer header is 20 bytes longer
// still, all of it in front of the data (headroom).
TEST_F(Svr6v6, EncryptedUdpFirstPacketsCrossBothWays) {
  make(encrypted(v6wp_config(true)), encrypted(v6wp_config(false)), RouterOptions().with_key_slots(64));
  for (size_t n : {size_t{1}, size_t{152}, size_t{1000}}) {
    const uint16_t sport = static_cast<uint16_t>(5000 + n);
    const auto q = client_frame(Pkt6().ipv6(kV6Client, kV6Server, 64).udp(sport, 53).payload(std::string(n, 'q')));
    const std::vector<Frame> w1 = r1->send(kLan, q);
    ASSERT_EQ(w1.size(), 1u) << n << ": " << r1->drops();
    EXPECT_EQ(get16(w1[0].raw.data() + 12), kEtherTypeIpv6);
    expect_restored6(q, r2->send_one(kWan, w1[0].raw));
    const auto a = server_frame(Pkt6().ipv6(kV6Server, kV6Client, 64).udp(53, sport).payload(std::string(n, 'a')));
    const std::vector<Frame> w2 = r2->send(kLan, a);
    ASSERT_EQ(w2.size(), 1u) << n << ": " << r2->drops();
    expect_restored6(a, r1->send_one(kWan, w2[0].raw));
  }
  EXPECT_EQ(r1->total_drops(), 0u) << r1->drops();
  EXPECT_EQ(r2->total_drops(), 0u) << r2->drops();
}

// The same between IPv4 waypoints (no IPv6 WAN address on either router): the sealed IPv6
// session rides IPv4 outer headers, its data never in the clear on the WAN.
TEST_F(Svr6v6, EncryptedSessionsBetweenIpv4WaypointsCrossBothWays) {
  make(encrypted(v6wp_config(true, false)), encrypted(v6wp_config(false, false)), RouterOptions().with_key_slots(64));
  auto in_clear = [](const Frame& f, char c) {
    return std::search_n(f.raw.begin(), f.raw.end(), 64, static_cast<uint8_t>(c)) != f.raw.end();
  };
  for (size_t n : {size_t{1}, size_t{152}, size_t{1000}}) {
    const uint16_t sport = static_cast<uint16_t>(6000 + n);
    const auto q = client_frame(Pkt6().ipv6(kV6Client, kV6Server, 64).udp(sport, 53).payload(std::string(n, 'q')));
    const std::vector<Frame> w1 = r1->send(kLan, q);
    ASSERT_EQ(w1.size(), 1u) << n << ": " << r1->drops();
    EXPECT_EQ(get16(w1[0].raw.data() + 12), kEtherTypeIpv4) << "v6 over v4";
    EXPECT_EQ(w1[0].dst(), kR2Wan);
    EXPECT_FALSE(in_clear(w1[0], 'q')) << n;
    expect_restored6(q, r2->send_one(kWan, w1[0].raw));
    const auto a = server_frame(Pkt6().ipv6(kV6Server, kV6Client, 64).udp(53, sport).payload(std::string(n, 'a')));
    const std::vector<Frame> w2 = r2->send(kLan, a);
    ASSERT_EQ(w2.size(), 1u) << n << ": " << r2->drops();
    EXPECT_EQ(get16(w2[0].raw.data() + 12), kEtherTypeIpv4);
    EXPECT_FALSE(in_clear(w2[0], 'a')) << n;
    expect_restored6(a, r1->send_one(kWan, w2[0].raw));
  }
  EXPECT_EQ(r1->count(Counter::waypoint6_sent), 0u);
  EXPECT_GE(r1->count(Counter::packets_encrypted), 3u);
  EXPECT_GE(r2->count(Counter::packets_decrypted), 3u);
  EXPECT_EQ(r1->total_drops(), 0u) << r1->drops();
  EXPECT_EQ(r2->total_drops(), 0u) << r2->drops();
}

TEST_F(Svr6v6, WithoutAnIpv6WanAddressTheSessionRidesIpv4Waypoints) {
  make(v6wp_config(true, false), v6wp_config(false));
  const auto syn = client_frame(Pkt6().ipv6(kV6Client, kV6Server, 64).tcp(40004, 80, 0x02));
  Frame w1 = r1->send_one(kLan, syn);
  EXPECT_EQ(get16(w1.raw.data() + 12), kEtherTypeIpv4) << "v6 over v4";
  EXPECT_EQ(w1.dst(), kR2Wan);
  expect_restored6(syn, r2->send_one(kWan, w1.raw));
  EXPECT_EQ(r1->count(Counter::waypoint6_sent), 0u);
}

TEST_F(Svr6v6, GuestTenantDenied) {
  const auto syn = client_frame(Pkt6().ipv6(kV6Guest, kV6Server, 64).tcp(40001, 80, 0x02));
  EXPECT_TRUE(r1->send(kLan, syn).empty());
  EXPECT_EQ(r1->drop_count(DropReason::policy_deny), 1u);
  EXPECT_EQ(r1->count(Counter::waypoint6_sent), 0u);
}

TEST_F(Svr6v6, EgressPolicyChecksToo) {
  config::Config c = v6wp_config(false);
  c.clear_policies();
  make(v6wp_config(true), c);
  Frame w1 = r1->send_one(kLan, client_frame(Pkt6().ipv6(kV6Client, kV6Server, 64).tcp(40002, 80, 0x02)));
  EXPECT_TRUE(r2->send(kWan, w1.raw).empty());
  EXPECT_EQ(r2->drop_count(DropReason::policy_deny), 1u);
  EXPECT_EQ(r2->count(Counter::svr6_sessions_created), 0u);
}

TEST_F(Svr6v6, TruncatedTlv3IsDropped) {
  Frame w1 = r1->send_one(kLan, client_frame(Pkt6().ipv6(kV6Client, kV6Server, 64).tcp(40003, 80, 0x02)));
  Frame f4 = l4_as_v4(w1);
  ASSERT_TRUE(shorten_tlv(const_cast<uint8_t*>(f4.data()), 3));
  resign(f4, kKey12);
  EXPECT_TRUE(r2->send(kWan, with_l4_of(w1, f4).raw).empty());
  EXPECT_EQ(r2->drop_count(DropReason::bad_metadata), 1u);
  EXPECT_EQ(r2->count(Counter::svr6_sessions_created), 0u);
}

TEST_F(Svr6v6, BadHmacAndUnknownPeerAreDropped) {
  Frame w1 = r1->send_one(kLan, client_frame(Pkt6().ipv6(kV6Client, kV6Server, 64).tcp(40005, 80, 0x02)));
  Frame bad = w1;
  bad.raw[bad.raw.size() - 1] ^= 1;  // the HMAC trailer's last byte
  Frame f4 = l4_as_v4(bad);
  EXPECT_TRUE(r2->send(kWan, with_l4_of(bad, f4).raw).empty());
  EXPECT_EQ(r2->drop_count(DropReason::bad_hmac), 1u);
  Frame stranger = w1;
  stranger.raw[14 + 8 + 15] = 0x99;  // source 2001:db8:70::99: no peer's waypoint
  EXPECT_TRUE(r2->send(kWan, with_l4_of(stranger, l4_as_v4(w1)).raw).empty());
  EXPECT_EQ(r2->drop_count(DropReason::unknown_peer), 1u);
  EXPECT_EQ(r2->count(Counter::svr6_sessions_created), 0u);
}

// Not a repeating pattern: a misplaced 8-byte block would show.
std::string data_of(size_t n, uint32_t seed) {
  std::string d(n, 0);
  for (size_t i = 0; i < n; ++i) d[i] = static_cast<char>((i * 131 + seed) >> 3);
  return d;
}

// A full-size first packet (1500 bytes of IPv6 on the LAN: the metadata and
// HMAC make it larger than the WAN's 1500) leaves r1 in IPv6 fragments (RFC
// 8200 § 4.5: r1 is the source of that header), without TLV 1; r2 makes it
// whole and restores it byte-exact.
TEST_F(Svr6v6, FullSizeFirstPacketIsFragmentedAndRestoredByteExact) {
  const uint32_t mtu = r1->model().interfaces[1].mtu;
  const auto big = client_frame(Pkt6().ipv6(kV6Client, kV6Server, 64).udp(5354, 53).payload(data_of(1500 - 48, 1)));
  const std::vector<Frame> frags = r1->send(kLan, big);
  ASSERT_EQ(frags.size(), 2u) << r1->drops();
  const uint32_t payload = expect_wan6_fragments(frags, kR1Wan6, kR2Wan6, mtu);
  EXPECT_GT(payload + 40, mtu) << "the datagram with its metadata and HMAC";
  EXPECT_EQ(r1->count(Counter::waypoint6_sent), 1u);
  EXPECT_EQ(r1->count(Counter::waypoint6_fragmented), 1u);
  EXPECT_EQ(r1->count(Counter::waypoint6_fragments_sent), 2u);
  EXPECT_EQ(r1->count(Counter::fragment_tlv_sent), 0u) << "no TLV 1 between IPv6 waypoints";
  EXPECT_TRUE(r2->send(kWan, frags[0].raw).empty()) << "held until the datagram is whole";
  expect_restored6(big, r2->send_one(kWan, frags[1].raw));
  EXPECT_EQ(r2->count(Counter::waypoint6_fragments_received), 2u);
  EXPECT_EQ(r2->count(Counter::waypoint6_reassembled), 1u);
  EXPECT_EQ(r2->count(Counter::waypoint6_received), 1u);
  EXPECT_EQ(r2->count(Counter::svr6_sessions_created), 1u);

  // The answer, as large: its reverse metadata would not fit, so it goes ahead alone
  // (MetadataOnly::due, once the keep-alive gap passed) and the answer itself fits.
  r2->worker().set_now_ms(r2->worker().now_ms() + 1000);
  const auto answer = server_frame(Pkt6().ipv6(kV6Server, kV6Client, 64).udp(53, 5354).payload(data_of(1500 - 48, 2)));
  const std::vector<Frame> back = r2->send(kLan, answer);
  ASSERT_EQ(back.size(), 2u) << r2->drops();
  EXPECT_EQ(r2->count(Counter::metadata_only_sent), 1u);
  std::vector<Frame> at_r1;
  for (const Frame& f : back)
    for (Frame& g : r1->send(kWan, f.raw)) at_r1.push_back(std::move(g));
  ASSERT_EQ(at_r1.size(), 1u) << r1->drops();
  expect_restored6(answer, at_r1[0]);
  EXPECT_EQ(r1->total_drops(), 0u) << r1->drops();
  EXPECT_EQ(r2->total_drops(), 0u) << r2->drops();
}

// Fragments of one datagram received by different workers meet on the worker
// of its fragment key, and the whole datagram then on its session's.
TEST_F(Svr6v6, FragmentsReceivedByDifferentWorkersAreReassembled) {
  constexpr uint32_t kWorkers = 3;
  make(v6wp_config(true), v6wp_config(false), RouterOptions().with_workers(kWorkers));
  for (uint16_t sport = 6000; sport < 6004; ++sport) {
    // r1 receives on worker 0: the LAN packet's owner (by its class) may be another.
    const auto big = client_frame(Pkt6().ipv6(kV6Client, kV6Server, 64).udp(sport, 53).payload(data_of(1452, sport)));
    receive_on(*r1, Frame{big, kLan}, 0);
    std::vector<Frame> frags = r1->transmitted();
    r1->idle();
    ASSERT_EQ(frags.size(), 2u) << drops_all(*r1, DropReason::waypoint6_too_big);
    expect_wan6_fragments(frags, kR1Wan6, kR2Wan6, r1->model().interfaces[1].mtu);
    receive_on(*r2, frags[0], sport % kWorkers);
    EXPECT_TRUE(r2->transmitted().empty());
    receive_on(*r2, frags[1], (sport + 1) % kWorkers);
    ASSERT_EQ(r2->transmitted().size(), 1u) << "sport " << sport;
    expect_restored6(big, r2->transmitted()[0]);
    r2->idle();
  }
  EXPECT_EQ(count_all(*r2, Counter::waypoint6_reassembled), 4u);
  EXPECT_EQ(count_all(*r2, Counter::waypoint6_fragments_received), 8u);
  EXPECT_EQ(count_all(*r2, Counter::svr6_sessions_created), 4u);
  EXPECT_GT(count_all(*r2, Counter::handoff_in), 0u);
}

// The reassembly table's rules (ip/reassembly.h) count their drops: an exact
// duplicate alone, an overlap the whole datagram (RFC 5722), an incomplete
// datagram on timeout; a stranger's fragments to the waypoint take no slot.
TEST_F(Svr6v6, DuplicateOverlappingStaleAndStrangersFragmentsAreCounted) {
  auto frags_of = [&](uint16_t sport) {
    return r1->send(kLan, client_frame(Pkt6().ipv6(kV6Client, kV6Server, 64).udp(sport, 53).payload(data_of(1452, 7))));
  };
  const std::vector<Frame> a = frags_of(7001);
  ASSERT_EQ(a.size(), 2u);
  EXPECT_TRUE(r2->send(kWan, a[0].raw).empty());
  EXPECT_TRUE(r2->send(kWan, a[0].raw).empty());
  EXPECT_EQ(r2->drop_count(DropReason::ipv6_frag_duplicate), 1u);
  EXPECT_EQ(r2->send(kWan, a[1].raw).size(), 1u) << "the duplicate cost nothing else: " << r2->drops();

  const std::vector<Frame> b = frags_of(7002);
  ASSERT_EQ(b.size(), 2u);
  Frame overlap = b[1];
  const Ipv6View v = parse_ipv6_packet(overlap.raw.data(), static_cast<uint32_t>(overlap.raw.size()), 14);
  put16(overlap.raw.data() + v.frag.header + 2, static_cast<uint16_t>(v.frag.offset - 8));  // 8 bytes into b[0]'s, M clear
  EXPECT_TRUE(r2->send(kWan, b[0].raw).empty());
  EXPECT_TRUE(r2->send(kWan, overlap.raw).empty());
  EXPECT_EQ(r2->drop_count(DropReason::ipv6_frag_overlap), 1u);
  EXPECT_TRUE(r2->send(kWan, b[1].raw).empty()) << "the datagram is gone: its last fragment waits alone";

  r2->worker().set_now_ms(r2->worker().now_ms() + 2500);
  for (int i = 0; i < 10; ++i) r2->idle();  // the sweep visits 32 of the 256 slots an iteration
  EXPECT_EQ(r2->drop_count(DropReason::ipv6_frag_timeout), 1u) << "b's last fragment, never completed";

  Frame stranger = a[0];
  stranger.raw[14 + 8 + 15] = 0x99;  // source 2001:db8:70::99: no peer's waypoint
  EXPECT_TRUE(r2->send(kWan, stranger.raw).empty());
  EXPECT_EQ(r2->drop_count(DropReason::not_ipv4), 1u) << "the IPv6 input's (not routed)";
  EXPECT_EQ(r2->count(Counter::waypoint6_fragments_received), 4u) << "a[0], a[1], b[0], b[1]: not the stranger's";
  EXPECT_EQ(r2->count(Counter::waypoint6_reassembled), 1u);
}

// r1 with a longer service name: a longer metadata block, under 16 bytes of headroom left in
// the first packet, as a real SYN (TCP options, more TLVs) had in test_ha6.sh. r2's IPv6
// waypoint is not learned.
config::Config long_service_name(config::Config c) {
  for (auto& s : *c.mutable_services())
    if (s.name() == "web6") s.set_name("web6-over-the-ipv6-waypoints");
  for (auto& p : *c.mutable_policies())
    if (p.service() == "web6") p.set_service("web6-over-the-ipv6-waypoints");
  return c;
}

// The first packet r1 handed to the control thread to wait for Neighbor Discovery: whole,
// from r1's waypoint to `to`, waiting for `solicited`; nothing dropped.
void expect_waits_for(Router& r, const char* to, const Ipv6& solicited) {
  EXPECT_EQ(r.drop_count(DropReason::nd_unresolved), 0u);
  rte_mbuf* m = nullptr;
  ASSERT_EQ(rte_ring_sc_dequeue(r.shared().resolve[0], reinterpret_cast<void**>(&m)), 0) << "to the control thread";
  EXPECT_EQ(m->port, 1) << "the WAN";
  Frame w1;
  w1.raw.assign(pkt_data(m), pkt_data(m) + m->data_len);
  w1.port = m->port;
  EXPECT_EQ(resolve6_target(m, load_ipv6(w1.raw.data() + kEthHdrLen + 24)), solicited);
  rte_pktmbuf_free(m);
  Metadata md;
  Frame w1v4;
  ASSERT_EQ(wan6_metadata(w1, kR1Wan6, to, md, w1v4), MetadataStatus::ok) << "the first packet whole";
  EXPECT_TRUE(hmac_ok(w1v4, kKey12));
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(w1v4.data()) + md.block_len(), 5), "GET /");
}

// #19 HA e2e (test_ha6.sh): the first packet of a session to a peer's IPv6 waypoint that is
// not resolved yet waits for Neighbor Discovery. Its metadata block had used up the headroom
// where mark_resolve6_via keeps a gateway's address, so it was dropped as nd_unresolved
// before any solicitation went out, and so was every retransmitted SYN (each carries the
// block again): the session never came up. An on-link next hop is the header's destination.
TEST_F(Svr6v6, FirstPacketToAnUnresolvedWaypointWaitsForNeighborDiscovery) {
  r1 = std::make_unique<Router>(long_service_name(v6wp_config(true)));
  r1->neighbor(1, kR2Wan, kR2Mac);
  learn6_on(*r1, 0, ip6(kV6Client), kRouteClientMac);
  const auto syn = client_frame(Pkt6().ipv6(kV6Client, kV6Server, 64).tcp(40000, 80, 0x02).payload("GET /"));
  EXPECT_TRUE(r1->send(kLan, syn).empty());
  expect_waits_for(*r1, kR2Wan6, ip6(kR2Wan6));
  // Once the neighbor is known, the retransmitted SYN leaves at once.
  learn6_on(*r1, 1, ip6(kR2Wan6), kR2Mac);
  Frame again = r1->send_one(kLan, syn);
  EXPECT_EQ(again.port, kWan);
  EXPECT_EQ(std::memcmp(again.dst_mac(), kR2Mac.data(), 6), 0);
}

// The same behind a gateway (r2's waypoint off the WAN's link, a static route to it): the
// gateway's address is kept in front of the frame, which moves toward the tail for it.
TEST_F(Svr6v6, FirstPacketToAWaypointBehindAnUnresolvedGatewayKeepsTheGateway) {
  constexpr const char* kFarWaypoint = "2001:db8:80::2";
  config::Config c = long_service_name(v6wp_config(true));
  c.mutable_peers(0)->set_waypoints(1, kFarWaypoint);
  add_route(c, "2001:db8:80::/64", "2001:db8:70::9", "wan0");
  r1 = std::make_unique<Router>(c);
  r1->neighbor(1, kR2Wan, kR2Mac);
  learn6_on(*r1, 0, ip6(kV6Client), kRouteClientMac);
  EXPECT_TRUE(r1->send(kLan, client_frame(Pkt6().ipv6(kV6Client, kV6Server, 64).tcp(40001, 80, 0x02).payload("GET /")))
                  .empty());
  expect_waits_for(*r1, kFarWaypoint, ip6("2001:db8:70::9"));
}

// #19: the routes to a peer's IPv6 waypoint are the config's and FRR's (DataplaneShared::fib6),
// whichever wins as for a routed IPv6 session (control/waypoint6_addr.h waypoint6_route). r2's
// waypoint 2001:db8:80::2 is off r1's WAN link; both routers reach the other's waypoint through
// a link-local gateway fe80::99 on wan0 that FRR names (BGP over the IPv6 WAN).
constexpr const char* kFarR2Wan6 = "2001:db8:80::2";

// FRR's IPv6 routes on `r` while it lives (the table is the test's: taken back before the router goes).
struct Frr6 {
  Frr6(Router& router, std::vector<FibRoute6> routes) : r(router), fib(std::move(routes)) {
    r.shared().fib6.store(&fib, std::memory_order_release);
    learn_link_local_gw(r);
  }
  ~Frr6() { r.shared().fib6.store(nullptr, std::memory_order_release); }
  Router& r;
  FibTable6 fib;
};

// r1 and r2 with r2's IPv6 waypoint off r1's link and no static route to either waypoint (`fpm`:
// FRR's routes may carry them); `v4`: r1 still lists r2's IPv4 waypoint.
config::Config far_config(bool r1, bool v4 = true) {
  config::Config c = v6wp_config(r1);
  c.mutable_fpm();
  if (r1) {
    c.mutable_peers(0)->set_waypoints(1, kFarR2Wan6);
    if (!v4) c.mutable_peers(0)->mutable_waypoints()->DeleteSubrange(0, 1);
  } else {
    c.mutable_router()->mutable_wan(0)->set_ipv6_addresses(0, "2001:db8:80::2/64");
  }
  return c;
}

// The frame a gateway forwards: to the router's MAC.
std::vector<uint8_t> via_gateway(const Frame& f, const Mac& to) {
  std::vector<uint8_t> raw = f.raw;
  std::memcpy(raw.data(), to.data(), 6);
  std::memcpy(raw.data() + 6, kLinkLocalMac.data(), 6);
  return raw;
}

TEST_F(Svr6v6, PeersWaypointReachableOnlyByAnFrrRouteCarriesASession) {
  EXPECT_EQ(config_errors(far_config(true)), "");
  EXPECT_EQ(config_errors(far_config(false)), "");
  make(far_config(true), far_config(false));
  const auto syn = client_frame(Pkt6().ipv6(kV6Client, kV6Server, 64).tcp(40010, 80, 0x02).payload("GET /"));
  {
    // Without FRR's route r1 has none to r2's IPv6 waypoint: v6 over v4.
    Frame w = r1->send_one(kLan, syn);
    EXPECT_EQ(get16(w.raw.data() + 12), kEtherTypeIpv4);
    EXPECT_EQ(r1->count(Counter::waypoint6_sent), 0u);
  }
  Frr6 f1(*r1, {frr_route("2001:db8:80::/64", 20, {{kLinkLocalGw, 1}})});
  Frr6 f2(*r2, {frr_route("2001:db8:70::/64", 20, {{kLinkLocalGw, 1}})});
  const auto syn2 = client_frame(Pkt6().ipv6(kV6Client, kV6Server, 64).tcp(40011, 80, 0x02).payload("GET /"));
  Frame w1 = r1->send_one(kLan, syn2);
  EXPECT_EQ(w1.port, kWan);
  EXPECT_EQ(std::memcmp(w1.dst_mac(), kLinkLocalMac.data(), 6), 0) << "to FRR's link-local gateway";
  Metadata md;
  Frame w1v4;
  ASSERT_EQ(wan6_metadata(w1, kR1Wan6, kFarR2Wan6, md, w1v4), MetadataStatus::ok);
  EXPECT_TRUE(hmac_ok(w1v4, kKey12));
  EXPECT_EQ(r1->count(Counter::waypoint6_sent), 1u);
  // r2 answers r1's waypoint through its own FRR route (WanInput's route back to the stand-in).
  expect_restored6(syn2, r2->send_one(kWan, via_gateway(w1, kR2Mac)));
  EXPECT_EQ(r2->count(Counter::svr6_sessions_created), 1u);
  const auto synack = server_frame(Pkt6().ipv6(kV6Server, kV6Client, 64).tcp(80, 40011, 0x12).payload("200 OK"));
  Frame w2 = r2->send_one(kLan, synack);
  EXPECT_EQ(std::memcmp(w2.dst_mac(), kLinkLocalMac.data(), 6), 0);
  Metadata rmd;
  Frame w2v4;
  ASSERT_EQ(wan6_metadata(w2, kFarR2Wan6, kR1Wan6, rmd, w2v4), MetadataStatus::ok);
  expect_restored6(synack, r1->send_one(kWan, via_gateway(w2, kR1Mac)));
  EXPECT_EQ(r1->total_drops(), 0u) << r1->drops();
  EXPECT_EQ(r2->total_drops(), 0u) << r2->drops();

  // FRR withdraws its route and blackholes the prefix: the session's next packet is refused, counted.
  f1.r.shared().fib6.store(nullptr, std::memory_order_release);
  FibTable6 blackhole({frr_route("2001:db8:80::/64", 20, {})});
  r1->shared().fib6.store(&blackhole, std::memory_order_release);
  const auto ack = client_frame(Pkt6().ipv6(kV6Client, kV6Server, 64).tcp(40011, 80, 0x10).payload("more"));
  EXPECT_TRUE(r1->send(kLan, ack).empty());
  EXPECT_EQ(r1->drop_count(DropReason::ipv6_no_route), 1u) << r1->drops();
  r1->shared().fib6.store(&f1.fib, std::memory_order_release);
}

// FRR's blackhole refuses the waypoint though a static route covers it: with the peer's IPv4
// waypoint the session rides that, without one it is refused with pick_wan_side's reason (no_peer).
TEST_F(Svr6v6, FrrsBlackholeRefusesThePeersWaypoint) {
  for (const bool v4 : {true, false}) {
    config::Config c = far_config(true, v4);
    add_route(c, "2001:db8:80::/48", "2001:db8:70::9", "wan0");
    make(c, far_config(false));
    learn6_on(*r1, 1, ip6("2001:db8:70::9"), kR2Mac);
    const auto syn = client_frame(Pkt6().ipv6(kV6Client, kV6Server, 64).tcp(40020, 80, 0x02).payload("GET /"));
    {
      Frr6 f(*r1, {frr_route("2001:db8:80::/64", 20, {})});
      const std::vector<Frame> out = r1->send(kLan, syn);
      EXPECT_EQ(r1->count(Counter::waypoint6_sent), 0u) << v4;
      if (v4) {
        ASSERT_EQ(out.size(), 1u) << r1->drops();
        EXPECT_EQ(get16(out[0].raw.data() + 12), kEtherTypeIpv4) << "v6 over v4";
      } else {
        EXPECT_TRUE(out.empty());
        EXPECT_EQ(r1->drop_count(DropReason::no_peer), 1u) << "no waypoint of the peer routed: " << r1->drops();
        EXPECT_EQ(r1->count(Counter::svr6_sessions_created) + r1->count(Counter::sessions_created), 0u);
      }
    }
    // The static route alone (FRR's table gone): IPv6 waypoints through its gateway.
    Frame w = r1->send_one(kLan, client_frame(Pkt6().ipv6(kV6Client, kV6Server, 64).tcp(40021, 80, 0x02)));
    EXPECT_EQ(r1->count(Counter::waypoint6_sent), 1u) << v4 << " " << r1->drops();
    EXPECT_EQ(get16(w.raw.data() + 12), kEtherTypeIpv6);
  }
}

// A longer FRR prefix wins over the config's route to the waypoint; one of the config route's
// own prefix loses to it (distance 20 > 1), as for routed IPv6 sessions.
TEST_F(Svr6v6, ALongerFrrPrefixToThePeersWaypointWinsOverTheConfigs) {
  config::Config c = far_config(true);
  add_route(c, "2001:db8:80::/48", "2001:db8:70::9", "wan0");
  make(c, far_config(false));
  learn6_on(*r1, 1, ip6("2001:db8:70::9"), kR2Mac);
  {
    Frr6 f(*r1, {frr_route("2001:db8:80::/48", 20, {{kLinkLocalGw, 1}})});
    Frame w = r1->send_one(kLan, client_frame(Pkt6().ipv6(kV6Client, kV6Server, 64).tcp(40030, 80, 0x02)));
    EXPECT_EQ(std::memcmp(w.dst_mac(), kR2Mac.data(), 6), 0) << "the static route's gateway";
  }
  Frr6 f(*r1, {frr_route("2001:db8:80::/64", 20, {{kLinkLocalGw, 1}})});
  Frame w = r1->send_one(kLan, client_frame(Pkt6().ipv6(kV6Client, kV6Server, 64).tcp(40031, 80, 0x02)));
  EXPECT_EQ(std::memcmp(w.dst_mac(), kLinkLocalMac.data(), 6), 0) << "FRR's /64 and its link-local gateway";
  // The first session keeps its waypoint and now follows FRR's route too (the next hop is resolved per packet).
  Frame again = r1->send_one(kLan, client_frame(Pkt6().ipv6(kV6Client, kV6Server, 64).tcp(40030, 80, 0x10)));
  EXPECT_EQ(std::memcmp(again.dst_mac(), kLinkLocalMac.data(), 6), 0);
  EXPECT_EQ(r1->count(Counter::waypoint6_sent), 3u);
  EXPECT_EQ(r1->total_drops(), 0u) << r1->drops();
}

// --- configuration --------------------------------------------------------------

template <class Edit>
config::Config v6wp_with(Edit edit) {
  config::Config c = v6wp_config(true);
  edit(c);
  return c;
}

TEST(Waypoint6Config, Ipv6WaypointsValidate) {
  EXPECT_EQ(config_errors(v6wp_config(true)), "");
  EXPECT_TRUE(has_config_error(v6wp_with([](config::Config& c) { c.mutable_peers(0)->set_waypoints(1, "2001:db8:70::zz"); }),
                               "peers[0].waypoints[1]", "is not an IPv4 or IPv6 address"));
  EXPECT_TRUE(has_config_error(v6wp_with([](config::Config& c) { c.mutable_peers(0)->set_waypoints(1, "fe80::2"); }),
                               "peers[0].waypoints[1]", "must be a global unicast IPv6 address"));
  EXPECT_TRUE(has_config_error(v6wp_with([](config::Config& c) { c.mutable_peers(0)->set_waypoints(1, "ff02::2"); }),
                               "peers[0].waypoints[1]", "must be a global unicast IPv6 address"));
  EXPECT_TRUE(has_config_error(v6wp_with([](config::Config& c) { c.mutable_peers(0)->set_waypoints(1, "2001:db8:99::2"); }),
                               "peers[0].waypoints[1]", "is not reachable from any WAN interface"));
  // Routed through a WAN interface with ipv6_addresses: fine.
  EXPECT_EQ(config_errors(v6wp_with([](config::Config& c) {
              c.mutable_peers(0)->set_waypoints(1, "2001:db8:99::2");
              add_route(c, "2001:db8:99::/64", "2001:db8:70::254", "wan0");
            })),
            "");
  // Not covered by the config's routes, but FRR's may carry it (`fpm`).
  EXPECT_EQ(config_errors(v6wp_with([](config::Config& c) {
              c.mutable_peers(0)->set_waypoints(1, "2001:db8:99::2");
              c.mutable_fpm();
            })),
            "");
  // On the LAN's prefix only: not a WAN.
  EXPECT_TRUE(has_config_error(v6wp_with([](config::Config& c) { c.mutable_peers(0)->set_waypoints(1, "2001:db8:71::9"); }),
                               "peers[0].waypoints[1]", "is not reachable from any WAN interface"));
}

TEST(Waypoint6Config, TheModelKeepsIpv6WaypointsApart) {
  Router r(v6wp_config(true));
  ASSERT_EQ(r.model().peers.size(), 1u);
  EXPECT_EQ(r.model().peers[0].waypoints, std::vector<Ipv4>{kR2Wan});
  ASSERT_EQ(r.model().peers[0].waypoints6.size(), 1u);
  EXPECT_EQ(r.model().peers[0].waypoints6[0], ip6(kR2Wan6));
}

}  // namespace
}  // namespace wp
