// Secret fields by reflection; see config_secrets.h.
#include "mgmt/config_secrets.h"

#include <type_traits>

#include "options.pb.h"

namespace wp::mgmt {
namespace {

namespace pb = google::protobuf;
using FD = pb::FieldDescriptor;

// Calls fn(message, field, index) for every set string/bytes field marked
// secret (index -1 for a singular field), recursing into sub-messages.
template <typename Msg, typename Fn>
void each_secret(Msg& m, Fn&& fn) {
  const pb::Reflection* r = m.GetReflection();
  const pb::Descriptor* d = m.GetDescriptor();
  for (int i = 0; i < d->field_count(); ++i) {
    const FD* f = d->field(i);
    if (f->cpp_type() == FD::CPPTYPE_MESSAGE) {
      if (f->is_repeated()) {
        for (int k = 0; k < r->FieldSize(m, f); ++k) {
          if constexpr (std::is_const_v<Msg>)
            each_secret(r->GetRepeatedMessage(m, f, k), fn);
          else
            each_secret(*r->MutableRepeatedMessage(&m, f, k), fn);
        }
      } else if (r->HasField(m, f)) {
        if constexpr (std::is_const_v<Msg>)
          each_secret(r->GetMessage(m, f), fn);
        else
          each_secret(*r->MutableMessage(&m, f), fn);
      }
      continue;
    }
    if (f->cpp_type() != FD::CPPTYPE_STRING || !is_secret(f)) continue;
    if (f->is_repeated()) {
      for (int k = 0; k < r->FieldSize(m, f); ++k) fn(m, f, k);
    } else {
      fn(m, f, -1);
    }
  }
}

std::string value_of(const pb::Message& m, const FD* f, int k) {
  const pb::Reflection* r = m.GetReflection();
  return k < 0 ? r->GetString(m, f) : r->GetRepeatedString(m, f, k);
}

}  // namespace

bool is_secret(const FD* f) { return f->options().GetExtension(::waypoint::secret); }

void redact_secrets(pb::Message& m) {
  each_secret(m, [](pb::Message& msg, const FD* f, int k) {
    if (value_of(msg, f, k).empty()) return;
    const pb::Reflection* r = msg.GetReflection();
    k < 0 ? r->SetString(&msg, f, kRedacted) : r->SetRepeatedString(&msg, f, k, kRedacted);
  });
}

std::vector<std::string> secret_values(const pb::Message& m) {
  std::vector<std::string> out;
  each_secret(m, [&out](const pb::Message& msg, const FD* f, int k) {
    std::string v = value_of(msg, f, k);
    if (!v.empty()) out.push_back(std::move(v));
  });
  return out;
}

std::string scrub(std::string text, const std::vector<std::string>& secrets) {
  for (const std::string& s : secrets) {
    for (size_t at = text.find(s); at != std::string::npos;
         at = text.find(s, at + std::char_traits<char>::length(kRedacted)))
      text.replace(at, s.size(), kRedacted);
  }
  return text;
}

void scrub_errors(const pb::Message& m, std::vector<ConfigError>& errors) {
  const std::vector<std::string> secrets = secret_values(m);
  if (secrets.empty()) return;
  for (ConfigError& e : errors) {
    e.path = scrub(std::move(e.path), secrets);
    e.message = scrub(std::move(e.message), secrets);
  }
}

}  // namespace wp::mgmt
