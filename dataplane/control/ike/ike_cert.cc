// See ike_cert.h.
#include "dataplane/control/ike/ike_cert.h"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>

#include "dataplane/control/ike/ike_crypto.h"

namespace wp::ike {
namespace {

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct StoreFree {
  void operator()(X509_STORE* s) const { X509_STORE_free(s); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

// RFC 7427 Appendix A: the AlgorithmIdentifier DER encodings we sign and accept.
struct SigAlg {
  std::string_view name;
  std::array<uint8_t, 15> der;
  uint8_t der_len;
  int key_type;  // EVP_PKEY_RSA or EVP_PKEY_EC
  int md_nid;    // NID_sha256 ...
};
constexpr SigAlg kSigAlgs[] = {
    {"sha256WithRSAEncryption",
     {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00}, 15, EVP_PKEY_RSA,
     NID_sha256},
    {"sha384WithRSAEncryption",
     {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c, 0x05, 0x00}, 15, EVP_PKEY_RSA,
     NID_sha384},
    {"sha512WithRSAEncryption",
     {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d, 0x05, 0x00}, 15, EVP_PKEY_RSA,
     NID_sha512},
    {"ecdsa-with-SHA256", {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02}, 12, EVP_PKEY_EC,
     NID_sha256},
    {"ecdsa-with-SHA384", {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03}, 12, EVP_PKEY_EC,
     NID_sha384},
    {"ecdsa-with-SHA512", {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04}, 12, EVP_PKEY_EC,
     NID_sha512},
};

std::string openssl_error() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

std::vector<X509Ptr> read_certs(std::string_view pem) {
  std::vector<X509Ptr> out;
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (!bio) return out;
  while (X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) out.emplace_back(x);
  ERR_clear_error();  // the loop ends on "no start line"
  BIO_free(bio);
  return out;
}

Bytes der_of(X509* x) {
  unsigned char* p = nullptr;
  const int n = i2d_X509(x, &p);
  if (n <= 0) return {};
  Bytes b(p, p + n);
  OPENSSL_free(p);
  return b;
}

std::string ec_group(const EVP_PKEY* k) {
  char name[64] = {};
  size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof name, &len) != 1) return {};
  return std::string(name, len);
}

// The signature algorithm we sign with for our key (checked at load).
const SigAlg* our_alg(const EVP_PKEY* k) {
  const int type = EVP_PKEY_get_base_id(k);
  if (type == EVP_PKEY_RSA) return &kSigAlgs[0];
  if (type != EVP_PKEY_EC) return nullptr;
  const std::string g = ec_group(k);
  if (g == "prime256v1" || g == "P-256") return &kSigAlgs[3];
  if (g == "secp384r1" || g == "P-384") return &kSigAlgs[4];
  if (g == "secp521r1" || g == "P-521") return &kSigAlgs[5];
  return nullptr;
}

std::vector<std::string> dns_names(X509* x) {
  std::vector<std::string> out;
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x, NID_subject_alt_name, nullptr, nullptr));
  if (!names) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
    if (n->type != GEN_DNS) continue;
    const ASN1_STRING* s = n->d.dNSName;
    out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), ASN1_STRING_length(s));
  }
  GENERAL_NAMES_free(names);
  return out;
}

}  // namespace

struct CertAuth {
  std::vector<X509Ptr> chain;  // ours first, then intermediates
  std::unique_ptr<EVP_PKEY, PkeyFree> key;
  std::vector<X509Ptr> cas;
  std::unique_ptr<X509_STORE, StoreFree> store;
  std::vector<Bytes> ca_keyids;  // SHA-1 of each CA's SubjectPublicKeyInfo
  const SigAlg* alg = nullptr;
  size_t crls = 0;  // in `store`
};

namespace {

// The CRLs of `pem` into a's store, each signed by one of a's CAs; with at
// least one, the peer's certificate is checked against them (its issuer's
// CRL must be there and current: a missing or expired one fails closed).
bool load_crls(CertAuth& a, std::string_view pem, std::string& error) {
  if (pem.empty()) return true;
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (!bio) return error = "out of memory", false;
  bool ok = true;
  while (X509_CRL* crl = PEM_read_bio_X509_CRL(bio, nullptr, nullptr, nullptr)) {
    const bool signed_by_ca = std::any_of(a.cas.begin(), a.cas.end(), [&](const X509Ptr& ca) {
      return X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(ca.get())) == 0 &&
             X509_CRL_verify(crl, X509_get0_pubkey(ca.get())) == 1;
    });
    if (!signed_by_ca) {
      error = "CRL " + std::to_string(a.crls + 1) + " is not signed by one of the CA certificates";
      ok = false;
    } else if (X509_STORE_add_crl(a.store.get(), crl) != 1) {
      error = "cannot add a CRL: " + openssl_error();
      ok = false;
    }
    X509_CRL_free(crl);
    if (!ok) break;
    ++a.crls;
  }
  ERR_clear_error();  // the loop ends on "no start line"
  BIO_free(bio);
  if (ok && a.crls == 0) return error = "no PEM CRL (-----BEGIN X509 CRL-----) in the CRL file", false;
  if (ok) X509_STORE_set_flags(a.store.get(), X509_V_FLAG_CRL_CHECK);
  return ok;
}

}  // namespace

CertAuthPtr load_cert_auth(std::string_view cert_pem, std::string_view key_pem, std::string_view ca_pem,
                           std::string& error, std::string_view crl_pem) {
  auto a = std::make_shared<CertAuth>();
  a->chain = read_certs(cert_pem);
  if (a->chain.empty()) {
    error = "no PEM certificate in the certificate";
    return nullptr;
  }
  BIO* bio = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  a->key.reset(bio ? PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr) : nullptr);
  BIO_free(bio);
  if (!a->key) {
    ERR_clear_error();
    error = "no unencrypted PEM private key in the private key";
    return nullptr;
  }
  a->alg = our_alg(a->key.get());
  if (!a->alg) {
    error = "the private key must be RSA or ECDSA on P-256, P-384 or P-521";
    return nullptr;
  }
  if (EVP_PKEY_get_base_id(a->key.get()) == EVP_PKEY_RSA && EVP_PKEY_get_bits(a->key.get()) < 2048) {
    error = "the RSA key has " + std::to_string(EVP_PKEY_get_bits(a->key.get())) + " bits; at least 2048 needed";
    return nullptr;
  }
  if (X509_check_private_key(a->chain[0].get(), a->key.get()) != 1) {
    ERR_clear_error();
    error = "the private key does not belong to the certificate";
    return nullptr;
  }
  a->cas = read_certs(ca_pem);
  if (a->cas.empty()) {
    error = "no PEM certificate in the CA certificates";
    return nullptr;
  }
  a->store.reset(X509_STORE_new());
  for (const X509Ptr& ca : a->cas) {
    if (!a->store || X509_STORE_add_cert(a->store.get(), ca.get()) != 1) {
      error = "cannot add a CA certificate: " + openssl_error();
      return nullptr;
    }
    unsigned char* spki = nullptr;
    const int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(ca.get()), &spki);
    if (n <= 0) {
      error = "cannot encode a CA's public key: " + openssl_error();
      return nullptr;
    }
    Bytes id(SHA_DIGEST_LENGTH);
    SHA1(spki, static_cast<size_t>(n), id.data());
    OPENSSL_free(spki);
    a->ca_keyids.push_back(std::move(id));
  }
  return load_crls(*a, crl_pem, error) ? a : nullptr;
}

std::vector<std::string> cert_dns_names(const CertAuth& a) { return dns_names(a.chain[0].get()); }

bool cert_names(const CertAuth& a, const Identity& id) { return cert_names_identity(a.chain[0].get(), id); }

std::string cert_subject(const CertAuth& a) {
  char* line = X509_NAME_oneline(X509_get_subject_name(a.chain[0].get()), nullptr, 0);
  std::string out = line ? line : "";
  OPENSSL_free(line);
  return out;
}

size_t crl_count(const CertAuth& a) { return a.crls; }

std::vector<Payload> cert_payloads(const CertAuth& a) {
  std::vector<Payload> out;
  for (const X509Ptr& x : a.chain) out.push_back({PayloadType::cert, false, CertPayload{kCertX509Signature, der_of(x.get())}});
  return out;
}

Payload cert_request(const std::vector<const CertAuth*>& auths) {
  CertPayload req{kCertX509Signature, {}};
  std::vector<Bytes> seen;
  for (const CertAuth* a : auths)
    for (const Bytes& id : a->ca_keyids)
      if (std::find(seen.begin(), seen.end(), id) == seen.end()) {
        seen.push_back(id);
        req.data.insert(req.data.end(), id.begin(), id.end());
      }
  return {PayloadType::certreq, false, std::move(req)};
}

Payload signature_hash_algorithms() {
  // RFC 7427 § 7: 2 SHA2-256, 3 SHA2-384, 4 SHA2-512.
  return {PayloadType::notify, false,
          NotifyPayload{Protocol::none, {}, kNotifySignatureHashAlgorithms, Bytes{0, 2, 0, 3, 0, 4}}};
}

Bytes signed_octets(CSpan sk_p, CSpan real_message, CSpan peer_nonce, CSpan id_body) {
  const Bytes maced_id = prf(sk_p, id_body);
  Bytes out;
  out.reserve(real_message.size() + peer_nonce.size() + maced_id.size());
  out.insert(out.end(), real_message.begin(), real_message.end());
  out.insert(out.end(), peer_nonce.begin(), peer_nonce.end());
  out.insert(out.end(), maced_id.begin(), maced_id.end());
  return out;
}

bool sign_auth(const CertAuth& a, CSpan octets, AuthPayload& out, std::string& error) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t len = 0;
  Bytes sig;
  bool ok = ctx && EVP_DigestSignInit(ctx, nullptr, EVP_get_digestbynid(a.alg->md_nid), nullptr, a.key.get()) == 1 &&
            EVP_DigestSign(ctx, nullptr, &len, octets.data(), octets.size()) == 1;
  if (ok) {
    sig.resize(len);
    ok = EVP_DigestSign(ctx, sig.data(), &len, octets.data(), octets.size()) == 1;
    sig.resize(len);
  }
  EVP_MD_CTX_free(ctx);
  if (!ok) {
    error = "signing AUTH failed: " + openssl_error();
    return false;
  }
  out.method = kAuthDigitalSignature;
  out.data.assign(1, a.alg->der_len);
  out.data.insert(out.data.end(), a.alg->der.begin(), a.alg->der.begin() + a.alg->der_len);
  out.data.insert(out.data.end(), sig.begin(), sig.end());
  return true;
}

CertVerdict verify_peer_auth(const CertAuth& a, const std::vector<Payload>& in, const Identity& id,
                             const AuthPayload& auth, CSpan octets, std::string& error) {
  if (auth.method != kAuthDigitalSignature) {
    error = "AUTH method " + std::to_string(auth.method) + " (certificates need 14, RFC 7427 digital signature)";
    return CertVerdict::unsupported_method;
  }
  std::vector<X509Ptr> certs;
  for (const Payload& p : in) {
    const auto* c = std::get_if<CertPayload>(&p.body);
    if (p.type != PayloadType::cert || !c) continue;
    if (c->encoding != kCertX509Signature) {
      error = "CERT encoding " + std::to_string(c->encoding) + " (only X.509 signature, 4)";
      return CertVerdict::bad_certificate;
    }
    const unsigned char* d = c->data.data();
    X509* x = d2i_X509(nullptr, &d, static_cast<long>(c->data.size()));
    if (!x || d != c->data.data() + c->data.size()) {
      X509_free(x);
      ERR_clear_error();
      error = "a CERT payload is not one DER X.509 certificate";
      return CertVerdict::bad_certificate;
    }
    certs.emplace_back(x);
  }
  if (certs.empty()) {
    error = "no CERT payload (the peer authenticates by certificate)";
    return CertVerdict::bad_certificate;
  }
  STACK_OF(X509)* untrusted = sk_X509_new_null();
  for (size_t i = 1; untrusted && i < certs.size(); ++i) sk_X509_push(untrusted, certs[i].get());
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  bool chain_ok = ctx && untrusted && X509_STORE_CTX_init(ctx, a.store.get(), certs[0].get(), untrusted) == 1;
  bool revoked = false;
  if (chain_ok && X509_verify_cert(ctx) != 1) {
    const int e = X509_STORE_CTX_get_error(ctx);
    revoked = e == X509_V_ERR_CERT_REVOKED;
    error = std::string("certificate does not verify: ") + X509_verify_cert_error_string(e);
    chain_ok = false;
  } else if (!chain_ok) {
    error = "certificate check failed: " + openssl_error();
  }
  X509_STORE_CTX_free(ctx);
  sk_X509_free(untrusted);  // the certificates stay owned by `certs`
  ERR_clear_error();
  if (!chain_ok) return revoked ? CertVerdict::revoked : CertVerdict::bad_certificate;
  if (!cert_names_identity(certs[0].get(), id)) {
    error = "the certificate does not name " + identity_text({id.type, id.data}) +
            (id.type == kIdDerAsn1Dn ? " as its subject" : " as a subjectAltName");
    return CertVerdict::bad_certificate;
  }
  // AUTH data: length of the AlgorithmIdentifier, the AlgorithmIdentifier, the signature.
  const SigAlg* alg = nullptr;
  if (!auth.data.empty() && auth.data.size() > 1u + auth.data[0])
    for (const SigAlg& s : kSigAlgs)
      if (s.der_len == auth.data[0] && std::equal(s.der.begin(), s.der.begin() + s.der_len, auth.data.begin() + 1))
        alg = &s;
  if (!alg) {
    error = "AUTH's signature algorithm is not one of sha256/384/512WithRSAEncryption, ecdsa-with-SHA256/384/512";
    return CertVerdict::unsupported_method;
  }
  EVP_PKEY* pub = X509_get0_pubkey(certs[0].get());
  if (!pub || EVP_PKEY_get_base_id(pub) != alg->key_type) {
    error = std::string("AUTH is ") + std::string(alg->name) + " but the certificate's key is not of that type";
    return CertVerdict::bad_signature;
  }
  const size_t off = 1u + auth.data[0];
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  const bool ok = md && EVP_DigestVerifyInit(md, nullptr, EVP_get_digestbynid(alg->md_nid), nullptr, pub) == 1 &&
                  EVP_DigestVerify(md, auth.data.data() + off, auth.data.size() - off, octets.data(), octets.size()) == 1;
  EVP_MD_CTX_free(md);
  ERR_clear_error();
  if (!ok) error = std::string("the ") + std::string(alg->name) + " AUTH signature does not verify";
  return ok ? CertVerdict::ok : CertVerdict::bad_signature;
}

}  // namespace wp::ike
