// IPv6 fragments through NAT64 in a real worker (dataplane/worker/nat64_step.h
// § Fragments, docs/ipv6.md § NAT64): a client's datagram in fragments is
// reassembled, translated whole, and leaves as IPv4 (in IPv4 fragments with
// DF clear when it exceeds the IPv4 MTU); overlaps (RFC 5722), duplicates, too
// many fragments, timeouts and strangers are counted by their reasons, and
// forwarding goes on. The IPv4 fragments are reassembled here and their bytes
// and checksums checked by a full recompute.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "dataplane/ip/nat64_packet.h"
#include "dataplane/ip/ndp.h"
#include "dataplane/session/owner.h"
#include "tests/unit/nat64_test_config.h"
#include "tests/unit/pkt6_builder.h"

namespace wp {
namespace {

using namespace test;

std::vector<uint8_t> to_router(const Router& r, std::vector<uint8_t> f) {
  std::memcpy(f.data(), r.model().interfaces[0].mac, 6);
  std::memcpy(f.data() + 6, kClient6Mac.data(), 6);
  return f;
}

// A UDP datagram from `src` to the server: `n` payload bytes (byte i = i * 7 + seed), its checksum
// valid over the IPv6 pseudo-header. Returns the upper-layer bytes (UDP header + payload).
std::vector<uint8_t> udp_bytes(uint32_t n, uint16_t sport, uint8_t seed = 0, const char* src = kClient6) {
  std::vector<uint8_t> u(8 + n);
  store_be16(u.data(), sport);
  store_be16(u.data() + 2, 9000);
  store_be16(u.data() + 4, static_cast<uint16_t>(u.size()));
  for (uint32_t i = 0; i < n; ++i) u[8 + i] = static_cast<uint8_t>(i * 7 + seed);
  store_be16(u.data() + 6, l4_checksum6(ip6(src), ip6(kServer6), kProtoUdp, u.data(), static_cast<uint32_t>(u.size())));
  return u;
}

// The fragment of `l4` (upper-layer bytes) holding [off, off + len): M set unless it reaches the end.
std::vector<uint8_t> frag(const Router& r, const std::vector<uint8_t>& l4, uint32_t id, uint32_t off, uint32_t len,
                          const char* src = kClient6, bool more_override = false) {
  std::vector<uint8_t> bytes(l4.begin() + off, l4.begin() + std::min<size_t>(off + len, l4.size()));
  const bool more = more_override || off + len < l4.size();
  return to_router(r, Pkt6().ipv6(src, kServer6).fragment(static_cast<uint16_t>(off), more, id).l4(kProtoUdp, bytes)
                          .bytes());
}

// The IPv4 datagram the frames (fragments or one packet) make, checked fragment by fragment.
struct Whole4 {
  std::vector<uint8_t> l4;  // the IPv4 payload
  uint16_t id = 0;
  size_t fragments = 0;
};
Whole4 reassemble4(const std::vector<Frame>& frames, uint32_t mtu) {
  Whole4 w;
  std::map<uint32_t, std::vector<uint8_t>> parts;
  uint32_t end = 0;
  for (const Frame& f : frames) {
    EXPECT_EQ(f.port, kWan);
    EXPECT_EQ(get16(f.raw.data() + 12), 0x0800);
    EXPECT_EQ(std::memcmp(f.dst_mac(), kGatewayMac.data(), 6), 0);
    EXPECT_TRUE(f.ip_checksum_ok());
    EXPECT_EQ(f.ihl(), 20u);
    EXPECT_LE(f.ip_total(), mtu);
    EXPECT_EQ(f.src(), kPool);
    EXPECT_EQ(f.dst(), kServer4);
    EXPECT_EQ(f.proto(), kProtoUdp);
    const uint16_t fo = get16(f.ip4() + 6);
    EXPECT_EQ(fo & 0x4000, 0) << "DF clear: the client fragmented (RFC 7915 5.1.1)";
    if (w.fragments++ == 0) w.id = get16(f.ip4() + 4);
    EXPECT_EQ(get16(f.ip4() + 4), w.id) << "one IP id for the whole datagram";
    const uint32_t off = (fo & 0x1fffu) * 8;
    const uint32_t len = static_cast<uint32_t>(f.ip_total() - 20);
    if (fo & 0x2000) EXPECT_EQ(len % 8, 0u);
    else end = off + len;
    parts[off].assign(f.ip4() + 20, f.ip4() + 20 + len);
  }
  for (const auto& [off, bytes] : parts) {
    EXPECT_EQ(off, w.l4.size()) << "fragments leave no gap and do not overlap";
    w.l4.insert(w.l4.end(), bytes.begin(), bytes.end());
  }
  EXPECT_EQ(w.l4.size(), end);
  return w;
}

// The UDP checksum over the IPv4 pseudo-header verifies.
bool udp4_ok(const std::vector<uint8_t>& l4) {
  uint8_t pseudo[12] = {};
  put32(pseudo, kPool);
  put32(pseudo + 4, kServer4);
  pseudo[9] = kProtoUdp;
  store_be16(pseudo + 10, static_cast<uint16_t>(l4.size()));
  return ones_fold(ones_sum(pseudo, 12) + ones_sum(l4.data(), l4.size())) == 0xffff;
}

// 3000 bytes of UDP payload in three IPv6 fragments, last first: one IPv4
// datagram out in three fragments of the WAN MTU (1500), byte-exact, the
// port translated; the server's reply reaches the client by the binding.
TEST(Nat64Fragments, ThreeFragmentsOutOfOrderLeaveAsIpv4FragmentsByteExact) {
  auto r = nat64_router();
  const std::vector<uint8_t> u = udp_bytes(3000, 5000);
  EXPECT_TRUE(r->send(kLan, frag(*r, u, 0x1234, 2896, 112)).empty());
  EXPECT_TRUE(r->send(kLan, frag(*r, u, 0x1234, 1448, 1448)).empty());
  EXPECT_EQ(r->worker().nat64().reassembling(), 1u);
  const std::vector<Frame> out = r->send(kLan, frag(*r, u, 0x1234, 0, 1448));
  ASSERT_EQ(out.size(), 3u) << r->drops();
  const Whole4 w = reassemble4(out, 1500);
  ASSERT_EQ(w.l4.size(), u.size());
  EXPECT_TRUE(is_waypoint_port(get16(w.l4.data())));
  EXPECT_EQ(get16(w.l4.data() + 2), 9000);
  EXPECT_EQ(get16(w.l4.data() + 4), u.size());
  EXPECT_TRUE(std::equal(u.begin() + 8, u.end(), w.l4.begin() + 8)) << "the payload, byte for byte";
  EXPECT_TRUE(udp4_ok(w.l4));
  EXPECT_EQ(r->count(Counter::ipv6_fragments_received), 3u);
  EXPECT_EQ(r->count(Counter::ipv6_datagrams_reassembled), 1u);
  EXPECT_EQ(r->count(Counter::nat64_fragments_sent), 3u);
  EXPECT_EQ(r->count(Counter::nat64_out), 1u);
  EXPECT_EQ(r->worker().nat64().reassembling(), 0u);
  EXPECT_EQ(r->total_drops(), 0u) << r->drops();

  // The same client port unfragmented: the same binding (one per client port, fragments or not).
  Frame small = r->send_one(kLan, to_router(*r, Pkt6().ipv6(kClient6, kServer6).udp(5000, 9000).payload("x").bytes()));
  EXPECT_EQ(small.sport(), get16(w.l4.data()));
  // The reply comes back to the client.
  const std::vector<Frame> back = r->send(
      kWan, Pkt().eth(kR1Mac, kGatewayMac).ipv4(kServer4, kPool).udp(9000, small.sport()).payload("pong").bytes());
  ASSERT_EQ(back.size(), 1u) << r->drops();
  EXPECT_EQ(back[0].port, kLan);
  EXPECT_EQ(r->count(Counter::nat64_in), 1u);
}

// A fragmented datagram that fits the IPv4 MTU leaves as one IPv4 packet (DF clear).
TEST(Nat64Fragments, ASmallFragmentedDatagramLeavesWhole) {
  auto r = nat64_router();
  const std::vector<uint8_t> u = udp_bytes(600, 5001, 3);
  EXPECT_TRUE(r->send(kLan, frag(*r, u, 7, 0, 304)).empty());
  const std::vector<Frame> out = r->send(kLan, frag(*r, u, 7, 304, 304));
  ASSERT_EQ(out.size(), 1u) << r->drops();
  EXPECT_EQ(get16(out[0].ip4() + 6), 0) << "no MF, no offset, DF clear";
  const Whole4 w = reassemble4(out, 1500);
  EXPECT_TRUE(std::equal(u.begin() + 8, u.end(), w.l4.begin() + 8));
  EXPECT_TRUE(udp4_ok(w.l4));
  EXPECT_EQ(r->count(Counter::nat64_fragments_sent), 0u);
}

// A smaller WAN MTU: more, smaller IPv4 fragments, each within it.
TEST(Nat64Fragments, TheIpv4FragmentsFitASmallerWanMtu) {
  config::Config c = nat64_config();
  c.mutable_router()->mutable_wan(0)->set_mtu(576);
  auto r = nat64_router({}, c);
  const std::vector<uint8_t> u = udp_bytes(2000, 5002, 9);
  EXPECT_TRUE(r->send(kLan, frag(*r, u, 8, 0, 1200)).empty());
  const std::vector<Frame> out = r->send(kLan, frag(*r, u, 8, 1200, 808));
  ASSERT_EQ(out.size(), 4u) << r->drops();  // 2008 bytes in 552-byte pieces
  const Whole4 w = reassemble4(out, 576);
  ASSERT_EQ(w.l4.size(), u.size());
  EXPECT_TRUE(std::equal(u.begin() + 8, u.end(), w.l4.begin() + 8));
  EXPECT_TRUE(udp4_ok(w.l4));
}

// RFC 5722: a fragment overlapping held data drops the whole datagram; the
// next ones start a new one that never completes; other traffic goes on.
TEST(Nat64Fragments, AnOverlapDropsTheWholeDatagramAndForwardingContinues) {
  auto r = nat64_router();
  const std::vector<uint8_t> u = udp_bytes(3000, 5003);
  EXPECT_TRUE(r->send(kLan, frag(*r, u, 21, 0, 1448)).empty());
  EXPECT_TRUE(r->send(kLan, frag(*r, u, 21, 1440, 1448)).empty());  // 8 bytes over the first
  EXPECT_EQ(r->drop_count(DropReason::ipv6_frag_overlap), 1u);
  EXPECT_EQ(r->worker().nat64().reassembling(), 0u) << "the whole datagram went";
  EXPECT_TRUE(r->send(kLan, frag(*r, u, 21, 2896, 112)).empty());  // starts over: never completes
  EXPECT_EQ(r->worker().nat64().reassembling(), 1u);
  EXPECT_EQ(r->count(Counter::nat64_out), 0u);
  Frame other = r->send_one(kLan, to_router(*r, Pkt6().ipv6(kClient6, kServer6).udp(5004, 9000).payload("x").bytes()));
  EXPECT_EQ(other.port, kWan);
  EXPECT_EQ(r->count(Counter::nat64_out), 1u);
}

// An exact duplicate is dropped alone; the datagram still completes.
TEST(Nat64Fragments, ADuplicateIsDroppedAloneAndTheDatagramCompletes) {
  auto r = nat64_router();
  const std::vector<uint8_t> u = udp_bytes(1000, 5005);
  EXPECT_TRUE(r->send(kLan, frag(*r, u, 22, 0, 504)).empty());
  EXPECT_TRUE(r->send(kLan, frag(*r, u, 22, 0, 504)).empty());
  EXPECT_EQ(r->drop_count(DropReason::ipv6_frag_duplicate), 1u);
  const std::vector<Frame> out = r->send(kLan, frag(*r, u, 22, 504, 504));
  ASSERT_EQ(out.size(), 1u) << r->drops();
  EXPECT_TRUE(udp4_ok(reassemble4(out, 1500).l4));
}

// More fragments than a slot holds (16): the datagram is dropped.
TEST(Nat64Fragments, TooManyFragmentsDropTheDatagram) {
  auto r = nat64_router();
  const std::vector<uint8_t> u = udp_bytes(400, 5006);
  for (uint32_t i = 0; i < 16; ++i) EXPECT_TRUE(r->send(kLan, frag(*r, u, 23, i * 16, 16)).empty());
  EXPECT_EQ(r->drop_count(DropReason::ipv6_frag_too_many), 0u);
  EXPECT_TRUE(r->send(kLan, frag(*r, u, 23, 16 * 16, 16)).empty());
  EXPECT_EQ(r->drop_count(DropReason::ipv6_frag_too_many), 1u);
  EXPECT_EQ(r->worker().nat64().reassembling(), 0u);
  EXPECT_EQ(r->count(Counter::nat64_out), 0u);
}

// A datagram beyond the reassembly buffer (4096 bytes after the headers) is dropped.
TEST(Nat64Fragments, ADatagramPastTheBufferIsDropped) {
  auto r = nat64_router();
  const std::vector<uint8_t> u = udp_bytes(5000, 5007);
  EXPECT_TRUE(r->send(kLan, frag(*r, u, 24, 0, 1448)).empty());
  EXPECT_TRUE(r->send(kLan, frag(*r, u, 24, 4000, 1008)).empty());
  EXPECT_EQ(r->drop_count(DropReason::ipv6_frag_too_big), 1u);
  EXPECT_EQ(r->worker().nat64().reassembling(), 0u);
}

// A datagram not complete within the timeout is discarded by the sweep and counted.
TEST(Nat64Fragments, AnIncompleteDatagramTimesOut) {
  auto r = nat64_router();
  const std::vector<uint8_t> u = udp_bytes(3000, 5008);
  EXPECT_TRUE(r->send(kLan, frag(*r, u, 25, 0, 1448)).empty());
  EXPECT_EQ(r->worker().nat64().reassembling(), 1u);
  // The sweep visits kReassemblyExpireBudget slots an iteration: a full turn of the table.
  constexpr uint32_t kTurn = Nat64Step::kReassemblySlots / Nat64Step::kReassemblyExpireBudget;
  r->worker().set_now_ms(r->worker().now_ms() + DatagramStore::kDefaultTimeoutMs - 1);
  for (uint32_t i = 0; i < kTurn; ++i) r->idle();
  EXPECT_EQ(r->worker().nat64().reassembling(), 1u) << "not yet";
  r->worker().set_now_ms(r->worker().now_ms() + 1);
  for (uint32_t i = 0; i < kTurn; ++i) r->idle();
  EXPECT_EQ(r->worker().nat64().reassembling(), 0u);
  EXPECT_EQ(r->drop_count(DropReason::ipv6_frag_timeout), 1u);
  // Its late fragments start over and never complete alone.
  EXPECT_TRUE(r->send(kLan, frag(*r, u, 25, 1448, 1448)).empty());
  EXPECT_EQ(r->count(Counter::nat64_out), 0u);
}

// Refusals: a first fragment without its upper-layer header (RFC 7112), a
// malformed one, a source of no tenant (no slot taken), a tenant without a
// policy (refused once whole), fragments not under a NAT64 prefix (not routed).
TEST(Nat64Fragments, RefusalsAreCountedByReason) {
  auto r = nat64_router();
  auto dropped = [&](const std::vector<uint8_t>& f, DropReason why) {
    const uint64_t before = r->drop_count(why);
    EXPECT_TRUE(r->send(kLan, f).empty());
    return r->drop_count(why) == before + 1;
  };
  // The first fragment ends in the UDP header.
  EXPECT_TRUE(dropped(to_router(*r, Pkt6().ipv6(kClient6, kServer6).fragment(0, true, 30).l4(kProtoUdp, {0, 1, 2, 3})
                                         .bytes()),
                      DropReason::ipv6_first_fragment_short));
  const std::vector<uint8_t> u = udp_bytes(100, 5009);
  EXPECT_TRUE(dropped(frag(*r, u, 31, 0, 20), DropReason::ipv6_frag_malformed)) << "not a multiple of 8, M set";
  EXPECT_TRUE(dropped(frag(*r, u, 32, 0, 56, "2001:db8:1:0:2::5"), DropReason::nat64_no_tenant));
  EXPECT_EQ(r->worker().nat64().reassembling(), 0u);
  const std::vector<uint8_t> g = udp_bytes(100, 5010, 0, kGuest6);
  EXPECT_TRUE(r->send(kLan, frag(*r, g, 33, 0, 56, kGuest6)).empty());
  EXPECT_TRUE(dropped(frag(*r, g, 33, 56, 56, kGuest6), DropReason::nat64_policy_deny));
  EXPECT_TRUE(dropped(to_router(*r, Pkt6().ipv6(kClient6, "2001:db8:2::10").fragment(0, true, 34).udp(1, 2)
                                         .payload(std::string(48, 'z')).bytes()),
                      DropReason::not_ipv4));
  EXPECT_EQ(r->count(Counter::nat64_out), 0u);
}

// Bytes [off, off + len) of the IPv4 payload of `whole` (an Ethernet + IPv4 frame, IHL 5) as a fragment.
std::vector<uint8_t> frag4(const std::vector<uint8_t>& whole, uint32_t off, uint32_t len, bool more) {
  std::vector<uint8_t> f(34 + len);
  std::memcpy(f.data(), whole.data(), 34);
  std::memcpy(f.data() + 34, whole.data() + 34 + off, len);
  uint8_t* ip4 = f.data() + 14;
  put16(ip4 + 2, static_cast<uint16_t>(20 + len));
  put16(ip4 + 6, static_cast<uint16_t>(off / 8 | (more ? 0x2000 : 0)));
  put16(ip4 + 10, 0);
  put16(ip4 + 10, static_cast<uint16_t>(~ones_fold(ones_sum(ip4, 20))));
  return f;
}

// The reply path: an IPv4 reply in fragments to a pool port is reassembled by
// the IPv4 machinery (svr/fragments.h), handed to the binding's worker and
// translated whole (when it fits the client's link: IPv6 fragmentation towards
// the client is not built, docs/ipv6.md).
TEST(Nat64Fragments, AnIpv4ReplyInFragmentsIsReassembledAndTranslated) {
  auto r = nat64_router();
  Frame out = r->send_one(kLan, to_router(*r, Pkt6().ipv6(kClient6, kServer6).udp(5012, 9000).payload("q").bytes()));
  std::vector<uint8_t> data(1200);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 13);
  const std::vector<uint8_t> whole =
      Pkt().eth(kR1Mac, kGatewayMac).ipv4(kServer4, kPool).udp(9000, out.sport()).payload(data).bytes();
  EXPECT_TRUE(r->send(kWan, frag4(whole, 0, 552, true)).empty());
  const std::vector<Frame> back = r->send(kWan, frag4(whole, 552, 1208 - 552, false));
  ASSERT_EQ(back.size(), 1u) << r->drops();
  EXPECT_EQ(back[0].port, kLan);
  const std::vector<uint8_t>& b = back[0].raw;
  const Ipv6View v = parse_ipv6_packet(b.data(), static_cast<uint32_t>(b.size()), 14);
  ASSERT_EQ(v.status, Ipv6Status::ok);
  EXPECT_EQ(v.dst, ip6(kClient6));
  EXPECT_EQ(v.src, ip6(kServer6));
  EXPECT_EQ(v.dport, 5012);
  ASSERT_EQ(v.payload_len(), data.size());
  EXPECT_TRUE(std::equal(data.begin(), data.end(), b.begin() + v.payload));
  EXPECT_EQ(l4_checksum6(v.src, v.dst, kProtoUdp, b.data() + v.l4, v.end - v.l4), get16(b.data() + v.l4 + 6));
  EXPECT_EQ(r->count(Counter::datagrams_reassembled), 1u);
  EXPECT_EQ(r->count(Counter::nat64_in), 1u);
}

// Without a NAT64 service there is no reassembly table: fragments are plain, unrouted IPv6.
TEST(Nat64Fragments, NoTableWithoutANat64Service) {
  config::Config plain = nat64_config();
  plain.mutable_services(0)->clear_nat64();
  Router r(plain);
  EXPECT_FALSE(r.worker().nat64().has_tables());
  const std::vector<uint8_t> u = udp_bytes(100, 5011);
  EXPECT_TRUE(r.send(kLan, frag(r, u, 40, 0, 56)).empty());
  EXPECT_EQ(r.drop_count(DropReason::not_ipv4), 1u);
  EXPECT_EQ(r.count(Counter::ipv6_fragments_received), 0u);
}

// Several workers: each fragment, whichever worker receives it, reaches the
// worker of its datagram's key; the whole datagram then reaches the worker
// of its binding (handed as an mbuf chain when that is another one), and
// leaves once, byte-exact, from the binding of its client port.
TEST(Nat64Fragments, FragmentsOnEveryWorkerMeetAndTheBindingsWorkerSendsIt) {
  constexpr uint32_t kWorkers = 3;
  auto r = nat64_router(RouterOptions().with_workers(kWorkers));
  rte_mempool* pool = test_pool();
  auto run_all = [&] {
    for (int round = 0; round < 3; ++round)
      for (uint32_t w = 0; w < kWorkers; ++w) {
        r->worker(w).drain_handoff();
        r->worker(w).flush();
      }
  };
  auto per_worker = [&](Counter c) {
    std::vector<uint64_t> v;
    for (uint32_t w = 0; w < kWorkers; ++w) v.push_back(r->worker(w).counters().get(c));
    return v;
  };
  uint32_t elsewhere = 0;  // datagrams reassembled on one worker and translated on another
  for (uint32_t id = 100; id < 124; ++id) {
    const uint16_t sport = static_cast<uint16_t>(6000 + id);
    // Odd ids: 1600 bytes, which one mbuf would hold: still handed as a chain, still cut in IPv4
    // (not answered with Packet Too Big as an unfragmented packet would be).
    const uint32_t len = id % 2 ? 1600 : 3000;
    const std::vector<uint8_t> u = udp_bytes(len, sport, static_cast<uint8_t>(id));
    const auto reasm0 = per_worker(Counter::ipv6_datagrams_reassembled), out0 = per_worker(Counter::nat64_out);
    for (uint32_t i = 0; i * 1448 < u.size(); ++i) {  // fragment i received by worker (id + i) % kWorkers
      rte_mbuf* m = Pkt::to_mbuf(pool, frag(*r, u, id, i * 1448, 1448), kLan);
      const uint32_t w = (id + i) % kWorkers;
      r->worker(w).receive(&m, 1);
      r->worker(w).flush();
      run_all();
    }
    const std::vector<Frame> out = r->transmitted();
    r->idle();  // clears what was transmitted
    ASSERT_EQ(out.size(), (u.size() + 1479) / 1480) << "datagram " << id;
    const Whole4 w = reassemble4(out, 1500);
    ASSERT_EQ(w.l4.size(), u.size());
    EXPECT_TRUE(std::equal(u.begin() + 8, u.end(), w.l4.begin() + 8));
    EXPECT_TRUE(udp4_ok(w.l4));
    const auto reasm1 = per_worker(Counter::ipv6_datagrams_reassembled), out1 = per_worker(Counter::nat64_out);
    int at = -1, by = -1;
    for (uint32_t k = 0; k < kWorkers; ++k) {
      if (reasm1[k] != reasm0[k]) at = static_cast<int>(k);
      if (out1[k] != out0[k]) by = static_cast<int>(k);
    }
    ASSERT_GE(at, 0);
    ASSERT_GE(by, 0);
    EXPECT_EQ(static_cast<uint32_t>(by), owner_of_class(class_of_port(get16(w.l4.data())), kWorkers))
        << "sent by the worker whose classes hold the pool port";
    if (at != by) ++elsewhere;
  }
  EXPECT_GT(elsewhere, 0u) << "no datagram took the chain handoff: the test does not cover it";
  uint64_t drops = 0;
  for (uint32_t w = 0; w < kWorkers; ++w)
    for (size_t i = 0; i < kDropReasonCount; ++i) drops += r->worker(w).counters().get(static_cast<DropReason>(i));
  EXPECT_EQ(drops, 0u);
}

}  // namespace
}  // namespace wp
