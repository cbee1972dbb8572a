// NAT46 through a real worker (dataplane/worker/nat46_step.h, docs/ipv6.md
// § NAT46): IPv4 packets from the LAN in, the IPv6 packets that leave wan0
// to the on-link server out, the server's replies back to the client as
// IPv4; ICMPv6 errors translated with their inner packet; the servers map;
// the owner rule with two workers; every refusal counted by its reason.
// Checksums are checked by a full recompute (pkt_builder.h, out6_frame.h).
#include <gtest/gtest.h>

#include <cstring>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "dataplane/ip/icmp.h"
#include "dataplane/ip/ndp.h"
#include "dataplane/session/owner.h"
#include "mgmt/metrics.h"
#include "mgmt/stats.h"
#include "tests/unit/live_store.h"
#include "tests/unit/nat46_test_config.h"
#include "tests/unit/out6_frame.h"
#include "tests/unit/pkt6_builder.h"

namespace wp {
namespace {

using namespace test;

// An IPv4 frame from the client (or `src`) on the LAN to r1.
std::vector<uint8_t> from_client(const Router& r, Pkt p) {
  std::vector<uint8_t> f = p.bytes();
  std::memcpy(f.data(), r.model().interfaces[0].mac, 6);
  std::memcpy(f.data() + 6, kClientMac.data(), 6);
  return f;
}

// An IPv6 frame from the server on wan0 to r1's MAC, its upper-layer checksum valid (unless
// `raw`: a fragment or a lying frame, as built).
std::vector<uint8_t> from_server(const Router& r, const Pkt6& p, bool raw = false) {
  std::vector<uint8_t> f = raw ? p.bytes() : v6_checksummed(p.bytes());
  std::memcpy(f.data(), r.model().interfaces[1].mac, 6);
  std::memcpy(f.data() + 6, kNat46ServerMac.data(), 6);
  return f;
}

// nat46_config() with a `servers` map of {ipv4, ipv6} entries in place of its server prefix.
config::Config nat46_servers_config(std::initializer_list<std::pair<const char*, const char*>> servers) {
  config::Config c = nat46_config();
  config::Nat46* n = c.mutable_services(0)->mutable_nat46();
  n->clear_server_prefix();
  for (const auto& [v4, v6] : servers) {
    config::Nat46Server* e = n->add_servers();
    e->set_ipv4(v4);
    e->set_ipv6(v6);
  }
  return c;
}

bool icmp4_ok(const Frame& f) { return ones_fold(ones_sum(f.l4(), f.l4_len())) == 0xffff; }

// What r1 sent the server: IPv6 on wan0 to its MAC (Neighbor Discovery), from the client under
// the source prefix, the upper-layer checksum valid.
void expect_to_server(const Router& r, const Out6& o, const char* server6 = kNat46Server6) {
  ASSERT_EQ(o.v.status, Ipv6Status::ok);
  EXPECT_EQ(get16(o.raw.data() + 12), kEtherTypeIpv6);
  EXPECT_EQ(std::memcmp(o.raw.data(), kNat46ServerMac.data(), 6), 0) << "to the on-link server's MAC";
  EXPECT_EQ(std::memcmp(o.raw.data() + 6, r.model().interfaces[1].mac, 6), 0);
  EXPECT_EQ(o.v.src, ip6(kNat46Client6));
  EXPECT_EQ(o.v.dst, ip6(server6));
  EXPECT_TRUE(o.checksum_ok());
}

TEST(Nat46Worker, TcpBothWaysByteExact) {
  auto r = nat46_router();
  Frame out_f = r->send_one(kLan, from_client(*r, Pkt().eth().ipv4(kClient, kNat46Server4).tcp(40000, 80, 0x02).payload("GET /")));
  EXPECT_EQ(out_f.port, kWan);
  Out6 out(out_f);
  expect_to_server(*r, out);
  EXPECT_EQ(out.v.proto, kProtoTcp);
  EXPECT_EQ(out.v.sport, 40000) << "no port translation";
  EXPECT_EQ(out.v.dport, 80);
  EXPECT_EQ(out.v.hop_limit, 63);
  EXPECT_EQ(out.payload_string(), "GET /");
  EXPECT_EQ(r->count(Counter::nat46_out), 1u);
  EXPECT_EQ(r->count(Counter::nat46_sessions_created), 1u);
  EXPECT_EQ(r->worker().nat46().sessions(), 1u);
  EXPECT_EQ(r->worker().counters().nat46_sessions.load(), 1u) << "the gauge REST and /metrics read";
  const auto st = nlohmann::json::parse(mgmt::stats_json(r->shared(), "r1"));
  EXPECT_EQ(st["nat46"]["sessions"], 1);
  EXPECT_EQ(st["per_worker"][0]["nat46_sessions"], 1);
  EXPECT_EQ(st["counters"]["nat46_out"], 1);
  EXPECT_NE(mgmt::metrics_text(r->shared(), "r1", nullptr, 1, 0).find("waypoint_nat46_sessions{router=\"r1\"} 1"),
            std::string::npos);

  Frame back = r->send_one(
      kWan, from_server(*r, Pkt6().ipv6(kNat46Server6, kNat46Client6, 57).tcp(80, 40000, 0x12).payload("200 OK")));
  EXPECT_EQ(back.port, kLan);
  EXPECT_EQ(get16(back.raw.data() + 12), 0x0800);
  EXPECT_EQ(std::memcmp(back.dst_mac(), kClientMac.data(), 6), 0) << "to the client's MAC (ARP)";
  EXPECT_EQ(back.src(), kNat46Server4);
  EXPECT_EQ(back.dst(), kClient);
  EXPECT_EQ(back.sport(), 80);
  EXPECT_EQ(back.dport(), 40000);
  EXPECT_EQ(back.ttl(), 56);
  EXPECT_EQ(back.payload_string(), "200 OK");
  expect_valid(back);
  EXPECT_EQ(r->count(Counter::nat46_in), 1u);

  // More of the same session: one session, the payload byte for byte both ways.
  std::string data(1000, 0);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7 + 3);
  Out6 more(r->send_one(kLan, from_client(*r, Pkt().eth().ipv4(kClient, kNat46Server4).tcp(40000, 80).payload(data))));
  EXPECT_EQ(more.payload_string(), data);
  EXPECT_TRUE(more.checksum_ok());
  Frame more_back = r->send_one(
      kWan, from_server(*r, Pkt6().ipv6(kNat46Server6, kNat46Client6).tcp(80, 40000, 0x10).payload(data)));
  EXPECT_EQ(more_back.payload_string(), data);
  expect_valid(more_back);
  EXPECT_EQ(r->count(Counter::nat46_sessions_created), 1u);
  EXPECT_EQ(r->total_drops(), 0u) << r->drops();
}

TEST(Nat46Worker, UdpAndIcmpEchoBothWays) {
  auto r = nat46_router();
  Out6 u(r->send_one(kLan, from_client(*r, Pkt().eth().ipv4(kClient, kNat46Server4).udp(5353, 53).payload("query"))));
  expect_to_server(*r, u);
  EXPECT_EQ(u.v.proto, kProtoUdp);
  EXPECT_EQ(u.v.sport, 5353);
  EXPECT_EQ(u.payload_string(), "query");
  Frame ub = r->send_one(kWan, from_server(*r, Pkt6().ipv6(kNat46Server6, kNat46Client6).udp(53, 5353).payload("answer")));
  EXPECT_EQ(ub.proto(), kProtoUdp);
  EXPECT_EQ(ub.dport(), 5353);
  EXPECT_EQ(ub.payload_string(), "answer");
  expect_valid(ub);

  // ICMP echo: the request becomes ICMPv6's (its identifier kept), the reply ICMP's.
  Out6 e(r->send_one(kLan, from_client(*r, Pkt().eth().ipv4(kClient, kNat46Server4).icmp_echo(0x77, 1).payload("ping"))));
  expect_to_server(*r, e);
  EXPECT_EQ(e.v.proto, kProtoIcmpv6);
  EXPECT_EQ(e.l4()[0], kIcmp6EchoRequest);
  EXPECT_EQ(get16(e.l4() + 4), 0x77);
  Frame eb = r->send_one(kWan, from_server(*r, Pkt6().ipv6(kNat46Server6, kNat46Client6).icmp6_echo(0x77, kIcmp6EchoReply)
                                                   .payload("ping")));
  EXPECT_EQ(eb.proto(), kProtoIcmp);
  EXPECT_EQ(eb.l4()[0], kIcmpEchoReply);
  EXPECT_EQ(get16(eb.l4() + 4), 0x77);
  EXPECT_TRUE(icmp4_ok(eb));
  EXPECT_TRUE(eb.ip_checksum_ok());
  EXPECT_EQ(r->count(Counter::nat46_sessions_created), 2u);
  EXPECT_EQ(r->total_drops(), 0u) << r->drops();
}

TEST(Nat46Worker, TheExplicitServersMap) {
  auto r = nat46_router({}, nat46_servers_config({{"10.46.0.20", "2001:db8:46::beef"}}));
  learn_on_wan(*r, "2001:db8:46::beef", kNat46ServerMac);
  Out6 out(r->send_one(kLan, from_client(*r, Pkt().eth().ipv4(kClient, ip("10.46.0.20")).tcp(40001, 443, 0x02))));
  expect_to_server(*r, out, "2001:db8:46::beef");
  Frame back = r->send_one(kWan, from_server(*r, Pkt6().ipv6("2001:db8:46::beef", kNat46Client6).tcp(443, 40001, 0x12)));
  EXPECT_EQ(back.src(), ip("10.46.0.20")) << "the map backwards";
  expect_valid(back);
  // In the service's prefix but not in the map: no server.
  EXPECT_TRUE(r->send(kLan, from_client(*r, Pkt().eth().ipv4(kClient, kNat46Server4).tcp(40001, 443, 0x02))).empty());
  EXPECT_EQ(r->drop_count(DropReason::nat46_no_server), 1u);
  // The RFC 6052 form of 10.46.0.20 is no server of this service.
  EXPECT_TRUE(r->send(kWan, from_server(*r, Pkt6().ipv6("2001:db8:46::a2e:14", kNat46Client6).tcp(443, 40001, 0x12))).empty());
  EXPECT_EQ(r->drop_count(DropReason::nat46_no_session), 1u);
}

// Servers behind an IPv6 router on nat46.interface: a route to their prefix
// (config `routes`, or FRR's) makes the router its gateway the session's
// next hop: the translated packets, their IPv6 fragments and r1's own
// errors toward the server go to the gateway's MAC; servers on the link
// without a route are still reached directly.
TEST(Nat46Worker, ServersBehindARouterOnTheServersLinkGoThroughIt) {
  // 2001:db8:99::30 is not on wan0's 2001:db8:46::/64; kNat46Server6 is on-link.
  config::Config c = nat46_servers_config({{"10.46.0.30", "2001:db8:99::30"}, {"10.46.0.10", kNat46Server6}});
  add_route(c, "2001:db8:99::/48", "2001:db8:46::fe", "wan0");
  auto r = nat46_router({}, c);
  constexpr Mac kRouterMac = {2, 0, 0, 0, 0x46, 0xfe};
  learn_on_wan(*r, "2001:db8:46::fe", kRouterMac, kNaSolicited | kNaOverride | kNaRouter);

  Out6 out(r->send_one(kLan, from_client(*r, Pkt().eth().ipv4(kClient, ip("10.46.0.30")).tcp(40001, 443, 0x02))));
  ASSERT_EQ(out.v.status, Ipv6Status::ok);
  EXPECT_EQ(std::memcmp(out.raw.data(), kRouterMac.data(), 6), 0) << "to the router before the server";
  EXPECT_EQ(out.v.dst, ip6("2001:db8:99::30"));
  EXPECT_TRUE(out.checksum_ok());
  // Without DF, above wan0's MTU once translated: the IPv6 fragments go through the router too.
  const std::string big(1490, 'z');
  const auto frags = r->send(kLan, from_client(*r, Pkt().eth().ipv4(kClient, ip("10.46.0.30")).udp(5000, 53).payload(big)));
  ASSERT_GE(frags.size(), 2u);
  for (const Frame& f : frags) EXPECT_EQ(std::memcmp(f.raw.data(), kRouterMac.data(), 6), 0);
  // The server's reply with hop limit 1: r1's Time Exceeded goes back through the router.
  auto reply = v6_checksummed(Pkt6().ipv6("2001:db8:99::30", kNat46Client6, 1).tcp(443, 40001, 0x12).bytes());
  std::memcpy(reply.data(), r->model().interfaces[1].mac, 6);
  std::memcpy(reply.data() + 6, kRouterMac.data(), 6);
  Out6 te(r->send_one(kWan, reply));
  ASSERT_EQ(te.v.status, Ipv6Status::ok);
  EXPECT_EQ(te.v.dst, ip6("2001:db8:99::30"));
  EXPECT_EQ(std::memcmp(te.raw.data(), kRouterMac.data(), 6), 0) << "the error through the router too";
  // A reply with a hop limit to spare reaches the client.
  reply = v6_checksummed(Pkt6().ipv6("2001:db8:99::30", kNat46Client6, 60).tcp(443, 40001, 0x12).bytes());
  std::memcpy(reply.data(), r->model().interfaces[1].mac, 6);
  std::memcpy(reply.data() + 6, kRouterMac.data(), 6);
  Frame back = r->send_one(kWan, reply);
  EXPECT_EQ(back.src(), ip("10.46.0.30"));
  expect_valid(back);
  // The on-link server: straight to its own MAC, as before.
  Out6 direct(r->send_one(kLan, from_client(*r, Pkt().eth().ipv4(kClient, kNat46Server4).tcp(40002, 443, 0x02))));
  expect_to_server(*r, direct);
}

TEST(Nat46Worker, RefusalsAreCountedByReason) {
  auto r = nat46_router();
  auto dropped = [&](const std::vector<uint8_t>& f, uint16_t port, DropReason why) {
    const uint64_t before = r->drop_count(why);
    EXPECT_TRUE(r->send(port, f).empty());
    return r->drop_count(why) == before + 1;
  };
  const Ipv4 guest = ip("10.1.0.200");
  EXPECT_TRUE(dropped(from_client(*r, Pkt().eth().ipv4(guest, kNat46Server4).tcp(1000, 80, 0x02)), kLan,
                      DropReason::nat46_policy_deny))
      << "deny by default: no policy for guest";
  EXPECT_EQ(r->worker().nat46().sessions(), 0u) << "no session for a denied packet";
  // Not TCP, UDP or ICMP echo: the LAN dispatch refuses it before NAT46; an echo reply from a
  // client (we never send its request) reaches NAT46, which has no translation for it.
  EXPECT_TRUE(dropped(from_client(*r, Pkt().eth().ipv4(kClient, kNat46Server4).proto(47).payload("gre!")), kLan,
                      DropReason::unsupported_proto));
  EXPECT_TRUE(dropped(from_client(*r, Pkt().eth().ipv4(kClient, kNat46Server4).icmp_echo(5, 1, kIcmpEchoReply)), kLan,
                      DropReason::nat46_untranslatable));
  // A reply without a session, and a packet from a host that is no server, to the source prefix.
  EXPECT_TRUE(dropped(from_server(*r, Pkt6().ipv6(kNat46Server6, kNat46Client6).tcp(80, 40000, 0x12)), kWan,
                      DropReason::nat46_no_session));
  EXPECT_TRUE(dropped(from_server(*r, Pkt6().ipv6("2001:db8:99::1", kNat46Client6).udp(53, 5353)), kWan,
                      DropReason::nat46_no_session));
  // A fragment to the source prefix: replies are not reassembled.
  EXPECT_TRUE(dropped(from_server(*r, Pkt6().ipv6(kNat46Server6, kNat46Client6).fragment(0, true, 9).udp(53, 5353)
                                          .payload(std::string(64, 'f')),
                                  true),
                      kWan, DropReason::nat46_fragment));
  // Truncated: a payload length past the frame, and an ICMPv6 error shorter than its inner header.
  EXPECT_TRUE(dropped(from_server(*r, Pkt6().ipv6(kNat46Server6, kNat46Client6).udp(53, 5353).payload_len(200), true), kWan,
                      DropReason::ipv6_malformed));
  EXPECT_TRUE(dropped(from_server(*r, Pkt6().ipv6(kNat46Server6, kNat46Client6)
                                          .l4(kProtoIcmpv6, {1, 4, 0, 0, 0, 0, 0, 0})
                                          .payload(std::string(20, 'e'))),
                      kWan, DropReason::nat46_untranslatable));
  // An ICMPv6 informational message other than echo (a Multicast Listener Query) has no ICMP form.
  EXPECT_TRUE(dropped(from_server(*r, Pkt6().ipv6(kNat46Server6, kNat46Client6).l4(kProtoIcmpv6, {130, 0, 0, 0, 0, 0, 0, 0})),
                      kWan, DropReason::nat46_untranslatable))
;
  EXPECT_EQ(r->count(Counter::nat46_out), 0u);
  EXPECT_EQ(r->count(Counter::nat46_in), 0u);
  EXPECT_EQ(r->count(Counter::nat46_sessions_created), 0u);
}

TEST(Nat46Worker, TtlOneIsAnsweredWithTimeExceededToTheClient) {
  auto r = nat46_router();
  const auto sent = from_client(*r, Pkt().eth().ipv4(kClient, kNat46Server4, 1).udp(33434, 33435).payload("trace"));
  Frame e = r->send_one(kLan, sent);
  EXPECT_EQ(e.port, kLan);
  EXPECT_EQ(std::memcmp(e.dst_mac(), kClientMac.data(), 6), 0);
  EXPECT_EQ(e.proto(), kProtoIcmp);
  EXPECT_EQ(e.src(), ip("10.1.0.1")) << "from r1's LAN address";
  EXPECT_EQ(e.dst(), kClient);
  EXPECT_EQ(e.l4()[0], kIcmpTimeExceeded);
  EXPECT_TRUE(icmp4_ok(e));
  EXPECT_TRUE(e.ip_checksum_ok());
  EXPECT_EQ(std::memcmp(e.l4() + 8, sent.data() + 14, 28), 0) << "the client's header and 8 bytes";
  EXPECT_EQ(r->count(Counter::nat46_icmp4_time_exceeded), 1u);
  EXPECT_EQ(r->drop_count(DropReason::nat46_hop_limit), 1u) << "the packet itself is dropped by its reason";
  EXPECT_EQ(r->worker().nat46().sessions(), 0u);
}

TEST(Nat46Worker, TooBigForTheServersLinkDfGetsFragmentationNeededElseIpv6Fragments) {
  config::Config c = nat46_config();
  c.mutable_router()->mutable_wan(0)->set_mtu(1280);
  auto r = nat46_router({}, c);
  // 1233 bytes of UDP payload: 1261 of IPv4 -> 1281 of IPv6 > 1280. Fragmentation Needed, MTU 1260.
  const auto big = from_client(*r, Pkt().eth().ipv4(kClient, kNat46Server4).frag(0x4000).udp(6000, 9000)
                                       .payload(std::string(1233, 'x')));
  Frame e = r->send_one(kLan, big);
  EXPECT_EQ(e.proto(), kProtoIcmp);
  EXPECT_EQ(e.l4()[0], kIcmpDestUnreachable);
  EXPECT_EQ(e.l4()[1], kIcmpCodeFragNeeded);
  EXPECT_EQ(get16(e.l4() + 6), 1260);
  EXPECT_TRUE(icmp4_ok(e));
  EXPECT_EQ(r->count(Counter::nat46_icmp4_frag_needed), 1u);
  EXPECT_EQ(r->drop_count(DropReason::nat46_too_big), 1u);
  // 1260 bytes of IPv4 fit.
  Out6 fits(r->send_one(kLan, from_client(*r, Pkt().eth().ipv4(kClient, kNat46Server4).frag(0x4000).udp(6000, 9000)
                                                  .payload(std::string(1232, 'y')))));
  EXPECT_EQ(fits.raw.size(), 14u + 1280u);
  EXPECT_TRUE(fits.checksum_ok());
  // Without DF: IPv6 fragments that each fit, the whole UDP datagram in them.
  std::string data(1900, 0);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 13 + 1);
  auto frags = r->send(kLan, from_client(*r, Pkt().eth().ipv4(kClient, kNat46Server4).udp(6000, 9000).payload(data)));
  ASSERT_EQ(frags.size(), 2u) << r->drops();
  std::vector<uint8_t> l4(8 + data.size());
  uint32_t seen = 0;
  for (const Frame& f : frags) {
    EXPECT_EQ(f.port, kWan);
    EXPECT_LE(f.raw.size() - 14, 1280u);
    const uint8_t* ip = f.raw.data() + 14;
    ASSERT_EQ(ip[6], 44) << "a Fragment header";
    EXPECT_EQ(load_ipv6(ip + 8), ip6(kNat46Client6));
    const uint32_t off = get16(ip + 40 + 2) & 0xfff8u, len = get16(ip + 4) - 8u;
    ASSERT_LE(off + len, l4.size());
    std::memcpy(l4.data() + off, ip + 48, len);
    seen += len;
  }
  EXPECT_EQ(seen, l4.size());
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(l4.data() + 8), data.size()), data);
  uint8_t pseudo[40] = {};
  store_ipv6(pseudo, ip6(kNat46Client6));
  store_ipv6(pseudo + 16, ip6(kNat46Server6));
  put32(pseudo + 32, static_cast<uint32_t>(l4.size()));
  pseudo[39] = kProtoUdp;
  EXPECT_EQ(ones_fold(ones_sum(pseudo, 40) + ones_sum(l4.data(), l4.size())), 0xffff) << "the UDP checksum of the whole";
  EXPECT_EQ(r->count(Counter::nat46_fragments6_sent), 2u);
}

// What r1 sent the server about its reply `sent` (with its Ethernet header): an ICMPv6 error
// on wan0 to the server's MAC, from r1's address on that link, quoting the reply.
void expect_error_to_server(const Frame& f, const std::vector<uint8_t>& sent, uint8_t type) {
  EXPECT_EQ(f.port, kWan);
  Out6 e(f);
  ASSERT_EQ(e.v.status, Ipv6Status::ok);
  EXPECT_EQ(std::memcmp(e.raw.data(), kNat46ServerMac.data(), 6), 0) << "to the on-link server's MAC";
  EXPECT_EQ(e.v.proto, kProtoIcmpv6);
  EXPECT_EQ(e.v.src, ip6("2001:db8:46::1")) << "from r1's address on the server's link";
  EXPECT_EQ(e.v.dst, ip6(kNat46Server6));
  EXPECT_EQ(e.l4()[0], type);
  EXPECT_TRUE(e.checksum_ok());
  ASSERT_GE(e.l4_len(), 8u + 48u);
  EXPECT_EQ(std::memcmp(e.l4() + 8, sent.data() + 14, 48), 0) << "the reply's header and more";
}

TEST(Nat46Worker, ServersRepliesGetTimeExceededAndPacketTooBig) {
  config::Config c = nat46_config();
  c.mutable_router()->mutable_lan()->set_mtu(1400);
  auto r = nat46_router({}, c);
  r->send_one(kLan, from_client(*r, Pkt().eth().ipv4(kClient, kNat46Server4).tcp(40000, 80, 0x02).payload("GET /")));
  ASSERT_EQ(r->worker().nat46().sessions(), 1u);

  // A reply whose hop limit runs out here: Time Exceeded to the server (RFC 7915 § 5.1).
  const auto last_hop = from_server(*r, Pkt6().ipv6(kNat46Server6, kNat46Client6, 1).tcp(80, 40000, 0x12).payload("x"));
  expect_error_to_server(r->send_one(kWan, last_hop), last_hop, kIcmp6TimeExceeded);
  EXPECT_EQ(r->count(Counter::nat46_icmp6_time_exceeded), 1u);
  EXPECT_EQ(r->drop_count(DropReason::nat46_hop_limit), 1u) << "the reply itself is dropped by its reason";

  // 1460 bytes of IPv6 become 1440 of IPv4 > the client's LAN (1400): Packet Too Big, MTU 1420.
  const auto big = from_server(*r, Pkt6().ipv6(kNat46Server6, kNat46Client6).tcp(80, 40000, 0x10)
                                       .payload(std::string(1460 - 40 - 20, 'b')));
  Frame e = r->send_one(kWan, big);
  expect_error_to_server(e, big, kIcmp6PacketTooBig);
  EXPECT_EQ(get32(Out6(e).l4() + 4), 1420u) << "the LAN's MTU + 20";
  EXPECT_EQ(r->count(Counter::nat46_icmp6_too_big), 1u);
  EXPECT_EQ(r->drop_count(DropReason::nat46_too_big), 1u);
  // 1420 bytes of IPv6 fit: the reply the server sends next passes.
  Frame fits = r->send_one(kWan, from_server(*r, Pkt6().ipv6(kNat46Server6, kNat46Client6).tcp(80, 40000, 0x10)
                                                      .payload(std::string(1420 - 40 - 20, 'f'))));
  EXPECT_EQ(fits.port, kLan);
  EXPECT_EQ(fits.raw.size(), 14u + 1400u);
  expect_valid(fits);
  EXPECT_EQ(r->count(Counter::nat46_in), 1u);
}

TEST(Nat46Worker, NoPacketTooBigBelowTheIpv6Minimum) {
  config::Config c = nat46_config();
  c.mutable_router()->mutable_lan()->set_mtu(1200);
  auto r = nat46_router({}, c);
  r->send_one(kLan, from_client(*r, Pkt().eth().ipv4(kClient, kNat46Server4).tcp(40000, 80, 0x02).payload("GET /")));
  // 1280 bytes of IPv6 (the minimum every IPv6 link carries) become 1260 of IPv4 > 1200: a Packet
  // Too Big would say 1280, which the server already keeps to, so it is dropped without one.
  const auto min = from_server(*r, Pkt6().ipv6(kNat46Server6, kNat46Client6).tcp(80, 40000, 0x10)
                                       .payload(std::string(1280 - 40 - 20, 'm')));
  EXPECT_TRUE(r->send(kWan, min).empty());
  EXPECT_EQ(r->drop_count(DropReason::nat46_too_big), 1u);
  EXPECT_EQ(r->count(Counter::nat46_icmp6_too_big), 0u);
  // 1300 bytes are above it: Packet Too Big, MTU 1280.
  const auto above = from_server(*r, Pkt6().ipv6(kNat46Server6, kNat46Client6).tcp(80, 40000, 0x10)
                                         .payload(std::string(1300 - 40 - 20, 'a')));
  Frame e = r->send_one(kWan, above);
  expect_error_to_server(e, above, kIcmp6PacketTooBig);
  EXPECT_EQ(get32(Out6(e).l4() + 4), 1280u);
}

// An ICMPv6 error from `from` quoting `quoted` (what r1 sent the server).
std::vector<uint8_t> icmp6_error(const Router& r, const char* from, uint8_t type, uint8_t code, uint32_t rest,
                                 const Out6& quoted) {
  std::vector<uint8_t> h = {type, code, 0, 0, 0, 0, 0, 0};
  put32(h.data() + 4, rest);
  return from_server(r, Pkt6().ipv6(from, kNat46Client6).l4(kProtoIcmpv6, h)
                            .payload(std::vector<uint8_t>(quoted.raw.begin() + 14, quoted.raw.end())));
}

TEST(Nat46Worker, Icmp6ErrorsBecomeIcmpErrorsAboutTheClientsPacket) {
  auto r = nat46_router();
  const auto sent = from_client(*r, Pkt().eth().ipv4(kClient, kNat46Server4).udp(6001, 33434).payload("trace"));
  Out6 out(r->send_one(kLan, sent));
  // Port unreachable from the server -> Destination Unreachable, port (3/3), from the server's IPv4.
  Frame pu = r->send_one(kWan, icmp6_error(*r, kNat46Server6, kIcmp6DestUnreachable, 4, 0, out));
  EXPECT_EQ(pu.port, kLan);
  EXPECT_EQ(std::memcmp(pu.dst_mac(), kClientMac.data(), 6), 0);
  EXPECT_EQ(pu.proto(), kProtoIcmp);
  EXPECT_EQ(pu.src(), kNat46Server4);
  EXPECT_EQ(pu.dst(), kClient);
  EXPECT_EQ(pu.l4()[0], kIcmpDestUnreachable);
  EXPECT_EQ(pu.l4()[1], 3);
  EXPECT_TRUE(icmp4_ok(pu));
  EXPECT_TRUE(pu.ip_checksum_ok());
  // The inner packet is the client's as it sent it, its UDP checksum valid over the IPv4 pseudo-header.
  const uint8_t* inner = pu.l4() + 8;
  EXPECT_EQ(get32(inner + 12), kClient);
  EXPECT_EQ(get32(inner + 16), kNat46Server4);
  EXPECT_EQ(inner[9], kProtoUdp);
  EXPECT_EQ(get16(inner + 20), 6001);
  EXPECT_EQ(get16(inner + 22), 33434);
  const uint32_t ulen = get16(inner + 20 + 4);
  EXPECT_EQ(ones_fold(pseudo_sum(inner, kProtoUdp, ulen) + ones_sum(inner + 20, ulen)), 0xffff);
  EXPECT_EQ(std::memcmp(inner + 28, "trace", 5), 0);

  // Packet Too Big from another host on the link (no IPv4 form): Fragmentation Needed, MTU - 20,
  // from r1's LAN address.
  Frame ptb = r->send_one(kWan, icmp6_error(*r, "2001:db8:46::fe", kIcmp6PacketTooBig, 0, 1400, out));
  EXPECT_EQ(ptb.l4()[0], kIcmpDestUnreachable);
  EXPECT_EQ(ptb.l4()[1], kIcmpCodeFragNeeded);
  EXPECT_EQ(get16(ptb.l4() + 6), 1380);
  EXPECT_EQ(ptb.src(), ip("10.1.0.1"));
  EXPECT_TRUE(icmp4_ok(ptb));
  // Time Exceeded.
  Frame te = r->send_one(kWan, icmp6_error(*r, kNat46Server6, kIcmp6TimeExceeded, 0, 0, out));
  EXPECT_EQ(te.l4()[0], kIcmpTimeExceeded);
  EXPECT_EQ(r->count(Counter::nat46_icmp_errors), 3u);

  // An error about a packet of no session (another client port) is dropped.
  Out6 other(r->send_one(kLan, from_client(*r, Pkt().eth().ipv4(kClient, kNat46Server4).udp(6002, 33434))));
  std::vector<uint8_t> stale = icmp6_error(*r, kNat46Server6, kIcmp6DestUnreachable, 4, 0, other);
  put16(stale.data() + 14 + 48 + 40, 6003);  // the quoted client port
  stale = v6_checksummed(stale);
  EXPECT_TRUE(r->send(kWan, stale).empty());
  EXPECT_EQ(r->drop_count(DropReason::nat46_no_session), 1u);
}

TEST(Nat46Worker, SessionsExpireAndTheirRepliesAreRefused) {
  auto r = nat46_router();
  r->send_one(kLan, from_client(*r, Pkt().eth().ipv4(kClient, kNat46Server4).udp(7000, 53)));
  EXPECT_EQ(r->worker().nat46().sessions(), 1u);
  r->worker().set_now_ms(r->worker().now_ms() + r->shared().timeouts.udp_ms + 1000);
  for (int i = 0; i < 1024 && r->worker().nat46().sessions(); ++i) r->idle();
  EXPECT_EQ(r->worker().nat46().sessions(), 0u);
  EXPECT_EQ(r->count(Counter::nat46_sessions_expired), 1u);
  EXPECT_EQ(r->worker().counters().nat46_sessions.load(), 0u);
  EXPECT_TRUE(r->send(kWan, from_server(*r, Pkt6().ipv6(kNat46Server6, kNat46Client6).udp(53, 7000))).empty());
  EXPECT_EQ(r->drop_count(DropReason::nat46_no_session), 1u);
}

// Both directions of a session meet on one worker: the LAN dispatch sends the
// client's packet to the owner of its IPv4 tuple's class, and a reply that
// arrives on any worker's queue is handed there (the same class: the reply's
// addresses give the IPv4 tuple back).
TEST(Nat46Worker, RepliesAreHandedToTheOwnerOfTheSession) {
  constexpr uint32_t kWorkers = 2;
  auto r = nat46_router(RouterOptions().with_workers(kWorkers));
  rte_mempool* pool = test_pool();
  auto run_all = [&] {
    for (uint32_t w = 0; w < kWorkers; ++w) {
      r->worker(w).drain_handoff();
      r->worker(w).flush();
    }
  };
  auto handoffs = [&] {
    uint64_t n = 0;
    for (uint32_t w = 0; w < kWorkers; ++w) n += r->worker(w).counters().get(Counter::handoff_in);
    return n;
  };
  uint32_t handed = 0;
  for (uint16_t cport = 41000; cport < 41008; ++cport) {
    const uint32_t owner = owner_of_class(affinity_class({kClient, kNat46Server4, cport, 80, kProtoTcp}), kWorkers);
    for (uint32_t w = 0; w < kWorkers; ++w) {  // the client's packet, received by each worker
      const uint64_t before = handoffs();
      rte_mbuf* m = Pkt::to_mbuf(pool, from_client(*r, Pkt().eth().ipv4(kClient, kNat46Server4).tcp(cport, 80, 0x10)), kLan);
      r->worker(w).receive(&m, 1);
      r->worker(w).flush();
      run_all();
      ASSERT_EQ(r->transmitted().size(), 1u) << "cport " << cport << " via worker " << w << ": " << r->drops();
      EXPECT_EQ(handoffs() - before, w == owner ? 0u : 1u);
      r->idle();
    }
    for (uint32_t w = 0; w < kWorkers; ++w) {  // the server's reply, received by each worker
      const uint64_t before = handoffs();
      rte_mbuf* m = Pkt::to_mbuf(pool, from_server(*r, Pkt6().ipv6(kNat46Server6, kNat46Client6).tcp(80, cport, 0x10)), kWan);
      r->worker(w).receive(&m, 1);
      r->worker(w).flush();
      run_all();
      ASSERT_EQ(r->transmitted().size(), 1u) << "reply to " << cport << " via worker " << w << ": " << r->drops();
      EXPECT_EQ(r->transmitted()[0].dport(), cport);
      EXPECT_EQ(handoffs() - before, w == owner ? 0u : 1u) << "handed to the owner " << owner;
      handed += w == owner ? 0 : 1;
      r->idle();
    }
  }
  uint32_t sessions = 0;
  for (uint32_t w = 0; w < kWorkers; ++w) sessions += r->worker(w).nat46().sessions();
  EXPECT_EQ(sessions, 8u) << "one session per client port, whichever worker received its packets";
  EXPECT_EQ(handed, 8u);
  for (uint32_t w = 0; w < kWorkers; ++w) EXPECT_EQ(r->worker(w).counters().get(DropReason::handoff_full), 0u);
}

// The table exists only when the startup model has a NAT46 service.
TEST(Nat46Worker, TablesOnlyWhenAServiceUsesNat46) {
  config::Config plain = nat46_config();
  plain.mutable_services(0)->clear_nat46();
  Router r(plain);
  EXPECT_FALSE(r.worker().nat46().has_tables());
  auto with = nat46_router();
  EXPECT_TRUE(with->worker().nat46().has_tables());
}

// Whether a burst needs NAT46 at all is asked once per burst (Worker::process_owned):
// a table and a NAT46 service in the current model. A commit that removes the last
// NAT46 service leaves its prefix to the LAN path (a plain service now, with no
// route to it here), one that brings it back translates again.
TEST(Nat46Worker, ACommitTurnsNat46OffAndOnForTheNextBurst) {
  config::Config plain = nat46_config();
  plain.mutable_services(0)->clear_nat46();
  auto r = nat46_router();
  auto client = [&] { return from_client(*r, Pkt().eth().ipv4(kClient, kNat46Server4).udp(5000, 53)); };
  EXPECT_EQ(r->send_one(kLan, client()).port, kWan);
  r->commit(plain);
  EXPECT_TRUE(r->send(kLan, client()).empty());
  EXPECT_EQ(r->count(Counter::nat46_out), 1u) << "not NAT46's any more";
  EXPECT_EQ(r->total_drops(), 1u) << r->drops();
  r->commit(nat46_config());
  Out6 again(r->send_one(kLan, client()));
  expect_to_server(*r, again);
  EXPECT_EQ(r->count(Counter::nat46_out), 2u);
}

// One burst mixing NAT46 packets and a breakout service's (the per-burst feature
// check of Worker::process_owned takes each packet to its own step): the NAT46
// ones leave as IPv6 to the server, the breakout ones as IPv4 from wan0's
// address, in order, nothing dropped.
TEST(Nat46Worker, ABurstMixingNat46AndBreakoutPacketsTakesEachToItsStep) {
  config::Config c = nat46_config();
  add_route(c, "0.0.0.0/0", "172.16.0.254", "wan0");
  config::Service* web = add_service(c, {"internet", "198.51.100.0/24", "any", "", ""});
  web->mutable_breakout()->set_interface("wan0");
  add_policy(c, "lan", "internet", "");
  auto r = nat46_router({}, c);
  constexpr Mac kGatewayMac = {2, 0, 0, 0, 0xfe, 1};
  r->neighbor(1, ip("172.16.0.254"), kGatewayMac);
  const Ipv4 internet = ip("198.51.100.10");
  std::vector<rte_mbuf*> burst;
  for (uint16_t i = 0; i < 12; ++i) {
    const Ipv4 dst = (i % 3 == 0) ? internet : kNat46Server4;  // 4 breakout, 8 NAT46, interleaved
    burst.push_back(Pkt::to_mbuf(test_pool(),
                                 from_client(*r, Pkt().eth().ipv4(kClient, dst).udp(static_cast<uint16_t>(6000 + i), 53)),
                                 kLan));
  }
  r->worker().receive(burst.data(), static_cast<uint16_t>(burst.size()));
  r->worker().flush();
  const std::vector<Frame>& out = r->transmitted();
  ASSERT_EQ(out.size(), 12u) << r->drops();
  uint16_t v4 = 0, v6 = 0;
  std::vector<uint16_t> v6_ports;
  for (const Frame& f : out) {
    EXPECT_EQ(f.port, kWan);
    if (get16(f.raw.data() + 12) == kEtherTypeIpv6) {
      Out6 o(f);
      expect_to_server(*r, o);
      v6_ports.push_back(o.v.sport);
      ++v6;
    } else {
      EXPECT_EQ(f.src(), ip("172.16.0.1")) << "breakout: wan0's address";
      EXPECT_EQ(f.dst(), internet);
      EXPECT_EQ(std::memcmp(f.dst_mac(), kGatewayMac.data(), 6), 0);
      expect_valid(f);
      ++v4;
    }
  }
  EXPECT_EQ(v4, 4u);
  EXPECT_EQ(v6, 8u);
  EXPECT_EQ(v6_ports, (std::vector<uint16_t>{6001, 6002, 6004, 6005, 6007, 6008, 6010, 6011})) << "in order";
  EXPECT_EQ(r->count(Counter::nat46_out), 8u);
  EXPECT_EQ(r->count(Counter::nat46_sessions_created), 8u);
  EXPECT_EQ(r->count(Counter::breakout_sessions_created), 4u);
  EXPECT_EQ(r->total_drops(), 0u) << r->drops();
}

constexpr const char* kBase46 = R"(
router: {name: r1, lan: {name: lan, device: d0, address: 10.1.0.1/24}, wan: [{name: wan0, device: d1, address: 172.16.0.1/24, ipv6_addresses: ["2001:db8:46::1/64"]}]}
tenants: [{name: lan, prefixes: [10.1.0.0/24]}]
)";
constexpr const char* kNat46 = R"(
services: [{name: v6srv, prefixes: [10.46.0.0/24], nat46: {interface: wan0, server_prefix: "2001:db8:46::/96", source_prefix: "2001:db8:4646::/96"}}]
policies: [{tenant: lan, service: v6srv}]
)";

config::Config parse46(const std::string& yaml) {
  mgmt::ConfigResult r = mgmt::load_config_text(yaml);
  EXPECT_TRUE(r.ok()) << r.error_text();
  return r.config;
}

TEST(Nat46Tables, TheFirstNat46ServiceNeedsARestart) {
  test::LiveStore live;
  std::string err;
  ASSERT_TRUE(live.start(kBase46, err)) << err;
  EXPECT_FALSE(live.store->nat46_tables());
  mgmt::CommitOutcome out = live.store->commit(parse46(std::string(kBase46) + kNat46));
  EXPECT_FALSE(out.applied);
  ASSERT_EQ(out.errors.size(), 1u);
  EXPECT_EQ(out.errors[0].path, "services[0].nat46");
  EXPECT_NE(out.errors[0].message.find("needs a restart"), std::string::npos) << out.errors[0].message;
}

TEST(Nat46Tables, WithTablesNat46ServicesComeAndGoLive) {
  test::LiveStore live;
  std::string err;
  ASSERT_TRUE(live.start(std::string(kBase46) + kNat46, err)) << err;
  EXPECT_TRUE(live.store->nat46_tables());
  mgmt::CommitOutcome gone = live.store->commit(parse46(kBase46));
  EXPECT_TRUE(gone.applied) << (gone.errors.empty() ? "" : gone.errors[0].message);
  EXPECT_FALSE(live.store->model()->nat46);
  mgmt::CommitOutcome back = live.store->commit(parse46(std::string(kBase46) + kNat46));
  EXPECT_TRUE(back.applied) << (back.errors.empty() ? "" : back.errors[0].path + ": " + back.errors[0].message);
  EXPECT_TRUE(live.store->model()->nat46);
}

}  // namespace
}  // namespace wp
