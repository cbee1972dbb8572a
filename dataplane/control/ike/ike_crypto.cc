// IKEv2 cryptography with OpenSSL; see ike_crypto.h.
#include "dataplane/control/ike/ike_crypto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/dh.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>

#include <algorithm>
#include <cstring>

namespace wp::ike {
namespace {

Bytes cat(std::initializer_list<CSpan> parts) {
  Bytes out;
  for (CSpan p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

Bytes be64(uint64_t v) {
  Bytes b(8);
  for (int i = 7; i >= 0; --i, v >>= 8) b[static_cast<size_t>(i)] = static_cast<uint8_t>(v);
  return b;
}

// --- ciphers -------------------------------------------------------------------
struct CipherCtx {
  EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
  ~CipherCtx() { EVP_CIPHER_CTX_free(c); }
};

bool cbc(bool enc, CSpan key, CSpan iv, CSpan in, Bytes& out) {
  CipherCtx x;
  int n = 0, m = 0;
  out.resize(in.size());
  return x.c && EVP_CipherInit_ex(x.c, EVP_aes_256_cbc(), nullptr, key.data(), iv.data(), enc ? 1 : 0) == 1 &&
         EVP_CIPHER_CTX_set_padding(x.c, 0) == 1 &&
         EVP_CipherUpdate(x.c, out.data(), &n, in.data(), static_cast<int>(in.size())) == 1 &&
         EVP_CipherFinal_ex(x.c, out.data() + n, &m) == 1 && size_t(n + m) == in.size();
}

// AES-256-GCM with a 16-byte tag (RFC 5282): nonce = salt | IV.
bool gcm(bool enc, CSpan key, CSpan salt, CSpan iv, CSpan aad, CSpan in, Bytes& out, uint8_t* tag) {
  uint8_t nonce[12];
  std::memcpy(nonce, salt.data(), 4);
  std::memcpy(nonce + 4, iv.data(), 8);
  CipherCtx x;
  int n = 0, m = 0;
  out.resize(in.size());
  if (!x.c || EVP_CipherInit_ex(x.c, EVP_aes_256_gcm(), nullptr, nullptr, nullptr, enc ? 1 : 0) != 1 ||
      EVP_CIPHER_CTX_ctrl(x.c, EVP_CTRL_GCM_SET_IVLEN, 12, nullptr) != 1 ||
      EVP_CipherInit_ex(x.c, nullptr, nullptr, key.data(), nonce, -1) != 1 ||
      EVP_CipherUpdate(x.c, nullptr, &n, aad.data(), static_cast<int>(aad.size())) != 1 ||
      EVP_CipherUpdate(x.c, out.data(), &n, in.data(), static_cast<int>(in.size())) != 1)
    return false;
  if (!enc && EVP_CIPHER_CTX_ctrl(x.c, EVP_CTRL_GCM_SET_TAG, 16, tag) != 1) return false;
  if (EVP_CipherFinal_ex(x.c, out.data() + n, &m) != 1) return false;
  return !enc || EVP_CIPHER_CTX_ctrl(x.c, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1;
}

Bytes icv(CSpan integ_key, CSpan data) {
  Bytes full = prf(integ_key, data);  // HMAC-SHA256, truncated to 128 bits
  full.resize(16);
  return full;
}

// --- DH helpers ----------------------------------------------------------------------
enum class DhKind : uint8_t { modp, ecp, x25519 };
struct DhGroup {
  uint16_t id;
  std::string_view name;  // strongSwan's proposal keyword
  DhKind kind;
  const char* ossl;  // OpenSSL's group name (MODP, ECP)
  size_t pub_len;    // KE data bytes
};
constexpr DhGroup kDhGroups[] = {
    {kDhModp2048, "modp2048", DhKind::modp, "modp_2048", 256},  {kDhModp3072, "modp3072", DhKind::modp, "modp_3072", 384},
    {kDhModp4096, "modp4096", DhKind::modp, "modp_4096", 512},  {kDhEcp256, "ecp256", DhKind::ecp, "prime256v1", 64},
    {kDhEcp384, "ecp384", DhKind::ecp, "secp384r1", 96},        {kDhEcp521, "ecp521", DhKind::ecp, "secp521r1", 132},
    {kDhCurve25519, "curve25519", DhKind::x25519, "X25519", 32},
};

const DhGroup* dh_group(uint16_t id) {
  for (const DhGroup& g : kDhGroups)
    if (g.id == id) return &g;
  return nullptr;
}

EVP_PKEY* peer_key(const DhGroup& g, CSpan pub) {
  if (g.kind == DhKind::x25519)  // any 32 bytes are a u-coordinate; the zero secret is refused after derivation
    return EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, pub.data(), pub.size());
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  BIGNUM* bn = nullptr;
  Bytes point;
  bool ok = bld != nullptr;
  const char* type = g.kind == DhKind::modp ? "DH" : "EC";
  if (ok && g.kind == DhKind::modp) {
    bn = BN_bin2bn(pub.data(), static_cast<int>(pub.size()), nullptr);
    ok = bn && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, g.ossl, 0) &&
         OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PUB_KEY, bn);
  } else if (ok) {
    point = cat({Bytes{0x04}, pub});  // uncompressed point
    ok = OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, g.ossl, 0) &&
         OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size());
  }
  OSSL_PARAM* params = ok ? OSSL_PARAM_BLD_to_param(bld) : nullptr;
  EVP_PKEY* key = nullptr;
  EVP_PKEY_CTX* ctx = params ? EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr) : nullptr;
  if (ctx && EVP_PKEY_fromdata_init(ctx) == 1) EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params);
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  BN_free(bn);
  if (!key) return nullptr;
  // Range (DH: 1 < y < p-1) and on-curve (EC) checks before the value is used:
  // what RFC 6989 § 2.1 and § 2.3 ask of a recipient that never reuses its DH
  // private value (ours is fresh for every exchange, DhKey). OpenSSL's full
  // check adds, for MODP, y^q mod p == 1 (~1.5 ms of a 3.5 ms responder
  // tunnel, perf/README.md § IKE setup), which RFC 6989 requires only with
  // reused exponents; for the NIST curves (cofactor 1) it adds nothing.
  // Checked once: the derivation below does not check again.
  EVP_PKEY_CTX* check = EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr);
  const bool valid = check && EVP_PKEY_public_check_quick(check) == 1;
  EVP_PKEY_CTX_free(check);
  if (!valid) {
    EVP_PKEY_free(key);
    return nullptr;
  }
  return key;
}

}  // namespace

bool split_esp_group(std::string_view name, std::string& base, uint16_t& group) {
  base.clear();
  group = 0;
  size_t begin = 0;
  while (begin <= name.size()) {
    const size_t end = std::min(name.find('-', begin), name.size());
    const std::string_view part = name.substr(begin, end - begin);
    begin = end + 1;
    const uint16_t g = dh_group_by_name(part);
    if (g == 0 && (part.starts_with("modp") || part.starts_with("ecp") || part.starts_with("curve") ||
             part.starts_with("x25519") || part.starts_with("x448") || part.starts_with("ffdhe")))
      return false;  // a DH group, not one of ours
    if (g != 0) {
      if (group != 0) return false;
      group = g;
      continue;
    }
    if (!base.empty()) base += '-';
    base.append(part);
  }
  return true;
}

bool ike_suite_by_name(std::string_view name, IkeSuite& s) {
  std::string base;
  uint16_t group = 0;
  if (!split_esp_group(name, base, group) || group == 0) return false;
  if (base == "aes256-sha256")
    s = {kEncrAesCbc, 256, kIntegHmacSha256_128, kPrfHmacSha256, group};
  else if (base == "aes256gcm16-prfsha256")
    s = {kEncrAesGcm16, 256, 0, kPrfHmacSha256, group};
  else
    return false;
  return true;
}

std::string ike_suite_name(const IkeSuite& s) {
  const std::string_view group = dh_group_name(s.dh);
  if (group.empty() || s.encr_key_bits != 256 || s.prf != kPrfHmacSha256) return "unknown";
  if (s.encr == kEncrAesCbc && s.integ == kIntegHmacSha256_128) return "aes256-sha256-" + std::string(group);
  if (s.encr == kEncrAesGcm16 && s.integ == 0) return "aes256gcm16-prfsha256-" + std::string(group);
  return "unknown";
}

bool suite_from_proposal(const Proposal& p, IkeSuite& out) {
  IkeSuite s{};
  s.integ = 0;
  int seen[6] = {};
  for (const Transform& t : p.transforms) {
    const auto type = static_cast<uint8_t>(t.type);
    if (type < 1 || type > 4 || seen[type]++) return false;
    switch (t.type) {
      case TransformType::encr:
        if ((t.id != kEncrAesCbc && t.id != kEncrAesGcm16) || t.key_length != 256) return false;
        s.encr = t.id;
        s.encr_key_bits = t.key_length;
        break;
      case TransformType::prf:
        if (t.id != kPrfHmacSha256) return false;
        s.prf = t.id;
        break;
      case TransformType::integ:
        if (t.id != kIntegHmacSha256_128) return false;
        s.integ = t.id;
        break;
      case TransformType::dh:
        if (dh_public_len(t.id) == 0) return false;
        s.dh = t.id;
        break;
      default: return false;
    }
  }
  // ENCR, PRF and DH always; INTEG exactly when the cipher is not AEAD.
  if (!seen[1] || !seen[2] || !seen[4] || (seen[3] != 0) == s.aead()) return false;
  out = s;
  return true;
}

Bytes prf(CSpan key, CSpan data) {
  Bytes out(32);
  unsigned len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), data.data(), data.size(), out.data(), &len);
  out.resize(len);
  return out;
}

Bytes prf_plus(CSpan key, CSpan seed, size_t len) {
  Bytes out, t;
  for (uint8_t i = 1; out.size() < len; ++i) {  // at most 255 blocks (§ 2.13)
    t = prf(key, cat({t, seed, Bytes{i}}));
    out.insert(out.end(), t.begin(), t.end());
    if (i == 255) break;
  }
  out.resize(std::min(len, out.size()));
  return out;
}

void wipe(Bytes& b) {
  if (!b.empty()) OPENSSL_cleanse(b.data(), b.size());
  b.clear();
}

IkeKeys::~IkeKeys() {
  for (Bytes* b : {&skeyseed, &sk_d, &sk_ai, &sk_ar, &sk_ei, &sk_er, &sk_pi, &sk_pr}) wipe(*b);
}

namespace {
// SK_d/ai/ar/ei/er/pi/pr = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr) (§ 2.14).
void split_ike_keys(const IkeSuite& s, IkeKeys& k, CSpan ni, CSpan nr, uint64_t spi_i, uint64_t spi_r);
}  // namespace

IkeKeys derive_ike_keys(const IkeSuite& s, CSpan ni, CSpan nr, CSpan g_ir, uint64_t spi_i, uint64_t spi_r) {
  IkeKeys k;
  k.skeyseed = prf(cat({ni, nr}), g_ir);
  split_ike_keys(s, k, ni, nr, spi_i, spi_r);
  return k;
}

IkeKeys derive_rekeyed_ike_keys(const IkeSuite& s, CSpan old_sk_d, CSpan ni, CSpan nr, CSpan g_ir, uint64_t spi_i,
                                uint64_t spi_r) {
  IkeKeys k;
  Bytes in = cat({g_ir, ni, nr});
  k.skeyseed = prf(old_sk_d, in);
  wipe(in);
  split_ike_keys(s, k, ni, nr, spi_i, spi_r);
  return k;
}

namespace {
void split_ike_keys(const IkeSuite& s, IkeKeys& k, CSpan ni, CSpan nr, uint64_t spi_i, uint64_t spi_r) {
  const size_t pl = s.prf_len(), il = s.integ_key_len(), el = s.encr_key_len();
  Bytes km = prf_plus(k.skeyseed, cat({ni, nr, be64(spi_i), be64(spi_r)}), 3 * pl + 2 * il + 2 * el);
  size_t off = 0;
  auto take = [&](size_t n) {
    Bytes b(km.begin() + static_cast<long>(off), km.begin() + static_cast<long>(off + n));
    off += n;
    return b;
  };
  k.sk_d = take(pl);
  k.sk_ai = take(il);
  k.sk_ar = take(il);
  k.sk_ei = take(el);
  k.sk_er = take(el);
  k.sk_pi = take(pl);
  k.sk_pr = take(pl);
  wipe(km);
}
}  // namespace

Bytes child_keymat(CSpan sk_d, CSpan ni, CSpan nr, size_t len, CSpan g_ir_new) {
  return prf_plus(sk_d, cat({g_ir_new, ni, nr}), len);
}

Bytes psk_auth(CSpan psk, CSpan sk_p, CSpan real_message, CSpan peer_nonce, CSpan id_body) {
  static constexpr char kPad[] = "Key Pad for IKEv2";
  Bytes key = prf(psk, CSpan(reinterpret_cast<const uint8_t*>(kPad), sizeof kPad - 1));
  Bytes auth = prf(key, cat({real_message, peer_nonce, prf(sk_p, id_body)}));
  wipe(key);
  return auth;
}

bool equal_ct(CSpan a, CSpan b) { return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0; }

std::string_view sk_error_name(SkError e) {
  static constexpr std::string_view kNames[] = {"ok", "no_sk", "too_short", "bad_icv", "bad_padding", "crypto"};
  return kNames[static_cast<size_t>(e)];
}

SkError open_sk(const IkeSuite& s, CSpan enc_key, CSpan integ_key, CSpan datagram, const Message& msg, Bytes& plain) {
  const SkPayload* sk = msg.get<SkPayload>(PayloadType::sk);
  if (!sk || sk->body.size() > datagram.size()) return SkError::no_sk;
  const size_t body_off = datagram.size() - sk->body.size();  // SK is the last payload
  const CSpan body = datagram.subspan(body_off);
  const size_t iv = s.iv_len(), tag = s.icv_len();
  if (body.size() < iv + tag + 1) return SkError::too_short;
  const CSpan ct = body.subspan(iv, body.size() - iv - tag);
  const CSpan got_tag = body.subspan(body.size() - tag);
  if (s.aead()) {
    Bytes t(got_tag.begin(), got_tag.end());
    if (!gcm(false, enc_key.first(32), enc_key.subspan(32, 4), body.first(iv), datagram.first(body_off), ct, plain,
             t.data()))
      return SkError::bad_icv;  // tag mismatch (or a cipher failure, which looks the same)
  } else {
    if (!equal_ct(icv(integ_key, datagram.first(datagram.size() - tag)), got_tag)) return SkError::bad_icv;
    if (ct.size() % 16 != 0) return SkError::too_short;
    if (!cbc(false, enc_key, body.first(iv), ct, plain)) return SkError::crypto;
  }
  const size_t pad = plain.empty() ? 0 : plain.back();
  if (plain.empty() || pad + 1 > plain.size()) return SkError::bad_padding;
  plain.resize(plain.size() - pad - 1);
  return SkError::ok;
}

Bytes seal_sk(const IkeSuite& s, CSpan enc_key, CSpan integ_key, const Header& header, PayloadType first_inner,
              CSpan inner, CSpan iv) {
  const size_t block = s.aead() ? 1 : 16;
  const size_t pad = (block - (inner.size() + 1) % block) % block;
  Bytes plain = cat({inner});
  plain.resize(plain.size() + pad, 0);
  plain.push_back(static_cast<uint8_t>(pad));
  const size_t ct_len = plain.size(), sk_len = kGenericHeaderLen + s.iv_len() + ct_len + s.icv_len();
  Message m;
  m.header = header;
  m.payloads = {{PayloadType::sk, false, SkPayload{first_inner, Bytes(sk_len - kGenericHeaderLen, 0)}}};
  Bytes out = encode_message(m);  // header and SK header with the final lengths; body filled below
  const size_t body_off = out.size() - (sk_len - kGenericHeaderLen);
  std::copy(iv.begin(), iv.end(), out.begin() + static_cast<long>(body_off));
  Bytes ct;
  uint8_t tag[16] = {};
  if (s.aead()) {
    gcm(true, enc_key.first(32), enc_key.subspan(32, 4), iv, CSpan(out).first(body_off), plain, ct, tag);
  } else {
    cbc(true, enc_key, iv, plain, ct);
  }
  std::copy(ct.begin(), ct.end(), out.begin() + static_cast<long>(body_off + s.iv_len()));
  const size_t tag_off = out.size() - s.icv_len();
  if (s.aead()) {
    std::copy(tag, tag + 16, out.begin() + static_cast<long>(tag_off));
  } else {
    const Bytes v = icv(integ_key, CSpan(out).first(tag_off));
    std::copy(v.begin(), v.end(), out.begin() + static_cast<long>(tag_off));
  }
  return out;
}

std::string_view dh_group_name(uint16_t group) {
  const DhGroup* g = dh_group(group);
  return g ? g->name : std::string_view();
}

uint16_t dh_group_by_name(std::string_view name) {
  for (const DhGroup& g : kDhGroups)
    if (g.name == name) return g.id;
  return 0;
}

std::string dh_group_names() {
  std::string s;
  for (const DhGroup& g : kDhGroups) s += (s.empty() ? "" : ", ") + std::string(g.name);
  return s;
}

size_t dh_public_len(uint16_t group) {
  const DhGroup* g = dh_group(group);
  return g ? g->pub_len : 0;
}

std::unique_ptr<DhKey> DhKey::generate(uint16_t group, std::string& error) {
  const DhGroup* g = dh_group(group);
  if (!g) {
    error = "DH group " + std::to_string(group) + " is not supported (" + dh_group_names() + " are)";
    return nullptr;
  }
  std::unique_ptr<DhKey> k(new DhKey());
  k->group_ = group;
  EVP_PKEY* pkey = nullptr;
  if (g->kind == DhKind::modp) {
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "DH", nullptr);
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char*>(g->ossl), 0),
                           OSSL_PARAM_construct_end()};
    if (ctx && EVP_PKEY_keygen_init(ctx) == 1 && EVP_PKEY_CTX_set_params(ctx, params) == 1)
      EVP_PKEY_generate(ctx, &pkey);
    EVP_PKEY_CTX_free(ctx);
  } else if (g->kind == DhKind::ecp) {
    pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", g->ossl);
  } else {
    pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519");
  }
  if (!pkey) {
    error = "DH key generation failed for group " + std::to_string(group);
    return nullptr;
  }
  k->pkey_ = pkey;
  if (g->kind == DhKind::modp) {
    BIGNUM* pub = nullptr;
    if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, &pub) == 1) {
      k->public_.resize(g->pub_len);
      BN_bn2binpad(pub, k->public_.data(), static_cast<int>(g->pub_len));
    }
    BN_free(pub);
  } else if (g->kind == DhKind::ecp) {
    uint8_t point[1 + 132];
    size_t len = 0;
    if (EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point, &len) == 1 &&
        len == 1 + g->pub_len && point[0] == 0x04)
      k->public_.assign(point + 1, point + len);
  } else {
    size_t len = g->pub_len;
    k->public_.resize(len);
    if (EVP_PKEY_get_raw_public_key(pkey, k->public_.data(), &len) != 1 || len != g->pub_len) k->public_.clear();
  }
  if (k->public_.size() != g->pub_len) {
    error = "DH public value not available for group " + std::to_string(group);
    return nullptr;
  }
  return k;
}

DhKey::~DhKey() { EVP_PKEY_free(static_cast<EVP_PKEY*>(pkey_)); }

bool DhKey::shared_secret(CSpan peer_public, Bytes& out, std::string& error) const {
  const DhGroup& g = *dh_group(group_);
  if (peer_public.size() != g.pub_len) {
    error = "KE data of " + std::to_string(peer_public.size()) + " bytes for group " + std::to_string(group_) +
            " (expected " + std::to_string(g.pub_len) + ")";
    return false;
  }
  EVP_PKEY* peer = peer_key(g, peer_public);
  if (!peer) {
    ERR_clear_error();
    error = "the peer's KE data is not a valid public value of group " + std::to_string(group_);
    return false;
  }
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_pkey(nullptr, static_cast<EVP_PKEY*>(pkey_), nullptr);
  size_t len = 0;
  bool ok = ctx && EVP_PKEY_derive_init(ctx) == 1 &&
            (g.kind != DhKind::modp || EVP_PKEY_CTX_set_dh_pad(ctx, 1) == 1) &&
            EVP_PKEY_derive_set_peer_ex(ctx, peer, 0) == 1 && EVP_PKEY_derive(ctx, nullptr, &len) == 1;
  if (ok) {
    out.resize(len);
    ok = EVP_PKEY_derive(ctx, out.data(), &len) == 1;
    out.resize(len);
  }
  EVP_PKEY_CTX_free(ctx);
  EVP_PKEY_free(peer);
  ERR_clear_error();
  // RFC 8031 § 2.3: a low-order point gives the all-zero secret (OpenSSL's
  // X25519 fails the derivation itself then; checked here whatever it does).
  if (ok && g.kind == DhKind::x25519 && std::all_of(out.begin(), out.end(), [](uint8_t b) { return b == 0; })) {
    wipe(out);
    error = "the peer's Curve25519 value gives an all-zero shared secret";
    return false;
  }
  if (!ok) {
    wipe(out);
    error = g.kind == DhKind::x25519 ? "the peer's Curve25519 value gives an all-zero shared secret (or derivation failed)"
                                     : "DH derivation failed for group " + std::to_string(group_);
  }
  return ok;
}

}  // namespace wp::ike
