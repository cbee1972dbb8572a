// CryptoEngine (docs/svr-wire-format.md § Security): known answers through our
// IPsec-MB module — HMAC-SHA256 (RFC 4231, truncated to 128 bits), AES-256-CBC
// (NIST SP 800-38A F.2.5/F.2.6), HKDF-SHA256 (RFC 5869 A.1-A.3) — then 10 000
// random packets sealed by us and checked against OpenSSL EVP (test-only
// dependency), and OpenSSL-sealed packets opened by us. Also the IV source,
// the replay window and the key slab.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "dataplane/crypto/engine.h"
#include "dataplane/crypto/keys.h"
#include "dataplane/crypto/pair_keys.h"
#include "dataplane/crypto/wipe.h"
#include "dataplane/crypto/iv_source.h"
#include "dataplane/crypto/replay_window.h"

namespace wp {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes unhex(std::string_view h) {
  Bytes out;
  for (size_t i = 0; i + 1 < h.size(); i += 2)
    out.push_back(static_cast<uint8_t>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
  return out;
}
Bytes bytes(std::string_view s) { return {s.begin(), s.end()}; }
Bytes range(uint8_t from, uint8_t to) {
  Bytes b;
  for (int i = from; i <= to; ++i) b.push_back(static_cast<uint8_t>(i));
  return b;
}

TEST(Crypto, PicksTheBestArchitectureAndHonoursAForcedOne) {
  CryptoEngine best;
  ASSERT_TRUE(best.ok());
  EXPECT_NE(best.arch(), "none");
  if (__builtin_cpu_supports("avx512f")) {
    EXPECT_EQ(best.arch(), "avx512");
  }
  CryptoEngine sse("sse");
  ASSERT_TRUE(sse.ok());
  EXPECT_EQ(sse.arch(), "sse");
}

struct HmacVector {
  Bytes key, msg;
  const char* hex;
};

TEST(Crypto, HmacSha256Rfc4231ThroughSealBurst) {
  CryptoEngine e;
  std::vector<HmacVector> v = {
      {Bytes(20, 0x0b), bytes("Hi There"), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
      {bytes("Jefe"), bytes("what do ya want for nothing?"),
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      {Bytes(20, 0xaa), Bytes(50, 0xdd), "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
      {range(1, 25), Bytes(50, 0xcd), "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
      {Bytes(131, 0xaa), bytes("Test Using Larger Than Block-Size Key - Hash Key First"),
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
      {Bytes(131, 0xaa),
       bytes("This is a test using a larger than block-size key and a larger than block-size data. The key needs to "
             "be hashed before being used by the HMAC algorithm."),
       "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
  };
  std::vector<HmacKey> keys;
  for (auto& t : v) keys.push_back(e.hmac_key(t.key));
  std::vector<CryptoOp> ops(v.size());
  std::vector<Bytes> tags(v.size(), Bytes(kHmacTagLen));
  for (size_t i = 0; i < v.size(); ++i) {
    ops[i].msg = v[i].msg.data();
    ops[i].hash_len = static_cast<uint32_t>(v[i].msg.size());
    ops[i].mac = &keys[i];
    ops[i].tag = tags[i].data();
  }
  EXPECT_EQ(e.seal_burst(ops.data(), ops.size()), 0u);
  for (size_t i = 0; i < v.size(); ++i) {
    Bytes want = unhex(v[i].hex);
    uint8_t full[32];
    e.hmac_sha256(keys[i], v[i].msg, full);
    EXPECT_EQ(Bytes(full, full + 32), want) << "case " << i;
    want.resize(kHmacTagLen);
    EXPECT_EQ(tags[i], want) << "case " << i;
  }
}

TEST(Crypto, Aes256CbcSp800_38aThroughSealAndOpen) {
  CryptoEngine e;
  Bytes key = unhex("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4");
  Bytes iv = unhex("000102030405060708090a0b0c0d0e0f");
  Bytes plain = unhex(
      "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
      "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710");
  Bytes cipher = unhex(
      "f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d"
      "39f23369a9d9bacfa530e26304231461b2eb05e2c39be9fcda6c19078c6a9d1b");
  AesKey k;
  e.expand_aes_key(key.data(), k);
  HmacKey mac = e.hmac_key(bytes("any"));
  Bytes buf = plain;
  uint8_t tag[kHmacTagLen];
  CryptoOp op;
  op.msg = buf.data();
  op.hash_len = static_cast<uint32_t>(buf.size());
  op.cipher_len = static_cast<uint32_t>(buf.size());
  op.iv = iv.data();
  op.aes = &k;
  op.mac = &mac;
  op.tag = tag;
  ASSERT_EQ(e.seal_burst(&op, 1), 0u);
  EXPECT_EQ(buf, cipher);
  // Opening verifies the tag over the ciphertext, then decrypts (F.2.6).
  CryptoOp back = op;
  ASSERT_EQ(e.open_burst(&back, 1), 0u);
  EXPECT_EQ(buf, plain);
}

struct HkdfVector {
  Bytes ikm, salt, info;
  const char* prk;
  const char* okm;
};

TEST(Crypto, HkdfSha256Rfc5869) {
  CryptoEngine e;
  std::vector<HkdfVector> v = {
      {Bytes(22, 0x0b), range(0x00, 0x0c), range(0xf0, 0xf9),
       "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
       "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"},
      {range(0x00, 0x4f), range(0x60, 0xaf), range(0xb0, 0xff),
       "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
       "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09da3275600c2f09"
       "b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87"},
      {Bytes(22, 0x0b),
       {},
       {},
       "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
       "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"},
  };
  for (size_t i = 0; i < v.size(); ++i) {
    uint8_t prk[32];
    e.hkdf_extract(v[i].salt, v[i].ikm, prk);
    EXPECT_EQ(Bytes(prk, prk + 32), unhex(v[i].prk)) << "case " << i + 1;
    Bytes want = unhex(v[i].okm);
    Bytes okm(want.size());
    ASSERT_TRUE(e.hkdf_expand(e.hmac_key({prk, 32}), v[i].info, okm));
    EXPECT_EQ(okm, want) << "case " << i + 1;
  }
}

TEST(Crypto, SessionKeysMatchOpenSslHkdfAndDifferPerSession) {
  CryptoEngine e;
  Bytes pair = unhex("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
  SessionUuid a{}, b{};
  for (int i = 0; i < 16; ++i) a[i] = static_cast<uint8_t>(i), b[i] = static_cast<uint8_t>(i + 1);
  HmacKey prk = session_prk(e, pair);
  SessionKeys ka, kb, ka2;
  derive_session_keys(e, prk, a, ka);
  derive_session_keys(e, prk, b, kb);
  derive_session_keys(e, prk, a, ka2);
  EXPECT_EQ(0, std::memcmp(&ka.aes, &ka2.aes, sizeof ka.aes)) << "pure function of (pair key, UUID)";
  EXPECT_NE(0, std::memcmp(&ka.aes, &kb.aes, sizeof ka.aes));

  // OpenSSL's HKDF with the documented salt/info gives the same AES key.
  uint8_t okm[64];
  size_t len = sizeof okm;
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr);
  ASSERT_GT(EVP_PKEY_derive_init(ctx), 0);
  ASSERT_GT(EVP_PKEY_CTX_set_hkdf_md(ctx, EVP_sha256()), 0);
  ASSERT_GT(EVP_PKEY_CTX_set1_hkdf_salt(ctx, kSessionKdfSalt, sizeof kSessionKdfSalt - 1), 0);
  ASSERT_GT(EVP_PKEY_CTX_set1_hkdf_key(ctx, pair.data(), static_cast<int>(pair.size())), 0);
  ASSERT_GT(EVP_PKEY_CTX_add1_hkdf_info(ctx, a.data(), 16), 0);
  ASSERT_GT(EVP_PKEY_derive(ctx, okm, &len), 0);
  EVP_PKEY_CTX_free(ctx);
  AesKey want;
  e.expand_aes_key(okm, want);
  EXPECT_EQ(0, std::memcmp(&want, &ka.aes, sizeof want));
  HmacKey want_mac = e.hmac_key({okm + 32, 32});
  EXPECT_EQ(0, std::memcmp(want_mac.ipad_state, ka.mac.ipad_state, 32));
  EXPECT_EQ(0, std::memcmp(want_mac.opad_state, ka.mac.opad_state, 32));
}

// OpenSSL reference: AES-256-CBC (no padding: data is whole blocks) then
// HMAC-SHA256 truncated, over the same layout as our ops.
void openssl_seal(const Bytes& key, const Bytes& mac_key, const uint8_t* iv, Bytes& msg, uint32_t off, uint32_t len,
                  uint8_t tag[16]) {
  EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
  EVP_EncryptInit_ex(c, EVP_aes_256_cbc(), nullptr, key.data(), iv);
  EVP_CIPHER_CTX_set_padding(c, 0);
  int out = 0;
  if (len) EVP_EncryptUpdate(c, msg.data() + off, &out, msg.data() + off, static_cast<int>(len));
  EVP_CIPHER_CTX_free(c);
  uint8_t full[32];
  unsigned n = 0;
  HMAC(EVP_sha256(), mac_key.data(), static_cast<int>(mac_key.size()), msg.data(), msg.size(), full, &n);
  std::memcpy(tag, full, 16);
}

TEST(Crypto, TenThousandRandomPacketsMatchOpenSslBothWays) {
  CryptoEngine e;
  std::mt19937_64 rng(4);
  auto rnd = [&](size_t n) {
    Bytes b(n);
    for (auto& x : b) x = static_cast<uint8_t>(rng());
    return b;
  };
  Bytes aes_key = rnd(32), mac_key = rnd(32);
  AesKey k;
  e.expand_aes_key(aes_key.data(), k);
  HmacKey mac = e.hmac_key(mac_key);
  int checked = 0;
  while (checked < 10000) {
    size_t burst = 1 + rng() % CryptoEngine::kMaxBurst;
    std::vector<Bytes> ours(burst), theirs(burst), ivs(burst), originals(burst);
    std::vector<CryptoOp> ops(burst);
    std::vector<std::array<uint8_t, 16>> tags(burst), ref_tags(burst);
    for (size_t i = 0; i < burst; ++i) {
      uint32_t head = 8 + static_cast<uint32_t>(rng() % 120);  // L4 header + metadata
      uint32_t blocks = static_cast<uint32_t>(rng() % 95);     // 0..1504 bytes of data
      ours[i] = rnd(head + blocks * 16);
      theirs[i] = ours[i];
      originals[i] = ours[i];
      ivs[i] = rnd(16);
      ops[i].msg = ours[i].data();
      ops[i].hash_len = static_cast<uint32_t>(ours[i].size());
      ops[i].cipher_off = head;
      ops[i].cipher_len = blocks * 16;
      ops[i].iv = ivs[i].data();
      ops[i].aes = blocks ? &k : nullptr;
      ops[i].mac = &mac;
      ops[i].tag = tags[i].data();
      openssl_seal(aes_key, mac_key, ivs[i].data(), theirs[i], head, blocks * 16, ref_tags[i].data());
    }
    ASSERT_EQ(e.seal_burst(ops.data(), burst), 0u);
    for (size_t i = 0; i < burst; ++i) {
      ASSERT_EQ(ours[i], theirs[i]) << "ciphertext, packet " << checked + i;
      ASSERT_EQ(tags[i], ref_tags[i]) << "tag, packet " << checked + i;
    }
    // Open what OpenSSL sealed; flip a bit in every third to see it refused.
    for (size_t i = 0; i < burst; ++i) {
      ops[i].msg = theirs[i].data();
      ops[i].tag = ref_tags[i].data();
      if (i % 3 == 2) theirs[i][rng() % theirs[i].size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
    }
    uint32_t failed = e.open_burst(ops.data(), burst);
    EXPECT_EQ(failed, static_cast<uint32_t>(burst / 3));
    for (size_t i = 0; i < burst; ++i) {
      EXPECT_EQ(ops[i].ok, i % 3 != 2) << "packet " << checked + i;
      if (i % 3 != 2) {
        EXPECT_EQ(theirs[i], originals[i]) << "decrypted, packet " << checked + i;
      }
    }
    checked += static_cast<int>(burst);
  }
}

TEST(Crypto, OpenRestoresThePlaintext) {
  CryptoEngine e;
  std::mt19937_64 rng(9);
  Bytes key(32, 7);
  AesKey k;
  e.expand_aes_key(key.data(), k);
  HmacKey mac = e.hmac_key(key);
  for (int round = 0; round < 200; ++round) {
    Bytes msg(20 + 16 * (round % 90));
    for (auto& x : msg) x = static_cast<uint8_t>(rng());
    Bytes orig = msg, iv(16, static_cast<uint8_t>(round));
    uint8_t tag[16];
    CryptoOp op;
    op.msg = msg.data();
    op.hash_len = static_cast<uint32_t>(msg.size());
    op.cipher_off = 20;
    op.cipher_len = static_cast<uint32_t>(msg.size() - 20);
    op.iv = iv.data();
    op.aes = op.cipher_len ? &k : nullptr;
    op.mac = &mac;
    op.tag = tag;
    ASSERT_EQ(e.seal_burst(&op, 1), 0u);
    if (op.cipher_len) {
      EXPECT_NE(msg, orig);
    }
    ASSERT_EQ(e.open_burst(&op, 1), 0u);
    EXPECT_EQ(msg, orig);
  }
}

TEST(Crypto, IvSourceGivesDistinctUnpredictableBlocks) {
  CryptoEngine e;
  IvSource a(e), b(e);
  ASSERT_TRUE(a.ok());
  std::set<std::array<uint8_t, 16>> seen;
  std::array<uint8_t, 16> iv{};
  for (int i = 0; i < 3000; ++i) {  // crosses several 4 KiB refills
    a.next(iv.data());
    EXPECT_TRUE(seen.insert(iv).second) << "repeat at " << i;
  }
  b.next(iv.data());
  EXPECT_FALSE(seen.count(iv)) << "two sources seeded from the OS share no stream";
  int ones = 0;
  for (const auto& s : seen)
    for (uint8_t x : s) ones += __builtin_popcount(x);
  double ratio = static_cast<double>(ones) / (seen.size() * 128.0);
  EXPECT_NEAR(ratio, 0.5, 0.01);
}

TEST(Crypto, ReplayWindowAcceptsNewAndReorderedRejectsSeenAndOld) {
  ReplayWindow w;
  EXPECT_TRUE(replay_accept(w, 1));
  EXPECT_FALSE(replay_accept(w, 1));
  EXPECT_TRUE(replay_accept(w, 5));
  EXPECT_TRUE(replay_accept(w, 3));  // reordered inside the window
  EXPECT_FALSE(replay_accept(w, 3));
  EXPECT_TRUE(replay_accept(w, 100));
  EXPECT_TRUE(replay_accept(w, 37));   // 100 - 63: last slot of the window
  EXPECT_FALSE(replay_accept(w, 36));  // 100 - 64: too old
  EXPECT_FALSE(replay_accept(w, 5));
  ReplayWindow wrap{0xfffffffeu, 1};
  EXPECT_TRUE(replay_accept(wrap, 0xffffffffu));
  EXPECT_TRUE(replay_accept(wrap, 2));  // serial arithmetic across the wrap
  EXPECT_FALSE(replay_accept(wrap, 0xffffffffu));
}

TEST(Crypto, KeySlabHandsOutEverySlotOnceAndWipesOnRelease) {
  KeySlab slab(3, -2);
  ASSERT_TRUE(slab.ok());
  std::set<uint32_t> got;
  for (int i = 0; i < 3; ++i) got.insert(slab.allocate());
  EXPECT_EQ(got.size(), 3u);
  EXPECT_EQ(slab.allocate(), kNoKeySlot);
  slab.at(1).mac.ipad_state[0] = 0x5a;
  slab.release(1);
  EXPECT_EQ(slab.at(1).mac.ipad_state[0], 0);
  EXPECT_EQ(slab.allocate(), 1u);
  EXPECT_EQ(slab.in_use(), 3u);
}

// VmFlags of the mapping holding `p`, from /proc/self/smaps ("dd": do not dump).
std::string vm_flags_of(const void* p) {
  std::ifstream smaps("/proc/self/smaps");
  auto a = reinterpret_cast<uintptr_t>(p);
  bool inside = false;
  for (std::string line; std::getline(smaps, line);) {
    unsigned long lo, hi;
    // A mapping's first line is "lo-hi perms ..."; its fields ("Size:") do not parse so.
    if (std::sscanf(line.c_str(), "%lx-%lx ", &lo, &hi) == 2) inside = a >= lo && a < hi;
    if (inside && line.rfind("VmFlags:", 0) == 0) return line;
  }
  return "";
}

TEST(Crypto, KeySlabFreedSlotReadsZeroInEveryByte) {
  KeySlab slab(4, -2);
  ASSERT_TRUE(slab.ok());
  uint32_t slot = slab.allocate();
  SessionKeys& k = slab.at(slot);
  std::memset(static_cast<void*>(&k), 0xa5, sizeof k);
  slab.release(slot);
  const auto* b = reinterpret_cast<const uint8_t*>(&slab.at(slot));
  for (size_t i = 0; i < sizeof(SessionKeys); ++i) ASSERT_EQ(b[i], 0) << "byte " << i;
}

TEST(Crypto, KeySlabPagesAreExcludedFromCoreDumps) {
  KeySlab slab(100, -2);
  ASSERT_TRUE(slab.ok());
  EXPECT_TRUE(slab.dump_excluded());
  std::string first = vm_flags_of(&slab.at(0)), last = vm_flags_of(&slab.at(99));
  ASSERT_FALSE(first.empty());
  EXPECT_NE(first.find(" dd"), std::string::npos) << first;
  EXPECT_NE(last.find(" dd"), std::string::npos) << last;
}

TEST(Crypto, WipeZeroesAndDumpExclusionNeedsAWholePage) {
  uint8_t buf[64];
  std::memset(buf, 0x5a, sizeof buf);
  wipe(buf, sizeof buf);
  for (uint8_t b : buf) ASSERT_EQ(b, 0);
  // Less than a page: nothing may be advised (a neighbour's memory would be).
  EXPECT_FALSE(exclude_from_core_dump(buf, sizeof buf, 4096));
  EXPECT_FALSE(exclude_from_core_dump(buf, sizeof buf, 3000));  // not a power of two
}

PairKey pair_key(uint8_t version) {
  PairKey k;
  k.version = version;
  k.mac.ipad_state[0] = version;
  k.mac.valid = true;
  return k;
}

TEST(PairKeys, RingIsOrderedAndRefusesRepeatsAndAThird) {
  PairKeyRing ring;
  EXPECT_TRUE(ring.add(pair_key(7)));
  EXPECT_TRUE(ring.add(pair_key(3)));
  EXPECT_FALSE(ring.add(pair_key(3)));
  EXPECT_FALSE(ring.add(pair_key(9)));  // two versions at once
  EXPECT_FALSE(PairKeyRing().add(pair_key(0)));
  EXPECT_EQ(ring.oldest().version, 3);
  EXPECT_EQ(ring.newest().version, 7);
  ASSERT_NE(ring.find(7), nullptr);
  EXPECT_EQ(ring.find(7)->mac.ipad_state[0], 7);
  EXPECT_EQ(ring.find(5), nullptr);
  KeyVersions v = ring.versions();
  EXPECT_EQ(v.n, 2);
  EXPECT_EQ(v.v[0], 3);
  EXPECT_EQ(v.v[1], 7);
}

TEST(PairKeys, SenderUsesTheNewestVersionBothEndsHold) {
  PairKeyRing ring;
  ring.add(pair_key(1));
  ring.add(pair_key(2));
  EXPECT_EQ(ring.choose(nullptr).version, 1) << "nothing heard: the version the peer had before";
  KeyVersions only1{1, {1}}, both{2, {1, 2}}, only2{1, {2}}, other{1, {9}};
  EXPECT_EQ(ring.choose(&only1).version, 1);
  EXPECT_EQ(ring.choose(&both).version, 2);
  EXPECT_EQ(ring.choose(&only2).version, 2);
  EXPECT_EQ(ring.choose(&other).version, 1);
}

TEST(PairKeys, PeerViewsForgetARenumberedPeer) {
  PeerKeyViews views;
  EXPECT_EQ(views.of(0, 42), nullptr);
  views.heard(0, 42, KeyVersions{2, {1, 2}});
  ASSERT_NE(views.of(0, 42), nullptr);
  EXPECT_TRUE(views.of(0, 42)->has(2));
  EXPECT_EQ(views.of(0, 43), nullptr) << "another peer's name now at index 0";
  views.heard(-1, 1, KeyVersions{});
  views.heard(static_cast<int>(kMaxKeyPeers), 1, KeyVersions{});
  EXPECT_EQ(views.of(static_cast<int>(kMaxKeyPeers), 1), nullptr);
}

}  // namespace
}  // namespace wp
