// Configuration loading: YAML/JSON text -> config::Config, then validation.
//
// The YAML document is mapped onto proto/config.proto by protobuf reflection:
// every mapping key must name a field of the message at that point (unknown
// keys are errors), scalars must parse as the field's type, sequences map to
// repeated fields. Validation (config_validate.cc) then checks values and
// cross-references. Every error carries the path of the offending node in the
// user's words, e.g. `services[1].prefixes[0]: "10.0.0/33" is not a CIDR`, and
// all errors are reported at once (parse -> validate -> build snapshot -> commit;
// docs/architecture.md § Configuration).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config.pb.h"

// The schema's package is waypoint.config; this header (and its users) spell
// it config::Config inside namespace wp.
namespace wp {
namespace config = ::waypoint::config;
}  // namespace wp

namespace wp::mgmt {

struct ConfigError {
  std::string path;     // "services[1].prefixes[0]", "" for document-level errors
  std::string message;  // "\"10.0.0/33\" is not a CIDR"
  std::string to_string() const { return path.empty() ? message : path + ": " + message; }
};

// Why a document was refused before it was mapped (the REST API answers
// 413 for too_large, 422 otherwise).
enum class YamlRefusal { none, too_large, aliases };

struct ConfigResult {
  config::Config config;
  std::vector<ConfigError> errors;
  YamlRefusal refusal = YamlRefusal::none;
  bool ok() const { return errors.empty(); }
  std::string error_text() const;  // one "path: message" per line
};

// Bounds on a YAML document (docs/security.md § Management plane). Anchors
// and aliases let a few bytes stand for exponentially many nodes (an alias
// bomb): text from the network (REST, Redis) may not use them at all, and
// every document, a file's included, may map at most max_nodes nodes
// (aliases expanded) nested at most max_depth deep.
struct YamlLimits {
  bool allow_aliases = false;
  size_t max_nodes = 200000;
  size_t max_depth = 32;
  static YamlLimits file() { return {true, 200000, 32}; }
};

// Maps YAML (JSON is YAML) onto the schema, then validates. Never throws.
// The default limits are those for text from the network.
ConfigResult load_config_text(std::string_view text, const YamlLimits& limits = {});
// Whether `s` is UTF-8 as protobuf requires of string fields (RFC 3629 § 4:
// no overlong forms, surrogates or code points past U+10FFFF).
bool valid_utf8(std::string_view s);
// `s` as it can be shown in an error: bytes that do not form UTF-8 as \xNN (never dropped,
// which could join what they split, a request's quoted path for one).
std::string utf8_shown(const std::string& s);
// Reads the file (error if unreadable), then maps it with
// YamlLimits::file(). key_file references are resolved relative to the
// file's directory.
ConfigResult load_config_file(const std::string& path);

// Semantic validation of an already-mapped config (shared by file, REST, Redis).
std::vector<ConfigError> validate_config(const config::Config& cfg);

}  // namespace wp::mgmt
