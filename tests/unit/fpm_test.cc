// Routes from FRR (dataplane/control/fpm/): the FPM/netlink decoder against
// frames written as zebra's dplane_fpm_nl writes them (single next hop,
// RTA_MULTIPATH, next-hop objects and groups, withdrawals, every truncation),
// the DIR-24-8 FIB against a linear longest-prefix scan, and the route table:
// interface mapping, administrative distance, blackholes, the sweep after a
// replay.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <random>
#include <thread>
#include <span>
#include <vector>

#include "dataplane/control/fpm/fpm_decoder.h"
#include "dataplane/control/fpm/fpm_encoder.h"
#include "dataplane/control/fpm/fpm_listener.h"
#include "dataplane/control/fpm/route_table.h"
#include "dataplane/ip/fib.h"

namespace wp::fpm {
namespace {

Ipv4Prefix pfx(const char* s) { return *parse_prefix(s); }
Ipv4 ip(const char* s) { return *parse_ipv4(s); }
constexpr uint8_t kBgp = 186, kOspf = 188, kZstatic = 196;

std::vector<FpmMessage> decode_all(const std::vector<uint8_t>& bytes, FpmError& err) {
  std::vector<FpmMessage> all, one;
  std::span<const uint8_t> rest(bytes);
  err = FpmError::none;
  while (!rest.empty()) {
    long n = fpm_frame_length(rest);
    if (n <= 0) return err = FpmError::bad_header, all;
    err = decode_fpm_frame(rest.first(static_cast<size_t>(n)), one);
    all.insert(all.end(), one.begin(), one.end());
    if (err != FpmError::none) return all;
    rest = rest.subspan(static_cast<size_t>(n));
  }
  return all;
}

TEST(FpmDecoder, SingleNextHopRoute) {
  FpmWriter w;
  w.route(true, pfx("10.200.0.0/16"), kBgp, {{ip("10.2.0.9"), 3, 1}});
  FpmError err;
  auto ms = decode_all(w.bytes(), err);
  ASSERT_EQ(err, FpmError::none);
  ASSERT_EQ(ms.size(), 1u);
  EXPECT_EQ(ms[0].kind, FpmKind::route_add);
  EXPECT_EQ(ms[0].prefix, pfx("10.200.0.0/16"));
  EXPECT_EQ(ms[0].protocol, kBgp);
  EXPECT_EQ(ms[0].table, 254u);
  EXPECT_EQ(ms[0].priority, 20u);
  ASSERT_EQ(ms[0].hops.size(), 1u);
  EXPECT_EQ(ms[0].hops[0].gateway, ip("10.2.0.9"));
  EXPECT_EQ(ms[0].hops[0].ifindex, 3u);
}

TEST(FpmDecoder, MultipathAndDefaultRouteAndWithdraw) {
  FpmWriter w;
  w.route(true, pfx("0.0.0.0/0"), kOspf, {{ip("10.2.0.1"), 3, 1}, {ip("10.2.0.2"), 3, 2}, {0, 4, 1}});
  w.route(false, pfx("192.0.2.0/24"), kBgp, {});
  FpmError err;
  auto ms = decode_all(w.bytes(), err);
  ASSERT_EQ(err, FpmError::none);
  ASSERT_EQ(ms.size(), 2u);
  EXPECT_EQ(ms[0].prefix, pfx("0.0.0.0/0"));
  ASSERT_EQ(ms[0].hops.size(), 3u);
  EXPECT_EQ(ms[0].hops[1].gateway, ip("10.2.0.2"));
  EXPECT_EQ(ms[0].hops[1].weight, 2);
  EXPECT_EQ(ms[0].hops[2].gateway, 0u);
  EXPECT_EQ(ms[0].hops[2].ifindex, 4u);
  EXPECT_EQ(ms[1].kind, FpmKind::route_del);
  EXPECT_EQ(ms[1].prefix, pfx("192.0.2.0/24"));
}

TEST(FpmDecoder, NextHopObjectsAndGroups) {
  FpmWriter w;
  w.nexthop(true, 7, {ip("10.2.0.1"), 3, 1}).nexthop(true, 8, {ip("10.2.0.2"), 3, 1});
  w.nexthop(true, 9, {}, {7, 8}).route(true, pfx("10.200.0.0/16"), kBgp, {}, 9);
  w.nexthop(false, 9, {});
  FpmError err;
  auto ms = decode_all(w.bytes(), err);
  ASSERT_EQ(err, FpmError::none);
  ASSERT_EQ(ms.size(), 5u);
  EXPECT_EQ(ms[0].kind, FpmKind::nexthop_add);
  EXPECT_EQ(ms[0].id, 7u);
  EXPECT_EQ(ms[0].hops.at(0).gateway, ip("10.2.0.1"));
  EXPECT_EQ(ms[2].group, (std::vector<uint32_t>{7, 8}));
  EXPECT_TRUE(ms[2].hops.empty());
  EXPECT_EQ(ms[3].nh_id, 9u);
  EXPECT_EQ(ms[4].kind, FpmKind::nexthop_del);
}

// Every cut of a valid frame, with its length fields left as they were, is
// refused with a reason: nothing is read past what the frame holds.
TEST(FpmDecoder, EveryTruncationIsAnError) {
  FpmWriter w;
  w.route(true, pfx("10.200.0.0/16"), kBgp, {{ip("10.2.0.1"), 3, 1}, {ip("10.2.0.2"), 3, 1}});
  const std::vector<uint8_t> good = w.bytes();
  std::vector<FpmMessage> out;
  for (size_t cut = 0; cut < good.size(); ++cut) {
    std::vector<uint8_t> frame(good.begin(), good.begin() + static_cast<long>(cut));
    EXPECT_EQ(fpm_frame_length(frame), 0) << cut;  // incomplete: wait for more
    if (cut <= kFpmHeaderLen) continue;  // a header alone is an empty frame: no message, no error
    // Shrink the FPM length to the cut: the netlink length now points past it.
    frame[2] = static_cast<uint8_t>(cut >> 8);
    frame[3] = static_cast<uint8_t>(cut);
    EXPECT_NE(decode_fpm_frame(frame, out), FpmError::none) << "cut at " << cut;
  }
}

TEST(FpmDecoder, BadHeadersAndAttributes) {
  std::vector<uint8_t> bad_version = {2, 1, 0, 4};
  EXPECT_EQ(fpm_frame_length(bad_version), -1);
  std::vector<uint8_t> short_len = {1, 1, 0, 3};
  EXPECT_EQ(fpm_frame_length(short_len), -1);
  FpmWriter w;
  w.route(true, pfx("10.200.0.0/16"), kBgp, {{ip("10.2.0.1"), 3, 1}});
  std::vector<uint8_t> f = w.bytes();
  std::vector<FpmMessage> out;
  auto g = f;
  g[4 + 16 + 1] = 33;  // dst_len
  EXPECT_EQ(decode_fpm_frame(g, out), FpmError::bad_prefix_len);
  g = f;
  g[4 + 16 + 12] = 7;  // RTA_DST length 7: not an address
  EXPECT_NE(decode_fpm_frame(g, out), FpmError::none);
  g = f;
  g[4 + 16 + 1] = 8;  // 10.200.0.0/8 has host bits
  EXPECT_EQ(decode_fpm_frame(g, out), FpmError::bad_prefix_len);
}

TEST(Fib, MatchesLinearLongestPrefix) {
  std::mt19937 rng(7);
  std::vector<FibRoute> routes;
  for (int i = 0; i < 3000; ++i) {
    FibRoute r;
    auto len = static_cast<uint8_t>(rng() % 33);
    r.prefix = {static_cast<Ipv4>(rng()) & Ipv4Prefix::mask_of(len), len};
    r.paths = 1;
    r.hops[0] = {static_cast<Ipv4>(i), 0};
    bool dup = false;
    for (const auto& o : routes) dup |= o.prefix == r.prefix;
    if (!dup) routes.push_back(r);
  }
  auto fib = FibTable::build(routes);
  for (int i = 0; i < 20000; ++i) {
    Ipv4 a = static_cast<Ipv4>(rng());
    if (i % 2) a = routes[rng() % routes.size()].prefix.addr | (static_cast<Ipv4>(rng()) & 0xff);
    const FibRoute* best = nullptr;
    for (const auto& r : routes)
      if (r.prefix.contains(a) && (!best || r.prefix.len > best->prefix.len)) best = &r;
    const FibRoute* got = fib->lookup(a);
    ASSERT_EQ(got == nullptr, best == nullptr) << format_ipv4(a);
    if (best) {
      ASSERT_EQ(got->prefix, best->prefix) << format_ipv4(a);
    }
  }
}

// An ECMP member is a function of the session's hash and the member set only.
TEST(Fib, EcmpPickIsStableAndSpreads) {
  FibRoute r;
  r.paths = 2;
  r.hops[0] = {ip("10.2.0.1"), 0};
  r.hops[1] = {ip("10.2.0.2"), 0};
  int first = 0;
  for (uint32_t h = 0; h < 1000; ++h) {
    EXPECT_EQ(&r.pick(h), &r.pick(h));
    first += &r.pick(h) == &r.hops[0];
  }
  EXPECT_GT(first, 400);
  EXPECT_LT(first, 600);
}

RouteTable make_table() {
  std::vector<RouteInterface> ifs = {{"lan", pfx("10.2.0.0/24"), -1, ""}, {"wan0", pfx("198.51.100.0/24"), -1, ""}};
  return RouteTable(ifs, [](uint32_t ifindex) { return ifindex == 5 ? std::string("wan0") : std::string(); });
}

void apply(RouteTable& t, const FpmWriter& w, uint64_t now = 1) {
  FpmError err;
  for (const auto& m : decode_all(w.bytes(), err)) t.apply(m, now);
  ASSERT_EQ(err, FpmError::none);
}

TEST(RouteTable, MapsNextHopsByIfindexNameThenConnectedPrefix) {
  RouteTable t = make_table();
  FpmWriter w;
  w.route(true, pfx("10.200.0.0/16"), kBgp, {{ip("10.2.0.9"), 77, 1}});       // unknown ifindex: by gateway
  w.route(true, pfx("10.201.0.0/16"), kBgp, {{ip("203.0.113.1"), 5, 1}});     // ifindex 5 is wan0
  w.route(true, pfx("10.202.0.0/16"), kBgp, {{ip("203.0.113.1"), 77, 1}});    // neither: unresolved
  apply(t, w);
  auto fib = t.build();
  ASSERT_NE(fib->lookup(ip("10.200.1.1")), nullptr);
  EXPECT_EQ(fib->lookup(ip("10.200.1.1"))->hops[0].iface, 0);
  EXPECT_EQ(fib->lookup(ip("10.200.1.1"))->distance, 20);
  EXPECT_EQ(fib->lookup(ip("10.201.1.1"))->hops[0].iface, 1);
  EXPECT_EQ(fib->lookup(ip("10.202.1.1")), nullptr);
  EXPECT_EQ(t.counters().unresolved, 1u);
}

// IPsec tunnels are interfaces too (after the ports): a next hop whose
// ifindex names a tunnel's TUN (ifname_prefix + the tunnel's name), or whose
// gateway lies on the tunnel's subnet, leaves through the tunnel: iface
// kFibIfaceTunnel, the tunnel's index as next hop (0 included), zebra's
// gateway dropped. Withdrawal removes it; an unknown ifindex with a gateway on
// no subnet stays unresolved.
TEST(RouteTable, NextHopsIntoTunnelsByTunIfindexOrTunnelSubnet) {
  std::vector<RouteInterface> ifs = {{"lan", pfx("10.2.0.0/24"), -1, "wp-lan"},
                                     {"wan0", pfx("198.51.100.0/24"), -1, "wp-wan0"},
                                     {"ipsec0", pfx("169.254.10.0/30"), 0, "wp-ipsec0"},
                                     {"ipsec1", pfx("169.254.10.4/30"), 1, "wp-ipsec1"},
                                     {"ipsec2", {}, 2, ""}};  // no address: no TUN, no subnet
  RouteTable t(ifs, [](uint32_t ifindex) {
    return ifindex == 40   ? std::string("wp-ipsec0")
           : ifindex == 41 ? std::string("wp-ipsec1")
           : ifindex == 5  ? std::string("wp-wan0")
                           : std::string();
  });
  FpmWriter w;
  w.route(true, pfx("10.50.0.0/24"), kBgp, {{ip("169.254.10.2"), 40, 1}});  // the TUN's ifindex
  w.route(true, pfx("10.51.0.0/24"), kBgp, {{ip("169.254.10.6"), 77, 1}});  // unknown ifindex, gateway on ipsec1
  w.route(true, pfx("10.52.0.0/24"), kBgp, {{0, 41, 1}});                   // onlink: the TUN alone
  w.route(true, pfx("10.53.0.0/24"), kBgp, {{ip("192.0.2.1"), 77, 1}});     // neither: unresolved
  w.route(true, pfx("10.54.0.0/24"), kBgp, {{ip("10.2.0.9"), 0, 1}, {ip("169.254.10.2"), 40, 1}});  // port + tunnel
  w.route(true, pfx("10.55.0.0/24"), kBgp, {{ip("198.51.100.1"), 5, 1}});  // the port's tap by its kernel name
  apply(t, w);
  auto fib = t.build();
  const FibRoute* a = fib->lookup(ip("10.50.0.7"));
  ASSERT_NE(a, nullptr);
  ASSERT_EQ(a->paths, 1);
  EXPECT_TRUE(a->hops[0].tunnel());
  EXPECT_EQ(a->hops[0].iface, kFibIfaceTunnel);
  EXPECT_EQ(a->hops[0].gateway, 0u) << "tunnel 0";
  EXPECT_EQ(a->distance, 20);
  EXPECT_EQ(t.hop_interface(a->hops[0]), "ipsec0");
  const FibRoute* b = fib->lookup(ip("10.51.0.7"));
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->hops[0], (FibNextHop{1, kFibIfaceTunnel}));
  EXPECT_EQ(t.hop_interface(b->hops[0]), "ipsec1");
  ASSERT_NE(fib->lookup(ip("10.52.0.1")), nullptr);
  EXPECT_EQ(fib->lookup(ip("10.52.0.1"))->hops[0], (FibNextHop{1, kFibIfaceTunnel}));
  EXPECT_EQ(fib->lookup(ip("10.53.0.1")), nullptr);
  EXPECT_EQ(t.counters().unresolved, 1u);
  const FibRoute* mixed = fib->lookup(ip("10.54.0.1"));
  ASSERT_NE(mixed, nullptr);
  ASSERT_EQ(mixed->paths, 2);
  EXPECT_EQ(mixed->hops[0], (FibNextHop{ip("10.2.0.9"), 0}));
  EXPECT_EQ(mixed->hops[1], (FibNextHop{0, kFibIfaceTunnel}));
  EXPECT_EQ(fib->lookup(ip("10.55.0.1"))->hops[0], (FibNextHop{ip("198.51.100.1"), 1}));
  EXPECT_EQ(t.hop_interface(FibNextHop{7, kFibIfaceTunnel}), "") << "no such tunnel";

  FpmWriter d;
  d.route(false, pfx("10.50.0.0/24"), kBgp, {});
  apply(t, d);
  auto after = t.build();
  EXPECT_EQ(after->lookup(ip("10.50.0.7")), nullptr);
  EXPECT_NE(after->lookup(ip("10.51.0.7")), nullptr);
  EXPECT_EQ(t.counters().routes_withdrawn, 1u);
}

TEST(RouteTable, GroupsBlackholesAndWithdrawals) {
  RouteTable t = make_table();
  FpmWriter w;
  w.nexthop(true, 1, {ip("10.2.0.1"), 0, 1}).nexthop(true, 2, {ip("10.2.0.2"), 0, 1}).nexthop(true, 3, {}, {1, 2});
  w.route(true, pfx("10.200.0.0/16"), kBgp, {}, 3);
  w.route(true, pfx("10.200.9.0/24"), kZstatic, {}, 0, /*type=*/6);  // blackhole
  w.route(true, pfx("10.9.0.0/16"), kBgp, {{ip("10.2.0.1"), 0, 1}}, 0, 1, /*table=*/10);
  apply(t, w);
  auto fib = t.build();
  const FibRoute* r = fib->lookup(ip("10.200.1.1"));
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->paths, 2);
  EXPECT_EQ(fib->lookup(ip("10.200.9.1"))->paths, 0);  // matches, and drops
  EXPECT_EQ(fib->lookup(ip("10.9.0.1")), nullptr);      // another table
  EXPECT_EQ(t.counters().other_table, 1u);
  FpmWriter d;
  d.route(false, pfx("10.200.0.0/16"), kBgp, {});
  apply(t, d);
  EXPECT_EQ(t.build()->lookup(ip("10.200.1.1")), nullptr);
  EXPECT_EQ(t.counters().routes_withdrawn, 1u);
}

TEST(RouteTable, SweepAfterReplayKeepsOnlyWhatZebraSentAgain) {
  RouteTable t = make_table();
  FpmWriter w;
  w.route(true, pfx("10.200.0.0/16"), kBgp, {{ip("10.2.0.1"), 0, 1}});
  w.route(true, pfx("10.201.0.0/16"), kBgp, {{ip("10.2.0.1"), 0, 1}});
  apply(t, w, 100);
  t.begin_replay();
  FpmWriter again;
  again.route(true, pfx("10.200.0.0/16"), kBgp, {{ip("10.2.0.1"), 0, 1}});
  apply(t, again, 5000);
  EXPECT_EQ(t.sweep(), 1u);
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(t.installed_ms(pfx("10.200.0.0/16")), 100u);  // unchanged by the replay: keeps its age
  EXPECT_EQ(t.build()->lookup(ip("10.201.0.1")), nullptr);
}

TEST(RouteTable, DistanceByProtocol) {
  EXPECT_EQ(distance_of(kZstatic), 1);
  EXPECT_EQ(distance_of(kBgp), 20);
  EXPECT_EQ(distance_of(kOspf), 110);
  EXPECT_EQ(protocol_name(kBgp), "bgp");
}

// The listener over a real socket: routes reach DataplaneShared::fib; a
// malformed frame is skipped and counted; a disconnect mid-frame keeps the
// routes; the reconnect's replay sweeps what zebra did not send again.
class FpmListenerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    shared.workers = 1;
    shared.counters.reset(new WorkerCounters[2]);
    listener = std::make_unique<FpmListener>(shared, std::vector<RouteInterface>{{"lan", pfx("10.2.0.0/24"), -1, ""}},
                                             [](uint32_t) { return std::string(); });
    FpmOptions o;
    o.listen = "127.0.0.1:0";
    o.replay_quiet_ms = 150;
    std::string error;
    ASSERT_TRUE(listener->start(o, error)) << error;
  }
  int connect_zebra() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(listener->port());
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    return fd;
  }
  static void send_all(int fd, const std::vector<uint8_t>& b) {
    ASSERT_EQ(::send(fd, b.data(), b.size(), 0), static_cast<ssize_t>(b.size()));
  }
  // Waits up to 3 s for `cond`, bumping the workers' epochs as running workers would.
  template <class F>
  bool until(F cond) {
    for (int i = 0; i < 300; ++i) {
      if (cond()) return true;
      for (int w = 0; w < 2; ++w) shared.counters[w].epoch.fetch_add(1);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
  const FibRoute* lookup(const char* a) {
    const FibTable* f = shared.fib.load();
    return f ? f->lookup(ip(a)) : nullptr;
  }
  DataplaneShared shared;
  std::unique_ptr<FpmListener> listener;
};

TEST_F(FpmListenerTest, RoutesMalformedFramesDisconnectAndReplay) {
  int fd = connect_zebra();
  FpmWriter w;
  w.route(true, pfx("10.200.0.0/16"), kBgp, {{ip("10.2.0.7"), 0, 1}});
  w.route(true, pfx("10.201.0.0/16"), kBgp, {{ip("10.2.0.7"), 0, 1}});
  std::vector<uint8_t> bytes = w.bytes();
  const std::vector<uint8_t> bad = {1, 1, 0, 8, 1, 0, 0, 0};  // a netlink length past its frame
  bytes.insert(bytes.begin(), bad.begin(), bad.end());
  send_all(fd, bytes);
  ASSERT_TRUE(until([&] { return lookup("10.201.1.1") && lookup("10.200.1.1"); }));
  EXPECT_EQ(listener->counters().malformed[static_cast<size_t>(FpmError::netlink_truncated)].load(), 1u);
  // Zebra goes away in the middle of a frame: the routes stay.
  FpmWriter half;
  half.route(true, pfx("10.202.0.0/16"), kBgp, {{ip("10.2.0.7"), 0, 1}});
  send_all(fd, std::vector<uint8_t>(half.bytes().begin(), half.bytes().begin() + 10));
  ::close(fd);
  ASSERT_TRUE(until([&] { return listener->counters().disconnects.load() == 1; }));
  EXPECT_NE(lookup("10.200.1.1"), nullptr);
  // It comes back and replays only 10.200/16: 10.201/16 is swept after the quiet period.
  fd = connect_zebra();
  FpmWriter replay;
  replay.route(true, pfx("10.200.0.0/16"), kBgp, {{ip("10.2.0.7"), 0, 1}});
  send_all(fd, replay.bytes());
  ASSERT_TRUE(until([&] { return listener->counters().routes_swept.load() == 1; }));
  ASSERT_TRUE(until([&] { return lookup("10.201.1.1") == nullptr; }));
  EXPECT_NE(lookup("10.200.1.1"), nullptr);
  EXPECT_EQ(lookup("10.202.1.1"), nullptr);
  EXPECT_NE(listener->routes_json(10).find("\"10.200.0.0/16\""), std::string::npos);
  EXPECT_NE(listener->metrics("router=\"r\"").find("waypoint_fib_routes{router=\"r\"} 1"), std::string::npos);
  // A header that is not FPM loses the stream: closed, counted.
  send_all(fd, {9, 9, 0, 4});
  ASSERT_TRUE(until([&] { return listener->counters().lost_streams.load() == 1; }));
  ::close(fd);
  listener.reset();
  EXPECT_EQ(shared.fib.load(), nullptr);
}

}  // namespace
}  // namespace wp::fpm
