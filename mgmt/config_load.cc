// Configuration loading: YAML (or JSON) text -> config::Config -> validation.
//
// The document is mapped onto proto/config.proto generically with protobuf
// reflection, so a field added to the schema is accepted in files with no
// change here: YAML mappings are messages, sequences are repeated fields,
// scalars are string/integer/bool/enum fields. Anything the schema does not
// name is an error with the path of the node (`services[1]: unknown key
// "prefix" (did you mean "prefixes"?)`), and mapping carries on past an error
// so the user sees every problem in one run (parse -> validate, all
// errors at once). yaml-cpp reports syntax errors by exception; they are
// caught here and turned into a line/column error, because the control path
// returns errors as values and must never throw into its caller.
// load_config_file also resolves peers[].key_file relative to the config
// file's directory, so a config and its key files can move together.
#include "mgmt/config_load.h"

#include "mgmt/config_secrets.h"

#include "dataplane/util/edit_distance.h"

#include <google/protobuf/descriptor.h>
#include <openssl/crypto.h>
#include <google/protobuf/message.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <optional>
#include <set>
#include <sstream>

namespace wp::mgmt {
namespace {

namespace pb = google::protobuf;

// Larger than any sane config; stops `--config /dev/zero` from eating memory.
constexpr size_t kMaxConfigBytes = 16 << 20;
constexpr size_t kMaxKeyFileBytes = 64 << 10;
constexpr size_t kMaxCrlFileBytes = 8 << 20;
constexpr size_t kMaxShownKeyChars = 32;

std::string field_path(const std::string& parent, const std::string& name) {
  return parent.empty() ? name : parent + "." + name;
}

std::string index_path(const std::string& parent, size_t i) { return parent + "[" + std::to_string(i) + "]"; }

const char* kind_name(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Sequence: return "a sequence";
    case YAML::NodeType::Scalar: return "a scalar";
    default: return "nothing";
  }
}

// The field name closest to `key`, if close enough to be a likely typo.
std::optional<std::string> closest_field(const pb::Descriptor* d, const std::string& key) {
  std::optional<std::string> best;
  size_t best_dist = 3;
  for (int i = 0; i < d->field_count(); ++i) {
    const std::string& name = d->field(i)->name();
    size_t dist = util::edit_distance(key, name);
    if (dist < best_dist && dist < std::max(key.size(), name.size())) best = name, best_dist = dist;
  }
  return best;
}

std::string shown(const std::string& s) { return utf8_shown(s); }

std::optional<bool> parse_bool(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  if (text == "true" || text == "yes" || text == "on") return true;
  if (text == "false" || text == "no" || text == "off") return false;
  return std::nullopt;
}

// Maps one YAML document onto a message tree, appending to `errors`.
// Every node visited costs one unit of `budget`: aliases share nodes in
// yaml-cpp's tree but are walked once per use, so the walk, not the text,
// is what must be bounded. Out of budget, mapping stops with one error.
class YamlMapper {
 public:
  YamlMapper(std::vector<ConfigError>& errors, size_t budget) : errors_(errors), budget_(budget) {}
  bool exhausted() const { return exhausted_; }

  void map_message(const YAML::Node& node, pb::Message& msg, const std::string& path) {
    if (!node.IsMap()) return error(path, std::string("expected a mapping, got ") + kind_name(node));
    std::set<std::string> seen;
    for (const auto& kv : node) {
      if (!spend(path)) return;
      if (!kv.first.IsScalar()) {
        error(path, "mapping keys must be plain names");
        continue;
      }
      const std::string& key = kv.first.Scalar();
      // Errors quote keys and values, and their paths and messages are proto3
      // strings the REST API renders as JSON: what is not UTF-8 is not quoted.
      if (!valid_utf8(key)) {
        error(path, "mapping key is not valid UTF-8 (not shown)");
        continue;
      }
      if (!seen.insert(key).second) {
        error(field_path(path, key), "duplicate key");
        continue;
      }
      const pb::FieldDescriptor* f = msg.GetDescriptor()->FindFieldByName(key);
      if (!f) {
        unknown_key(msg.GetDescriptor(), key, path);
        continue;
      }
      // `key:` with no value (or ~/null) leaves the field at its default.
      if (kv.second.IsNull()) continue;
      if (f->is_repeated()) {
        map_repeated(kv.second, msg, f, field_path(path, key));
      } else {
        map_value(kv.second, msg, f, field_path(path, key));
      }
    }
  }

 private:
  void error(std::string path, std::string message) { errors_.push_back({std::move(path), std::move(message)}); }

  bool spend(const std::string& path) {
    if (exhausted_) return false;
    if (budget_-- > 0) return true;
    exhausted_ = true;
    error(path, "the document maps to too many nodes (aliases expanded); stopped here");
    return false;
  }

  void unknown_key(const pb::Descriptor* d, const std::string& key, const std::string& path) {
    // A pair key pasted one indentation level off becomes a mapping key; the
    // error must not print the secret then either. No field name is this long.
    if (key.size() > kMaxShownKeyChars) return error(path, "unknown key (too long to be a field name, not shown)");
    std::string message = "unknown key \"" + key + "\"";
    if (auto hint = closest_field(d, key)) message += " (did you mean \"" + *hint + "\"?)";
    error(path, message);
  }

  void map_repeated(const YAML::Node& node, pb::Message& msg, const pb::FieldDescriptor* f, const std::string& path) {
    if (!node.IsSequence()) return error(path, std::string("expected a sequence, got ") + kind_name(node));
    size_t i = 0;
    for (const YAML::Node& item : node) {
      if (!spend(path)) return;
      if (item.IsNull()) {
        error(index_path(path, i++), "empty entry");
        continue;
      }
      map_value(item, msg, f, index_path(path, i++));
    }
  }

  // One value for `f`: set for a singular field, appended for a repeated one.
  void map_value(const YAML::Node& node, pb::Message& msg, const pb::FieldDescriptor* f, const std::string& path) {
    const pb::Reflection* r = msg.GetReflection();
    if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
      pb::Message* sub = f->is_repeated() ? r->AddMessage(&msg, f) : r->MutableMessage(&msg, f);
      return map_message(node, *sub, path);
    }
    if (!node.IsScalar()) return error(path, std::string("expected a scalar value, got ") + kind_name(node));
    set_scalar(node.Scalar(), msg, f, path);
  }

  void set_scalar(const std::string& text, pb::Message& msg, const pb::FieldDescriptor* f, const std::string& path) {
    const pb::Reflection* r = msg.GetReflection();
    const bool rep = f->is_repeated();
    using FD = pb::FieldDescriptor;
    // Every kind of value: errors below quote the text.
    if (!valid_utf8(text)) return error(path, "not valid UTF-8 text");
    switch (f->cpp_type()) {
      case FD::CPPTYPE_STRING: return rep ? r->AddString(&msg, f, text) : r->SetString(&msg, f, text);
      case FD::CPPTYPE_BOOL:
        if (auto b = parse_bool(text)) return rep ? r->AddBool(&msg, f, *b) : r->SetBool(&msg, f, *b);
        return error(path, "\"" + text + "\" is not a boolean (true/false, yes/no, on/off)");
      case FD::CPPTYPE_UINT32:
        if (auto v = integer<uint32_t>(text, path)) rep ? r->AddUInt32(&msg, f, *v) : r->SetUInt32(&msg, f, *v);
        return;
      case FD::CPPTYPE_UINT64:
        if (auto v = integer<uint64_t>(text, path)) rep ? r->AddUInt64(&msg, f, *v) : r->SetUInt64(&msg, f, *v);
        return;
      case FD::CPPTYPE_INT32:
        if (auto v = integer<int32_t>(text, path)) rep ? r->AddInt32(&msg, f, *v) : r->SetInt32(&msg, f, *v);
        return;
      case FD::CPPTYPE_INT64:
        if (auto v = integer<int64_t>(text, path)) rep ? r->AddInt64(&msg, f, *v) : r->SetInt64(&msg, f, *v);
        return;
      case FD::CPPTYPE_ENUM:
        if (auto* e = f->enum_type()->FindValueByName(text))
          return rep ? r->AddEnum(&msg, f, e) : r->SetEnum(&msg, f, e);
        return error(path, "\"" + text + "\" is not one of the values of " + f->enum_type()->name());
      default: return error(path, "fields of this type cannot be set from a config file");
    }
  }

  // Decimal integer in T's range; "+5", "0x10" and "1e3" are rejected so a
  // value means exactly what it looks like.
  template <typename T>
  std::optional<T> integer(const std::string& text, const std::string& path) {
    const bool negative = !text.empty() && text[0] == '-';
    const char* begin = text.data() + (negative ? 1 : 0);
    const char* end = text.data() + text.size();
    uint64_t magnitude = 0;
    auto [stop, ec] = std::from_chars(begin, end, magnitude);
    if (begin == end || stop != end || (ec != std::errc() && ec != std::errc::result_out_of_range)) {
      error(path, "\"" + text + "\" is not a number");
      return std::nullopt;
    }
    const bool fits =
        ec == std::errc() && (negative ? magnitude <= uint64_t(0) - uint64_t(std::numeric_limits<T>::min())
                                       : magnitude <= uint64_t(std::numeric_limits<T>::max()));
    if (!fits) {
      error(path, text + " is out of range (" + std::to_string(std::numeric_limits<T>::min()) + ".." +
                      std::to_string(std::numeric_limits<T>::max()) + ")");
      return std::nullopt;
    }
    return negative ? T(-int64_t(magnitude - 1) - 1) : T(magnitude);
  }

  std::vector<ConfigError>& errors_;
  size_t budget_;
  bool exhausted_ = false;
};

std::string at_mark(const YAML::Mark& m) {
  return "line " + std::to_string(m.line + 1) + ", column " + std::to_string(m.column + 1);
}

// A document that breaks YamlLimits, thrown out of the event parser.
struct YamlRefused {
  YamlRefusal why;
  std::string message;
};

// Records where each document starts, and enforces YamlLimits on the
// events (linear in the text: aliases are not expanded here).
struct DocumentShape : YAML::EventHandler {
  explicit DocumentShape(const YamlLimits& l) : limits(l) {}
  const YamlLimits& limits;
  std::vector<YAML::Mark> marks;
  size_t nodes = 0, depth = 0;

  void node(const YAML::Mark& m, YAML::anchor_t anchor) {
    if (anchor != YAML::NullAnchor && !limits.allow_aliases)
      throw YamlRefused{YamlRefusal::aliases, "YAML anchor at " + at_mark(m) + refused_here};
    if (++nodes > limits.max_nodes)
      throw YamlRefused{YamlRefusal::too_large, "more than " + std::to_string(limits.max_nodes) + " YAML nodes"};
  }
  void open(const YAML::Mark& m, YAML::anchor_t anchor) {
    node(m, anchor);
    if (++depth > limits.max_depth)
      throw YamlRefused{YamlRefusal::too_large,
                        "nested deeper than " + std::to_string(limits.max_depth) + " levels at " + at_mark(m)};
  }
  void OnDocumentStart(const YAML::Mark& mark) override { marks.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& m, YAML::anchor_t a) override { node(m, a); }
  void OnAlias(const YAML::Mark& m, YAML::anchor_t) override {
    if (!limits.allow_aliases) throw YamlRefused{YamlRefusal::aliases, "YAML alias at " + at_mark(m) + refused_here};
    node(m, YAML::NullAnchor);
  }
  void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t a, const std::string&) override { node(m, a); }
  void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t a, YAML::EmitterStyle::value) override {
    open(m, a);
  }
  void OnSequenceEnd() override { --depth; }
  void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t a, YAML::EmitterStyle::value) override {
    open(m, a);
  }
  void OnMapEnd() override { --depth; }

  static constexpr const char* refused_here =
      ": anchors and aliases are not accepted from the REST API or Redis (send the config with them expanded)";
};

// Counts the documents in `text`, stopping after three parser steps: enough
// to see "more than one", or a stall right after the first document.
// yaml-cpp 0.7's LoadAll never returns on a stream whose next token cannot
// start a node (",a: 1"): it emits empty documents forever without consuming
// input. A document starting where the previous one did is that stall, and
// is reported as the syntax error it is. Throws YAML::Exception.
size_t count_documents(const std::string& text, const YamlLimits& limits, std::string& stall) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentShape docs(limits);
  while (docs.marks.size() <= 2 && parser.HandleNextDocument(docs)) {
    const size_t n = docs.marks.size();
    if (n >= 2 && docs.marks[n - 1].pos == docs.marks[n - 2].pos) {
      const YAML::Mark& m = docs.marks[n - 1];
      const char c = m.pos >= 0 && size_t(m.pos) < text.size() ? text[m.pos] : ' ';
      stall = "YAML syntax error at " + at_mark(m) + ": unexpected " +
              (std::isgraph(static_cast<unsigned char>(c)) ? std::string("'") + c + "'" : std::string("character"));
      return 0;
    }
  }
  return docs.marks.size();
}

// Parses `text` and maps it onto `cfg`, appending mapping errors. False when
// there was no usable document at all: validating an empty Config then would
// bury the one real error under "required" noise.
bool map_config(std::string_view text, const YamlLimits& limits, ConfigResult& r) {
  std::vector<ConfigError>& errors = r.errors;
  const std::string yaml(text);
  std::string problem;
  YAML::Node doc;
  try {
    const size_t docs = count_documents(yaml, limits, problem);
    if (problem.empty() && docs > 1) problem = "expected one YAML document, found more";
    if (problem.empty()) doc = YAML::Load(yaml);  // the first document only
  } catch (const YAML::Exception& e) {
    problem = "YAML syntax error at " + at_mark(e.mark) + ": " + shown(e.msg);  // it may quote a byte
  } catch (const YamlRefused& e) {
    r.refusal = e.why;
    problem = e.message;
  }
  if (problem.empty() && doc.IsNull()) problem = "empty document";
  if (problem.empty() && !doc.IsMap())
    problem = std::string("expected a mapping at the top level, got ") + kind_name(doc);
  if (!problem.empty()) {
    errors.push_back({"", problem});
    return false;
  }
  YamlMapper mapper(errors, limits.max_nodes);
  mapper.map_message(doc, r.config, "");
  if (mapper.exhausted()) r.refusal = YamlRefusal::too_large;
  return !mapper.exhausted();
}

// Whole file into `out`; on failure the strerror text.
std::optional<std::string> read_file(const std::string& path, size_t max_bytes, std::string& out) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return std::strerror(errno);
  char buf[8192];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0 && out.size() <= max_bytes) out.append(buf, n);
  const int err = std::ferror(f) ? errno : 0;
  std::fclose(f);
  if (err) return std::strerror(err);
  if (out.size() > max_bytes) return "file is larger than " + std::to_string(max_bytes) + " bytes";
  return std::nullopt;
}

std::string strip(const std::string& s) {
  const char* ws = " \t\r\n\v\f";
  size_t b = s.find_first_not_of(ws);
  return b == std::string::npos ? "" : s.substr(b, s.find_last_not_of(ws) - b + 1);
}

// Replaces a key file field by the key it holds (into `key`). The file field
// is cleared once read, so afterwards the key is the one source of truth and
// "both set" still means the user wrote both. Errors name the file, never its
// contents.
void resolve_key_file(const std::filesystem::path& dir, std::string* key, std::string* key_file,
                      const std::string& path, std::vector<ConfigError>& errors, size_t max_bytes = kMaxKeyFileBytes) {
  if (key_file->empty() || !key->empty()) return;  // both set: the validator says so
  const std::string file = (dir / *key_file).string();
  std::string contents;
  if (auto err = read_file(file, max_bytes, contents)) {
    errors.push_back({path, "cannot read key file \"" + file + "\": " + *err});
    return;
  }
  *key = strip(contents);
  OPENSSL_cleanse(contents.data(), contents.size());
  if (key->empty()) {
    errors.push_back({path, "key file \"" + file + "\" is empty"});
    return;
  }
  key_file->clear();
}

void resolve_key_files(const std::filesystem::path& dir, config::Config& cfg, std::vector<ConfigError>& errors) {
  for (int i = 0; i < cfg.peers_size(); ++i) {
    config::Peer& peer = *cfg.mutable_peers(i);
    const std::string path = "peers[" + std::to_string(i) + "]";
    resolve_key_file(dir, peer.mutable_key(), peer.mutable_key_file(), path + ".key_file", errors);
    resolve_key_file(dir, peer.mutable_next_key(), peer.mutable_next_key_file(), path + ".next_key_file", errors);
  }
  for (int i = 0; i < cfg.ipsec_peers_size(); ++i) {
    config::IpsecPeer& p = *cfg.mutable_ipsec_peers(i);
    const std::string path = "ipsec_peers[" + std::to_string(i) + "].psk_file";
    resolve_key_file(dir, p.mutable_psk(), p.mutable_psk_file(), path, errors);
    const std::string at = "ipsec_peers[" + std::to_string(i) + "].";
    resolve_key_file(dir, p.mutable_certificate(), p.mutable_certificate_file(), at + "certificate_file", errors);
    resolve_key_file(dir, p.mutable_private_key(), p.mutable_private_key_file(), at + "private_key_file", errors);
    resolve_key_file(dir, p.mutable_ca_certificates(), p.mutable_ca_file(), at + "ca_file", errors);
    // A CRL grows with what its CA revoked: ~30 bytes of PEM per entry.
    resolve_key_file(dir, p.mutable_crls(), p.mutable_crl_file(), at + "crl_file", errors, kMaxCrlFileBytes);
  }
}

// Validation runs after mapping; a path the loader already reported on would
// only be echoed less precisely (e.g. "key missing" after "cannot read").
void append_validation(ConfigResult& r) {
  std::set<std::string> reported;
  for (const auto& e : r.errors) reported.insert(e.path);
  for (auto& e : validate_config(r.config)) {
    if (!reported.count(e.path)) r.errors.push_back(std::move(e));
  }
}

}  // namespace

// Protobuf string fields must hold UTF-8: the REST API renders them as JSON.
// RFC 3629 § 4: besides the lead and continuation bytes, the second byte's
// range rules out overlong forms, UTF-16 surrogates and code points past
// U+10FFFF, all of which protobuf refuses too.
bool valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = s[i];
    const size_t n = c < 0x80 ? 1 : c < 0xC2 ? 0 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : c < 0xF5 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    const unsigned char lo = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80;
    const unsigned char hi = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;
    for (size_t k = 1; k < n; ++k) {
      const unsigned char b = s[i + k];
      if (k == 1 ? (b < lo || b > hi) : (b & 0xC0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

std::string ConfigResult::error_text() const {
  std::string out;
  for (const auto& e : errors) out += e.to_string() + "\n";
  return out;
}

ConfigResult load_config_text(std::string_view text, const YamlLimits& limits) {
  ConfigResult r;
  try {
    if (map_config(text, limits, r)) append_validation(r);
  } catch (const std::exception& e) {  // yaml-cpp or allocation: still an error value, never a throw
    r.errors.push_back({"", std::string("internal error while loading config: ") + e.what()});
  }
  scrub_errors(r.config, r.errors);  // errors are shown to whoever sent the text
  return r;
}

ConfigResult load_config_file(const std::string& path) {
  ConfigResult r;
  try {
    std::string text;
    if (auto err = read_file(path, kMaxConfigBytes, text)) {
      r.errors.push_back({"", "cannot read config file \"" + path + "\": " + *err});
      return r;
    }
    if (!map_config(text, YamlLimits::file(), r)) return r;
    resolve_key_files(std::filesystem::path(path).parent_path(), r.config, r.errors);
    append_validation(r);
  } catch (const std::exception& e) {
    r.errors.push_back({"", std::string("internal error while loading \"") + path + "\": " + e.what()});
  }
  scrub_errors(r.config, r.errors);
  return r;
}

std::string utf8_shown(const std::string& s) {
  if (valid_utf8(s)) return s;
  std::string out;
  for (unsigned char c : s) {
    static constexpr char kHex[] = "0123456789abcdef";
    if (c < 0x80)
      out += static_cast<char>(c);
    else
      out += std::string("\\x") + kHex[c >> 4] + kHex[c & 15];
  }
  return out;
}

}  // namespace wp::mgmt
