// Certificates made for a test with OpenSSL: a CA, intermediates and leaf
// certificates with subjectAltNames (dNSNames, or "email:..."/"IP:..."), RSA
// or ECDSA keys, and CRLs, as PEM text.
// Nothing is committed: every run makes its own keys.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <memory>
#include <string>
#include <vector>

namespace wp::testcert {

enum class KeyType { rsa2048, rsa1024, p256, p384 };

struct Issued {
  std::shared_ptr<EVP_PKEY> key;
  std::shared_ptr<X509> cert;
  std::string cert_pem, key_pem;
};

inline std::shared_ptr<EVP_PKEY> make_key(KeyType t) {
  EVP_PKEY* k = nullptr;
  switch (t) {
    case KeyType::rsa2048: k = EVP_RSA_gen(2048); break;
    case KeyType::rsa1024: k = EVP_RSA_gen(1024); break;
    case KeyType::p256: k = EVP_EC_gen("P-256"); break;
    case KeyType::p384: k = EVP_EC_gen("P-384"); break;
  }
  return {k, EVP_PKEY_free};
}

inline std::string pem_of(X509* x) {
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(b, x);
  char* p = nullptr;
  const long n = BIO_get_mem_data(b, &p);
  std::string s(p, static_cast<size_t>(n));
  BIO_free(b);
  return s;
}

inline std::string pem_of(EVP_PKEY* k) {
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(b, k, nullptr, nullptr, 0, nullptr, nullptr);
  char* p = nullptr;
  const long n = BIO_get_mem_data(b, &p);
  std::string s(p, static_cast<size_t>(n));
  BIO_free(b);
  return s;
}

inline void add_ext(X509* x, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, x, nullptr, nullptr, 0);
  X509_EXTENSION* e = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  X509_add_ext(x, e, -1);
  X509_EXTENSION_free(e);
}

// A certificate for `cn` (a CN, or a whole subject "O=Example, CN=site1")
// with `dns` as subjectAltNames (dNSNames, or as written when typed:
// "email:a@b", "IP:192.0.2.1"; none: no SAN), issued by `issuer` (nullptr:
// self-signed), valid from now + not_before_s for valid_s seconds.
inline Issued issue(const std::string& cn, const std::vector<std::string>& dns, KeyType t, const Issued* issuer,
                    bool ca, long not_before_s = -60, long valid_s = 86400) {
  static long serial = 1;
  Issued out;
  out.key = make_key(t);
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
  X509_gmtime_adj(X509_getm_notBefore(x), not_before_s);
  X509_gmtime_adj(X509_getm_notAfter(x), not_before_s + valid_s);
  X509_set_pubkey(x, out.key.get());
  X509_NAME* name = X509_get_subject_name(x);
  if (cn.find('=') == std::string::npos) {
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  } else {
    for (size_t b = 0; b < cn.size();) {
      size_t e = cn.find(',', b);
      if (e == std::string::npos) e = cn.size();
      std::string rdn = cn.substr(b, e - b);
      b = e + 1;
      rdn.erase(0, rdn.find_first_not_of(' '));
      const size_t eq = rdn.find('=');
      X509_NAME_add_entry_by_txt(name, rdn.substr(0, eq).c_str(), MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>(rdn.c_str() + eq + 1), -1, -1, 0);
    }
  }
  X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer->cert.get()) : name);
  X509* issuer_cert = issuer ? issuer->cert.get() : x;
  add_ext(x, issuer_cert, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  if (ca) add_ext(x, issuer_cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  add_ext(x, issuer_cert, NID_subject_key_identifier, "hash");
  if (!dns.empty()) {
    std::string san;
    for (const std::string& d : dns)
      san += (san.empty() ? "" : ",") + (d.find(':') == std::string::npos ? "DNS:" + d : d);
    add_ext(x, issuer_cert, NID_subject_alt_name, san.c_str());
  }
  X509_sign(x, issuer ? issuer->key.get() : out.key.get(), EVP_sha256());
  out.cert = {x, X509_free};
  out.cert_pem = pem_of(x);
  out.key_pem = pem_of(out.key.get());
  return out;
}

// A CRL of `ca` revoking `revoked`, issued now - 60 s, next update after
// next_update_s (negative: already past), PEM.
inline std::string crl_pem(const Issued& ca, const std::vector<const Issued*>& revoked, long next_update_s = 86400) {
  X509_CRL* crl = X509_CRL_new();
  X509_CRL_set_version(crl, 1);
  X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca.cert.get()));
  ASN1_TIME* t = ASN1_TIME_adj(nullptr, time(nullptr), 0, -60);
  X509_CRL_set1_lastUpdate(crl, t);
  ASN1_TIME_adj(t, time(nullptr), 0, next_update_s);
  X509_CRL_set1_nextUpdate(crl, t);
  for (const Issued* r : revoked) {
    X509_REVOKED* rev = X509_REVOKED_new();
    X509_REVOKED_set_serialNumber(rev, X509_get_serialNumber(r->cert.get()));
    ASN1_TIME_adj(t, time(nullptr), 0, -60);
    X509_REVOKED_set_revocationDate(rev, t);
    X509_CRL_add0_revoked(crl, rev);
  }
  ASN1_TIME_free(t);
  X509_CRL_sort(crl);
  X509_CRL_sign(crl, ca.key.get(), EVP_sha256());
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_X509_CRL(b, crl);
  char* p = nullptr;
  const long n = BIO_get_mem_data(b, &p);
  std::string s(p, static_cast<size_t>(n));
  BIO_free(b);
  X509_CRL_free(crl);
  return s;
}

}  // namespace wp::testcert
