// Field-level difference of two configs by reflection; see config_diff.h.
#include "mgmt/config_diff.h"

#include <google/protobuf/util/message_differencer.h>

namespace wp::mgmt {
namespace {

namespace pb = google::protobuf;
using pb::util::MessageDifferencer;

std::string join(const std::string& parent, const std::string& name) {
  return parent.empty() ? name : parent + "." + name;
}

void diff(const pb::Message& a, const pb::Message& b, const std::string& path, std::vector<std::string>& out);

// One field of a and b: recursing into messages, listing differing values.
void diff_field(const pb::Message& a, const pb::Message& b, const pb::FieldDescriptor* f, const std::string& path,
                std::vector<std::string>& out) {
  const pb::Reflection* r = a.GetReflection();
  const bool message = f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE;
  if (message && !f->is_repeated()) return diff(r->GetMessage(a, f), r->GetMessage(b, f), path, out);
  const int n = f->is_repeated() ? r->FieldSize(a, f) : 0;
  if (message && n == r->FieldSize(b, f)) {
    for (int i = 0; i < n; ++i)
      diff(r->GetRepeatedMessage(a, f, i), r->GetRepeatedMessage(b, f, i), path + "[" + std::to_string(i) + "]", out);
    return;
  }
  // A scalar, a scalar list, or a list of entities that grew or shrank.
  MessageDifferencer d;
  const std::vector<const pb::FieldDescriptor*> only{f};
  if (!d.CompareWithFields(a, b, only, only)) out.push_back(path);
}

void diff(const pb::Message& a, const pb::Message& b, const std::string& path, std::vector<std::string>& out) {
  if (MessageDifferencer::Equals(a, b)) return;
  const pb::Descriptor* d = a.GetDescriptor();
  for (int i = 0; i < d->field_count(); ++i) diff_field(a, b, d->field(i), join(path, d->field(i)->name()), out);
}

}  // namespace

std::vector<std::string> changed_paths(const pb::Message& before, const pb::Message& after) {
  std::vector<std::string> out;
  diff(before, after, "", out);
  return out;
}

}  // namespace wp::mgmt
