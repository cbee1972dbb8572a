// ESP seal/open bursts (dataplane/ipsec/esp_crypto.h) against OpenSSL as the
// independent reference: for aes256gcm16 and aes256-sha256, with and without
// extended sequence numbers, what we seal OpenSSL opens (tag/ICV and
// plaintext), what OpenSSL seals we open, and a flipped bit, the other
// direction's key or a wrong ESN high half fails the ICV.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstring>
#include <random>
#include <vector>

#include "dataplane/ipsec/esp_crypto.h"

namespace wp {
namespace {

using Bytes = std::vector<uint8_t>;

struct Case {
  EspCipher cipher;
  bool esn;
};

Bytes random_bytes(std::mt19937& rng, size_t n) {
  Bytes b(n);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

// An ESP packet around `inner` with SPI, sequence low half and IV, the
// trailer written, the ICV left zero (esp_format.h layout).
Bytes layout(EspCipher c, uint32_t spi, uint64_t seq, const Bytes& iv, const Bytes& inner) {
  const size_t pad = esp_pad_len(c, inner.size());
  Bytes p(esp_packet_len(c, inner.size()), 0);
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(spi >> (24 - 8 * i));
  for (int i = 0; i < 4; ++i) p[4 + i] = static_cast<uint8_t>(static_cast<uint32_t>(seq) >> (24 - 8 * i));
  std::memcpy(p.data() + 8, iv.data(), iv.size());
  const size_t off = 8 + iv.size();
  std::memcpy(p.data() + off, inner.data(), inner.size());
  esp_write_trailer(p.data() + off + inner.size(), pad, kEspNextIpv4);
  return p;
}

Bytes be32(uint32_t v) { return {uint8_t(v >> 24), uint8_t(v >> 16), uint8_t(v >> 8), uint8_t(v)}; }

// RFC 4106 § 4: the GCM nonce is the key material's 4-byte salt and the packet's 8-byte IV.
Bytes gcm_nonce(const Bytes& km, const Bytes& p) {
  Bytes nonce(12);
  std::memcpy(nonce.data(), km.data() + 32, 4);
  std::memcpy(nonce.data() + 4, p.data() + 8, 8);
  return nonce;
}

// RFC 4106 § 5: AAD is SPI || sequence number, with the ESN high half between them.
Bytes gcm_aad(const Case& c, uint64_t seq, const Bytes& p) {
  Bytes aad(c.esn ? 12 : 8);
  std::memcpy(aad.data(), p.data(), 4);
  if (c.esn) std::memcpy(aad.data() + 4, be32(uint32_t(seq >> 32)).data(), 4);
  std::memcpy(aad.data() + aad.size() - 4, p.data() + 4, 4);
  return aad;
}

// RFC 4303 § 2.2.1 / 3.3.2.2: the ICV covers the packet up to the ICV, then the ESN high half.
void cbc_icv(const Case& c, const Bytes& km, uint64_t seq, const Bytes& p, uint8_t mac[32]) {
  Bytes hashed(p.begin(), p.end() - 16);
  if (c.esn) {
    const Bytes hi = be32(uint32_t(seq >> 32));
    hashed.insert(hashed.end(), hi.begin(), hi.end());
  }
  unsigned ml = 0;
  HMAC(EVP_sha256(), km.data() + 32, 32, hashed.data(), hashed.size(), mac, &ml);
}

// OpenSSL's view of a sealed packet: true when its tag/ICV verifies; the
// decrypted payload .. next header into `plain`.
bool openssl_open(const Case& c, const Bytes& km, uint64_t seq, const Bytes& p, Bytes& plain) {
  const size_t ivl = esp_iv_len(c.cipher), off = 8 + ivl, ct_len = p.size() - off - 16;
  plain.assign(ct_len, 0);
  EVP_CIPHER_CTX* x = EVP_CIPHER_CTX_new();
  int n = 0;
  bool ok;
  if (c.cipher == EspCipher::aes256_gcm16) {
    const Bytes nonce = gcm_nonce(km, p), aad = gcm_aad(c, seq, p);
    Bytes tag(p.end() - 16, p.end());
    ok = EVP_DecryptInit_ex(x, EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
         EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_SET_IVLEN, 12, nullptr) == 1 &&
         EVP_DecryptInit_ex(x, nullptr, nullptr, km.data(), nonce.data()) == 1 &&
         EVP_DecryptUpdate(x, nullptr, &n, aad.data(), int(aad.size())) == 1 &&
         EVP_DecryptUpdate(x, plain.data(), &n, p.data() + off, int(ct_len)) == 1 &&
         EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_SET_TAG, 16, tag.data()) == 1 &&
         EVP_DecryptFinal_ex(x, plain.data() + n, &n) == 1;
  } else {
    uint8_t mac[32];
    cbc_icv(c, km, seq, p, mac);
    ok = std::memcmp(mac, p.data() + p.size() - 16, 16) == 0 &&
         EVP_DecryptInit_ex(x, EVP_aes_256_cbc(), nullptr, km.data(), p.data() + 8) == 1 &&
         EVP_CIPHER_CTX_set_padding(x, 0) == 1 &&
         EVP_DecryptUpdate(x, plain.data(), &n, p.data() + off, int(ct_len)) == 1;
  }
  EVP_CIPHER_CTX_free(x);
  return ok;
}

// OpenSSL seals a laid-out packet (the reverse direction of the check above).
void openssl_seal(const Case& c, const Bytes& km, uint64_t seq, Bytes& p) {
  const size_t ivl = esp_iv_len(c.cipher), off = 8 + ivl, ct_len = p.size() - off - 16;
  EVP_CIPHER_CTX* x = EVP_CIPHER_CTX_new();
  int n = 0;
  if (c.cipher == EspCipher::aes256_gcm16) {
    const Bytes nonce = gcm_nonce(km, p), aad = gcm_aad(c, seq, p);
    EVP_EncryptInit_ex(x, EVP_aes_256_gcm(), nullptr, nullptr, nullptr);
    EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_SET_IVLEN, 12, nullptr);
    EVP_EncryptInit_ex(x, nullptr, nullptr, km.data(), nonce.data());
    EVP_EncryptUpdate(x, nullptr, &n, aad.data(), int(aad.size()));
    EVP_EncryptUpdate(x, p.data() + off, &n, p.data() + off, int(ct_len));
    EVP_EncryptFinal_ex(x, p.data() + off + n, &n);
    EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_GET_TAG, 16, p.data() + p.size() - 16);
  } else {
    EVP_EncryptInit_ex(x, EVP_aes_256_cbc(), nullptr, km.data(), p.data() + 8);
    EVP_CIPHER_CTX_set_padding(x, 0);
    EVP_EncryptUpdate(x, p.data() + off, &n, p.data() + off, int(ct_len));
    uint8_t mac[32];
    cbc_icv(c, km, seq, p, mac);
    std::memcpy(p.data() + p.size() - 16, mac, 16);
  }
  EVP_CIPHER_CTX_free(x);
}

class EspCrypto : public ::testing::TestWithParam<Case> {
 protected:
  CryptoEngine eng_;
};

TEST_P(EspCrypto, BurstSealedByUsOpensInOpenSslAndBack) {
  const Case c = GetParam();
  std::mt19937 rng(11);
  const Bytes km = random_bytes(rng, esp_keymat_len(c.cipher)), other = random_bytes(rng, esp_keymat_len(c.cipher));
  EspKeys keys, wrong;
  esp_keys_init(eng_, c.cipher, c.esn, km.data(), keys);
  esp_keys_init(eng_, c.cipher, c.esn, other.data(), wrong);
  constexpr size_t kN = 40;
  std::vector<Bytes> pkts(kN), inner(kN);
  std::vector<EspOp> ops(kN);
  for (size_t i = 0; i < kN; ++i) {
    const uint64_t seq = (uint64_t{3} << 32) + 1000 + i;  // a high half that matters with ESN
    inner[i] = random_bytes(rng, 20 + rng() % 1400);
    const Bytes iv = c.cipher == EspCipher::aes256_gcm16 ? Bytes{0, 0, 0, 3, 0, 0, uint8_t((1000 + i) >> 8), uint8_t(1000 + i)}
                                                         : random_bytes(rng, 16);
    pkts[i] = layout(c.cipher, 0xc0010203, seq, iv, inner[i]);
    ops[i].pkt = pkts[i].data();
    ops[i].len = static_cast<uint32_t>(pkts[i].size());
    ops[i].seq = seq;
    ops[i].keys = &keys;
  }
  ASSERT_EQ(esp_seal_burst(eng_, ops.data(), kN), 0u);
  for (size_t i = 0; i < kN; ++i) {
    Bytes plain;
    ASSERT_TRUE(openssl_open(c, km, ops[i].seq, pkts[i], plain)) << "packet " << i;
    EspTrailerInfo info;
    ASSERT_EQ(esp_read_trailer(plain.data(), plain.size(), info), EspTrailer::ok);
    EXPECT_EQ(Bytes(plain.begin(), plain.begin() + info.payload_len), inner[i]);
  }
  // Back: open in a burst, plaintext in place.
  ASSERT_EQ(esp_open_burst(eng_, ops.data(), kN), 0u);
  const size_t off = 8 + esp_iv_len(c.cipher);
  for (size_t i = 0; i < kN; ++i)
    EXPECT_EQ(0, std::memcmp(pkts[i].data() + off, inner[i].data(), inner[i].size())) << "packet " << i;
}

TEST_P(EspCrypto, SealedByOpenSslOpensHereAndTamperingFails) {
  const Case c = GetParam();
  std::mt19937 rng(12);
  const Bytes km = random_bytes(rng, esp_keymat_len(c.cipher)), other = random_bytes(rng, esp_keymat_len(c.cipher));
  EspKeys keys, wrong;
  esp_keys_init(eng_, c.cipher, c.esn, km.data(), keys);
  esp_keys_init(eng_, c.cipher, c.esn, other.data(), wrong);
  const uint64_t seq = (uint64_t{7} << 32) | 42;
  const Bytes inner = random_bytes(rng, 300);
  const Bytes iv = random_bytes(rng, esp_iv_len(c.cipher));
  Bytes good = layout(c.cipher, 0x01020304, seq, iv, inner);
  openssl_seal(c, km, seq, good);

  auto open = [&](Bytes p, const EspKeys& k, uint64_t s) {
    EspOp op;
    op.pkt = p.data();
    op.len = static_cast<uint32_t>(p.size());
    op.seq = s;
    op.keys = &k;
    esp_open_burst(eng_, &op, 1);
    return op.ok && std::memcmp(p.data() + 8 + iv.size(), inner.data(), inner.size()) == 0;
  };
  EXPECT_TRUE(open(good, keys, seq));
  EXPECT_FALSE(open(good, wrong, seq));
  if (c.esn) {
    EXPECT_FALSE(open(good, keys, seq + (uint64_t{1} << 32)));  // the ESN high half is authenticated
  } else {
    EXPECT_TRUE(open(good, keys, seq + (uint64_t{1} << 32)));  // without ESN it is not part of anything
  }
  for (size_t at : {size_t{0}, size_t{5}, size_t{9}, good.size() / 2, good.size() - 17, good.size() - 1}) {
    Bytes t = good;
    t[at] ^= 0x10;
    EXPECT_FALSE(open(t, keys, seq)) << "bit flipped at " << at;
  }
  // A length the cipher cannot take is refused without touching the manager.
  Bytes bad = good;
  bad.pop_back();
  EXPECT_FALSE(open(bad, keys, seq));
}

INSTANTIATE_TEST_SUITE_P(Ciphers, EspCrypto,
                         ::testing::Values(Case{EspCipher::aes256_gcm16, false}, Case{EspCipher::aes256_gcm16, true},
                                           Case{EspCipher::aes256_cbc_hmac_sha256, false},
                                           Case{EspCipher::aes256_cbc_hmac_sha256, true}),
                         [](const auto& info) {
                           return std::string(info.param.cipher == EspCipher::aes256_gcm16 ? "gcm" : "cbc") +
                                  (info.param.esn ? "_esn" : "");
                         });

}  // namespace
}  // namespace wp
