// REST clients and roles; see rest_auth.h.
#include "mgmt/rest_auth.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <array>
#include <memory>

namespace wp::mgmt {
namespace {

using Digest = std::array<unsigned char, SHA256_DIGEST_LENGTH>;

Digest digest(std::string_view s) {
  Digest d{};
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d.data());
  return d;
}

// The client whose token is `presented`, or null; every client is compared.
const RestClient* match(const RestAccess& access, std::string_view presented) {
  const Digest p = digest(presented);
  const RestClient* found = nullptr;
  for (const RestClient& c : access.clients) {
    const Digest t = digest(c.token);
    const bool same = CRYPTO_memcmp(p.data(), t.data(), p.size()) == 0;
    if (same) found = &c;
  }
  return found;
}

RestRole role_of(const std::string& role) { return role == "read-write" ? RestRole::read_write : RestRole::read_only; }

}  // namespace

RestAccess RestAccess::from_config(const config::Mgmt& m) {
  RestAccess a;
  if (!m.token().empty()) a.clients.push_back({"token", m.token(), RestRole::read_write});
  for (const config::MgmtToken& t : m.tokens()) a.clients.push_back({t.name(), t.token(), role_of(t.role())});
  return a;
}

std::string client_subject(const SSL* ssl) {
  if (!ssl) return "";
  struct X509Free {
    void operator()(X509* x) const { X509_free(x); }
  };
  std::unique_ptr<X509, X509Free> cert(SSL_get1_peer_certificate(ssl));
  if (!cert) return "";
  char* text = X509_NAME_oneline(X509_get_subject_name(cert.get()), nullptr, 0);
  if (!text) return "";
  std::string subject(text);
  OPENSSL_free(text);
  return subject;
}

AuthResult authenticate(const RestAccess& access, std::string_view authorization, bool write, const SSL* ssl) {
  AuthResult r;
  const std::string subject = client_subject(ssl);
  const std::string cert = subject.empty() ? "" : " (" + subject + ")";
  if (access.open()) {
    r.outcome = AuthOutcome::ok;
    r.who = (subject.empty() ? "anonymous" : subject);
    return r;
  }
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.substr(0, kBearer.size()) != kBearer) return r;
  const RestClient* c = match(access, authorization.substr(kBearer.size()));
  if (!c) {
    r.outcome = AuthOutcome::wrong;
    r.who = subject;
    return r;
  }
  r.who = c->name + cert;
  r.outcome = write && c->role != RestRole::read_write ? AuthOutcome::read_only : AuthOutcome::ok;
  return r;
}

std::shared_ptr<const RestAccess> LiveAccess::get(uint64_t version, const std::function<config::Mgmt()>& mgmt) {
  std::lock_guard lock(mu_);
  if (version != version_) {
    access_ = std::make_shared<const RestAccess>(RestAccess::from_config(mgmt()));
    version_ = version;
  }
  return access_;
}

}  // namespace wp::mgmt
