// IKEv2 authentication by X.509 certificates (RFC 7296 § 2.15, § 3.6, § 3.7;
// RFC 7427 digital signatures), with OpenSSL; control thread only.
//
// A peer that authenticates by certificate has a CertAuth: our certificate
// (and any intermediates after it in the same PEM), our private key (RSA of
// at least 2048 bits, or ECDSA on P-256, P-384 or P-521) and the CA
// certificates we trust for the peer's certificate. Both ends sign with
// AUTH method 14 (RFC 7427: an AlgorithmIdentifier, then the signature):
// sha256WithRSAEncryption (PKCS#1 v1.5) for RSA keys, ecdsa-with-SHA256/384/512
// by curve for EC keys. We announce SIGNATURE_HASH_ALGORITHMS (SHA2-256, 384,
// 512) in IKE_SA_INIT so the peer does the same; the older methods 1 (RSA
// with SHA-1) and 9 (ECDSA P-256 raw) are refused. The peer's certificate
// must chain to one of our CAs (time checked), not be revoked by a CRL we
// hold (X509_V_FLAG_CRL_CHECK: with CRLs configured, the peer certificate's
// issuer must have a current one), and name its IKE identity
// (ike_identity.h, RFC 4945 § 3.1: a subjectAltName dNSName, iPAddress or
// rfc822Name, or the subject for a DN); our own local_id must name ours
// (checked when the config is validated).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/control/ike/ike_crypto.h"  // CSpan
#include "dataplane/control/ike/ike_identity.h"
#include "dataplane/control/ike/ike_message.h"

namespace wp::ike {

struct CertAuth;
using CertAuthPtr = std::shared_ptr<const CertAuth>;

inline constexpr uint8_t kAuthDigitalSignature = 14;  // RFC 7427
inline constexpr uint8_t kCertX509Signature = 4;       // CERT / CERTREQ encoding
inline constexpr uint16_t kNotifySignatureHashAlgorithms = 16431;

// Our credentials from PEM text: `cert_pem` holds our certificate first, then
// any intermediates; `key_pem` an unencrypted private key matching it;
// `ca_pem` one or more CA certificates; `crl_pem` none or more CRLs, each
// signed by one of those CAs (and checked against the peer's certificate
// from then on). nullptr with `error` set otherwise.
CertAuthPtr load_cert_auth(std::string_view cert_pem, std::string_view key_pem, std::string_view ca_pem,
                           std::string& error, std::string_view crl_pem = {});

// The subjectAltName dNSNames of our certificate.
std::vector<std::string> cert_dns_names(const CertAuth& a);
// Our certificate names `id` (as the peer will check it).
bool cert_names(const CertAuth& a, const Identity& id);
// Our certificate's subject, one line ("/C=CH/O=Example/CN=headend"), for errors.
std::string cert_subject(const CertAuth& a);
// How many CRLs `a` holds.
size_t crl_count(const CertAuth& a);

// CERT payloads of our certificate and its intermediates, in order.
std::vector<Payload> cert_payloads(const CertAuth& a);
// CERTREQ (X.509): the SHA-1 hashes of the SubjectPublicKeyInfo of each CA in
// `auths` (duplicates once), RFC 7296 § 3.7.
Payload cert_request(const std::vector<const CertAuth*>& auths);
// SIGNATURE_HASH_ALGORITHMS: SHA2-256, SHA2-384, SHA2-512 (RFC 7427 § 4).
Payload signature_hash_algorithms();

// What AUTH signs (RFC 7296 § 2.15): the sender's first message, the peer's
// nonce and prf(SK_p, the sender's ID payload body).
Bytes signed_octets(CSpan sk_p, CSpan real_message, CSpan peer_nonce, CSpan id_body);

// AUTH method 14 over `octets` with our key.
bool sign_auth(const CertAuth& a, CSpan octets, AuthPayload& out, std::string& error);

// The peer's CERT payloads in `in` (the first its own, further ones
// intermediates) must chain to one of `a`'s CAs, not be revoked, and name `id`;
// then `auth` (method 14) must verify over `octets` with that certificate's
// key. Otherwise the verdict says which, with a reason in `error` (no secret).
enum class CertVerdict : uint8_t {
  ok,
  unsupported_method,  // AUTH method not 14, or a signature algorithm we do not take
  bad_certificate,     // no CERT, not X.509, not chaining to our CAs, expired, without the identity, no current CRL
  bad_signature,       // the signature does not verify with the certificate's key
  revoked,             // a CRL of ours lists the certificate (X509_V_ERR_CERT_REVOKED)
};
CertVerdict verify_peer_auth(const CertAuth& a, const std::vector<Payload>& in, const Identity& id,
                             const AuthPayload& auth, CSpan octets, std::string& error);

}  // namespace wp::ike
