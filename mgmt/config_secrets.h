// Secret fields of the schemas: the ones marked `[(waypoint.secret) = true]`
// (proto/options.proto). Everything that shows a config or a config error to
// someone outside the router goes through here, so marking a field once is
// enough: GET /api/v1/config redacts it, errors from the file, the REST API
// and Redis never quote its value, and logs print the redacted form.
// Found by protobuf reflection, so a new marked field needs no code here.
#pragma once

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <string>
#include <vector>

#include "mgmt/config_load.h"

namespace wp::mgmt {

inline constexpr const char* kRedacted = "<redacted>";

bool is_secret(const google::protobuf::FieldDescriptor* f);

// Every non-empty secret string or bytes value anywhere in `m` becomes
// "<redacted>" (empty ones stay empty: "no key" is not a secret).
void redact_secrets(google::protobuf::Message& m);

// The non-empty secret values set anywhere in `m`.
std::vector<std::string> secret_values(const google::protobuf::Message& m);

// `text` with every occurrence of each of `secrets` replaced by "<redacted>".
std::string scrub(std::string text, const std::vector<std::string>& secrets);

// Scrubs every error message (and path) of the secrets set in `m`.
void scrub_errors(const google::protobuf::Message& m, std::vector<ConfigError>& errors);

}  // namespace wp::mgmt
