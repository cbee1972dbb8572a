// Session encryption end to end inside one process (docs/svr-wire-format.md §
// Security): two real Workers (r1 branch, r2 headend) joined by captured
// WAN frames. Checks the wire (no plaintext, TLV 11, IV + padding + seq +
// HMAC trailer, MSS clamp), byte-exact delivery, and that tampered,
// replayed or truncated packets are dropped with their own counters; the
// adaptive decision for TLS; per-packet HMAC without encryption; key slots
// returned when sessions end.
//
//   client 10.1.0.5 - [r1] 172.16.0.1 ==WAN== 172.16.0.2 [r2] - server 10.2.0.10
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "dataplane/crypto/session_data.h"
#include "dataplane/worker/shared.h"
#include "dataplane/svr/metadata.h"
#include "dataplane/worker/counters.h"
#include "dataplane/control/router_model.h"
#include "dataplane/worker/worker.h"
#include "tests/unit/svr_harness.h"

namespace wp {
namespace {

using namespace test;  // the router harness, topology and packet builder

constexpr std::string_view kMarker = "WAYPOINT-PLAINTEXT-MARKER-0123456789";

config::Config router_config(bool ingress) {
  config::Config c = router_base(ingress ? "r1" : "r2", ingress ? "10.1.0.1/24" : "10.2.0.1/24",
                                 {{"wan0", ingress ? "172.16.0.1/24" : "172.16.0.2/24"}});
  add_tenant(c, "branch", "10.1.0.0/24");
  struct Svc {
    const char *name, *proto, *port, *security;
  };
  for (Svc s : {Svc{"web", "tcp", "80", "adaptive"}, Svc{"tls", "tcp", "443", "adaptive"},
                Svc{"echo", "udp", "5201", "encrypt"}, Svc{"sig", "udp", "5300", "hmac-all"}}) {
    add_service(c, {s.name, "10.2.0.0/24", s.proto, s.port, ingress ? "r2" : ""});
    add_policy(c, "branch", s.name, s.security);
  }
  add_security(c, "adaptive", "aes256-cbc", "every-packet", true);
  add_security(c, "encrypt", "aes256-cbc", "every-packet", false);
  add_security(c, "hmac-all", "none", "every-packet", false);
  add_peer(c, ingress ? "r2" : "r1", {ingress ? "172.16.0.2" : "172.16.0.1"}, kKey12);
  return c;
}

class SvrCrypto : public ::testing::Test {
 protected:
  void SetUp() override {
    r1 = std::make_unique<Router>(router_config(true), RouterOptions().with_key_slots(64));
    r2 = std::make_unique<Router>(router_config(false), RouterOptions().with_key_slots(64));
    r1->neighbor(0, kClient, kClientMac);
    r1->neighbor(1, kR2Wan, kR2Mac);
    r2->neighbor(0, kServer, kServerMac);
    r2->neighbor(1, kR1Wan, kR1Mac);
  }
  static std::vector<uint8_t> client_udp(std::string_view data, uint16_t dport = 5201) {
    return Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kServer).udp(40000, dport).payload(data).bytes();
  }
  static std::vector<uint8_t> server_udp(std::string_view data, uint16_t sport = 5201) {
    return Pkt().eth(kR2Mac, kServerMac).ipv4(kServer, kClient).udp(sport, 40000).payload(data).bytes();
  }
  static std::vector<uint8_t> client_tcp(uint16_t dport, uint8_t flags, uint32_t seq, uint32_t ack,
                                         std::string_view data = "") {
    return Pkt()
        .eth(kR1Mac, kClientMac)
        .ipv4(kClient, kServer)
        .tcp(40001, dport, flags, seq, ack)
        .payload(data)
        .bytes();
  }
  static std::vector<uint8_t> server_tcp(uint16_t sport, uint8_t flags, uint32_t seq, uint32_t ack,
                                         std::string_view data = "") {
    return Pkt()
        .eth(kR2Mac, kServerMac)
        .ipv4(kServer, kClient)
        .tcp(sport, 40001, flags, seq, ack)
        .payload(data)
        .bytes();
  }
  // Client data through both routers; returns the WAN frame.
  Frame through(const std::vector<uint8_t>& lan, std::string_view want) {
    Frame w = r1->send_one(kLan, lan);
    expect_valid(w);
    Frame out = r2->send_one(kWan, w.raw);
    EXPECT_EQ(out.payload_string(), want);
    expect_valid(out);
    return w;
  }
  std::unique_ptr<Router> r1, r2;
};

TEST_F(SvrCrypto, UdpDataIsEncryptedBothWaysAndDeliveredExactly) {
  std::string first = std::string(kMarker) + " first";
  Frame w = through(client_udp(first), first);
  Metadata md;
  ASSERT_EQ(decode_metadata(w.data(), w.data_len(), md), MetadataStatus::ok);
  EXPECT_TRUE(md.session_data_encrypted) << "TLV 11 on the metadata packet";
  EXPECT_FALSE(contains(w, kMarker)) << "first packet data must be ciphertext";
  size_t ct = w.data_len() - md.block_len() - kHmacTagLen;
  EXPECT_EQ(ct, 16 + (first.size() / 16 + 1) * 16) << "IV + PKCS#7-padded data, no sequence number";

  Frame back = r2->send_one(kLan, server_udp(std::string(kMarker) + " reply"));
  EXPECT_FALSE(contains(back, kMarker));
  Frame c = r1->send_one(kWan, back.raw);
  EXPECT_EQ(c.payload_string(), std::string(kMarker) + " reply");
  expect_valid(c);

  // Steady state: no metadata, IV + ciphertext + seq + tag.
  for (size_t len : {0u, 1u, 15u, 16u, 17u, 1000u}) {
    std::string data(len, 'x');
    if (len >= kMarker.size()) data.replace(0, kMarker.size(), kMarker);
    Frame s = through(client_udp(data), data);
    EXPECT_EQ(decode_metadata(s.data(), s.data_len(), md), MetadataStatus::absent);
    EXPECT_FALSE(contains(s, kMarker));
    size_t want = len == 0 ? kSeqLen + kHmacTagLen : 16 + (len / 16 + 1) * 16 + kSeqLen + kHmacTagLen;
    EXPECT_EQ(s.data_len(), want) << len;
  }
  EXPECT_GE(r1->count(Counter::packets_encrypted), 6u);
  EXPECT_GE(r2->count(Counter::packets_decrypted), 5u);
  EXPECT_EQ(r1->count(Counter::sessions_encrypted), 1u);
  EXPECT_EQ(r2->count(Counter::sessions_encrypted), 1u);
  EXPECT_EQ(r1->total_drops() + r2->total_drops(), 0u) << r1->drops() << " / " << r2->drops();
}

class SvrCryptoSteady : public SvrCrypto {
 protected:
  // An established encrypted UDP session; returns a steady-state WAN frame.
  Frame steady() {
    through(client_udp("hello"), "hello");
    Frame back = r2->send_one(kLan, server_udp("hi"));
    r1->send_one(kWan, back.raw);
    through(client_udp("ack"), "ack");
    return r1->send_one(kLan, client_udp(std::string(kMarker)));
  }
};

TEST_F(SvrCryptoSteady, EveryTamperedByteIsDropped) {
  Frame s = steady();
  size_t l4_off = 14 + s.ihl();
  for (size_t i = l4_off + 8; i < s.raw.size(); ++i) {  // every byte after the UDP header
    auto bad = s.raw;
    bad[i] ^= 0x01;
    fix_checksums(bad);
    EXPECT_TRUE(r2->send(kWan, bad).empty()) << "byte " << i;
  }
  EXPECT_EQ(r2->drop_count(DropReason::bad_packet_hmac), s.raw.size() - l4_off - 8);
  // The untouched packet still goes through: drops did not disturb the session.
  Frame out = r2->send_one(kWan, s.raw);
  EXPECT_EQ(out.payload_string(), kMarker);
}

TEST_F(SvrCryptoSteady, ReplayedPacketIsDroppedOnceSeen) {
  Frame s = steady();
  Frame later = r1->send_one(kLan, client_udp("later"));
  EXPECT_EQ(r2->send_one(kWan, later.raw).payload_string(), "later");
  EXPECT_EQ(r2->send_one(kWan, s.raw).payload_string(), kMarker) << "reordered, inside the window";
  EXPECT_TRUE(r2->send(kWan, s.raw).empty());
  EXPECT_TRUE(r2->send(kWan, later.raw).empty());
  EXPECT_EQ(r2->drop_count(DropReason::replayed), 2u);
  // Older than the window: 70 newer packets later, an unseen old one is refused too.
  Frame old = r1->send_one(kLan, client_udp("old"));
  for (int i = 0; i < 70; ++i) r2->send_one(kWan, r1->send_one(kLan, client_udp("n")).raw);
  EXPECT_TRUE(r2->send(kWan, old.raw).empty());
  EXPECT_EQ(r2->drop_count(DropReason::replayed), 3u);
}

TEST_F(SvrCryptoSteady, TruncatedAndMisalignedPacketsAreShort) {
  Frame s = steady();
  auto cut = s.raw;
  cut.resize(14 + 20 + 8 + 10);  // less than seq + tag
  test::put16(cut.data() + 14 + 2, 20 + 8 + 10);
  test::put16(cut.data() + 14 + 20 + 4, 8 + 10);
  test::put16(cut.data() + 14 + 10, 0);
  test::put16(cut.data() + 14 + 10, static_cast<uint16_t>(~test::ones_fold(test::ones_sum(cut.data() + 14, 20))));
  fix_checksums(cut);
  EXPECT_TRUE(r2->send(kWan, cut).empty());
  EXPECT_EQ(r2->drop_count(DropReason::crypto_short), 1u);
}

TEST_F(SvrCrypto, HmacEveryPacketWithoutEncryption) {
  through(client_udp("a", 5300), "a");
  Frame back = r2->send_one(kLan, server_udp("b", 5300));
  EXPECT_EQ(r1->send_one(kWan, back.raw).payload_string(), "b");
  through(client_udp("c", 5300), "c");
  Frame s = through(client_udp(std::string(kMarker), 5300), std::string(kMarker));
  EXPECT_TRUE(contains(s, kMarker)) << "not encrypted";
  EXPECT_EQ(s.data_len(), kMarker.size() + kSeqLen + kHmacTagLen);
  auto bad = s.raw;
  bad[14 + 20 + 8] ^= 0x20;
  fix_checksums(bad);
  EXPECT_TRUE(r2->send(kWan, bad).empty());
  EXPECT_EQ(r2->drop_count(DropReason::bad_packet_hmac), 1u);
  EXPECT_EQ(r1->count(Counter::sessions_encrypted), 0u);
}

// The TCP handshake for the adaptive policy: metadata stays on both ways
// until the first client data settled the decision.
struct TcpRun {
  Frame syn, synack, ack, data, reply, data2;
};

TEST_F(SvrCrypto, AdaptiveSkipsTlsButKeepsHmac) {
  std::string hello("\x16\x03\x01\x00\x40" + std::string(64, 'h'));
  std::string record("\x17\x03\x03\x00\x20" + std::string(32, 'r'));
  Metadata md;
  Frame syn = r1->send_one(kLan, client_tcp(443, kTcpSyn, 1000, 0));
  r2->send_one(kWan, syn.raw);
  Frame synack = r2->send_one(kLan, server_tcp(443, kTcpSyn | kTcpAck, 5000, 1001));
  ASSERT_EQ(decode_metadata(synack.data(), synack.data_len(), md), MetadataStatus::ok);
  EXPECT_FALSE(md.disable_forward_metadata) << "no ack while the decision is pending";
  r1->send_one(kWan, synack.raw);
  Frame ack = r1->send_one(kLan, client_tcp(443, kTcpAck, 1001, 5001));
  EXPECT_EQ(decode_metadata(ack.data(), ack.data_len(), md), MetadataStatus::ok) << "metadata until acked";
  r2->send_one(kWan, ack.raw);
  Frame w = r1->send_one(kLan, client_tcp(443, kTcpAck | 0x08, 1001, 5001, hello));
  ASSERT_EQ(decode_metadata(w.data(), w.data_len(), md), MetadataStatus::ok);
  EXPECT_FALSE(md.session_data_encrypted);
  EXPECT_TRUE(contains(w, std::string(64, 'h'))) << "TLS is not encrypted again";
  EXPECT_EQ(r2->send_one(kWan, w.raw).payload_string(), hello);
  Frame rep = r2->send_one(kLan, server_tcp(443, kTcpAck | 0x08, 5001, 1070, record));
  ASSERT_EQ(decode_metadata(rep.data(), rep.data_len(), md), MetadataStatus::ok);
  EXPECT_TRUE(md.disable_forward_metadata) << "decision known: ack";
  EXPECT_EQ(r1->send_one(kWan, rep.raw).payload_string(), record);
  Frame s = r1->send_one(kLan, client_tcp(443, kTcpAck | 0x08, 1070, 5038, record));
  EXPECT_EQ(decode_metadata(s.data(), s.data_len(), md), MetadataStatus::absent);
  EXPECT_EQ(s.data_len(), record.size() + kSeqLen + kHmacTagLen) << "HMAC trailer, no IV/padding";
  EXPECT_EQ(r2->send_one(kWan, s.raw).payload_string(), record);
  auto bad = s.raw;
  bad[bad.size() - 30] ^= 1;
  fix_checksums(bad);
  EXPECT_TRUE(r2->send(kWan, bad).empty()) << "HMAC still applies";
  EXPECT_EQ(r1->count(Counter::sessions_adaptive_skip), 1u);
  EXPECT_EQ(r2->count(Counter::sessions_adaptive_skip), 1u);
  EXPECT_EQ(r1->count(Counter::sessions_encrypted), 0u);
}

TEST_F(SvrCrypto, AdaptiveEncryptsPlainHttpAndClampsTheMss) {
  auto syn_raw =
      Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kServer).tcp(40001, 80, kTcpSyn, 1000, 0).tcp_options(4).bytes();
  uint8_t* opt = syn_raw.data() + 14 + 20 + 20;
  opt[0] = 2, opt[1] = 4, opt[2] = 0x05, opt[3] = 0xb4;  // MSS 1460
  fix_checksums(syn_raw);
  Frame syn = r1->send_one(kLan, syn_raw);
  expect_valid(syn);
  uint16_t mss = test::get16(syn.l4() + 22);
  // Adaptive: room for the crypto overhead and the metadata the first data segments carry.
  EXPECT_LT(mss, 1500 - 40 - kCryptoOverhead - 100) << "MSS clamped";
  EXPECT_GT(mss, 1200);
  EXPECT_EQ(r1->count(Counter::mss_clamped), 1u);
  r2->send_one(kWan, syn.raw);
  r1->send_one(kWan, r2->send_one(kLan, server_tcp(80, kTcpSyn | kTcpAck, 5000, 1001)).raw);
  r2->send_one(kWan, r1->send_one(kLan, client_tcp(80, kTcpAck, 1001, 5001)).raw);
  // A full-size first segment carries metadata + IV + padding + HMAC and still fits.
  std::string get = "GET /" + std::string(kMarker) + " HTTP/1.1\r\n\r\n";
  get += std::string(mss - get.size(), 'g');
  Frame w = r1->send_one(kLan, client_tcp(80, kTcpAck | 0x08, 1001, 5001, get));
  EXPECT_LE(w.ip_total(), 1500u);
  Metadata md;
  ASSERT_EQ(decode_metadata(w.data(), w.data_len(), md), MetadataStatus::ok);
  EXPECT_TRUE(md.session_data_encrypted);
  EXPECT_FALSE(contains(w, kMarker));
  EXPECT_EQ(r2->send_one(kWan, w.raw).payload_string(), get);
  Frame rep = r2->send_one(kLan, server_tcp(80, kTcpAck | 0x08, 5001, 1001 + get.size(), kMarker));
  EXPECT_FALSE(contains(rep, kMarker));
  EXPECT_EQ(r1->send_one(kWan, rep.raw).payload_string(), kMarker);
  Frame s = r1->send_one(kLan, client_tcp(80, kTcpAck | 0x08, 1001 + get.size(), 5001 + kMarker.size(), kMarker));
  EXPECT_EQ(decode_metadata(s.data(), s.data_len(), md), MetadataStatus::absent);
  EXPECT_FALSE(contains(s, kMarker));
  EXPECT_EQ(r2->send_one(kWan, s.raw).payload_string(), kMarker);
  EXPECT_EQ(r1->count(Counter::sessions_encrypted), 1u);
  EXPECT_EQ(r2->count(Counter::sessions_encrypted), 1u);
  EXPECT_EQ(r1->total_drops() + r2->total_drops(), 0u) << r1->drops() << " / " << r2->drops();
}

TEST_F(SvrCrypto, KeySlotsAreReturnedWhenSessionsEndAndAFullSlabRefuses) {
  Router small(router_config(true), RouterOptions().with_key_slots(2));
  small.neighbor(0, kClient, kClientMac);
  small.neighbor(1, kR2Wan, kR2Mac);
  auto udp = [](uint16_t sport) {
    return Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kServer).udp(sport, 5201).payload("x").bytes();
  };
  small.send_one(kLan, udp(1000));
  small.send_one(kLan, udp(1001));
  EXPECT_EQ(small.worker().key_slab().in_use(), 2u);
  EXPECT_TRUE(small.send(kLan, udp(1002)).empty());
  EXPECT_EQ(small.drop_count(DropReason::key_slab_full), 1u);
  small.worker().set_now_ms(small.worker().now_ms() + 3600 * 1000);
  EXPECT_EQ(small.worker().expire(4096), 2u);
  EXPECT_EQ(small.worker().key_slab().in_use(), 0u);
  small.send_one(kLan, udp(1002));
}

// Downgrade protection: a router whose own policy requires metadata
// encryption refuses a peer's session metadata in clear, on the first
// packet and on the reverse metadata of a session it started.
std::unique_ptr<Router> downgrade_router(bool ingress, bool encrypt_metadata) {
  config::Config c = router_config(ingress);
  for (auto& sp : *c.mutable_security_policies()) sp.set_metadata_encryption(encrypt_metadata);
  auto r = std::make_unique<Router>(c, RouterOptions().with_key_slots(64));
  r->neighbor(0, ingress ? kClient : kServer, ingress ? kClientMac : kServerMac);
  r->neighbor(1, ingress ? kR2Wan : kR1Wan, ingress ? kR2Mac : kR1Mac);
  return r;
}

TEST_F(SvrCrypto, ClearMetadataIsRefusedWhereOurPolicyRequiresEncryption) {
  auto clear_r1 = downgrade_router(true, false), strict_r2 = downgrade_router(false, true);
  Frame w = clear_r1->send_one(kLan, client_udp("first"));
  EXPECT_TRUE(strict_r2->send(kWan, w.raw).empty());
  EXPECT_EQ(strict_r2->drop_count(DropReason::metadata_not_encrypted), 1u) << strict_r2->drops();
  EXPECT_EQ(strict_r2->count(Counter::sessions_created), 0u);

  // Both encrypt: the same packet is accepted (the refusal was the downgrade, nothing else).
  auto sealed_r1 = downgrade_router(true, true);
  Frame s = sealed_r1->send_one(kLan, client_udp("first"));
  EXPECT_EQ(strict_r2->send_one(kWan, s.raw).payload_string(), "first");
  EXPECT_EQ(strict_r2->drop_count(DropReason::metadata_not_encrypted), 1u);
}

TEST_F(SvrCrypto, ClearReverseMetadataIsRefusedByAStrictIngress) {
  auto strict_r1 = downgrade_router(true, true), clear_r2 = downgrade_router(false, false);
  Frame w = strict_r1->send_one(kLan, client_udp("first"));
  EXPECT_EQ(clear_r2->send_one(kWan, w.raw).payload_string(), "first");  // r2 accepts encrypted metadata
  Frame back = clear_r2->send_one(kLan, server_udp("reply"));
  Metadata md;
  ASSERT_EQ(decode_metadata(back.data(), back.data_len(), md), MetadataStatus::ok);
  EXPECT_FALSE(md.payload_encrypted) << "r2's reverse metadata travels in clear";
  EXPECT_TRUE(strict_r1->send(kWan, back.raw).empty());
  EXPECT_EQ(strict_r1->drop_count(DropReason::metadata_not_encrypted), 1u) << strict_r1->drops();
}

// Pair-key rotation: a second version beside the first, senders move to it
// once both ends hold it (TLV 22), old sessions keep their keys, and the
// first version can then be retired without losing a session.
config::Config rotating_config(bool ingress, const char* key, uint32_t version, const char* next = nullptr,
                               uint32_t next_version = 0) {
  config::Config c = router_config(ingress);
  auto* p = c.mutable_peers(0);
  p->set_key(key);
  p->set_key_version(version);
  if (next) {
    p->set_next_key(next);
    p->set_next_key_version(next_version);
  }
  return c;
}

std::vector<uint8_t> client_udp_from(uint16_t sport, std::string_view data) {
  return Pkt().eth(kR1Mac, kClientMac).ipv4(kClient, kServer).udp(sport, 5201).payload(data).bytes();
}
std::vector<uint8_t> server_udp_to(uint16_t dport, std::string_view data) {
  return Pkt().eth(kR2Mac, kServerMac).ipv4(kServer, kClient).udp(5201, dport).payload(data).bytes();
}
Metadata metadata_of(const Frame& f) {
  Metadata md;
  EXPECT_EQ(decode_metadata(f.data(), f.data_len(), md), MetadataStatus::ok);
  return md;
}

TEST_F(SvrCrypto, PairKeyRotatesWithoutLosingASession) {
  // S1, keyed from version 1 (no TLV 16 or 22: the wire of a router without rotation).
  Frame w1 = through(client_udp_from(41001, "s1 first"), "s1 first");
  EXPECT_FALSE(metadata_of(w1).has_key_versions);
  EXPECT_EQ(r1->send_one(kWan, r2->send_one(kLan, server_udp_to(41001, "s1 reply")).raw).payload_string(), "s1 reply");

  r1->commit(rotating_config(true, kKey12, 1, kKey23, 2));
  r2->commit(rotating_config(false, kKey12, 1, kKey23, 2));
  // S2: r1 has not heard that r2 holds version 2, so it signs with 1 and says it holds both.
  Frame w2 = r1->send_one(kLan, client_udp_from(41002, "s2 first"));
  Metadata md2 = metadata_of(w2);
  EXPECT_EQ(md2.key_version(), 1u);
  ASSERT_TRUE(md2.has_key_versions);
  EXPECT_TRUE(md2.key_versions.has(1) && md2.key_versions.has(2));
  // S5 carries the news both ways: r2 hears r1's versions on its first
  // block, r1 hears r2's on the reply (signed with S5's own version, 1).
  through(client_udp_from(41005, "s5 first"), "s5 first");
  EXPECT_EQ(r2->count(Counter::pair_key_switches), 1u);
  Frame b5 = r2->send_one(kLan, server_udp_to(41005, "s5 reply"));
  Metadata mb5 = metadata_of(b5);
  EXPECT_EQ(mb5.key_version(), 1u);
  EXPECT_TRUE(mb5.has_key_versions && mb5.key_versions.has(2));
  EXPECT_EQ(r1->send_one(kWan, b5.raw).payload_string(), "s5 reply");
  EXPECT_EQ(r1->count(Counter::pair_key_switches), 1u);
  // S2's next metadata still names version 1, the version r2 must derive S2's keys from.
  Frame w2b = r1->send_one(kLan, client_udp_from(41002, "s2 second"));
  EXPECT_EQ(metadata_of(w2b).key_version(), 1u);
  EXPECT_EQ(r2->send_one(kWan, w2.raw).payload_string(), "s2 first");
  EXPECT_EQ(r2->send_one(kWan, w2b.raw).payload_string(), "s2 second");
  // S3: new sessions from r1 now use version 2 (TLV 16 with the clear bit: payload not encrypted).
  Frame w3 = through(client_udp_from(41003, "s3 first"), "s3 first");
  Metadata md3 = metadata_of(w3);
  EXPECT_EQ(md3.key_version(), 2u);
  EXPECT_TRUE(md3.security_id & kClearPayloadBit);
  EXPECT_FALSE(md3.payload_encrypted);

  // Retire version 1 on both ends: every live session keeps flowing both ways.
  r1->commit(rotating_config(true, kKey23, 2));
  r2->commit(rotating_config(false, kKey23, 2));
  for (uint16_t port : {41001, 41002, 41003, 41005}) {
    const std::string fwd = "after retire fwd " + std::to_string(port), rev = "after retire rev " + std::to_string(port);
    through(client_udp_from(port, fwd), fwd);
    EXPECT_EQ(r1->send_one(kWan, r2->send_one(kLan, server_udp_to(port, rev)).raw).payload_string(), rev) << port;
  }
  // A block signed with the retired version is refused.
  EXPECT_TRUE(r2->send(kWan, w2.raw).empty());
  EXPECT_EQ(r2->drop_count(DropReason::unknown_key_version), 1u) << r2->drops();
  EXPECT_EQ(r1->total_drops(), 0u) << r1->drops();
  EXPECT_EQ(r2->total_drops(), 1u) << r2->drops();
}

TEST_F(SvrCrypto, SenderKeepsTheOldVersionUntilThePeerHoldsTheNewOne) {
  r1->commit(rotating_config(true, kKey12, 1, kKey23, 2));  // only r1 has the new key
  for (uint16_t port : {41011, 41012}) {
    Frame w = through(client_udp_from(port, "first"), "first");
    EXPECT_EQ(metadata_of(w).key_version(), 1u);
    Frame b = r2->send_one(kLan, server_udp_to(port, "reply"));
    EXPECT_FALSE(metadata_of(b).has_key_versions) << "r2 holds only version 1";
    EXPECT_EQ(r1->send_one(kWan, b.raw).payload_string(), "reply");
  }
  EXPECT_EQ(r1->count(Counter::pair_key_switches), 0u);
  EXPECT_EQ(r1->total_drops() + r2->total_drops(), 0u) << r1->drops() << " / " << r2->drops();
}

// The workers' slabs come from the DPDK heap: page-aligned there too and
// marked do-not-dump (the tests' EAL runs without hugepages: 4 KiB pages).
TEST(KeySlabDpdk, HeapSlabIsPageAlignedAndExcludedFromCoreDumps) {
  ASSERT_NE(test_pool(), nullptr);  // EAL up
  KeySlab slab(100, SOCKET_ID_ANY);
  ASSERT_TRUE(slab.ok());
  EXPECT_TRUE(slab.dump_excluded());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(&slab.at(0)) % 4096, 0u);
  std::ifstream smaps("/proc/self/smaps");
  auto a = reinterpret_cast<uintptr_t>(&slab.at(99));
  bool inside = false;
  std::string flags;
  for (std::string line; std::getline(smaps, line) && flags.empty();) {
    unsigned long lo, hi;
    if (std::sscanf(line.c_str(), "%lx-%lx ", &lo, &hi) == 2) inside = a >= lo && a < hi;
    if (inside && line.rfind("VmFlags:", 0) == 0) flags = line;
  }
  EXPECT_NE(flags.find(" dd"), std::string::npos) << flags;
}

}  // namespace
}  // namespace wp
