// Who may use the REST API (docs/security.md § Management plane).
//
// Clients are named bearer tokens (mgmt.tokens, plus mgmt.token as the
// read-write client "token"), each read-only (GET/HEAD) or read-write
// (anything). A presented token is compared with every configured one in
// constant time (SHA-256 of both, CRYPTO_memcmp, no early exit), so response
// timing says nothing about how much of a guess was right. With mgmt.client_ca
// the TLS layer has already verified a client certificate; its subject is
// part of the name the audit log records. No token configured (a loopback
// listener, the validator allows it only there) means every client may do
// everything, as "anonymous".
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "mgmt/config_load.h"

typedef struct ssl_st SSL;

namespace wp::mgmt {

enum class RestRole { read_only, read_write };

struct RestClient {
  std::string name;
  std::string token;
  RestRole role = RestRole::read_only;
};

struct RestAccess {
  std::vector<RestClient> clients;
  static RestAccess from_config(const config::Mgmt& m);
  bool open() const { return clients.empty(); }
};

// The clients of the running config, for a server whose tokens follow live
// commits: rebuilt from mgmt.token/tokens the first time a request sees a
// new config version, so a pushed token works (and a removed one stops
// working) from the next request on, without a restart.
class LiveAccess {
 public:
  LiveAccess(RestAccess initial, uint64_t version)
      : access_(std::make_shared<const RestAccess>(std::move(initial))), version_(version) {}
  // `mgmt` gives the running config's mgmt section when `version` is new.
  std::shared_ptr<const RestAccess> get(uint64_t version, const std::function<config::Mgmt()>& mgmt);

 private:
  std::mutex mu_;
  std::shared_ptr<const RestAccess> access_;
  uint64_t version_;
};

enum class AuthOutcome { ok, missing, wrong, read_only };

struct AuthResult {
  AuthOutcome outcome = AuthOutcome::missing;
  std::string who;  // client name (and certificate subject) when known
};

// `authorization` is the Authorization header; `write` says the method
// changes something (anything but GET/HEAD); `ssl` the connection (or null).
AuthResult authenticate(const RestAccess& access, std::string_view authorization, bool write, const SSL* ssl);

// The verified client certificate's subject ("/CN=alice/O=example"), "" if none.
std::string client_subject(const SSL* ssl);

}  // namespace wp::mgmt
