// Prometheus text exposition (format 0.0.4), written one metric family at a
// time: HELP and TYPE come before the family's samples, as `promtool check
// metrics` requires. Label values are escaped (backslash, quote, newline);
// callers pass only bounded label sets (router, reason, path, peer), never
// per-session values.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>

namespace wp::mgmt {

inline std::string prom_label(std::string_view name, std::string_view value) {
  std::string out(name);
  out += "=\"";
  for (char ch : value) {
    if (ch == '\\' || ch == '"') out += '\\';
    out += ch == '\n' ? std::string("\\n") : std::string(1, ch);
  }
  return out + "\"";
}

class PromText {
 public:
  explicit PromText(std::string base_labels) : labels_(std::move(base_labels)) {}
  // HELP and TYPE ("counter" or "gauge") of the family the next samples belong to.
  void family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }
  // One sample with the base labels and `extra` (already formatted, comma-separated).
  void sample(std::string_view name, std::string_view value, std::string_view extra = {}) {
    out_ += name;
    out_ += '{';
    out_ += labels_;
    if (!extra.empty()) (out_ += ',') += extra;
    out_ += "} ";
    out_ += value;
    out_ += '\n';
  }
  void sample(std::string_view name, uint64_t value, std::string_view extra = {}) {
    sample(name, std::to_string(value), extra);
  }
  void sample_double(std::string_view name, double value, std::string_view extra = {}) {
    char buf[40];
    if (value == std::floor(value) && std::fabs(value) < 1e15)
      std::snprintf(buf, sizeof buf, "%.0f", value);  // counters stay exact
    else
      std::snprintf(buf, sizeof buf, "%.9g", value);
    sample(name, std::string_view(buf), extra);
  }
  // A family with a single sample.
  void one(std::string_view name, std::string_view type, std::string_view help, uint64_t value) {
    family(name, type, help);
    sample(name, value);
  }
  const std::string& labels() const { return labels_; }
  std::string take() { return std::move(out_); }

 private:
  std::string labels_;
  std::string out_;
};

}  // namespace wp::mgmt
