// Path migration of an IPv6 session between IPv4 waypoints (docs/ipv6.md § IPv6 sessions
// between IPv4 waypoints; svr/migration.h): the session moves to the other path with ports
// of its IPv6 tuple's affinity class (not its internal tuple's), and the egress re-binds it by
// its TLV 3 context and UUID instead of taking it for a new session.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>

#include "dataplane/session/owner.h"
#include "dataplane/svr/metadata.h"
#include "tests/unit/out6_frame.h"
#include "tests/unit/route6_test_config.h"
#include "tests/unit/svr6_frames.h"
#include "tests/unit/two_path_config.h"

namespace wp {
namespace {

using namespace test;

constexpr const char* kClient6 = "2001:db8:71::5";
constexpr const char* kServer6 = "2001:db8:72::10";
constexpr Mac kServer6Mac = {2, 0, 0, 0, 0x72, 0x10};

// two_path_config with an IPv6 service over r2 that prefers mpls, as web does.
config::Config two_path_config6(bool r1) {
  config::Config c = two_path_config(r1);
  c.mutable_router()->mutable_lan()->add_ipv6_addresses(r1 ? "2001:db8:71::1/64" : "2001:db8:72::1/64");
  add_v6_tenants(c);
  config::Service* s = add_service(c, {"web6", "2001:db8:72::/64", "tcp", "80", r1 ? "r2" : ""});
  if (r1) s->add_paths("mpls"), s->add_paths("internet");
  add_policy(c, "v6", "web6", "");
  return c;
}

TEST(Svr6Paths, Ipv6SessionMovesInItsOwnClassAndIsReboundAtTheEgress) {
  Router r1(two_path_config6(true), RouterOptions().with_monitored_paths());
  Router r2(two_path_config6(false), RouterOptions().with_monitored_paths());
  for (uint16_t w : {kWanA, kWanB}) {
    r1.neighbor(w, ip(w == kWanA ? "172.16.0.2" : "172.17.0.2"), kR2Mac);
    r2.neighbor(w, ip(w == kWanA ? "172.16.0.1" : "172.17.0.1"), kR1Mac);
  }
  learn6_on(r1, kLan, ip6(kClient6), kRouteClientMac);
  learn6_on(r2, kLan, ip6(kServer6), kServer6Mac);
  const FiveTuple6 t{ip6(kClient6), ip6(kServer6), 40000, 80, kProtoTcp};
  const uint32_t cls = affinity_class6(t);
  auto client = [&](uint8_t flags, const char* data) {
    return lan_frame6(r1, kRouteClientMac, Pkt6().ipv6(kClient6, kServer6, 64).tcp(40000, 80, flags).payload(data));
  };
  auto server = [&](uint8_t flags, const char* data) {
    return lan_frame6(r2, kServer6Mac, Pkt6().ipv6(kServer6, kClient6, 64).tcp(80, 40000, flags).payload(data));
  };

  // Set-up on mpls: TLV 3, ports of the IPv6 tuple's class.
  Frame syn = r1.send_one(kLan, client(0x02, "GET /"));
  ASSERT_EQ(syn.port, kWanA);
  Metadata first;
  ASSERT_EQ(decode_metadata(syn.data(), syn.data_len(), first), MetadataStatus::ok);
  ASSERT_TRUE(first.has_forward_context6);
  EXPECT_EQ(class_of_port(syn.sport()), cls);
  EXPECT_EQ(Out6(r2.send_one(kWanA, syn.raw)).payload_string(), "GET /");
  Frame synack = r2.send_one(kLan, server(0x12, "200 OK"));
  ASSERT_EQ(synack.port, kWanA);
  EXPECT_EQ(Out6(r1.send_one(kWanA, synack.raw)).payload_string(), "200 OK");
  Frame steady = r1.send_one(kLan, client(0x10, "hello"));
  EXPECT_EQ(Out6(r2.send_one(kWanA, steady.raw)).payload_string(), "hello");

  // mpls goes down: the next packet leaves on internet with metadata, same UUID, same class.
  r1.set_usable("mpls", false);
  Frame moved = r1.send_one(kLan, client(0x10, "again"));
  ASSERT_EQ(moved.port, kWanB);
  EXPECT_EQ(moved.src(), ip("172.17.0.1"));
  EXPECT_EQ(class_of_port(moved.sport()), cls) << "the IPv6 tuple's class, not the internal tuple's";
  EXPECT_EQ(class_of_port(moved.dport()), cls);
  Metadata md;
  ASSERT_EQ(decode_metadata(moved.data(), moved.data_len(), md), MetadataStatus::ok);
  EXPECT_TRUE(md.has_forward_context6);
  EXPECT_EQ(md.uuid, first.uuid);
  EXPECT_EQ(r1.count(Counter::path_migrations), 1u);

  // r2 re-binds the session it has (no new one) and delivers; its answer goes back on internet.
  const uint64_t created = r2.count(Counter::sessions_created);
  Out6 delivered(r2.send_one(kWanB, moved.raw));
  EXPECT_EQ(delivered.v.src, ip6(kClient6));
  EXPECT_EQ(delivered.payload_string(), "again");
  EXPECT_TRUE(delivered.checksum_ok());
  EXPECT_EQ(r2.count(Counter::sessions_created), created);
  EXPECT_EQ(r2.count(Counter::path_rebinds), 1u);
  Frame back = r2.send_one(kLan, server(0x10, "ok"));
  EXPECT_EQ(back.port, kWanB);
  Out6 got(r1.send_one(kWanB, back.raw));
  EXPECT_EQ(got.v.src, ip6(kServer6));
  EXPECT_EQ(got.payload_string(), "ok");
  EXPECT_EQ(r1.total_drops(), 0u) << r1.drops();
  EXPECT_EQ(r2.total_drops(), 0u) << r2.drops();
}

}  // namespace
}  // namespace wp
