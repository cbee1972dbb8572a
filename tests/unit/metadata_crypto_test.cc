// Metadata payload-section encryption. The sealed block is opened
// by an independent implementation (OpenSSL HKDF by hand with HMAC(), and
// EVP AES-256-CBC), names never appear in it, our own open round-trips, and
// each failure has its own result.
#include "dataplane/crypto/metadata_crypto.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "dataplane/crypto/keys.h"
#include "dataplane/ip/packet.h"

namespace wp {
namespace {

const std::vector<uint8_t> kPairKey(32, 0x5a);

struct Keys {
  CryptoEngine engine;
  IvSource ivs{engine};
  AesKey aes;
  Keys(const std::vector<uint8_t>& pair = kPairKey) {
    HmacKey prk = session_prk(engine, pair);
    derive_metadata_key(engine, prk, aes);
  }
};

size_t forward_block(uint8_t* b, size_t cap) {
  MetadataWriter w(b, cap);
  w.forward_context({0x0a010005, 0x0a02000a, 40000, 5201, 17});
  SessionUuid id{};
  id[3] = 7;
  w.uuid(id);
  w.tenant("tenant-secret-branch");
  w.service("service-secret-iperf");
  return w.finish();
}

bool contains(const uint8_t* p, size_t n, const std::string& s) {
  return std::search(p, p + n, s.begin(), s.end()) != p + n;
}

TEST(MetadataCrypto, SealedBlockOpensWithOpenSslAndHidesTheNames) {
  Keys k;
  uint8_t b[kMaxMetadataLen];
  size_t plain_len = forward_block(b, sizeof b);
  std::vector<uint8_t> plain(b, b + plain_len);
  size_t n = seal_metadata_payload(k.engine, k.ivs, k.aes, b, plain_len, sizeof b);
  ASSERT_GT(n, plain_len);
  EXPECT_FALSE(contains(b, n, "secret"));
  // Header: 12 + TLV 16 (version 1); payload: IV + ciphertext, whole blocks.
  uint16_t hl = load_be16(b + 8) & 0x0fff, pl = load_be16(b + 10);
  ASSERT_EQ(hl, 12 + 8);
  EXPECT_EQ(load_be16(b + 12), 16);
  EXPECT_EQ(load_be16(b + 14), 4);
  EXPECT_EQ(load_be32(b + 16), kMetadataKeyVersion);
  EXPECT_EQ(size_t{hl} + pl, n);
  EXPECT_EQ(pl % 16, 0);

  // Independent key: HKDF-SHA256 (RFC 5869) by hand with OpenSSL's HMAC.
  unsigned len = 0;
  uint8_t prk[32], okm[32];
  HMAC(EVP_sha256(), kSessionKdfSalt, sizeof kSessionKdfSalt - 1, kPairKey.data(), kPairKey.size(), prk, &len);
  std::vector<uint8_t> info(kMetadataKdfInfo, kMetadataKdfInfo + sizeof kMetadataKdfInfo - 1);
  info.push_back(1);
  HMAC(EVP_sha256(), prk, 32, info.data(), info.size(), okm, &len);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  ASSERT_EQ(EVP_DecryptInit_ex(ctx, EVP_aes_256_cbc(), nullptr, okm, b + hl), 1);
  std::vector<uint8_t> out(pl + 16);
  int a = 0, c = 0;
  ASSERT_EQ(EVP_DecryptUpdate(ctx, out.data(), &a, b + hl + 16, pl - 16), 1);
  ASSERT_EQ(EVP_DecryptFinal_ex(ctx, out.data() + a, &c), 1);  // PKCS#7 checked by OpenSSL
  EVP_CIPHER_CTX_free(ctx);
  out.resize(static_cast<size_t>(a + c));
  EXPECT_EQ(out, std::vector<uint8_t>(plain.begin() + 12, plain.end()));
}

TEST(MetadataCrypto, OpensOurOwnBlockAndReadsThePayloadTlvs) {
  Keys k;
  uint8_t b[kMaxMetadataLen];
  size_t n = seal_metadata_payload(k.engine, k.ivs, k.aes, b, forward_block(b, sizeof b), sizeof b);
  Metadata md;
  ASSERT_EQ(decode_metadata(b, n, md), MetadataStatus::ok);
  EXPECT_TRUE(md.payload_encrypted);
  EXPECT_TRUE(md.tenant.empty());
  uint8_t plain[kMaxPlainMetadata];
  ASSERT_EQ(open_metadata_payload(k.engine, k.aes, b, md, plain), MetadataOpen::ok);
  EXPECT_FALSE(md.payload_encrypted);
  EXPECT_EQ(md.tenant, "tenant-secret-branch");
  EXPECT_EQ(md.service, "service-secret-iperf");
  EXPECT_TRUE(md.has_uuid);
  EXPECT_EQ(md.forward_context.dport, 5201);
  // Two seals of the same block differ (random IV).
  uint8_t b2[kMaxMetadataLen];
  size_t n2 = seal_metadata_payload(k.engine, k.ivs, k.aes, b2, forward_block(b2, sizeof b2), sizeof b2);
  ASSERT_EQ(n, n2);
  EXPECT_NE(std::memcmp(b, b2, n), 0);
}

TEST(MetadataCrypto, UnknownKeyVersionAndWrongKeyAndBadPadding) {
  Keys k;
  uint8_t b[kMaxMetadataLen];
  size_t n = seal_metadata_payload(k.engine, k.ivs, k.aes, b, forward_block(b, sizeof b), sizeof b);
  uint8_t plain[kMaxPlainMetadata];
  Metadata md;
  std::vector<uint8_t> other(b, b + n);
  store_be32(other.data() + 16, 2);  // TLV 16 names version 2
  ASSERT_EQ(decode_metadata(other.data(), n, md), MetadataStatus::ok);
  EXPECT_EQ(open_metadata_payload(k.engine, k.aes, other.data(), md, plain), MetadataOpen::unknown_key_version);

  // A payload that only looks encrypted (no TLV 16): no key version to use.
  uint8_t raw[64] = {};
  MetadataWriter w(raw, sizeof raw);
  uint8_t zeros[28] = {};
  w.raw_tlv(static_cast<Tlv>(0), zeros, sizeof zeros, false);
  size_t rn = w.finish();
  ASSERT_EQ(decode_metadata(raw, rn, md), MetadataStatus::ok);
  ASSERT_TRUE(md.payload_encrypted);
  EXPECT_EQ(open_metadata_payload(k.engine, k.aes, raw, md, plain), MetadataOpen::unknown_key_version);

  // Last ciphertext block replaced by one that decrypts to padding 0x00 under
  // this key: the padding check catches it. Build it: encrypt a block of
  // zeros with the previous ciphertext block as IV (CBC), so D(C) ^ prev = 0.
  ASSERT_EQ(decode_metadata(b, n, md), MetadataStatus::ok);
  std::vector<uint8_t> bad(b, b + n);
  uint8_t* last = bad.data() + n - 16;
  const uint8_t* prev = last - 16;
  uint8_t blk[16] = {};
  CryptoOp op;
  op.msg = blk;
  op.cipher_len = 16;
  op.iv = prev;
  op.aes = &k.aes;
  ASSERT_EQ(k.engine.seal_burst(&op, 1), 0u);
  std::memcpy(last, blk, 16);
  ASSERT_EQ(decode_metadata(bad.data(), n, md), MetadataStatus::ok);
  EXPECT_EQ(open_metadata_payload(k.engine, k.aes, bad.data(), md, plain), MetadataOpen::bad_padding);

  // Another pair key: its key turns the padding (or the TLVs) to garbage.
  Keys wrong(std::vector<uint8_t>(32, 0x11));
  ASSERT_EQ(decode_metadata(b, n, md), MetadataStatus::ok);
  EXPECT_NE(open_metadata_payload(k.engine, wrong.aes, b, md, plain), MetadataOpen::ok);
}

TEST(MetadataCrypto, OverflowIsRefused) {
  Keys k;
  uint8_t b[kMaxMetadataLen];
  size_t n = forward_block(b, sizeof b);
  EXPECT_EQ(seal_metadata_payload(k.engine, k.ivs, k.aes, b, n, n + 8), 0u);
}

}  // namespace
}  // namespace wp
