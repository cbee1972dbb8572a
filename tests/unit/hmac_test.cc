// HmacEngine (IPsec-MB HMAC-SHA256 truncated to 128 bits, docs/svr-wire-format.md § Security):
// RFC 4231 known answers, burst signing equal to one-at-a-time signing, and
// verify() rejecting any single-bit change.
#include "dataplane/crypto/hmac.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace wp {
namespace {

std::vector<uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }

std::vector<uint8_t> unhex(std::string_view h) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < h.size(); i += 2)
    out.push_back(static_cast<uint8_t>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
  return out;
}

std::vector<uint8_t> tag_of(HmacEngine& e, const std::vector<uint8_t>& key, const std::vector<uint8_t>& msg) {
  HmacKey k = e.make_key(key);
  std::vector<uint8_t> tag(kHmacTagLen);
  e.sign(k, msg.data(), msg.size(), tag.data());
  return tag;
}

struct Vector {
  std::vector<uint8_t> key, msg;
  const char* full_hex;  // RFC 4231 HMAC-SHA-256; we keep the first 128 bits
};

TEST(Hmac, Rfc4231KnownAnswersTruncatedTo128Bits) {
  HmacEngine e;
  ASSERT_TRUE(e.ok());
  std::vector<Vector> vectors = {
      {std::vector<uint8_t>(20, 0x0b), bytes("Hi There"),
       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},  // test case 1
      {bytes("Jefe"), bytes("what do ya want for nothing?"),
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},  // test case 2
      {std::vector<uint8_t>(20, 0xaa), std::vector<uint8_t>(50, 0xdd),
       "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},  // test case 3
      {std::vector<uint8_t>(131, 0xaa), bytes("Test Using Larger Than Block-Size Key - Hash Key First"),
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},  // test case 6: long key
  };
  for (const auto& v : vectors) {
    std::vector<uint8_t> want = unhex(v.full_hex);
    want.resize(kHmacTagLen);
    EXPECT_EQ(tag_of(e, v.key, v.msg), want) << v.full_hex;
  }
}

TEST(Hmac, BurstSigningMatchesSingleSigning) {
  HmacEngine e;
  std::mt19937 rng(7);
  std::vector<HmacKey> keys;
  for (int k = 0; k < 3; ++k) {
    std::vector<uint8_t> key(32 + 16 * k);
    for (auto& b : key) b = static_cast<uint8_t>(rng());
    keys.push_back(e.make_key(key));
  }
  for (size_t n : {1u, 7u, 8u, 16u, 33u, 64u}) {
    std::vector<std::vector<uint8_t>> msgs(n), tags(n, std::vector<uint8_t>(kHmacTagLen));
    std::vector<HmacEngine::SignRequest> reqs(n);
    for (size_t i = 0; i < n; ++i) {
      msgs[i].resize(rng() % 1500);
      for (auto& b : msgs[i]) b = static_cast<uint8_t>(rng());
      reqs[i] = {&keys[i % keys.size()], msgs[i].data(), msgs[i].size(), tags[i].data(), false};
    }
    EXPECT_EQ(e.sign_burst(reqs.data(), n), 0u);
    for (size_t i = 0; i < n; ++i) {
      EXPECT_TRUE(reqs[i].ok);
      std::vector<uint8_t> one(kHmacTagLen);
      e.sign(keys[i % keys.size()], msgs[i].data(), msgs[i].size(), one.data());
      EXPECT_EQ(tags[i], one) << "burst of " << n << ", message " << i;
    }
  }
}

TEST(Hmac, VerifyRejectsAnyFlippedBit) {
  HmacEngine e;
  HmacKey k = e.make_key(std::vector<uint8_t>(32, 0x42));
  std::vector<uint8_t> msg = bytes("metadata block and data");
  uint8_t tag[kHmacTagLen];
  e.sign(k, msg.data(), msg.size(), tag);
  EXPECT_TRUE(e.verify(k, msg.data(), msg.size(), tag));
  for (size_t bit = 0; bit < msg.size() * 8; ++bit) {
    msg[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    EXPECT_FALSE(e.verify(k, msg.data(), msg.size(), tag)) << "bit " << bit;
    msg[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
  }
  for (size_t bit = 0; bit < kHmacTagLen * 8; ++bit) {
    tag[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    EXPECT_FALSE(e.verify(k, msg.data(), msg.size(), tag)) << "tag bit " << bit;
    tag[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
  }
}

}  // namespace
}  // namespace wp
