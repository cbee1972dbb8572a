// SVR end to end inside one process (docs/svr-wire-format.md § First packet, § Handshake,
// § Security, cookie false positive): real wp::Worker objects, one per
// router, packet in -> packet out through capturing rx/tx functions.
//
// Topology (one WAN subnet, every router's LAN behind it):
//   client 10.1.0.5 - [r1 branch] 172.16.0.1 ==WAN== 172.16.0.2 [r2 headend] - server 10.2.0.10
//                                                     172.16.0.3 [r3]         - far    10.3.0.10
// r1 -> r2 and r2 -> r3 share pair keys; service "far" is routed r1 -> r2 -> r3.
// Each router has its own DataplaneShared (rings, counters, model, ARP table
// pre-populated so packets go out instead of waiting for ARP) and Worker.
// WAN frames are checked field by field: addresses/ports, the metadata TLVs,
// the HMAC trailer (recomputed here with a separate HmacEngine) and both
// checksums (with the builder's independent RFC 1071 code).
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <ostream>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "dataplane/control/control_thread.h"
#include "dataplane/control/router_model.h"
#include "dataplane/ip/packet.h"
#include "dataplane/session/owner.h"
#include "dataplane/svr/metadata.h"
#include "dataplane/worker/shared.h"
#include "dataplane/worker/worker.h"
#include "mgmt/ipfix_decoder.h"
#include "mgmt/session_feed.h"
#include "tests/unit/svr_harness.h"

namespace wp {

void PrintTo(MetadataStatus s, std::ostream* os) {
  static const char* const kNames[] = {"absent", "ok", "bare", "malformed"};
  *os << kNames[static_cast<int>(s)];
}

namespace {

using namespace test;  // the router harness, topology and packet builder

// --- configs, built in code -------------------------------------------------

config::Config router_config(const char* name, const char* lan, const char* wan, std::vector<ServiceSpec> services,
                             std::vector<std::pair<const char*, const char*>> policies,
                             std::vector<std::tuple<const char*, const char*, const char*>> peers) {
  config::Config c = router_base(name, lan, {{"wan0", wan}});
  add_tenant(c, "branch", "10.1.0.0/25");  // 10.1.0.128+ is no tenant's
  for (const auto& s : services) add_service(c, s);
  add_security(c, "hmac-only", "none", "metadata-only", false);
  for (const auto& [svc, sec] : policies) add_policy(c, "branch", svc, sec);
  for (const auto& [pname, addr, key] : peers) add_peer(c, pname, {addr}, key);
  return c;
}

config::Config r1_config() {
  return router_config("r1", "10.1.0.1/24", "172.16.0.1/24",
                       {{"web", "10.2.0.0/24", "tcp", "80", "r2"},
                        {"echo", "10.2.0.0/24", "udp", "5201", "r2"},
                        {"ssh", "10.2.0.0/24", "tcp", "22", "r2"},
                        {"far", "10.3.0.0/24", "udp", "", "r2"}},
                       {{"web", "hmac-only"}, {"echo", ""}, {"far", ""}},  // no policy for ssh
                       {{"r2", "172.16.0.2", kKey12}});
}

config::Config r2_config(bool allow_echo = true) {
  std::vector<std::pair<const char*, const char*>> policies = {{"web", "hmac-only"}, {"far", ""}};
  if (allow_echo) policies.push_back({"echo", ""});
  return router_config("r2", "10.2.0.1/24", "172.16.0.2/24",
                       {{"web", "10.2.0.0/24", "tcp", "80", ""},
                        {"echo", "10.2.0.0/24", "udp", "5201", ""},
                        {"far", "10.3.0.0/24", "udp", "", "r3"}},
                       policies, {{"r1", "172.16.0.1", kKey12}, {"r3", "172.16.0.3", kKey23}});
}

config::Config r3_config() {
  return router_config("r3", "10.3.0.1/24", "172.16.0.3/24", {{"far", "10.3.0.0/24", "udp", "", ""}}, {{"far", ""}},
                       {{"r2", "172.16.0.2", kKey23}});
}

// Metadata at the start of the L4 data (decoded views point into `f`).
MetadataStatus metadata_of(const Frame& f, Metadata& md) { return decode_metadata(f.data(), f.data_len(), md); }

// TLV types in the block, in wire order, both sections.
std::vector<uint16_t> tlv_types(const Frame& f) {
  std::vector<uint16_t> types;
  const uint8_t* p = f.data();
  size_t hl = test::get16(p + 8) & 0x0fff, end = hl + test::get16(p + 10);
  for (size_t pos = 12; pos + 4 <= end; pos += 4 + test::get16(p + pos + 2)) types.push_back(test::get16(p + pos));
  return types;
}

// The L4 data after the metadata block, without the HMAC trailer.
std::string data_after_block(const Frame& f, const Metadata& md, bool trailer = true) {
  size_t n = f.data_len() - md.block_len() - (trailer ? kHmacTagLen : 0);
  return {reinterpret_cast<const char*>(f.data()) + md.block_len(), n};
}

bool is_even_waypoint(uint16_t p) { return is_waypoint_port(p) && p % 2 == 0; }
bool is_odd_waypoint(uint16_t p) { return is_waypoint_port(p) && p % 2 == 1; }

// --- fixture: r1 and r2 (and r3 for transit) wired together ------------------

class Svr : public ::testing::Test {
 protected:
  void SetUp() override {
    r1 = std::make_unique<Router>(r1_config());
    r2 = std::make_unique<Router>(r2_config());
    wire(*r1, *r2);
  }
  static void wire(Router& a, Router& b) {
    a.neighbor(0, kClient, kClientMac);
    a.neighbor(1, kR2Wan, kR2Mac);
    b.neighbor(0, kServer, kServerMac);
    b.neighbor(1, kR1Wan, kR1Mac);
    b.neighbor(1, kR3Wan, kR3Mac);
  }

  // Client -> service packets as they enter r1's LAN port.
  static std::vector<uint8_t> client_udp(std::string_view data, uint16_t sport = 40000, Ipv4 dst = kServer,
                                         uint16_t dport = 5201) {
    return Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, dst).udp(sport, dport).payload(data).bytes();
  }
  static std::vector<uint8_t> server_udp(std::string_view data, uint16_t dport = 40000) {
    return Pkt().eth(kR2Mac, kServerMac).ipv4(kServer, kClient).udp(5201, dport).payload(data).bytes();
  }
  static std::vector<uint8_t> client_tcp(uint8_t flags, uint32_t seq, uint32_t ack, std::string_view data = "") {
    return Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kServer).tcp(40001, 80, flags, seq, ack).payload(data).bytes();
  }
  static std::vector<uint8_t> server_tcp(uint8_t flags, uint32_t seq, uint32_t ack, std::string_view data = "") {
    return Pkt().eth(kR2Mac, kServerMac).ipv4(kServer, kClient).tcp(80, 40001, flags, seq, ack).payload(data).bytes();
  }

  // Runs the UDP handshake to completion; returns r1's and r2's WAN ports.
  void complete_udp_handshake() {
    Frame w = r1->send_one(kLan, client_udp("one"));
    r2->send_one(kWan, w.raw);
    Frame back = r2->send_one(kLan, server_udp("two"));
    r1->send_one(kWan, back.raw);
    Frame w2 = r1->send_one(kLan, client_udp("three"));
    r2->send_one(kWan, w2.raw);
  }

  std::unique_ptr<Router> r1, r2;
};

// --- the forward first packet ------------------------------------------------

TEST_F(Svr, UdpFirstPacketGetsMetadataNatAndHmac) {
  const FiveTuple orig{kClient, kServer, 40000, 5201, kProtoUdp};
  Frame w = r1->send_one(kLan, client_udp("hello svr"));
  EXPECT_EQ(w.port, kWan);
  EXPECT_EQ(0, std::memcmp(w.dst_mac(), kR2Mac.data(), 6)) << "next hop MAC from the neighbor table";
  EXPECT_EQ(w.src(), kR1Wan);
  EXPECT_EQ(w.dst(), kR2Wan);
  EXPECT_TRUE(is_even_waypoint(w.sport())) << w.sport();
  EXPECT_TRUE(is_odd_waypoint(w.dport())) << w.dport();
  EXPECT_EQ(class_of_port(w.sport()), affinity_class(orig));
  EXPECT_EQ(class_of_port(w.dport()), affinity_class(orig));
  EXPECT_EQ(w.ttl(), 63);
  expect_valid(w);

  ASSERT_TRUE(has_cookie(w.data(), w.data_len()));
  Metadata md;
  ASSERT_EQ(metadata_of(w, md), MetadataStatus::ok);
  std::set<uint16_t> types;
  for (uint16_t t : tlv_types(w)) types.insert(t);
  for (uint16_t t : {2, 6, 7, 10, 14, 15}) EXPECT_TRUE(types.count(t)) << "TLV " << t;
  EXPECT_EQ(md.forward_context, orig);
  EXPECT_TRUE(md.has_uuid);
  EXPECT_EQ(md.uuid[6] >> 4, 4) << "random v4 UUID";
  EXPECT_EQ(md.tenant, "branch");
  EXPECT_EQ(md.service, "echo");
  EXPECT_EQ(md.source_router, "r1");
  EXPECT_EQ(md.destination_router, "r2");
  EXPECT_EQ(md.security_policy, "default");
  EXPECT_FALSE(md.disable_forward_metadata);
  EXPECT_EQ(data_after_block(w, md), "hello svr");
  EXPECT_TRUE(hmac_ok(w, kKey12));
  EXPECT_FALSE(hmac_ok(w, kKey23));
  EXPECT_EQ(r1->count(Counter::metadata_sent), 1u);
  EXPECT_EQ(r1->count(Counter::sessions_created), 1u);
}

TEST_F(Svr, LastHopRestoresTheOriginalPacket) {
  auto sent = client_udp("hello svr");
  Frame w = r1->send_one(kLan, sent);
  Frame lan = r2->send_one(kWan, w.raw);
  EXPECT_EQ(lan.port, kLan);
  EXPECT_EQ(0, std::memcmp(lan.dst_mac(), kServerMac.data(), 6));
  EXPECT_EQ(lan.src(), kClient);
  EXPECT_EQ(lan.dst(), kServer);
  EXPECT_EQ(lan.sport(), 40000);
  EXPECT_EQ(lan.dport(), 5201);
  EXPECT_EQ(lan.payload_string(), "hello svr");
  EXPECT_EQ(lan.ttl(), 62);
  expect_valid(lan);
  // Byte for byte the client's datagram, except TTL and the header checksum.
  Frame orig{sent};
  EXPECT_EQ(lan.ip_total(), orig.ip_total());
  EXPECT_EQ(0, std::memcmp(lan.l4(), orig.l4(), orig.l4_len())) << "L4 header + data identical, checksum included";
  EXPECT_EQ(r2->count(Counter::metadata_received), 1u);
  EXPECT_EQ(r2->count(Counter::sessions_created), 1u);
  EXPECT_EQ(r2->total_drops(), 0u) << r2->drops();
}

TEST_F(Svr, ReplyCarriesReverseMetadataWithTlv18) {
  Frame w = r1->send_one(kLan, client_udp("ping"));
  Metadata fwd;
  ASSERT_EQ(metadata_of(w, fwd), MetadataStatus::ok);
  SessionUuid uuid = fwd.uuid;
  r2->send_one(kWan, w.raw);

  Frame back = r2->send_one(kLan, server_udp("pong"));
  EXPECT_EQ(back.port, kWan);
  EXPECT_EQ(back.src(), kR2Wan);
  EXPECT_EQ(back.dst(), kR1Wan);
  EXPECT_EQ(back.sport(), w.dport());
  EXPECT_EQ(back.dport(), w.sport());
  expect_valid(back);
  Metadata md;
  ASSERT_EQ(metadata_of(back, md), MetadataStatus::ok);
  EXPECT_TRUE(md.disable_forward_metadata) << "TLV 18: the handshake ack";
  EXPECT_TRUE(md.has_reverse_context);
  EXPECT_EQ(md.reverse_context, (FiveTuple{kServer, kClient, 5201, 40000, kProtoUdp}));
  EXPECT_EQ(md.uuid, uuid);
  EXPECT_EQ(md.source_router, "r2");
  EXPECT_EQ(data_after_block(back, md), "pong");
  EXPECT_TRUE(hmac_ok(back, kKey12));

  Frame lan = r1->send_one(kWan, back.raw);
  EXPECT_EQ(lan.port, kLan);
  EXPECT_EQ(0, std::memcmp(lan.dst_mac(), kClientMac.data(), 6));
  EXPECT_EQ(lan.src(), kServer);
  EXPECT_EQ(lan.dst(), kClient);
  EXPECT_EQ(lan.sport(), 5201);
  EXPECT_EQ(lan.dport(), 40000);
  EXPECT_EQ(lan.payload_string(), "pong");
  expect_valid(lan);
  EXPECT_EQ(r1->count(Counter::handshakes_completed), 1u);
}

TEST_F(Svr, HandshakeEndsMetadataBothWays) {
  Frame w1 = r1->send_one(kLan, client_udp("1"));
  r2->send_one(kWan, w1.raw);
  // Until r1's ack arrives, every forward packet carries metadata again.
  Frame w1b = r1->send_one(kLan, client_udp("1b"));
  Metadata md;
  EXPECT_EQ(metadata_of(w1b, md), MetadataStatus::ok);
  EXPECT_EQ(r2->send_one(kWan, w1b.raw).payload_string(), "1b");

  Frame b1 = r2->send_one(kLan, server_udp("2"));
  ASSERT_EQ(metadata_of(b1, md), MetadataStatus::ok);
  // r2 keeps reverse metadata until a forward packet comes without it.
  Frame b1b = r2->send_one(kLan, server_udp("2b"));
  ASSERT_EQ(metadata_of(b1b, md), MetadataStatus::ok);
  EXPECT_TRUE(md.disable_forward_metadata);
  EXPECT_EQ(r1->send_one(kWan, b1.raw).payload_string(), "2");
  EXPECT_EQ(r1->send_one(kWan, b1b.raw).payload_string(), "2b");
  EXPECT_EQ(r1->count(Counter::handshakes_completed), 1u) << "counted once";

  // r1 got TLV 18: its next forward packet is the plain NAT rewrite.
  Frame w2 = r1->send_one(kLan, client_udp("3"));
  EXPECT_EQ(metadata_of(w2, md), MetadataStatus::absent);
  EXPECT_EQ(w2.payload_string(), "3") << "no block, no HMAC trailer";
  EXPECT_EQ(w2.sport(), w1.sport());
  EXPECT_EQ(w2.dport(), w1.dport());
  expect_valid(w2);
  Frame l2 = r2->send_one(kWan, w2.raw);
  EXPECT_EQ(l2.payload_string(), "3");
  EXPECT_EQ(l2.src(), kClient);
  expect_valid(l2);

  // That packet ended reverse metadata at r2.
  Frame b2 = r2->send_one(kLan, server_udp("4"));
  EXPECT_EQ(metadata_of(b2, md), MetadataStatus::absent);
  EXPECT_EQ(b2.payload_string(), "4");
  expect_valid(b2);
  Frame l4 = r1->send_one(kWan, b2.raw);
  EXPECT_EQ(l4.payload_string(), "4");
  EXPECT_EQ(l4.src(), kServer);
  EXPECT_EQ(l4.sport(), 5201);
  expect_valid(l4);
  EXPECT_EQ(r1->total_drops() + r2->total_drops(), 0u) << r1->drops() << " / " << r2->drops();
}

TEST_F(Svr, TcpHandshakeThroughTwoRouters) {
  // SYN: sent as-is with the metadata block as its payload.
  auto syn = client_tcp(kTcpSyn, 1000, 0);
  Frame w = r1->send_one(kLan, syn);
  EXPECT_EQ(w.proto(), kProtoTcp);
  EXPECT_EQ(w.tcp_flags(), kTcpSyn);
  EXPECT_EQ(test::get32(w.l4() + 4), 1000u) << "sequence numbers untouched";
  expect_valid(w);
  Metadata md;
  ASSERT_EQ(metadata_of(w, md), MetadataStatus::ok);
  EXPECT_EQ(md.service, "web");
  EXPECT_EQ(md.security_policy, "hmac-only");
  EXPECT_EQ(md.forward_context, (FiveTuple{kClient, kServer, 40001, 80, kProtoTcp}));
  EXPECT_EQ(data_after_block(w, md), "");
  EXPECT_TRUE(hmac_ok(w, kKey12));

  Frame s = r2->send_one(kWan, w.raw);
  EXPECT_EQ(s.tcp_flags(), kTcpSyn);
  EXPECT_EQ(s.data_len(), 0u);
  EXPECT_EQ(0, std::memcmp(s.l4(), Frame{syn}.l4(), 20)) << "the client's SYN, checksum included";
  expect_valid(s);

  // A retransmitted SYN before the handshake completes carries metadata again.
  Frame w_again = r1->send_one(kLan, syn);
  ASSERT_EQ(metadata_of(w_again, md), MetadataStatus::ok);
  EXPECT_TRUE(hmac_ok(w_again, kKey12));
  Frame s_again = r2->send_one(kWan, w_again.raw);
  EXPECT_EQ(s_again.raw, s.raw);
  EXPECT_EQ(r2->count(Counter::sessions_created), 1u);

  Frame synack = r2->send_one(kLan, server_tcp(kTcpSyn | kTcpAck, 5000, 1001));
  ASSERT_EQ(metadata_of(synack, md), MetadataStatus::ok);
  EXPECT_TRUE(md.disable_forward_metadata);
  Frame c = r1->send_one(kWan, synack.raw);
  EXPECT_EQ(c.tcp_flags(), kTcpSyn | kTcpAck);
  EXPECT_EQ(c.src(), kServer);
  EXPECT_EQ(c.sport(), 80);
  EXPECT_EQ(c.data_len(), 0u);
  EXPECT_EQ(test::get32(c.l4() + 4), 5000u);
  EXPECT_EQ(test::get32(c.l4() + 8), 1001u);
  expect_valid(c);

  Frame ack = r1->send_one(kLan, client_tcp(kTcpAck, 1001, 5001, "GET / HTTP/1.1\r\n\r\n"));
  EXPECT_EQ(metadata_of(ack, md), MetadataStatus::absent);
  EXPECT_EQ(ack.payload_string(), "GET / HTTP/1.1\r\n\r\n");
  expect_valid(ack);
  Frame req = r2->send_one(kWan, ack.raw);
  EXPECT_EQ(req.payload_string(), "GET / HTTP/1.1\r\n\r\n");
  EXPECT_EQ(req.dport(), 80);
  expect_valid(req);

  Frame resp = r2->send_one(kLan, server_tcp(kTcpAck | 0x08, 5001, 1019, "HTTP/1.1 200 OK\r\n"));
  EXPECT_EQ(metadata_of(resp, md), MetadataStatus::absent);
  expect_valid(resp);
  Frame got = r1->send_one(kWan, resp.raw);
  EXPECT_EQ(got.payload_string(), "HTTP/1.1 200 OK\r\n");
  expect_valid(got);
  EXPECT_EQ(r1->total_drops() + r2->total_drops(), 0u) << r1->drops() << " / " << r2->drops();
}

TEST_F(Svr, PaddedMinimumFramesAreHandled) {
  // A bare TCP SYN is 54 bytes and arrives padded to 60: the padding must not
  // end up between the metadata and the HMAC trailer, nor at the server.
  auto syn = Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kServer).tcp(40001, 80, kTcpSyn, 1000).pad(6).bytes();
  Frame w = r1->send_one(kLan, syn);
  Metadata md;
  ASSERT_EQ(metadata_of(w, md), MetadataStatus::ok);
  EXPECT_EQ(data_after_block(w, md), "");
  EXPECT_TRUE(hmac_ok(w, kKey12));
  expect_valid(w);
  Frame s = r2->send_one(kWan, w.raw);
  EXPECT_EQ(s.data_len(), 0u);
  EXPECT_EQ(s.raw.size(), 54u);
  expect_valid(s);
  // A padded reply with no data, and a padded steady-state packet.
  auto synack = Pkt().eth(kR2Mac, kServerMac).ipv4(kServer, kClient).tcp(80, 40001, kTcpSyn | kTcpAck).pad(6).bytes();
  Frame b = r2->send_one(kLan, synack);
  ASSERT_EQ(metadata_of(b, md), MetadataStatus::ok);
  EXPECT_TRUE(hmac_ok(b, kKey12));
  EXPECT_EQ(r1->send_one(kWan, b.raw).data_len(), 0u);
  auto ack = Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kServer).tcp(40001, 80, kTcpAck, 1001).pad(6).bytes();
  Frame a = r1->send_one(kLan, ack);
  EXPECT_EQ(metadata_of(a, md), MetadataStatus::absent);
  EXPECT_TRUE(a.ip_checksum_ok());
  EXPECT_TRUE(a.l4_checksum_ok());
  Frame a2 = r2->send_one(kWan, a.raw);
  EXPECT_EQ(a2.dst(), kServer);
  EXPECT_TRUE(a2.l4_checksum_ok());
  EXPECT_EQ(r1->total_drops() + r2->total_drops(), 0u) << r1->drops() << " / " << r2->drops();
}

TEST_F(Svr, MetadataThatWouldExceedTheMtuIsFragmented) {
  // 1500-byte datagram on the LAN; metadata + HMAC push it over the WAN MTU:
  // It leaves in two IP fragments (svr_fragment_test checks the bytes).
  auto frags = r1->send(kLan, client_udp(std::string(1500 - 28, 'm')));
  ASSERT_EQ(frags.size(), 2u) << r1->drops();
  EXPECT_EQ(frags[0].ip_total(), 1500u);
  EXPECT_EQ(test::get16(frags[0].ip4() + 6), 0x2000);  // MF, offset 0
  EXPECT_EQ(r1->count(Counter::packets_fragmented), 1u);
  EXPECT_EQ(r1->drop_count(DropReason::mtu_exceeded), 0u);
  // Small enough: fits with the metadata.
  Frame ok = r1->send_one(kLan, client_udp(std::string(1200, 'm'), 40010));
  EXPECT_LE(ok.ip_total(), 1500u);
}

// --- cookie false positive ---------------------------------------------------

std::string cookie_data(std::string_view rest) {
  return std::string(reinterpret_cast<const char*>(kSvrCookieBytes), 8) + std::string(rest);
}

TEST_F(Svr, DataStartingWithTheCookieGetsTheBareMarker) {
  complete_udp_handshake();
  // The data even looks like a 12/0 marker itself after the cookie.
  const std::string data = cookie_data(std::string_view("\x10\x0c\x00\x00 not metadata", 17));
  Frame w = r1->send_one(kLan, client_udp(data));
  Metadata md;
  ASSERT_EQ(metadata_of(w, md), MetadataStatus::bare);
  EXPECT_EQ(w.data_len(), 12 + data.size()) << "exactly the 12-byte marker, no HMAC";
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(w.data()) + 12, data.size()), data);
  expect_valid(w);
  Frame lan = r2->send_one(kWan, w.raw);
  EXPECT_EQ(lan.payload_string(), data) << "arrives unchanged at the server";
  expect_valid(lan);
  EXPECT_EQ(r1->count(Counter::cookie_marker_added), 1u);
  EXPECT_EQ(r1->count(Counter::cookie_marker_stripped), 0u);
  EXPECT_EQ(r2->count(Counter::cookie_marker_stripped), 1u);
  EXPECT_EQ(r2->count(Counter::cookie_marker_added), 0u);

  // And the other way.
  Frame b = r2->send_one(kLan, server_udp(cookie_data("reply")));
  ASSERT_EQ(metadata_of(b, md), MetadataStatus::bare);
  Frame c = r1->send_one(kWan, b.raw);
  EXPECT_EQ(c.payload_string(), cookie_data("reply"));
  expect_valid(c);

  // Data that is only the cookie.
  Frame w8 = r1->send_one(kLan, client_udp(cookie_data("")));
  EXPECT_EQ(metadata_of(w8, md), MetadataStatus::bare);
  EXPECT_EQ(r2->send_one(kWan, w8.raw).payload_string(), cookie_data(""));
}

TEST_F(Svr, FirstPacketWhoseDataStartsWithTheCookie) {
  const std::string data = cookie_data("payload");
  Frame w = r1->send_one(kLan, client_udp(data));
  Metadata md;
  ASSERT_EQ(metadata_of(w, md), MetadataStatus::ok) << "one real block, not a marker stacked on it";
  EXPECT_EQ(data_after_block(w, md), data);
  EXPECT_TRUE(hmac_ok(w, kKey12));
  Frame lan = r2->send_one(kWan, w.raw);
  EXPECT_EQ(lan.payload_string(), data);
  expect_valid(lan);
}

// --- drops at the ingress router ---------------------------------------------

TEST_F(Svr, IngressDropsWithoutTenantServiceOrPolicy) {
  auto from = [](const char* src, Ipv4 dst, uint16_t dport, bool tcp) {
    Pkt p;
    p.eth(kR1Mac, kClientMac).ipv4(ip(src), dst);
    if (tcp)
      p.tcp(40000, dport, kTcpSyn);
    else
      p.udp(40000, dport);
    return p.bytes();
  };
  EXPECT_TRUE(r1->send(kLan, from("10.1.0.200", kServer, 5201, false)).empty());
  EXPECT_EQ(r1->drop_count(DropReason::no_tenant), 1u);
  EXPECT_TRUE(r1->send(kLan, from("10.1.0.5", kServer, 22, true)).empty());
  EXPECT_EQ(r1->drop_count(DropReason::policy_deny), 1u) << "ssh exists but no policy allows it";
  EXPECT_TRUE(r1->send(kLan, from("10.1.0.5", ip("10.99.0.1"), 80, true)).empty());
  EXPECT_EQ(r1->drop_count(DropReason::no_service), 1u);
  EXPECT_TRUE(r1->send(kLan, from("10.1.0.5", kServer, 5201, true)).empty());  // echo is UDP only
  EXPECT_EQ(r1->drop_count(DropReason::no_service), 2u);
  EXPECT_EQ(r1->worker().table().size(), 0u);
  EXPECT_EQ(r1->count(Counter::sessions_created), 0u);
}

TEST_F(Svr, IngressDropsOtherProtocolsAndExpiringTtl) {
  auto icmp = Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kServer).icmp_echo(1, 1).bytes();
  EXPECT_TRUE(r1->send(kLan, icmp).empty());
  EXPECT_EQ(r1->drop_count(DropReason::unsupported_proto), 1u);
  auto ttl1 = Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kServer, 1).udp(40000, 5201).payload("x").bytes();
  EXPECT_TRUE(r1->send(kLan, ttl1).empty());
  EXPECT_EQ(r1->drop_count(DropReason::ttl_expired), 1u);
  auto frag = Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kServer).frag(0x2000).udp(1, 5201).bytes();
  EXPECT_TRUE(r1->send(kLan, frag).empty());
  EXPECT_EQ(r1->count(Counter::fragments_received), 1u);  // held for reassembly, not forwarded
  auto bad = client_udp("x");
  bad.resize(30);
  EXPECT_TRUE(r1->send(kLan, bad).empty());
  EXPECT_EQ(r1->drop_count(DropReason::parse_error), 1u);
}

// --- drops at the egress router ----------------------------------------------

TEST_F(Svr, NoSessionAndNoMetadataIsDropped) {
  // Right addresses and waypoint ports, but nothing ever set the session up.
  auto stray = Pkt().eth(kR2Mac, kR1Mac).ipv4(kR1Wan, kR2Wan).udp(16384 + 2 * 64, 16385 + 2 * 64).payload("hi").bytes();
  EXPECT_TRUE(r2->send(kWan, stray).empty());
  EXPECT_EQ(r2->drop_count(DropReason::no_session), 1u);
  EXPECT_EQ(r2->worker().table().size(), 0u);
  // A TCP SYN to a waypoint port without metadata cannot open a session either.
  auto tcp = Pkt().eth(kR2Mac, kR1Mac).ipv4(kR1Wan, kR2Wan).tcp(40000, 16385, kTcpSyn).bytes();
  EXPECT_TRUE(r2->send(kWan, tcp).empty());
  EXPECT_EQ(r2->drop_count(DropReason::no_session), 2u);
  // Not a waypoint port: local input for the control thread, never a session.
  auto local = Pkt().eth(kR2Mac, kR1Mac).ipv4(kR1Wan, kR2Wan).tcp(40000, 22, kTcpSyn).bytes();
  EXPECT_TRUE(r2->send(kWan, local).empty());
  EXPECT_EQ(r2->count(Counter::to_control), 1u);
  // Transit traffic to an address that is not ours: not for us.
  auto other = Pkt().eth(kR2Mac, kR1Mac).ipv4(kR1Wan, kServer).udp(16384, 16385).bytes();
  EXPECT_TRUE(r2->send(kWan, other).empty());
  EXPECT_EQ(r2->drop_count(DropReason::not_for_us), 1u);
}

TEST_F(Svr, BadHmacIsDropped) {
  Frame w = r1->send_one(kLan, client_udp("hello"));
  ASSERT_TRUE(hmac_ok(w, kKey12));
  // A flipped trailer bit, a flipped data bit, a flipped TLV bit.
  for (size_t from_end : {size_t{1}, kHmacTagLen + 2}) {
    Frame bad = w;
    bad.raw[bad.raw.size() - from_end] ^= 0x01;
    EXPECT_TRUE(r2->send(kWan, bad.raw).empty());
  }
  Frame bad_tlv = w;
  Metadata md;
  ASSERT_EQ(metadata_of(w, md), MetadataStatus::ok);
  const_cast<uint8_t*>(bad_tlv.data())[md.block_len() - 1] ^= 0x20;  // last byte of the last string TLV
  EXPECT_TRUE(r2->send(kWan, bad_tlv.raw).empty());
  // Signed with another pair's key.
  Frame other_key = w;
  resign(other_key, kKey23);
  EXPECT_TRUE(r2->send(kWan, other_key.raw).empty());
  EXPECT_EQ(r2->drop_count(DropReason::bad_hmac), 4u) << r2->drops();
  EXPECT_EQ(r2->worker().table().size(), 0u);
  // The untouched packet still creates the session.
  EXPECT_EQ(r2->send_one(kWan, w.raw).payload_string(), "hello");
}

TEST_F(Svr, TruncatedTlvWithValidHmacIsBadMetadata) {
  Frame w = r1->send_one(kLan, client_udp("hello"));
  Metadata md;
  ASSERT_EQ(metadata_of(w, md), MetadataStatus::ok);
  // Make the tenant TLV (7) claim more bytes than its section has, re-sign so
  // the HMAC is valid: the decoder must still refuse it.
  uint8_t* p = const_cast<uint8_t*>(w.data());
  size_t pos = md.header_len;
  while (test::get16(p + pos) != 7) pos += 4 + test::get16(p + pos + 2);
  test::put16(p + pos + 2, static_cast<uint16_t>(md.block_len() - pos));
  resign(w, kKey12);
  ASSERT_TRUE(hmac_ok(w, kKey12));
  EXPECT_TRUE(r2->send(kWan, w.raw).empty());
  EXPECT_EQ(r2->drop_count(DropReason::bad_metadata), 1u) << r2->drops();

  // A payload length running into the HMAC trailer, also validly signed.
  Frame w2 = r1->send_one(kLan, client_udp("hello", 40002));
  ASSERT_EQ(metadata_of(w2, md), MetadataStatus::ok);
  uint8_t* p2 = const_cast<uint8_t*>(w2.data());
  test::put16(p2 + 10, static_cast<uint16_t>(md.payload_len + 5 + 4));  // 5 data bytes + 4 of the trailer
  // Tile the grown section with an unknown TLV so only the length is wrong.
  test::put16(p2 + md.block_len(), 200);
  test::put16(p2 + md.block_len() + 2, 5);
  resign(w2, kKey12);
  EXPECT_TRUE(r2->send(kWan, w2.raw).empty());
  EXPECT_EQ(r2->drop_count(DropReason::bad_metadata), 2u) << r2->drops();
  EXPECT_EQ(r2->worker().table().size(), 0u);
}

TEST_F(Svr, MetadataFromAnUnknownPeerIsDropped) {
  Frame w = r1->send_one(kLan, client_udp("hello"));
  Frame spoof = w;
  test::put32(spoof.raw.data() + 14 + 12, ip("172.16.0.9"));
  resign(spoof, kKey12);
  EXPECT_TRUE(r2->send(kWan, spoof.raw).empty());
  EXPECT_EQ(r2->drop_count(DropReason::unknown_peer), 1u) << r2->drops();
}

TEST(SvrZeroTrust, EgressRechecksPolicy) {
  Router r1(r1_config());
  Router r2(r2_config(/*allow_echo=*/false));
  r1.neighbor(1, kR2Wan, kR2Mac);
  r2.neighbor(0, kServer, kServerMac);
  r2.neighbor(1, kR1Wan, kR1Mac);
  Frame w =
      r1.send_one(kLan, Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kServer).udp(40000, 5201).payload("x").bytes());
  ASSERT_TRUE(hmac_ok(w, kKey12));
  EXPECT_TRUE(r2.send(kWan, w.raw).empty());
  EXPECT_EQ(r2.drop_count(DropReason::policy_deny), 1u) << r2.drops();
  EXPECT_EQ(r2.worker().table().size(), 0u);
}

TEST_F(Svr, RestartedIngressRouterTakesOverTheFlow) {
  complete_udp_handshake();
  EXPECT_EQ(r2->worker().table().size(), 1u);
  // r1 restarts: same client tuple, new session id, (almost surely) new ports.
  r1 = std::make_unique<Router>(r1_config());
  wire(*r1, *r2);
  Frame w = r1->send_one(kLan, client_udp("after restart"));
  Metadata md;
  ASSERT_EQ(metadata_of(w, md), MetadataStatus::ok);
  EXPECT_EQ(r2->send_one(kWan, w.raw).payload_string(), "after restart");
  EXPECT_EQ(r2->count(Counter::sessions_replaced), 1u) << "the stale session would shadow the new one's LAN key";
  EXPECT_EQ(r2->worker().table().size(), 1u);
  // Replies now go to the new session's ports.
  Frame back = r2->send_one(kLan, server_udp("reply"));
  EXPECT_EQ(back.dport(), w.sport());
  EXPECT_EQ(back.sport(), w.dport());
  EXPECT_EQ(r1->send_one(kWan, back.raw).payload_string(), "reply");
}

TEST_F(Svr, SamePortsWithANewSessionIdReplaceTheSession) {
  Frame w = r1->send_one(kLan, client_udp("first"));
  r2->send_one(kWan, w.raw);
  // Same waypoint ports, different UUID (the sender restarted and reused them).
  Frame again = w;
  Metadata md;
  ASSERT_EQ(metadata_of(again, md), MetadataStatus::ok);
  uint8_t* p = const_cast<uint8_t*>(again.data());
  size_t pos = md.header_len;
  while (test::get16(p + pos) != 6) pos += 4 + test::get16(p + pos + 2);
  p[pos + 4 + 15] ^= 0x01;
  resign(again, kKey12);
  EXPECT_EQ(r2->send_one(kWan, again.raw).payload_string(), "first");
  EXPECT_EQ(r2->count(Counter::sessions_replaced), 1u);
  EXPECT_EQ(r2->worker().table().size(), 1u);
  // A reverse packet whose UUID does not match its session is refused.
  Frame back = r2->send_one(kLan, server_udp("reply"));
  ASSERT_EQ(metadata_of(back, md), MetadataStatus::ok);
  EXPECT_EQ(r1->send(kWan, back.raw).size(), 0u) << "r1's session has the original UUID";
  EXPECT_EQ(r1->drop_count(DropReason::bad_metadata), 1u);
}

// --- transit: r1 -> r2 -> r3 -------------------------------------------------

TEST(SvrTransit, MiddleRouterReNatsAndKeepsMetadata) {
  Router r1(r1_config()), r2(r2_config()), r3(r3_config());
  r1.neighbor(0, kClient, kClientMac);
  r1.neighbor(1, kR2Wan, kR2Mac);
  r2.neighbor(1, kR1Wan, kR1Mac);
  r2.neighbor(1, kR3Wan, kR3Mac);
  r3.neighbor(0, kFar, kFarMac);
  r3.neighbor(1, kR2Wan, kR2Mac);
  const FiveTuple orig{kClient, kFar, 40000, 7000, kProtoUdp};

  Frame w1 =
      r1.send_one(kLan, Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kFar).udp(40000, 7000).payload("far").bytes());
  EXPECT_EQ(w1.dst(), kR2Wan);
  Metadata md1;
  ASSERT_EQ(metadata_of(w1, md1), MetadataStatus::ok);
  SessionUuid uuid = md1.uuid;

  Frame w2 = r2.send_one(kWan, w1.raw);
  EXPECT_EQ(w2.port, kWan);
  EXPECT_EQ(0, std::memcmp(w2.dst_mac(), kR3Mac.data(), 6));
  EXPECT_EQ(w2.src(), kR2Wan);
  EXPECT_EQ(w2.dst(), kR3Wan);
  EXPECT_TRUE(is_even_waypoint(w2.sport()));
  EXPECT_TRUE(is_odd_waypoint(w2.dport()));
  EXPECT_EQ(class_of_port(w2.sport()), affinity_class(orig)) << "same owner class on every hop";
  EXPECT_EQ(class_of_port(w2.dport()), affinity_class(orig));
  expect_valid(w2);
  Metadata md2;
  ASSERT_EQ(metadata_of(w2, md2), MetadataStatus::ok);
  EXPECT_EQ(md2.forward_context, orig);
  EXPECT_EQ(md2.uuid, uuid) << "one global session id on every hop";
  EXPECT_EQ(md2.tenant, "branch");
  EXPECT_EQ(md2.service, "far");
  EXPECT_EQ(md2.source_router, "r2");
  EXPECT_EQ(md2.destination_router, "r3");
  EXPECT_EQ(data_after_block(w2, md2), "far");
  EXPECT_TRUE(hmac_ok(w2, kKey23)) << "signed with the r2-r3 pair key";

  Frame lan = r3.send_one(kWan, w2.raw);
  EXPECT_EQ(lan.src(), kClient);
  EXPECT_EQ(lan.dst(), kFar);
  EXPECT_EQ(lan.sport(), 40000);
  EXPECT_EQ(lan.dport(), 7000);
  EXPECT_EQ(lan.payload_string(), "far");
  EXPECT_EQ(lan.ttl(), 61);
  expect_valid(lan);

  // The reply retraces the path: r3 -> r2 (reverse md, r2-r3 key) -> r1.
  Frame b3 = r3.send_one(kLan, Pkt().eth(kR3Mac, kFarMac).ipv4(kFar, kClient).udp(7000, 40000).payload("back").bytes());
  EXPECT_EQ(b3.dst(), kR2Wan);
  EXPECT_EQ(b3.dport(), w2.sport());
  EXPECT_TRUE(hmac_ok(b3, kKey23));
  Frame b2 = r2.send_one(kWan, b3.raw);
  EXPECT_EQ(b2.dst(), kR1Wan);
  EXPECT_EQ(b2.sport(), w1.dport());
  EXPECT_EQ(b2.dport(), w1.sport());
  Metadata rmd;
  ASSERT_EQ(metadata_of(b2, rmd), MetadataStatus::ok);
  EXPECT_TRUE(rmd.disable_forward_metadata);
  EXPECT_EQ(rmd.uuid, uuid);
  EXPECT_TRUE(hmac_ok(b2, kKey12));
  expect_valid(b2);
  Frame c = r1.send_one(kWan, b2.raw);
  EXPECT_EQ(c.src(), kFar);
  EXPECT_EQ(c.dst(), kClient);
  EXPECT_EQ(c.sport(), 7000);
  EXPECT_EQ(c.dport(), 40000);
  EXPECT_EQ(c.payload_string(), "back");
  expect_valid(c);
  EXPECT_EQ(r2.count(Counter::handshakes_completed), 1u) << "r3 acked r2's leg";
  EXPECT_EQ(r1.count(Counter::handshakes_completed), 1u) << "r2 acked r1's leg";

  // Steady state on both legs.
  Frame s1 = r1.send_one(kLan, Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kFar).udp(40000, 7000).payload("s").bytes());
  Metadata none;
  EXPECT_EQ(metadata_of(s1, none), MetadataStatus::absent);
  Frame s2 = r2.send_one(kWan, s1.raw);
  EXPECT_EQ(metadata_of(s2, none), MetadataStatus::absent);
  EXPECT_EQ(s2.dport(), w2.dport());
  Frame s3 = r3.send_one(kWan, s2.raw);
  EXPECT_EQ(s3.payload_string(), "s");
  EXPECT_EQ(s3.dst(), kFar);
  expect_valid(s3);
  EXPECT_EQ(r1.total_drops() + r2.total_drops() + r3.total_drops(), 0u);
}

// --- next hop not yet resolved ------------------------------------------------

struct ControlTx {
  std::vector<Frame> frames;
  static uint16_t capture(void* ctx, uint16_t port, uint16_t, rte_mbuf** pkts, uint16_t n) {
    for (uint16_t i = 0; i < n; ++i) {
      Frame f = test::frame_of(pkts[i]);
      f.port = port;
      static_cast<ControlTx*>(ctx)->frames.push_back(std::move(f));
      rte_pktmbuf_free(pkts[i]);
    }
    return n;
  }
};

TEST(SvrArp, FirstPacketWaitsForArpAndLeavesIntact) {
  Router r1(r1_config());  // empty neighbor table
  ControlTx tx;
  Control control(r1.shared(), test::test_pool(), /*tx_queue=*/1);
  control.set_tx(ControlTx::capture, &tx);

  // The metadata packet waits for the peer's MAC instead of leaving. Its
  // block ("web", "hmac-only") is 91 bytes: prepended through the headroom,
  // the frame now starts at an odd address.
  EXPECT_TRUE(
      r1.send(kLan, Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kServer).tcp(40001, 80, kTcpSyn).payload("x").bytes())
          .empty());
  control.poll_once(0);
  ASSERT_EQ(tx.frames.size(), 1u);
  const Frame& req = tx.frames[0];
  EXPECT_EQ(req.port, kWan);
  EXPECT_EQ(test::get16(req.raw.data() + 12), 0x0806);
  EXPECT_EQ(test::get16(req.raw.data() + 14 + 6), 1) << "ARP request";
  EXPECT_EQ(test::get32(req.raw.data() + 14 + 24), kR2Wan);
  EXPECT_EQ(control.pending_count(), 1u);

  // r2 answers; the worker hands ARP to control, which learns and sends the packet.
  EXPECT_TRUE(r1.send(kWan, Pkt::arp(2, kR2Mac, kR2Wan, {}, kR1Wan)).empty());
  control.poll_once(1);
  ASSERT_EQ(tx.frames.size(), 2u);
  const Frame& w = tx.frames[1];
  EXPECT_EQ(w.port, kWan);
  EXPECT_EQ(0, std::memcmp(w.dst_mac(), kR2Mac.data(), 6));
  Metadata md;
  ASSERT_EQ(metadata_of(w, md), MetadataStatus::ok);
  EXPECT_EQ(md.block_len() % 2, 1u);
  EXPECT_EQ(data_after_block(w, md), "x");
  EXPECT_TRUE(hmac_ok(w, kKey12));
  expect_valid(w);
  EXPECT_EQ(control.pending_count(), 0u);
}

TEST(SvrArp, PendingNeighborsAreBounded) {
  Router r1(r1_config());
  ControlTx tx;
  Control control(r1.shared(), test::test_pool(), /*tx_queue=*/1);
  control.set_tx(ControlTx::capture, &tx);
  // Packets for more distinct unresolved next hops than control tracks at once.
  const size_t n = Control::kMaxPendingNeighbors + 10;
  for (size_t i = 0; i < n; ++i) {
    rte_mbuf* m = Pkt().eth(kR1Mac, kClientMac).ipv4(kServer, kClient).udp(80, 40000).mbuf(test::test_pool(), kLan);
    ASSERT_NE(m, nullptr);
    mark_resolve(m, kLan, ip("10.1.0.0") + 1000 + static_cast<Ipv4>(i));
    ASSERT_EQ(rte_ring_sp_enqueue(r1.shared().resolve[0], m), 0);
  }
  for (int k = 0; k < 16; ++k) control.poll_once(0);
  EXPECT_EQ(control.pending_count(), Control::kMaxPendingNeighbors);
  EXPECT_EQ(r1.shared().control_counters().get(DropReason::arp_unresolved), 10u);
  EXPECT_EQ(tx.frames.size(), Control::kMaxPendingNeighbors) << "one ARP request per tracked neighbor";
}

// --- control: ARP responder, ICMP echo -----------------------------------------

TEST(SvrControl, AnswersArpForOwnAddressesOnly) {
  Router r1(r1_config());
  ControlTx tx;
  Control control(r1.shared(), test::test_pool(), /*tx_queue=*/1);
  control.set_tx(ControlTx::capture, &tx);
  const Ipv4 r1_lan = ip("10.1.0.1");
  EXPECT_TRUE(r1.send(kLan, Pkt::arp(1, kClientMac, kClient, {}, r1_lan)).empty());
  EXPECT_TRUE(r1.send(kLan, Pkt::arp(1, kClientMac, kClient, {}, ip("10.1.0.99"))).empty());
  control.poll_once(0);
  ASSERT_EQ(tx.frames.size(), 1u) << "only the request for our own address is answered";
  const Frame& reply = tx.frames[0];
  EXPECT_EQ(reply.port, kLan);
  EXPECT_EQ(0, std::memcmp(reply.dst_mac(), kClientMac.data(), 6));
  const uint8_t* a = reply.raw.data() + 14;
  EXPECT_EQ(test::get16(a + 6), 2) << "ARP reply";
  EXPECT_EQ(test::get32(a + 14), r1_lan);
  EXPECT_EQ(test::get32(a + 24), kClient);
  // The requester is not learned: a request costs its sender nothing, so
  // spoofed ones would fill the table (control/neighbor.h). Our own request
  // resolves it when traffic needs it.
  uint8_t mac[6];
  EXPECT_FALSE(r1.shared().neighbors.lookup(kLan, kClient, mac));
  EXPECT_EQ(r1.shared().control_counters().get(Counter::arp_learn_unsolicited), 2u);
}

TEST(SvrControl, EchoRequestToOwnAddressGetsAReply) {
  Router r1(r1_config());
  ControlTx tx;
  Control control(r1.shared(), test::test_pool(), /*tx_queue=*/1);
  control.set_tx(ControlTx::capture, &tx);
  const Ipv4 r1_lan = ip("10.1.0.1");
  EXPECT_TRUE(
      r1.send(kLan, Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, r1_lan).icmp_echo(7, 1).payload("ping!").bytes())
          .empty());
  control.poll_once(0);
  ASSERT_EQ(tx.frames.size(), 1u);
  const Frame& f = tx.frames[0];
  EXPECT_EQ(0, std::memcmp(f.dst_mac(), kClientMac.data(), 6));
  EXPECT_EQ(f.src(), r1_lan);
  EXPECT_EQ(f.dst(), kClient);
  EXPECT_TRUE(f.ip_checksum_ok());
  const uint8_t* icmp = f.l4();
  EXPECT_EQ(icmp[0], 0) << "echo reply";
  EXPECT_EQ(test::get16(icmp + 4), 7) << "identifier kept";
  EXPECT_EQ(test::ones_fold(test::ones_sum(icmp, f.l4_len())), 0xffff) << "ICMP checksum valid";
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(icmp + 8), f.l4_len() - 8), "ping!");

  // ICMP that is not an echo request to us is dropped with a reason, never answered.
  EXPECT_TRUE(
      r1.send(kLan, Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, r1_lan).icmp_echo(7, 2, /*type=*/0).bytes()).empty());
  control.poll_once(1);
  EXPECT_EQ(tx.frames.size(), 1u);
  EXPECT_EQ(r1.shared().control_counters().get(DropReason::not_for_us), 1u);
}

// --- a full table ------------------------------------------------------------

TEST(SvrTableFull, NewSessionsRefusedExistingOnesForward) {
  Router r1(r1_config(), RouterOptions().with_max_sessions(4));
  r1.neighbor(1, kR2Wan, kR2Mac);
  auto pkt = [](uint16_t sport, std::string_view data) {
    return Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kServer).udp(sport, 5201).payload(data).bytes();
  };
  for (uint16_t i = 0; i < 4; ++i) r1.send_one(kLan, pkt(static_cast<uint16_t>(50000 + i), "new"));
  EXPECT_EQ(r1.worker().table().size(), 4u);
  EXPECT_TRUE(r1.send(kLan, pkt(50004, "one too many")).empty());
  EXPECT_EQ(r1.drop_count(DropReason::table_full), 1u);
  for (uint16_t i = 0; i < 4; ++i) {
    Frame w = r1.send_one(kLan, pkt(static_cast<uint16_t>(50000 + i), "still here"));
    Metadata md;
    ASSERT_EQ(metadata_of(w, md), MetadataStatus::ok);
    EXPECT_EQ(md.forward_context.sport, 50000 + i);
    EXPECT_EQ(data_after_block(w, md), "still here");
  }
  EXPECT_EQ(r1.drop_count(DropReason::table_full), 1u);
}

TEST(SvrTableFull, EgressTableFull) {
  Router r1(r1_config());
  Router r2(r2_config(), RouterOptions().with_max_sessions(1));
  r1.neighbor(1, kR2Wan, kR2Mac);
  r2.neighbor(0, kServer, kServerMac);
  auto pkt = [](uint16_t sport) {
    return Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kServer).udp(sport, 5201).payload("x").bytes();
  };
  Frame a = r1.send_one(kLan, pkt(50000));
  Frame b = r1.send_one(kLan, pkt(50001));
  r2.send_one(kWan, a.raw);
  EXPECT_TRUE(r2.send(kWan, b.raw).empty());
  EXPECT_EQ(r2.drop_count(DropReason::table_full), 1u);
  EXPECT_EQ(r2.send_one(kWan, a.raw).payload_string(), "x") << "the existing session still forwards";
}

// --- aging through the worker ------------------------------------------------

TEST_F(Svr, IdleSessionsExpireAndTheFlowStartsOver) {
  r1->worker().set_now_ms(1000);
  r2->worker().set_now_ms(1000);
  complete_udp_handshake();
  EXPECT_EQ(r1->worker().table().size(), 1u);
  r1->worker().set_now_ms(1000 + 60000);
  EXPECT_EQ(r1->worker().expire(1024), 1u);
  EXPECT_EQ(r1->count(Counter::sessions_expired), 1u);
  // The next packet is a first packet again, with metadata and a new UUID.
  Frame w = r1->send_one(kLan, client_udp("again"));
  Metadata md;
  ASSERT_EQ(metadata_of(w, md), MetadataStatus::ok);
  // r2 still holds the old session on the same ports only if r1 reused them;
  // either way the new UUID wins and the packet is delivered.
  r2->worker().set_now_ms(1000 + 60000);
  EXPECT_EQ(r2->send_one(kWan, w.raw).payload_string(), "again");
}

// --- session events (session/events.h) ---------------------------------------

std::vector<SessionEvent> drain_events(Router& r, EventConsumer c) {
  std::vector<SessionEvent> out;
  SessionEvent ev;
  while (rte_ring_sc_dequeue_elem(r.shared().event_ring(c, 0), &ev, sizeof(ev)) == 0) out.push_back(ev);
  return out;
}

TEST_F(Svr, SessionEventsFollowTheLifecycle) {
  std::string err;
  ASSERT_TRUE(r1->shared().enable_events(EventConsumer::ipfix, 64, SOCKET_ID_ANY, err)) << err;
  ASSERT_TRUE(r2->shared().enable_events(EventConsumer::offload, 64, SOCKET_ID_ANY, err)) << err;
  r1->worker().set_now_ms(1000);
  r2->worker().set_now_ms(1000);

  Frame w1 = r1->send_one(kLan, client_udp("one"));
  auto ev = drain_events(*r1, EventConsumer::ipfix);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, SessionEventKind::created);
  EXPECT_EQ(ev[0].session.original.src, kClient);
  EXPECT_EQ(ev[0].session.out_fwd.tuple.dst, kR2Wan) << "the NAT binding travels with the event";
  EXPECT_EQ(r1->shared().event_ring(EventConsumer::offload, 0), nullptr) << "a consumer that is off gets nothing";

  r2->send_one(kWan, w1.raw);
  auto ev2 = drain_events(*r2, EventConsumer::offload);
  ASSERT_EQ(ev2.size(), 1u);
  EXPECT_EQ(ev2[0].session.uuid, ev[0].session.uuid) << "both routers report the same session id";

  // Reverse metadata with the ack: r1's only WAN leg is done and a reply was
  // seen, so r1 is established; r2 still sends reverse metadata.
  Frame back = r2->send_one(kLan, server_udp("two"));
  r1->send_one(kWan, back.raw);
  ev = drain_events(*r1, EventConsumer::ipfix);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, SessionEventKind::established);
  EXPECT_EQ(ev[0].session.packets[0], 1u);
  EXPECT_EQ(ev[0].session.packets[1], 1u);
  EXPECT_TRUE(drain_events(*r2, EventConsumer::offload).empty()) << "r2 still waits for a plain forward packet";

  Frame w2 = r1->send_one(kLan, client_udp("three"));
  r2->send_one(kWan, w2.raw);
  ev2 = drain_events(*r2, EventConsumer::offload);
  ASSERT_EQ(ev2.size(), 1u);
  EXPECT_EQ(ev2[0].kind, SessionEventKind::established);
  r1->send_one(kLan, client_udp("four"));
  EXPECT_TRUE(drain_events(*r1, EventConsumer::ipfix).empty()) << "established is posted once";

  r1->worker().set_now_ms(1000 + 60000);
  EXPECT_EQ(r1->worker().expire(1024), 1u);
  ev = drain_events(*r1, EventConsumer::ipfix);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, SessionEventKind::closed);
  EXPECT_EQ(ev[0].reason, SessionEndReason::idle_timeout);
  EXPECT_EQ(ev[0].session.packets[0], 3u);
  EXPECT_EQ(ev[0].session.bytes[1], 20u + 8u + 3u)
      << "IP bytes of the one reply as delivered (block and trailer stripped)";
}

// IPFIX without REST exports only closed and update events: the workers
// post no others to that consumer (mgmt_runtime.cc), others still get all.
TEST_F(Svr, AConsumerGetsOnlyTheEventKindsItAsksFor) {
  std::string err;
  const uint8_t kinds = event_bit(SessionEventKind::closed) | event_bit(SessionEventKind::update);
  ASSERT_TRUE(r1->shared().enable_events(EventConsumer::ipfix, 64, SOCKET_ID_ANY, err, kinds)) << err;
  ASSERT_TRUE(r1->shared().enable_events(EventConsumer::ha, 64, SOCKET_ID_ANY, err)) << err;
  r1->worker().set_now_ms(1000);
  Frame w1 = r1->send_one(kLan, client_udp("one"));
  EXPECT_TRUE(drain_events(*r1, EventConsumer::ipfix).empty()) << "created is not wanted";
  auto all = drain_events(*r1, EventConsumer::ha);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].kind, SessionEventKind::created);
  r1->worker().set_now_ms(1000 + 60000);
  EXPECT_EQ(r1->worker().expire(1024), 1u);
  auto ev = drain_events(*r1, EventConsumer::ipfix);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, SessionEventKind::closed);
  EXPECT_EQ(ev[0].session.uuid, all[0].session.uuid);
  EXPECT_EQ(r1->worker().counters().get(Counter::ipfix_events_dropped), 0u);
}

TEST_F(Svr, AFullEventRingDropsAndCountsWithoutStoppingTraffic) {
  std::string err;
  ASSERT_TRUE(r1->shared().enable_events(EventConsumer::ha, 4, SOCKET_ID_ANY, err)) << err;
  // Ring of 4 holds 3; ten new sessions post ten "created" events.
  for (uint16_t i = 0; i < 10; ++i) r1->send_one(kLan, client_udp("x", static_cast<uint16_t>(41000 + i)));
  EXPECT_EQ(drain_events(*r1, EventConsumer::ha).size(), 3u);
  EXPECT_EQ(r1->count(Counter::ha_events_dropped), 7u);
  EXPECT_EQ(r1->worker().table().size(), 10u);
}

// --- live config commit, update events, IPFIX stitching -------------

TEST_F(Svr, ACommitThatDeniesAPolicyTearsDownOnlyThoseSessions) {
  std::string err;
  ASSERT_TRUE(r1->shared().enable_events(EventConsumer::ipfix, 64, SOCKET_ID_ANY, err)) << err;
  r1->send_one(kLan, client_udp("echo"));         // service echo
  r1->send_one(kLan, client_tcp(kTcpSyn, 1, 0));  // service web
  ASSERT_EQ(r1->worker().table().size(), 2u);
  drain_events(*r1, EventConsumer::ipfix);

  // New config: no echo policy, and the services listed in another order so
  // every surviving index must be remapped by name.
  config::Config next = r1_config();
  next.mutable_policies()->DeleteSubrange(1, 1);  // {echo, ""}
  std::swap(*next.mutable_services(0), *next.mutable_services(3));
  auto model = RouterModel::build(next, nullptr, nullptr, test_hmac(), err);
  ASSERT_TRUE(model) << err;
  uint64_t epoch = r1->worker().counters().epoch.load();
  r1->shared().model.store(model.get());
  r1->worker().poll_once();
  EXPECT_GT(r1->worker().counters().epoch.load(), epoch) << "the loop marks its quiescent point";

  auto ev = drain_events(*r1, EventConsumer::ipfix);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, SessionEventKind::closed);
  EXPECT_EQ(ev[0].reason, SessionEndReason::forced_end);
  EXPECT_EQ(ev[0].session.original.dport, 5201);
  EXPECT_EQ(r1->count(Counter::sessions_policy_closed), 1u);
  ASSERT_EQ(r1->worker().table().size(), 1u);
  // The web session survives with its service index remapped to the new model.
  Frame w = r1->send_one(kLan, client_tcp(kTcpAck, 2, 1, "GET /"));
  EXPECT_EQ(w.dst(), kR2Wan);
  const Session& web = *r1->worker().table().lookup({kClient, kServer, 40001, 80, kProtoTcp}).session;
  EXPECT_EQ(model->services[static_cast<size_t>(web.service)].name, "web");
  // New echo sessions are denied now.
  EXPECT_TRUE(r1->send(kLan, client_udp("again", 40002)).empty());
  EXPECT_EQ(r1->drop_count(DropReason::policy_deny), 1u);
  r1->shared().model.store(&r1->model());  // the fixture's model outlives `model`
  r1->worker().poll_once();
}

// The re-check after a commit is a sweep of kSlice sessions per loop
// iteration (never the whole table at once); a session the sweep has not
// reached yet is re-checked the moment a packet finds it.
TEST_F(Svr, ACommitIsRecheckedASliceAtATimeAndOnAccess) {
  constexpr uint32_t kSlice = PolicyRecheck::kSlice;
  Router big(r1_config(), RouterOptions().with_max_sessions(3 * kSlice));
  wire(big, *r2);
  // Both sessions sit in the table's last slice: placeholders take the slots before them.
  std::vector<Session*> placeholders;
  for (uint32_t i = 0; i < kSlice + 5; ++i) placeholders.push_back(big.worker().table().allocate());
  big.send_one(kLan, client_udp("echo"));
  big.send_one(kLan, client_tcp(kTcpSyn, 1, 0));
  for (Session* p : placeholders) big.worker().table().release(p);
  ASSERT_EQ(big.worker().table().size(), 2u);

  config::Config next = r1_config();
  next.mutable_policies()->DeleteSubrange(1, 1);  // no more echo
  std::string err;
  auto model = RouterModel::build(next, nullptr, nullptr, test_hmac(), err);
  ASSERT_TRUE(model) << err;
  const auto settled = [&] {
    return big.worker().counters().model_settled.load() == reinterpret_cast<uintptr_t>(model.get());
  };
  big.shared().model.store(model.get());
  big.idle();
  EXPECT_FALSE(settled()) << "one iteration re-checked one slice, not the table";
  EXPECT_EQ(big.count(Counter::sessions_policy_closed), 0u) << "the echo session is beyond the first slice";

  // A packet of the echo session: re-checked on access, torn down, and the
  // packet is a new session the new policy denies.
  EXPECT_TRUE(big.send(kLan, client_udp("again")).empty());
  EXPECT_EQ(big.count(Counter::sessions_policy_closed), 1u);
  EXPECT_EQ(big.drop_count(DropReason::policy_deny), 1u);
  EXPECT_EQ(big.worker().table().size(), 1u);

  big.idle();
  EXPECT_FALSE(settled()) << "two slices of three";
  big.idle();
  EXPECT_TRUE(settled()) << "the third iteration finished the table";
  // The web session was re-mapped by the sweep and still forwards.
  Frame w = big.send_one(kLan, client_tcp(kTcpAck, 2, 1, "GET /"));
  EXPECT_EQ(w.dst(), kR2Wan);
  big.shared().model.store(&big.model());
  big.idle();
}

TEST_F(Svr, LiveSessionsPostUpdatesOncePerPeriod) {
  std::string err;
  ASSERT_TRUE(r1->shared().enable_events(EventConsumer::ipfix, 64, SOCKET_ID_ANY, err)) << err;
  r1->shared().session_update_ms = 5000;
  r1->worker().set_now_ms(1000);
  r1->send_one(kLan, client_udp("x"));
  drain_events(*r1, EventConsumer::ipfix);
  auto updates_at = [&](uint32_t now) {
    r1->worker().set_now_ms(now);
    r1->worker().expire(1024);
    return drain_events(*r1, EventConsumer::ipfix);
  };
  EXPECT_TRUE(updates_at(4000).empty());
  auto ev = updates_at(6100);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, SessionEventKind::update);
  EXPECT_EQ(ev[0].session.packets[0], 1u);
  EXPECT_TRUE(updates_at(8000).empty()) << "one update per period";
  EXPECT_EQ(updates_at(11200).size(), 1u);
}

TEST_F(Svr, IpfixRecordsOfOneSessionStitchAcrossBothRouters) {
  std::string err;
  ASSERT_TRUE(r1->shared().enable_events(EventConsumer::ipfix, 64, SOCKET_ID_ANY, err)) << err;
  ASSERT_TRUE(r2->shared().enable_events(EventConsumer::ipfix, 64, SOCKET_ID_ANY, err)) << err;
  r1->worker().set_now_ms(1000);
  r2->worker().set_now_ms(1000);
  complete_udp_handshake();
  r1->worker().set_now_ms(1000 + 61000);
  r2->worker().set_now_ms(1000 + 61000);
  r1->worker().expire(1024);
  r2->worker().expire(1024);
  auto e1 = drain_events(*r1, EventConsumer::ipfix).back();
  auto e2 = drain_events(*r2, EventConsumer::ipfix).back();
  ASSERT_EQ(e1.kind, SessionEventKind::closed);
  ASSERT_EQ(e2.kind, SessionEventKind::closed);
  DataplaneClock clock{1000, 1700000000000};
  // Through the wire format and back, as a collector sees them.
  uint8_t buf[mgmt::kIpfixMaxMessage];
  mgmt::IpfixMessage msg;
  msg.begin(buf, 1700000061, 0, 1);
  ASSERT_TRUE(msg.add_template());
  ASSERT_TRUE(msg.add_record(mgmt::ipfix_record(e1, r1->model(), clock)));
  ASSERT_TRUE(msg.add_record(mgmt::ipfix_record(e2, r2->model(), clock)));
  mgmt::IpfixDecoder dec;
  mgmt::IpfixDecoded d;
  ASSERT_TRUE(dec.decode(buf, msg.finish(), d, err)) << err;
  ASSERT_EQ(d.records.size(), 2u);
  const mgmt::IpfixRecord &a = d.records[0], &b = d.records[1];
  EXPECT_EQ(a.session_id, b.session_id) << "one global session id on both routers";
  EXPECT_EQ(a.pre.src, kClient);
  EXPECT_EQ(a.pre.dst, kServer);
  EXPECT_EQ(a.post.src, kR1Wan) << "r1 sent it from its waypoint";
  EXPECT_EQ(a.post.dst, kR2Wan);
  EXPECT_EQ(b.pre.src, kR1Wan) << "r2 saw r1's waypoint tuple";
  EXPECT_EQ(b.pre.sport, a.post.sport);
  EXPECT_EQ(b.pre.dport, a.post.dport);
  EXPECT_EQ(b.post.src, kClient) << "and restored the client's addresses";
  EXPECT_EQ(b.post.dport, 5201);
  EXPECT_EQ(a.initiator_packets, 2u);
  EXPECT_EQ(a.responder_packets, 1u);
  EXPECT_EQ(a.end_reason, 1) << "idle timeout";
  EXPECT_EQ(a.nat_event, mgmt::kNatEventSessionDelete);
  EXPECT_EQ(std::string(a.tenant, a.tenant_len), "branch");
  EXPECT_EQ(std::string(b.service, b.service_len), "echo");
  EXPECT_EQ(a.start_ms, 1700000000000u);
  EXPECT_EQ(a.ingress_if, 1u) << "LAN";
  EXPECT_EQ(a.egress_if, 2u) << "wan0";
}

}  // namespace
}  // namespace wp
