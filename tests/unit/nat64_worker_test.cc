// Stateful NAT64 through a real worker (dataplane/worker/nat64_step.h,
// docs/ipv6.md § NAT64): IPv6 packets from the LAN in, the IPv4 packets
// that leave wan0 out, and the replies back; ICMPv4 errors translated with
// their inner packet; every refusal counted by its reason. Checksums are
// checked here by a full recompute (pkt_builder.h's oracle).
#include <gtest/gtest.h>
#include <malloc.h>

#include <cstdio>
#include <cstring>

#include "dataplane/ip/icmp.h"
#include "dataplane/ip/ndp.h"
#include "dataplane/session/owner.h"
#include "tests/unit/icmp6_error_check.h"
#include "tests/unit/nat64_test_config.h"
#include "tests/unit/out6_frame.h"
#include "tests/unit/pkt6_builder.h"

namespace wp {
namespace {

using namespace test;

// A frame from the LAN to r1's LAN MAC (NAT64 takes only what is sent to it as a router).
std::vector<uint8_t> lan6(const Router& r, const Pkt6& p) {
  std::vector<uint8_t> f = p.bytes();
  std::memcpy(f.data(), r.model().interfaces[0].mac, 6);
  std::memcpy(f.data() + 6, kClient6Mac.data(), 6);
  return f;
}

bool icmp4_ok(const Frame& f) { return ones_fold(ones_sum(f.l4(), f.l4_len())) == 0xffff; }

TEST(Nat64Worker, TcpOutToIpv4AndTheReplyBackToIpv6) {
  auto r = nat64_router();
  Frame out = r->send_one(kLan, lan6(*r, Pkt6().ipv6(kClient6, kServer6).tcp(40000, 80, 0x02).payload("GET /")));
  EXPECT_EQ(out.port, kWan);
  EXPECT_EQ(get16(out.raw.data() + 12), 0x0800);
  EXPECT_EQ(out.src(), kPool);
  EXPECT_EQ(out.dst(), kServer4);
  EXPECT_EQ(out.dport(), 80);
  EXPECT_TRUE(is_waypoint_port(out.sport()));
  EXPECT_EQ(out.ttl(), 63);
  EXPECT_EQ(out.payload_string(), "GET /");
  EXPECT_EQ(std::memcmp(out.dst_mac(), kGatewayMac.data(), 6), 0);
  expect_valid(out);
  EXPECT_EQ(r->count(Counter::nat64_out), 1u);
  EXPECT_EQ(r->count(Counter::nat64_bindings_created), 1u);

  // Same source port again: the same binding.
  Frame again = r->send_one(kLan, lan6(*r, Pkt6().ipv6(kClient6, kServer6).tcp(40000, 80, 0x10)));
  EXPECT_EQ(again.sport(), out.sport());
  EXPECT_EQ(r->count(Counter::nat64_bindings_created), 1u);

  auto reply = Pkt().eth(kR1Mac, kGatewayMac).ipv4(kServer4, kPool, 57).tcp(80, out.sport(), 0x12).payload("200 OK");
  Frame back_f = r->send_one(kWan, reply.bytes());
  EXPECT_EQ(back_f.port, kLan);
  Out6 back(back_f);
  ASSERT_EQ(back.v.status, Ipv6Status::ok);
  EXPECT_EQ(get16(back.raw.data() + 12), kEtherTypeIpv6);
  EXPECT_EQ(std::memcmp(back.raw.data(), kClient6Mac.data(), 6), 0) << "to the client's MAC (Neighbor Discovery)";
  EXPECT_EQ(std::memcmp(back.raw.data() + 6, r->model().interfaces[0].mac, 6), 0);
  EXPECT_EQ(back.v.src, ip6(kServer6));
  EXPECT_EQ(back.v.dst, ip6(kClient6));
  EXPECT_EQ(back.v.hop_limit, 56);
  EXPECT_EQ(back.v.sport, 80);
  EXPECT_EQ(back.v.dport, 40000);
  EXPECT_TRUE(back.checksum_ok());
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(back.raw.data() + back.v.payload), back.v.payload_len()),
            "200 OK");
  EXPECT_EQ(r->count(Counter::nat64_in), 1u);
  EXPECT_EQ(r->total_drops(), 0u) << r->drops();
}

TEST(Nat64Worker, UdpAndIcmpEchoBothWays) {
  auto r = nat64_router();
  Frame u = r->send_one(kLan, lan6(*r, Pkt6().ipv6(kClient6, kServer6).udp(5353, 53).payload("query")));
  EXPECT_EQ(u.proto(), kProtoUdp);
  expect_valid(u);
  Out6 ub(r->send_one(
      kWan, Pkt().eth(kR1Mac, kGatewayMac).ipv4(kServer4, kPool).udp(53, u.sport()).payload("answer").bytes()));
  EXPECT_EQ(ub.v.proto, kProtoUdp);
  EXPECT_EQ(ub.v.dport, 5353);
  EXPECT_TRUE(ub.checksum_ok());

  Frame e = r->send_one(kLan, lan6(*r, Pkt6().ipv6(kClient6, kServer6).icmp6_echo(0x77).payload("ping")));
  EXPECT_EQ(e.proto(), kProtoIcmp);
  EXPECT_EQ(e.l4()[0], 8);
  const uint16_t id = get16(e.l4() + 4);
  EXPECT_TRUE(is_waypoint_port(id));
  EXPECT_TRUE(icmp4_ok(e));
  Out6 eb(r->send_one(
      kWan, Pkt().eth(kR1Mac, kGatewayMac).ipv4(kServer4, kPool).icmp_echo(id, 1, 0).payload("ping").bytes()));
  EXPECT_EQ(eb.v.proto, kProtoIcmpv6);
  EXPECT_EQ(eb.l4()[0], 129);
  EXPECT_EQ(get16(eb.l4() + 4), 0x77);
  EXPECT_TRUE(eb.checksum_ok());
  EXPECT_EQ(r->count(Counter::nat64_bindings_created), 2u);
  // An echo request to the pool address is ours to answer (the control thread).
  r->send(kWan, Pkt().eth(kR1Mac, kGatewayMac).ipv4(kServer4, kPool).icmp_echo(id, 2, 8).bytes());
  EXPECT_EQ(r->count(Counter::to_control), 1u);
}

// An ICMPv4 error quoting what we sent: the IPv4 header, 8+ bytes of it.
std::vector<uint8_t> icmp4_error(uint8_t type, uint8_t code, uint16_t mtu, const Frame& quoted, Ipv4 from) {
  std::vector<uint8_t> body(8, 0);
  body[0] = type;
  body[1] = code;
  put16(body.data() + 6, mtu);
  body.insert(body.end(), quoted.raw.begin() + 14, quoted.raw.end());
  put16(body.data() + 2, static_cast<uint16_t>(~ones_fold(ones_sum(body.data(), body.size()))));
  // Built as another protocol (Pkt would write an echo header), then made ICMP.
  std::vector<uint8_t> f = Pkt().eth(kR1Mac, kGatewayMac).ipv4(from, kPool).proto(253).payload(body).bytes();
  uint8_t* ip4 = f.data() + 14;
  ip4[9] = kProtoIcmp;
  put16(ip4 + 10, 0);
  put16(ip4 + 10, static_cast<uint16_t>(~ones_fold(ones_sum(ip4, 20))));
  return f;
}

TEST(Nat64Worker, FragmentationNeededBecomesPacketTooBigWithTheInnerPacket) {
  auto r = nat64_router();
  std::string big(1300, 'x');
  Frame out = r->send_one(kLan, lan6(*r, Pkt6().ipv6(kClient6, kServer6).udp(6000, 9000).payload(big)));
  EXPECT_EQ(get16(out.ip4() + 6) & 0x4000, 0x4000) << "DF above 1260 bytes (RFC 7915 5.1)";
  Out6 ptb(r->send_one(kWan, icmp4_error(3, 4, 1200, out, kGateway)));
  ASSERT_EQ(ptb.v.status, Ipv6Status::ok);
  EXPECT_EQ(ptb.v.proto, kProtoIcmpv6);
  EXPECT_EQ(ptb.l4()[0], 2) << "Packet Too Big";
  EXPECT_EQ(get32(ptb.l4() + 4), 1280u) << "1200 + 20, at least the IPv6 minimum";
  EXPECT_EQ(ptb.v.src, ip6("64:ff9b::ac10:fe")) << "from the gateway, under the prefix";
  EXPECT_EQ(ptb.v.dst, ip6(kClient6));
  EXPECT_TRUE(ptb.checksum_ok());
  EXPECT_LE(ptb.raw.size(), 14u + 1280u);
  const uint8_t* inner = ptb.l4() + 8;
  EXPECT_EQ(inner[0] >> 4, 6);
  EXPECT_EQ(inner[6], kProtoUdp);
  EXPECT_EQ(load_ipv6(inner + 8), ip6(kClient6));
  EXPECT_EQ(load_ipv6(inner + 24), ip6(kServer6));
  EXPECT_EQ(get16(inner + 4), 8u + 1300u) << "the original payload length";
  EXPECT_EQ(get16(inner + 40), 6000) << "the client's port";
  EXPECT_EQ(r->count(Counter::nat64_icmp_errors), 1u);

  // A larger MTU is reported + 20.
  Out6 ptb2(r->send_one(kWan, icmp4_error(3, 4, 1400, out, kGateway)));
  EXPECT_EQ(get32(ptb2.l4() + 4), 1420u);
}

TEST(Nat64Worker, TimeExceededAndTheInnerChecksumOfAWholeQuote) {
  auto r = nat64_router();
  Frame out = r->send_one(kLan, lan6(*r, Pkt6().ipv6(kClient6, kServer6).udp(6001, 33434).payload("trace")));
  Out6 te(r->send_one(kWan, icmp4_error(11, 0, 0, out, kGateway)));
  EXPECT_EQ(te.l4()[0], 3) << "Time Exceeded";
  EXPECT_EQ(te.l4()[1], 0);
  EXPECT_TRUE(te.checksum_ok());
  // The whole UDP datagram was quoted: its checksum verifies over the IPv6 pseudo-header.
  const uint8_t* inner = te.l4() + 8;
  const uint32_t n = get16(inner + 4);
  uint8_t pseudo[40] = {};
  std::memcpy(pseudo, inner + 8, 32);
  put32(pseudo + 32, n);
  pseudo[39] = kProtoUdp;
  EXPECT_EQ(ones_fold(ones_sum(pseudo, 40) + ones_sum(inner + 40, n)), 0xffff);
  // Port unreachable -> Destination Unreachable code 4.
  Out6 pu(r->send_one(kWan, icmp4_error(3, 3, 0, out, kServer4)));
  EXPECT_EQ(pu.l4()[0], 1);
  EXPECT_EQ(pu.l4()[1], 4);
  EXPECT_EQ(pu.v.src, ip6(kServer6));
}

TEST(Nat64Worker, RefusalsAreCountedByReason) {
  auto r = nat64_router();
  auto dropped = [&](const std::vector<uint8_t>& f, uint16_t port, DropReason why) {
    const uint64_t before = r->drop_count(why);
    EXPECT_TRUE(r->send(port, f).empty());
    return r->drop_count(why) == before + 1;
  };
  EXPECT_TRUE(dropped(lan6(*r, Pkt6().ipv6(kGuest6, kServer6).tcp(1, 80, 0x02)), kLan, DropReason::nat64_policy_deny));
  EXPECT_TRUE(dropped(lan6(*r, Pkt6().ipv6("2001:db8:1:0:2::5", kServer6).tcp(1, 80, 0x02)), kLan,
                      DropReason::nat64_no_tenant));
  EXPECT_TRUE(
      dropped(lan6(*r, Pkt6().ipv6(kClient6, "64:ff9b::a02:a").tcp(1, 80, 0x02)), kLan, DropReason::nat64_non_global))
      << "10.2.0.10 under the Well-Known Prefix";
  EXPECT_TRUE(
      dropped(lan6(*r, Pkt6().ipv6(kClient6, kServer6).icmp6_echo(1, 1)), kLan, DropReason::nat64_untranslatable))
      << "an ICMPv6 error from the client";
  // Hop limit 1: dropped by its reason (and answered, HopLimitOneIsAnsweredWithTimeExceeded).
  EXPECT_EQ(r->send(kLan, lan6(*r, Pkt6().ipv6(kClient6, kServer6, 1).udp(1, 2))).size(), 1u);
  EXPECT_EQ(r->drop_count(DropReason::nat64_hop_limit), 1u);
  // Refused by policy: silent (no Destination Unreachable), docs/ipv6.md § NAT64.
  EXPECT_TRUE(
      dropped(lan6(*r, Pkt6().ipv6(kGuest6, kServer6, 1).tcp(1, 80, 0x02)), kLan, DropReason::nat64_policy_deny));
  EXPECT_TRUE(dropped(Pkt().eth(kR1Mac, kGatewayMac).ipv4(kServer4, kPool).tcp(80, 40000, 0x12).bytes(), kWan,
                      DropReason::nat64_no_binding))
      << "a port outside the waypoint range";
  EXPECT_TRUE(dropped(Pkt().eth(kR1Mac, kGatewayMac).ipv4(kServer4, kPool).tcp(80, 50000, 0x12).bytes(), kWan,
                      DropReason::nat64_no_binding));
  EXPECT_TRUE(dropped(Pkt().eth(kR1Mac, kGatewayMac).ipv4(kServer4, kPool).proto(47).payload("gre!").bytes(), kWan,
                      DropReason::nat64_no_binding));
  // Not under any NAT64 prefix: IPv6 is not routed.
  EXPECT_TRUE(dropped(lan6(*r, Pkt6().ipv6(kClient6, "2001:db8:2::10").tcp(1, 80, 0x02)), kLan, DropReason::not_ipv4));
  EXPECT_EQ(r->count(Counter::nat64_out), 0u);
  EXPECT_EQ(r->count(Counter::nat64_bindings_created), 0u);
}

TEST(Nat64Worker, AClientOffLinkIsNotAnsweredAndBindingsExpire) {
  auto r = nat64_router();
  Frame out = r->send_one(kLan, lan6(*r, Pkt6().ipv6(kClient6, kServer6).udp(7000, 53)));
  EXPECT_EQ(r->worker().nat64().bindings(), 1u);
  EXPECT_EQ(r->worker().counters().nat64_bindings.load(), 1u);
  r->worker().set_now_ms(r->worker().now_ms() + Nat64Bindings::kUdpMs + 1000);
  for (int i = 0; i < 512 && r->worker().nat64().bindings(); ++i) r->idle();
  EXPECT_EQ(r->worker().nat64().bindings(), 0u);
  EXPECT_EQ(r->count(Counter::nat64_bindings_expired), 1u);
  EXPECT_EQ(r->worker().counters().nat64_bindings.load(), 0u) << "the gauge REST and /metrics read";
  EXPECT_TRUE(r->send(kWan, Pkt().eth(kR1Mac, kGatewayMac).ipv4(kServer4, kPool).udp(53, out.sport()).bytes()).empty());
  EXPECT_EQ(r->drop_count(DropReason::nat64_no_binding), 1u);
}

// A client port's packets meet one binding whichever worker receives them
// (handed to the worker of the binding's key), and the IPv4 replies are
// dispatched by the pool port's class to the worker holding the binding.
TEST(Nat64Worker, OneBindingPerClientPortAndRepliesReachItsWorker) {
  constexpr uint32_t kWorkers = 3;
  auto r = nat64_router(RouterOptions().with_workers(kWorkers));
  rte_mempool* pool = test_pool();
  auto run_all = [&] {
    for (uint32_t w = 0; w < kWorkers; ++w) {
      r->worker(w).drain_handoff();
      r->worker(w).flush();
    }
  };
  for (uint16_t sport = 41000; sport < 41012; ++sport) {
    std::vector<uint16_t> seen;
    for (uint32_t w = 0; w < kWorkers; ++w) {  // the same client port, received by each worker
      rte_mbuf* m = Pkt::to_mbuf(pool, lan6(*r, Pkt6().ipv6(kClient6, kServer6).tcp(sport, 80, 0x10)), kLan);
      r->worker(w).receive(&m, 1);
      r->worker(w).flush();
      run_all();
      ASSERT_EQ(r->transmitted().size(), 1u) << "sport " << sport << " via worker " << w << " drops " << r->drops();
      seen.push_back(r->transmitted().back().sport());
      r->idle();
    }
    EXPECT_EQ(seen[0], seen[1]);
    EXPECT_EQ(seen[0], seen[2]);
    const uint32_t owner = owner_of_class(class_of_port(seen[0]), kWorkers);
    uint64_t handoffs = 0;
    for (uint32_t w = 0; w < kWorkers; ++w) handoffs += r->worker(w).counters().get(Counter::handoff_in);
    rte_mbuf* m =
        Pkt::to_mbuf(pool, Pkt().eth(kR1Mac, kGatewayMac).ipv4(kServer4, kPool).tcp(80, seen[0], 0x12).bytes(), kWan);
    r->worker(owner).receive(&m, 1);
    r->worker(owner).flush();
    ASSERT_EQ(r->transmitted().size(), 1u) << "reply not translated by worker " << owner << ": " << r->drops();
    uint64_t after = 0;
    for (uint32_t w = 0; w < kWorkers; ++w) after += r->worker(w).counters().get(Counter::handoff_in);
    EXPECT_EQ(after, handoffs) << "the reply was not handed off";
    r->idle();
  }
  uint64_t bindings = 0;
  for (uint32_t w = 0; w < kWorkers; ++w) bindings += r->worker(w).nat64().bindings();
  EXPECT_EQ(bindings, 12u);
}

// The bindings (~1.5 MB a worker) exist only when the startup model has a
// NAT64 service: without one, IPv6 under the Well-Known Prefix is plain
// (unrouted) IPv6 and nothing is translated, IPv4 to the would-be pool is not
// NAT64's; with one, every worker has them.
TEST(Nat64Worker, TablesOnlyWhenAServiceUsesNat64) {
  config::Config plain = nat64_config();
  plain.mutable_services(0)->clear_nat64();
  constexpr uint32_t kWorkers = 2;
  // Heap in use (glibc) with each router alive: the difference is the tables.
  const size_t heap0 = mallinfo2().uordblks;
  size_t heap_plain = 0;
  {
    Router r(plain, RouterOptions().with_workers(kWorkers));
    heap_plain = mallinfo2().uordblks - heap0;
    for (uint32_t w = 0; w < kWorkers; ++w) EXPECT_FALSE(r.worker(w).nat64().has_tables());
    const uint64_t before = r.drop_count(DropReason::not_ipv4);
    EXPECT_TRUE(r.send(kLan, lan6(r, Pkt6().ipv6(kClient6, kServer6).udp(7000, 53))).empty());
    EXPECT_EQ(r.drop_count(DropReason::not_ipv4), before + 1);
    EXPECT_EQ(r.count(Counter::nat64_out), 0u);
    EXPECT_EQ(r.worker().nat64().bindings(), 0u);
  }
  const size_t heap1 = mallinfo2().uordblks;
  auto r = nat64_router(RouterOptions().with_workers(kWorkers));
  const size_t heap_nat64 = mallinfo2().uordblks - heap1;
  for (uint32_t w = 0; w < kWorkers; ++w) EXPECT_TRUE(r->worker(w).nat64().has_tables());
  // A sanitizer's allocator does not report through mallinfo2 (both figures read 0 under
  // ASan): the tables' presence is checked above either way, their size only with glibc's.
  if (mallinfo2().uordblks == 0) GTEST_SKIP() << "mallinfo2 reports nothing under this allocator (sanitizer)";
  std::printf("heap of a %u-worker router: %zu bytes without a NAT64 service, %zu with (%zu per worker)\n", kWorkers,
              heap_plain, heap_nat64, (heap_nat64 - heap_plain) / kWorkers);
  EXPECT_GT(heap_nat64, heap_plain + kWorkers * (1u << 20))
      << "the NAT64 tables are over 1 MiB a worker (about 1.2 MB)";
}

// --- ICMPv6 errors the router sends clients itself (RFC 7915 5.1, RFC 4443) ---

constexpr const char* kLan6 = "2001:db8:1::1";  // r1's LAN address: the errors' source

// An ICMPv6 error r1 sent the client: to its MAC, from our LAN address, a
// valid checksum, the whole at most 1280 bytes, quoting the start of `sent`.
void expect_error_to_client(const Router& r, const Frame& f, const std::vector<uint8_t>& sent, uint8_t type,
                            uint32_t rest) {
  EXPECT_EQ(f.port, kLan);
  EXPECT_EQ(std::memcmp(f.raw.data(), kClient6Mac.data(), 6), 0);
  EXPECT_EQ(std::memcmp(f.raw.data() + 6, r.model().interfaces[0].mac, 6), 0);
  expect_icmp6_error(f, sent, ip6(kLan6), ip6(kClient6), type, rest);
}

TEST(Nat64Worker, HopLimitOneIsAnsweredWithTimeExceeded) {
  auto r = nat64_router();
  for (uint8_t hops : {1, 0}) {
    const auto sent = lan6(*r, Pkt6().ipv6(kClient6, kServer6, hops).udp(33434, 33435).payload("trace"));
    Frame f = r->send_one(kLan, sent);
    expect_error_to_client(*r, f, sent, kIcmp6TimeExceeded, 0);
  }
  EXPECT_EQ(r->count(Counter::nat64_icmp6_time_exceeded), 2u);
  EXPECT_EQ(r->drop_count(DropReason::nat64_hop_limit), 2u) << "the packet itself is still dropped by its reason";
  EXPECT_EQ(r->count(Counter::nat64_out), 0u);
  // A long packet: as much of it as fits 1280 bytes.
  const auto big = lan6(*r, Pkt6().ipv6(kClient6, kServer6, 1).udp(33434, 33436).payload(std::string(1400, 'q')));
  Frame f = r->send_one(kLan, big);
  expect_error_to_client(*r, f, big, kIcmp6TimeExceeded, 0);
  EXPECT_EQ(f.raw.size(), 14u + 1280u);
  // An echo request (not an error) is answered too.
  const auto echo = lan6(*r, Pkt6().ipv6(kClient6, kServer6, 1).icmp6_echo(9).payload("ping"));
  expect_error_to_client(*r, r->send_one(kLan, echo), echo, kIcmp6TimeExceeded, 0);
  EXPECT_EQ(r->count(Counter::nat64_icmp6_time_exceeded), 4u);
}

TEST(Nat64Worker, TooBigForTheIpv4MtuIsAnsweredWithPacketTooBig) {
  config::Config c = nat64_config();
  c.mutable_router()->mutable_wan(0)->set_mtu(1400);
  auto r = nat64_router({}, c);
  // 1448 bytes of IPv6 -> 1428 of IPv4 > 1400: Packet Too Big, MTU 1400 + 20.
  const auto sent = lan6(*r, Pkt6().ipv6(kClient6, kServer6).udp(6000, 9000).payload(std::string(1400, 'b')));
  expect_error_to_client(*r, r->send_one(kLan, sent), sent, kIcmp6PacketTooBig, 1420);
  EXPECT_EQ(r->count(Counter::nat64_icmp6_too_big), 1u);
  EXPECT_EQ(r->drop_count(DropReason::nat64_too_big), 1u);
  // One that fits the advertised MTU passes.
  Frame ok =
      r->send_one(kLan, lan6(*r, Pkt6().ipv6(kClient6, kServer6).udp(6000, 9000).payload(std::string(1372, 'b'))));
  EXPECT_EQ(ok.port, kWan);
  EXPECT_EQ(ok.raw.size(), 14u + 1400u);

  // An IPv4 MTU below 1260: the report is the IPv6 minimum, 1280 ...
  c.mutable_router()->mutable_wan(0)->set_mtu(1000);
  auto small = nat64_router({}, c);
  const auto sent2 = lan6(*small, Pkt6().ipv6(kClient6, kServer6).udp(6000, 9000).payload(std::string(1300, 'c')));
  expect_error_to_client(*small, small->send_one(kLan, sent2), sent2, kIcmp6PacketTooBig, 1280);
  // ... and a packet already within 1280 bytes is refused without one (the client cannot go lower).
  EXPECT_TRUE(
      small->send(kLan, lan6(*small, Pkt6().ipv6(kClient6, kServer6).udp(6000, 9000).payload(std::string(1100, 'd'))))
          .empty());
  EXPECT_EQ(small->count(Counter::nat64_icmp6_too_big), 1u);
  EXPECT_EQ(small->drop_count(DropReason::nat64_too_big), 2u);
}

TEST(Nat64Worker, Icmp6ErrorsAreRateLimitedPerWorker) {
  auto r = nat64_router();
  const auto sent = lan6(*r, Pkt6().ipv6(kClient6, kServer6, 1).udp(33434, 33435));
  constexpr uint32_t kExtra = 7;
  size_t errors = 0;
  for (uint32_t i = 0; i < Nat64Step::kIcmp6ErrorBurst + kExtra; ++i) errors += r->send(kLan, sent).size();
  EXPECT_EQ(errors, Nat64Step::kIcmp6ErrorBurst);
  EXPECT_EQ(r->count(Counter::nat64_icmp6_time_exceeded), Nat64Step::kIcmp6ErrorBurst);
  EXPECT_EQ(r->count(Counter::nat64_icmp6_rate_limited), kExtra);
  EXPECT_EQ(r->drop_count(DropReason::nat64_hop_limit), Nat64Step::kIcmp6ErrorBurst + kExtra);
  // The bucket refills at kIcmp6ErrorsPerSecond: 50 ms later, 5 more.
  r->worker().set_now_ms(r->worker().now_ms() + 50);
  errors = 0;
  for (uint32_t i = 0; i < 10; ++i) errors += r->send(kLan, sent).size();
  EXPECT_EQ(errors, 50u * Nat64Step::kIcmp6ErrorsPerSecond / 1000);
}

TEST(Nat64Worker, NoIcmp6ErrorAboutAnErrorOrAMulticastPacket) {
  auto r = nat64_router();
  // An ICMPv6 error from the client with hop limit 1: dropped, never answered.
  EXPECT_TRUE(r->send(kLan, lan6(*r, Pkt6().ipv6(kClient6, kServer6, 1).icmp6_echo(1, 1))).empty());
  EXPECT_EQ(r->count(Counter::nat64_icmp6_time_exceeded), 0u);

  // The rule itself (RFC 4443 2.4 (e)), on parsed packets.
  auto allowed = [](const Pkt6& p) {
    const std::vector<uint8_t> f = p.bytes();
    const Ipv6View v = parse_ipv6_packet(f.data(), static_cast<uint32_t>(f.size()), 14);
    EXPECT_EQ(v.status, Ipv6Status::ok);
    return icmp6_error_allowed(f.data(), v);
  };
  EXPECT_TRUE(allowed(Pkt6().ipv6(kClient6, kServer6).udp(1, 2)));
  EXPECT_TRUE(allowed(Pkt6().ipv6(kClient6, kServer6).icmp6_echo(1, 128)));
  EXPECT_TRUE(allowed(Pkt6().ipv6(kClient6, kServer6).icmp6_echo(1, 129)));
  for (uint8_t type : {1, 2, 3, 4, 127}) EXPECT_FALSE(allowed(Pkt6().ipv6(kClient6, kServer6).icmp6_echo(1, type)));
  EXPECT_FALSE(allowed(Pkt6().ipv6(kClient6, kServer6).icmp6_echo(1, 137))) << "a Redirect";
  EXPECT_FALSE(allowed(Pkt6().ipv6(kClient6, "ff02::1").udp(1, 2))) << "to a multicast group";
  EXPECT_FALSE(allowed(Pkt6().ipv6("ff02::1", kServer6).udp(1, 2))) << "from a multicast source";
  EXPECT_FALSE(allowed(Pkt6().ipv6("::", kServer6).udp(1, 2))) << "from the unspecified address";
}

// --- ICMPv4 errors to IPv4 servers and IPv6 fragments to clients (RFC 7915 § 4) ---

// A UDP binding from the client's port 6000 to the server's 9000; returns its pool port.
uint16_t udp_binding(Router& r) {
  Frame out = r.send_one(kLan, lan6(r, Pkt6().ipv6(kClient6, kServer6).udp(6000, 9000).payload("hello")));
  EXPECT_EQ(out.port, kWan);
  return out.sport();
}

// An ICMPv4 error r1 sent the server about `sent` (an IPv4 frame), checked whole.
void expect_error_to_server(const Frame& e, const std::vector<uint8_t>& sent, uint8_t type, uint8_t code,
                            uint32_t rest) {
  EXPECT_EQ(e.port, kWan);
  EXPECT_EQ(get16(e.raw.data() + 12), 0x0800);
  EXPECT_EQ(std::memcmp(e.dst_mac(), kGatewayMac.data(), 6), 0) << "by the route to the server";
  EXPECT_TRUE(e.ip_checksum_ok());
  EXPECT_EQ(e.proto(), kProtoIcmp);
  EXPECT_EQ(e.src(), ip("172.16.0.1")) << "from wan0's address";
  EXPECT_EQ(e.dst(), kServer4);
  EXPECT_EQ(e.l4()[0], type);
  EXPECT_EQ(e.l4()[1], code);
  EXPECT_EQ(get32(e.l4() + 4), rest);
  EXPECT_TRUE(icmp4_ok(e));
  const size_t quoted = 20 + 8;  // RFC 792: the IP header and 64 bits of data
  ASSERT_EQ(e.l4_len(), 8 + quoted);
  EXPECT_EQ(std::memcmp(e.l4() + 8, sent.data() + 14, quoted), 0) << "the server's packet, as received";
}

TEST(Nat64Worker, AReplyWhoseTtlRunsOutIsAnsweredWithTimeExceededToTheServer) {
  auto r = nat64_router();
  const uint16_t port = udp_binding(*r);
  for (uint8_t ttl : {1, 0}) {
    const auto sent = Pkt().eth(kR1Mac, kGatewayMac).ipv4(kServer4, kPool, ttl).udp(9000, port).payload("late").bytes();
    expect_error_to_server(r->send_one(kWan, sent), sent, kIcmpTimeExceeded, 0, 0);
  }
  EXPECT_EQ(r->count(Counter::nat64_icmp4_time_exceeded), 2u);
  EXPECT_EQ(r->drop_count(DropReason::nat64_hop_limit), 2u) << "the reply itself is dropped by its reason";
  EXPECT_EQ(r->count(Counter::nat64_in), 0u);
  // TTL 2 passes, with hop limit 1.
  Frame ok = r->send_one(kWan, Pkt().eth(kR1Mac, kGatewayMac).ipv4(kServer4, kPool, 2).udp(9000, port).bytes());
  EXPECT_EQ(ok.port, kLan);
  EXPECT_EQ(Out6(ok).v.hop_limit, 1);
}

TEST(Nat64Worker, ADfReplyLargerThanTheClientsLinkGetsFragmentationNeeded) {
  config::Config c = nat64_config();
  c.mutable_router()->mutable_lan()->set_mtu(1280);
  auto r = nat64_router({}, c);
  const uint16_t port = udp_binding(*r);
  // 1233 bytes of UDP payload: 1261 of IPv4 -> 1281 of IPv6 > 1280. Fragmentation Needed, MTU 1260.
  const auto big =
      Pkt().eth(kR1Mac, kGatewayMac).ipv4(kServer4, kPool, 57).frag(0x4000).udp(9000, port).payload(std::string(1233, 'x'));
  const auto sent = big.bytes();
  expect_error_to_server(r->send_one(kWan, sent), sent, kIcmpDestUnreachable, kIcmpCodeFragNeeded, 1260);
  EXPECT_EQ(r->count(Counter::nat64_icmp4_frag_needed), 1u);
  EXPECT_EQ(r->drop_count(DropReason::nat64_too_big), 1u);
  // What the server sends after it: 1260 bytes of IPv4, 1280 of IPv6, fits.
  Frame ok = r->send_one(kWan, Pkt().eth(kR1Mac, kGatewayMac).ipv4(kServer4, kPool, 57).frag(0x4000)
                                   .udp(9000, port).payload(std::string(1232, 'y')).bytes());
  EXPECT_EQ(ok.port, kLan);
  EXPECT_EQ(ok.raw.size(), 14u + 1280u);
  EXPECT_TRUE(Out6(ok).checksum_ok());
  EXPECT_EQ(r->count(Counter::nat64_fragments6_sent), 0u);
}

TEST(Nat64Worker, AReplyWithoutDfLargerThanTheClientsLinkLeavesInIpv6Fragments) {
  config::Config c = nat64_config();
  c.mutable_router()->mutable_lan()->set_mtu(1280);
  auto r = nat64_router({}, c);
  const uint16_t port = udp_binding(*r);
  std::string data(1900, 0);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 13 + 1);
  auto out = r->send(kWan, Pkt().eth(kR1Mac, kGatewayMac).ipv4(kServer4, kPool, 57).udp(9000, port).payload(data).bytes());
  ASSERT_EQ(out.size(), 2u) << r->drops();
  // Reassembled by hand: one id, offsets in 8-byte units, M on all but the last.
  std::vector<uint8_t> l4(8 + data.size());
  uint32_t id = 0, seen = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    const Frame& f = out[i];
    EXPECT_EQ(f.port, kLan);
    EXPECT_EQ(get16(f.raw.data() + 12), kEtherTypeIpv6);
    EXPECT_EQ(std::memcmp(f.raw.data(), kClient6Mac.data(), 6), 0);
    ASSERT_GE(f.raw.size(), 14u + 48u);
    EXPECT_LE(f.raw.size() - 14, 1280u);
    const uint8_t* ip = f.raw.data() + 14;
    EXPECT_EQ(ip[6], 44) << "a Fragment header";
    EXPECT_EQ(load_ipv6(ip + 8), ip6(kServer6));
    EXPECT_EQ(load_ipv6(ip + 24), ip6(kClient6));
    EXPECT_EQ(ip[7], 56);
    const uint8_t* fh = ip + 40;
    EXPECT_EQ(fh[0], kProtoUdp);
    const uint16_t word = get16(fh + 2);
    const uint32_t off = word & 0xfff8u;
    const bool more = word & 1;
    if (i == 0) id = get32(fh + 4);
    EXPECT_EQ(get32(fh + 4), id);
    const uint32_t len = get16(ip + 4) - 8u;
    ASSERT_EQ(f.raw.size(), 14u + 48u + len);
    EXPECT_EQ(more, i + 1 < out.size());
    if (more) {
      EXPECT_EQ(len % 8, 0u);
    }
    ASSERT_LE(off + len, l4.size());
    std::memcpy(l4.data() + off, ip + 48, len);
    seen += len;
  }
  EXPECT_EQ(seen, l4.size());
  EXPECT_EQ(get16(l4.data()), 9000);
  EXPECT_EQ(get16(l4.data() + 2), 6000) << "the client's port";
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(l4.data() + 8), data.size()), data);
  EXPECT_NE(get16(l4.data() + 6), 0) << "IPv6 UDP always has a checksum";
  uint8_t pseudo[40] = {};
  store_ipv6(pseudo, ip6(kServer6));
  store_ipv6(pseudo + 16, ip6(kClient6));
  put32(pseudo + 32, static_cast<uint32_t>(l4.size()));
  pseudo[39] = kProtoUdp;
  EXPECT_EQ(ones_fold(ones_sum(pseudo, 40) + ones_sum(l4.data(), l4.size())), 0xffff) << "the UDP checksum of the whole";
  EXPECT_EQ(r->count(Counter::nat64_fragments6_sent), 2u);
  EXPECT_EQ(r->count(Counter::nat64_in), 1u) << "one packet translated, in two fragments";
  EXPECT_EQ(r->total_drops(), 0u) << r->drops();
  // Each datagram its own id.
  auto again = r->send(kWan, Pkt().eth(kR1Mac, kGatewayMac).ipv4(kServer4, kPool, 57).udp(9000, port).payload(data).bytes());
  ASSERT_EQ(again.size(), 2u);
  EXPECT_NE(get32(again[0].raw.data() + 14 + 44), id);
}

TEST(Nat64Worker, Icmp4ErrorsAreRateLimitedPerWorker) {
  auto r = nat64_router();
  const uint16_t port = udp_binding(*r);
  const auto sent = Pkt().eth(kR1Mac, kGatewayMac).ipv4(kServer4, kPool, 1).udp(9000, port).bytes();
  constexpr uint32_t kExtra = 5;
  size_t errors = 0;
  for (uint32_t i = 0; i < Nat64Step::kIcmp4ErrorBurst + kExtra; ++i) errors += r->send(kWan, sent).size();
  EXPECT_EQ(errors, Nat64Step::kIcmp4ErrorBurst);
  EXPECT_EQ(r->count(Counter::nat64_icmp4_time_exceeded), Nat64Step::kIcmp4ErrorBurst);
  EXPECT_EQ(r->count(Counter::nat64_icmp4_rate_limited), kExtra);
  EXPECT_EQ(r->drop_count(DropReason::nat64_hop_limit), Nat64Step::kIcmp4ErrorBurst + kExtra);
}

}  // namespace
}  // namespace wp
