// The nDPI wrapper on canned first packets: each application recognised with the right id,
// name and category; classification bounded; slots and nDPI's memory from per-worker pools.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "dataplane/apps/catalog.h"
#include "dataplane/apps/classifier.h"
#include "dataplane/util/edit_distance.h"
#include "tests/unit/app_packets.h"
#include "tests/unit/pkt6_builder.h"
#include "tests/unit/pkt_builder.h"

namespace wp::app {
namespace {

using test::Pkt;
using Bytes = std::vector<uint8_t>;
using namespace test::app_packets;

// From the IPv4 header on (what the classifier reads).
Bytes l3(const Pkt& p) {
  Bytes frame = p.bytes();
  return Bytes(frame.begin() + 14, frame.end());
}

class AppClassifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    classifier_ = AppClassifier::create(AppClassifierConfig{.max_flows = 4, .max_packets = 4}, error);
    ASSERT_NE(classifier_, nullptr) << error;
  }
  AppVerdict classify_one(const Pkt& p) {
    AppClassifier::Slot slot = classifier_->acquire();
    EXPECT_NE(slot, AppClassifier::kNoSlot);
    return classifier_->feed(slot, l3(p), AppDirection::kClientToServer, 1000);
  }
  std::string app(const AppVerdict& v) { return classifier_->app_name(v.app); }
  std::string category(const AppVerdict& v) { return classifier_->category_name(v.category); }
  std::unique_ptr<AppClassifier> classifier_;
};

TEST_F(AppClassifierTest, HttpGetWithHost) {
  AppVerdict v = classify_one(Pkt().ipv4("10.1.0.5", "10.2.0.10").tcp(40000, 80, 0x18).payload(
      "GET /index.html HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: curl/7.88\r\nAccept: */*\r\n\r\n"));
  EXPECT_EQ(v.state, AppVerdict::State::kClassified);
  EXPECT_EQ(app(v), "HTTP");
  EXPECT_EQ(category(v), "Web");
}

TEST_F(AppClassifierTest, TlsClientHelloNamesTheServiceBySni) {
  AppVerdict v = classify_one(Pkt().ipv4("10.1.0.5", "10.2.0.10").tcp(40001, 443, 0x18).payload(tls_client_hello("www.youtube.com")));
  EXPECT_EQ(v.state, AppVerdict::State::kClassified);
  EXPECT_EQ(app(v), "YouTube");
  EXPECT_EQ(classifier_->app_name(v.master), std::string("TLS"));
  EXPECT_EQ(category(v), "Media");
  AppVerdict plain = classify_one(Pkt().ipv4("10.1.0.5", "10.2.0.10").tcp(40002, 8443, 0x18).payload(tls_client_hello("intranet.example")));
  EXPECT_EQ(app(plain), "TLS");
  EXPECT_EQ(plain.master, kAppUnknown);
}

TEST_F(AppClassifierTest, DnsQuery) {
  AppVerdict v = classify_one(Pkt().ipv4("10.1.0.5", "10.2.0.10").udp(40003, 53).payload(dns_query("www.example.com")));
  EXPECT_EQ(v.state, AppVerdict::State::kClassified);
  EXPECT_EQ(app(v), "DNS");
  EXPECT_EQ(category(v), "Network");
}

// The classifier reads IPv6 as well (nDPI parses the version nibble): what routed IPv6 sessions
// would need to be classified (docs/qos.md § Not built yet). No extension headers here.
TEST_F(AppClassifierTest, Ipv6PacketsAreClassifiedToo) {
  auto l3_6 = [](const test::Pkt6& p) {
    Bytes frame = p.bytes();
    return Bytes(frame.begin() + 14, frame.end());
  };
  AppClassifier::Slot slot = classifier_->acquire();
  AppVerdict v = classifier_->feed(
      slot,
      l3_6(test::Pkt6().ipv6("2001:db8:71::5", "2001:db8:72::10").udp(40003, 53).payload(dns_query("www.example.com"))),
      AppDirection::kClientToServer, 1000);
  EXPECT_EQ(v.state, AppVerdict::State::kClassified);
  EXPECT_EQ(app(v), "DNS");
  slot = classifier_->acquire();
  v = classifier_->feed(slot,
                        l3_6(test::Pkt6()
                                 .ipv6("2001:db8:71::5", "2001:db8:72::10")
                                 .tcp(40001, 443, 0x18)
                                 .payload(tls_client_hello("www.youtube.com"))),
                        AppDirection::kClientToServer, 1000);
  EXPECT_EQ(v.state, AppVerdict::State::kClassified);
  EXPECT_EQ(app(v), "YouTube");
}

TEST_F(AppClassifierTest, SshBannerOnAnyPort) {
  AppVerdict v = classify_one(Pkt().ipv4("10.1.0.5", "10.2.0.10").tcp(40004, 2222, 0x18).payload("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"));
  EXPECT_EQ(v.state, AppVerdict::State::kClassified);
  EXPECT_EQ(app(v), "SSH");
  EXPECT_EQ(category(v), "RemoteAccess");
}

TEST_F(AppClassifierTest, HandshakeThenServerFirstBannerOverSeveralPackets) {
  const char* client = "10.1.0.5";
  const char* server = "10.2.0.10";
  const auto c2s = AppDirection::kClientToServer, s2c = AppDirection::kServerToClient;
  AppClassifier::Slot slot = classifier_->acquire();
  ASSERT_NE(slot, AppClassifier::kNoSlot);
  // No payload yet: nothing to recognise, the session stays under classification.
  EXPECT_FALSE(classifier_->feed(slot, l3(Pkt().ipv4(client, server).tcp(40010, 2200, 0x02, 100)), c2s, 1000).final());
  EXPECT_FALSE(
      classifier_->feed(slot, l3(Pkt().ipv4(server, client).tcp(2200, 40010, 0x12, 500, 101)), s2c, 1001).final());
  AppVerdict v = classifier_->feed(
      slot, l3(Pkt().ipv4(server, client).tcp(2200, 40010, 0x18, 501, 101).payload("SSH-2.0-OpenSSH_9.2p1\r\n")), s2c,
      1002);
  if (!v.final())
    v = classifier_->feed(
        slot, l3(Pkt().ipv4(client, server).tcp(40010, 2200, 0x18, 101, 524).payload("SSH-2.0-PuTTY_0.78\r\n")), c2s,
        1003);
  EXPECT_EQ(v.state, AppVerdict::State::kClassified);
  EXPECT_EQ(app(v), "SSH");
  EXPECT_EQ(classifier_->free_slots(), 4u);
}

TEST_F(AppClassifierTest, BitTorrentHandshake) {
  AppVerdict v = classify_one(Pkt().ipv4("10.1.0.5", "10.2.0.10").tcp(40005, 51413, 0x18).payload(bittorrent_handshake()));
  EXPECT_EQ(v.state, AppVerdict::State::kClassified);
  EXPECT_EQ(app(v), "BitTorrent");
  EXPECT_EQ(category(v), "Download");
}

TEST_F(AppClassifierTest, QuicInitialFromOnePacket) {
  AppVerdict v = classify_one(Pkt().ipv4("10.1.0.5", "10.2.0.10").udp(40006, 443).payload(quic_initial()));
  EXPECT_EQ(v.state, AppVerdict::State::kClassified);
  EXPECT_EQ(app(v), "QUIC");
}

TEST_F(AppClassifierTest, GivesUpAfterTheBoundAndFreesTheSlot) {
  const Bytes noise = l3(Pkt().ipv4("10.1.0.5", "10.2.0.10").udp(40007, 40008).payload("\x01\x7f\x33 opaque bytes"));
  AppClassifier::Slot slot = classifier_->acquire();
  ASSERT_NE(slot, AppClassifier::kNoSlot);
  EXPECT_EQ(classifier_->free_slots(), 3u);
  for (int i = 1; i < 4; ++i) EXPECT_FALSE(classifier_->feed(slot, noise, AppDirection::kClientToServer, 1000 + i).final()) << i;
  AppVerdict v = classifier_->feed(slot, noise, AppDirection::kClientToServer, 1004);
  EXPECT_EQ(v.state, AppVerdict::State::kUnknown);
  EXPECT_EQ(v.app, kAppUnknown);
  EXPECT_EQ(classifier_->free_slots(), 4u);
  EXPECT_EQ(classifier_->stats().unknown, 1u);
  EXPECT_EQ(classifier_->stats().packets, 4u);
}

TEST_F(AppClassifierTest, SlotsAreBoundedAndAbandonedOnesComeBack) {
  std::vector<AppClassifier::Slot> slots;
  for (int i = 0; i < 4; ++i) slots.push_back(classifier_->acquire());
  EXPECT_EQ(classifier_->acquire(), AppClassifier::kNoSlot);
  EXPECT_EQ(classifier_->stats().slots_exhausted, 1u);
  classifier_->abandon(slots[2]);
  EXPECT_EQ(classifier_->stats().abandoned, 1u);
  EXPECT_EQ(classifier_->acquire(), slots[2]);
}

TEST_F(AppClassifierTest, NdpiAllocatesFromTheWorkerArenaNotTheHeap) {
  classify_one(Pkt().ipv4("10.1.0.5", "10.2.0.10").tcp(40001, 443, 0x18).payload(tls_client_hello("www.youtube.com")));
  classify_one(Pkt().ipv4("10.1.0.5", "10.2.0.10").tcp(40000, 80, 0x18).payload("GET / HTTP/1.1\r\nHost: a.example\r\n\r\n"));
  classify_one(Pkt().ipv4("10.1.0.5", "10.2.0.10").tcp(40005, 51413, 0x18).payload(bittorrent_handshake()));
  classify_one(Pkt().ipv4("10.1.0.5", "10.2.0.10").udp(40006, 443).payload(quic_initial()));
  const AppArena::Stats& a = classifier_->arena_stats();
  EXPECT_GT(a.allocs, 0u);  // nDPI did allocate, and the hooks sent it to the arena
  EXPECT_EQ(a.heap_fallbacks, 0u);
  EXPECT_EQ(a.in_use, 0u);  // final verdicts gave everything back
  EXPECT_EQ(a.allocs, a.frees);
}

TEST(AppArenaTest, ClassesFallbackAndRelease) {
  AppArena arena(1);
  void* small = arena.allocate(20);
  void* large = arena.allocate(2048);
  void* huge = arena.allocate(4096);
  EXPECT_EQ(arena.stats().allocs, 2u);
  EXPECT_EQ(arena.stats().heap_fallbacks, 1u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(small) % 16, 0u);
  void* spill = arena.allocate(2000);  // the one 2 KiB block is taken: heap
  ASSERT_NE(spill, nullptr);
  EXPECT_EQ(arena.stats().heap_fallbacks, 2u);
  AppArena::release(spill);
  AppArena::release(large);
  EXPECT_EQ(arena.allocate(2000), large);  // LIFO: the same block again
  AppArena::release(small);
  AppArena::release(huge);
  EXPECT_EQ(arena.stats().in_use, 1u);
}

TEST(AppCatalogTest, NamesAreFoundWithoutRegardToCase) {
  const AppCatalog& c = AppCatalog::instance();
  ASSERT_TRUE(c.find_application("ssh").has_value());
  EXPECT_EQ(c.application_name(*c.find_application("ssh")), "SSH");
  EXPECT_TRUE(c.find_application("Zoom").has_value());
  EXPECT_TRUE(c.find_application("bittorrent").has_value());
  ASSERT_TRUE(c.find_category("VoIP").has_value());
  EXPECT_EQ(c.category_name(*c.find_category("voip")), "VoIP");
  EXPECT_FALSE(c.find_application("no-such-app").has_value());
  EXPECT_FALSE(c.find_category("Web2").has_value());
}

TEST(AppCatalogTest, UnknownNamesGetTheClosestKnownOnes) {
  const AppCatalog& c = AppCatalog::instance();
  EXPECT_EQ(c.closest_applications("bittorent").front(), "BitTorrent");
  EXPECT_EQ(c.closest_applications("youtub").front(), "YouTube");
  EXPECT_EQ(c.closest_categories("voip2").front(), "VoIP");
  EXPECT_EQ(name_distance("kitten", "Sitting"), 3u);
  EXPECT_EQ(name_distance("", "abc"), 3u);
}

TEST(EditDistanceTest, CaseFoldingIsAskedFor) {
  EXPECT_EQ(util::edit_distance("Tenants", "tenants"), 1u);
  EXPECT_EQ(util::edit_distance("Tenants", "tenants", util::Case::insensitive), 0u);
  EXPECT_EQ(util::edit_distance("tenats", "tenants"), 1u);
  EXPECT_EQ(util::edit_distance("abc", ""), 3u);
}

}  // namespace
}  // namespace wp::app
