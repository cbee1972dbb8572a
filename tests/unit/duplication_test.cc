// Packet duplication between two in-process routers joined by two WAN paths
// (svr/duplication.h, docs/qos.md § Packet duplication): the forward block
// says so (TLV 27), each later forward packet leaves on both paths with the
// same 4-byte sequence number after its data, the egress delivers the first
// copy whichever path it came by and drops the second (dup_removed), counts
// numbers lost on both paths (dup_gaps), and sessions of other classes carry
// nothing extra. Sealed sessions: both copies verify, the second is removed by
// the duplication window, not the replay window.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "dataplane/svr/duplication.h"
#include "dataplane/worker/worker.h"
#include "tests/unit/svr_harness.h"

namespace wp {
namespace {

using namespace test;

constexpr uint16_t kMpls = kWan, kInet = 2;  // port ids = interface indexes
constexpr uint16_t kVoicePort = 5004, kPlainPort = 5005, kSealedPort = 5006;

// r1/r2: WAN "mpls" 172.16.0.0/24 and "internet" 172.17.0.0/24. Services
// (UDP): voice (class voice, duplicated, prefers mpls), plain (best-effort),
// sealed (voice, encrypted and HMACed every packet).
config::Config config_of(bool r1, bool duplicate = true) {
  const char* host = r1 ? "1" : "2";
  config::Config c = router_base(
      r1 ? "r1" : "r2", r1 ? "10.1.0.1/24" : "10.2.0.1/24",
      {{"mpls", std::string("172.16.0.") + host + "/24"}, {"internet", std::string("172.17.0.") + host + "/24"}});
  add_tenant(c, "branch", "10.1.0.0/24");
  add_security(c, "enc", "aes256-cbc", "every-packet", false);
  struct S {
    const char* name;
    const char* port;
    const char* cls;
    const char* security;
  } svcs[] = {{"voice", "5004", "voice", ""}, {"plain", "5005", "", ""}, {"sealed", "5006", "voice", "enc"}};
  for (const S& s : svcs) {
    auto* sv = add_service(c, {s.name, "10.2.0.0/24", "udp", s.port, r1 ? "r2" : ""});
    sv->set_qos_class(s.cls);
    if (r1) sv->add_paths("mpls"), sv->add_paths("internet");
    add_policy(c, "branch", s.name, s.security);
  }
  if (duplicate) c.mutable_qos()->add_duplicate("voice");
  add_peer(c, r1 ? "r2" : "r1", {r1 ? "172.16.0.2" : "172.16.0.1", r1 ? "172.17.0.2" : "172.17.0.1"}, kKey12);
  return c;
}

class Duplication2 : public ::testing::Test {
 protected:
  void make(bool r2_duplicates = true) {
    r1 = std::make_unique<Router>(config_of(true), RouterOptions().with_monitored_paths().with_key_slots(64));
    r2 = std::make_unique<Router>(config_of(false, r2_duplicates),
                                  RouterOptions().with_monitored_paths().with_key_slots(64));
    r1->neighbor(kLan, kClient, kClientMac);
    r2->neighbor(kLan, kServer, kServerMac);
    for (uint16_t w : {kMpls, kInet}) {
      r1->neighbor(w, ip(w == kMpls ? "172.16.0.2" : "172.17.0.2"), kR2Mac);
      r2->neighbor(w, ip(w == kMpls ? "172.16.0.1" : "172.17.0.1"), kR1Mac);
    }
  }
  void SetUp() override { make(); }
  static std::vector<uint8_t> client(uint16_t dport, std::string_view data) {
    return Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kServer).udp(40001, dport).payload(data).bytes();
  }
  static std::vector<uint8_t> server(uint16_t sport, std::string_view data) {
    return Pkt().eth(kR2Mac, kServerMac).ipv4(kServer, kClient).udp(sport, 40001).payload(data).bytes();
  }
  // First packet and answer through both routers (the handshake ends); returns the WAN frame of the first.
  Frame open(uint16_t dport) {
    Frame first = r1->send_one(kLan, client(dport, "hello"));
    Frame lan = r2->send_one(first.port, first.raw);
    EXPECT_EQ(lan.payload_string(), "hello");
    Frame back = r2->send_one(kLan, server(dport, "hi"));
    Frame cl = r1->send_one(back.port, back.raw);
    EXPECT_EQ(cl.payload_string(), "hi");
    return first;
  }
  // The two copies of one forward packet: [0] on mpls, [1] on internet.
  std::vector<Frame> both(uint16_t dport, std::string_view data) {
    auto w = r1->send(kLan, client(dport, data));
    EXPECT_EQ(w.size(), 2u) << r1->drops();
    if (w.size() == 2 && w[0].port != kMpls) std::swap(w[0], w[1]);
    return w;
  }
  const DupState* rx_state(uint16_t dport) {
    SessionRef ref = r2->worker().table().lookup({kServer, kClient, dport, 40001, kProtoUdp});
    return ref ? r2->worker().duplication().state(*ref.session) : nullptr;
  }
  std::unique_ptr<Router> r1, r2;
};

uint32_t seq_of(const Frame& f) { return get32(f.data() + f.data_len() - 4); }

TEST_F(Duplication2, FirstBlockSaysSoAndEachPacketLeavesOnBothPathsWithItsNumber) {
  Frame first = open(kVoicePort);
  Metadata md;
  ASSERT_EQ(decode_metadata(first.data(), first.data_len(), md), MetadataStatus::ok);
  EXPECT_TRUE(md.duplicated) << "TLV 27 in the forward block";
  EXPECT_EQ(first.port, kMpls) << "the first packet goes on the best path only";

  auto w = both(kVoicePort, "data-1");
  ASSERT_EQ(w.size(), 2u);
  EXPECT_EQ(w[0].port, kMpls);
  EXPECT_EQ(w[1].port, kInet);
  EXPECT_EQ(w[0].src(), ip("172.16.0.1"));
  EXPECT_EQ(w[0].dst(), ip("172.16.0.2"));
  EXPECT_EQ(w[1].src(), ip("172.17.0.1"));
  EXPECT_EQ(w[1].dst(), ip("172.17.0.2"));
  EXPECT_EQ(w[0].sport(), w[1].sport()) << "same port pair on both paths";
  EXPECT_EQ(w[0].dport(), w[1].dport());
  for (const Frame& f : w) {
    expect_valid(f);
    ASSERT_EQ(f.data_len(), 6u + 4u) << "data + the 4-byte sequence number";
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(f.data()), 6), "data-1");
    EXPECT_EQ(seq_of(f), 1u);
  }
  EXPECT_EQ(r1->count(Counter::dup_packets_sent), 1u);
  EXPECT_EQ(r1->count(Counter::dup_copies_sent), 1u);
  auto w2 = both(kVoicePort, "data-2");
  ASSERT_EQ(w2.size(), 2u);
  EXPECT_EQ(seq_of(w2[0]), 2u);
  EXPECT_EQ(seq_of(w2[1]), 2u);
}

TEST_F(Duplication2, EgressDeliversTheFirstCopyFromEitherPathAndRemovesTheSecond) {
  open(kVoicePort);
  auto w = both(kVoicePort, "one");
  Frame lan = r2->send_one(kMpls, w[0].raw);
  EXPECT_EQ(lan.payload_string(), "one") << "number stripped";
  EXPECT_EQ(lan.src(), kClient);
  EXPECT_EQ(lan.dst(), kServer);
  expect_valid(lan);
  EXPECT_TRUE(r2->send(kInet, w[1].raw).empty());
  EXPECT_EQ(r2->drop_count(DropReason::dup_removed), 1u);
  // The internet copy first this time: it finds the session by the mpls key.
  w = both(kVoicePort, "two");
  lan = r2->send_one(kInet, w[1].raw);
  EXPECT_EQ(lan.payload_string(), "two");
  EXPECT_EQ(lan.dst(), kServer);
  EXPECT_TRUE(r2->send(kMpls, w[0].raw).empty());
  EXPECT_EQ(r2->drop_count(DropReason::dup_removed), 2u);
  EXPECT_EQ(r2->drop_count(DropReason::no_session), 0u);
  const DupState* st = rx_state(kVoicePort);
  ASSERT_NE(st, nullptr);
  EXPECT_EQ(st->removed, 2u);
  EXPECT_EQ(st->gaps, 0u);
  // Replies are not duplicated.
  auto back = r2->send(kLan, server(kVoicePort, "ok"));
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].data_len(), 2u);
}

TEST_F(Duplication2, LossOnEitherPathCostsNothingAndLossOnBothIsAGap) {
  open(kVoicePort);
  uint64_t delivered = 0, removed = 0;
  for (uint32_t i = 1; i <= 100; ++i) {
    auto w = both(kVoicePort, "pkt" + std::to_string(i));
    ASSERT_EQ(w.size(), 2u);
    const bool a = i % 4 != 1, b = i % 4 == 1 || i % 4 == 2;  // every number on at least one path
    if (i == 7 || i == 9) continue;                            // ... except these two: lost on both
    // Reordered: the internet copy sometimes first.
    for (int k = 0; k < 2; ++k) {
      const bool inet_first = i % 3 == 0;
      const bool on_inet = (k == 0) == inet_first;
      if (on_inet ? !b : !a) continue;
      auto lan = r2->send(on_inet ? kInet : kMpls, on_inet ? w[1].raw : w[0].raw);
      if (lan.size() == 1) {
        EXPECT_EQ(lan[0].payload_string(), "pkt" + std::to_string(i));
        ++delivered;
      } else {
        ++removed;
      }
    }
  }
  EXPECT_EQ(delivered, 98u) << "every number that got through on either path, once";
  EXPECT_EQ(r2->drop_count(DropReason::dup_removed), removed);
  EXPECT_EQ(r2->count(Counter::dup_gaps), 2u) << "7 and 9 left the window unseen";
  const DupState* st = rx_state(kVoicePort);
  ASSERT_NE(st, nullptr);
  EXPECT_EQ(st->gaps, 2u);
  EXPECT_EQ(st->removed, removed);
}

TEST_F(Duplication2, OtherClassesCarryNothingExtra) {
  Frame first = open(kPlainPort);
  Metadata md;
  ASSERT_EQ(decode_metadata(first.data(), first.data_len(), md), MetadataStatus::ok);
  EXPECT_FALSE(md.duplicated);
  auto w = r1->send(kLan, client(kPlainPort, "plain"));
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].payload_string(), "plain") << "zero bytes added";
  EXPECT_EQ(r1->count(Counter::dup_packets_sent), 0u);
  EXPECT_EQ(r2->send_one(w[0].port, w[0].raw).payload_string(), "plain");
}

// The alias lookup only ever finds duplicated sessions: a plain session's
// packet readdressed to the other path is still no_session at the egress.
TEST_F(Duplication2, TheOtherPathFindsOnlyDuplicatedSessions) {
  open(kPlainPort);
  auto w = r1->send(kLan, client(kPlainPort, "plain"));
  ASSERT_EQ(w.size(), 1u);
  ASSERT_EQ(w[0].port, kMpls);
  Frame moved = w[0];
  uint8_t* ip4 = moved.raw.data() + 14;
  put32(ip4 + 12, ip("172.17.0.1"));
  put32(ip4 + 16, ip("172.17.0.2"));
  put16(ip4 + 10, 0);
  put16(ip4 + 10, static_cast<uint16_t>(~ones_fold(ones_sum(ip4, 20))));
  fix_checksums(moved.raw);
  EXPECT_TRUE(r2->send(kInet, moved.raw).empty());
  EXPECT_EQ(r2->drop_count(DropReason::no_session), 1u);
  EXPECT_EQ(r2->send_one(kMpls, w[0].raw).payload_string(), "plain") << "on its own path it is delivered";
}

TEST_F(Duplication2, OnePathLeftStillNumbersAndTheEgressAccepts) {
  open(kVoicePort);
  r1->set_usable("internet", false);
  auto w = r1->send(kLan, client(kVoicePort, "alone"));
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].port, kMpls);
  EXPECT_EQ(seq_of(w[0]), 1u);
  EXPECT_EQ(r1->count(Counter::dup_single_path), 1u);
  EXPECT_EQ(r2->send_one(kMpls, w[0].raw).payload_string(), "alone");
  r1->set_usable("internet", true);
  EXPECT_EQ(both(kVoicePort, "again").size(), 2u);
}

TEST_F(Duplication2, SealedCopiesBothVerifyAndTheWindowRemovesTheSecond) {
  open(kSealedPort);
  for (int i = 0; i < 3; ++i) {
    const std::string data = "secret voice " + std::to_string(i);
    auto w = both(kSealedPort, data);
    ASSERT_EQ(w.size(), 2u);
    EXPECT_FALSE(contains(w[0], "secret voice")) << "the data and its number are encrypted";
    EXPECT_NE(w[0].payload(), w[1].payload()) << "sealed separately: own IV, own crypto sequence";
    Frame lan = r2->send_one(i % 2 ? kInet : kMpls, i % 2 ? w[1].raw : w[0].raw);
    EXPECT_EQ(lan.payload_string(), data);
    EXPECT_TRUE(r2->send(i % 2 ? kMpls : kInet, i % 2 ? w[0].raw : w[1].raw).empty());
  }
  EXPECT_EQ(r2->drop_count(DropReason::dup_removed), 3u);
  EXPECT_EQ(r2->drop_count(DropReason::replayed), 0u);
  EXPECT_EQ(r2->drop_count(DropReason::bad_packet_hmac), 0u);
}

TEST_F(Duplication2, AnEgressWithoutDuplicationRefusesTheSession) {
  make(/*r2_duplicates=*/false);
  Frame first = r1->send_one(kLan, client(kVoicePort, "hello"));
  EXPECT_TRUE(r2->send(first.port, first.raw).empty());
  EXPECT_EQ(r2->drop_count(DropReason::dup_unsupported), 1u);
}

}  // namespace
}  // namespace wp
