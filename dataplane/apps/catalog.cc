// AppCatalog: nDPI's protocol and category tables, copied once (see catalog.h).
#include "dataplane/apps/catalog.h"

#include <ndpi/ndpi_api.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include "dataplane/apps/classifier.h"
#include "dataplane/util/ascii.h"
#include "dataplane/util/edit_distance.h"

namespace wp::app {
namespace {

bool same_name(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return util::ascii_lower(x) == util::ascii_lower(y); });
}

std::optional<uint16_t> find(const std::vector<AppCatalog::Entry>& entries, std::string_view name) {
  for (const auto& e : entries)
    if (same_name(e.name, name)) return e.id;
  return std::nullopt;
}

std::vector<std::string> closest(const std::vector<AppCatalog::Entry>& entries, std::string_view name, size_t n) {
  std::vector<std::pair<size_t, const std::string*>> scored;
  scored.reserve(entries.size());
  for (const auto& e : entries) scored.emplace_back(name_distance(name, e.name), &e.name);
  std::sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first < b.first : *a.second < *b.second;
  });
  std::vector<std::string> out;
  for (size_t i = 0; i < scored.size() && i < n; ++i) out.push_back(*scored[i].second);
  return out;
}

const std::string& name_of(const std::vector<AppCatalog::Entry>& entries, uint16_t id, const std::string& fallback) {
  auto it = std::lower_bound(entries.begin(), entries.end(), id, [](const auto& e, uint16_t v) { return e.id < v; });
  return it != entries.end() && it->id == id ? it->name : fallback;
}

}  // namespace

size_t name_distance(std::string_view a, std::string_view b) {
  return util::edit_distance(a, b, util::Case::insensitive);
}

const AppCatalog& AppCatalog::instance() {
  static const AppCatalog catalog;
  return catalog;
}

AppCatalog::AppCatalog() {
  std::string error;
  ndpi_detection_module_struct* m = start_ndpi_module(error);
  if (m == nullptr) throw std::runtime_error(error);
  const ndpi_proto_defaults_t* defaults = ndpi_get_proto_defaults(m);
  const u_int n = ndpi_get_num_supported_protocols(m);
  for (u_int id = 1; id < n; ++id) {
    if (defaults[id].protoName == nullptr) continue;
    applications_.push_back({static_cast<uint16_t>(id), defaults[id].protoName, static_cast<uint16_t>(defaults[id].protoCategory)});
  }
  for (int c = 1; c < NDPI_PROTOCOL_NUM_CATEGORIES; ++c) {
    const char* name = ndpi_category_get_name(m, static_cast<ndpi_protocol_category_t>(c));
    if (name == nullptr || *name == '\0') continue;
    categories_.push_back({static_cast<uint16_t>(c), name, static_cast<uint16_t>(c)});
  }
  stop_ndpi_module(m);
}

std::optional<uint16_t> AppCatalog::find_application(std::string_view name) const { return find(applications_, name); }
std::optional<uint16_t> AppCatalog::find_category(std::string_view name) const { return find(categories_, name); }
std::vector<std::string> AppCatalog::closest_applications(std::string_view name, size_t n) const {
  return closest(applications_, name, n);
}
std::vector<std::string> AppCatalog::closest_categories(std::string_view name, size_t n) const {
  return closest(categories_, name, n);
}

const std::string& AppCatalog::application_name(uint16_t id) const {
  static const std::string unknown = "Unknown";
  return name_of(applications_, id, unknown);
}
const std::string& AppCatalog::category_name(uint16_t id) const {
  static const std::string unspecified = "Unspecified";
  return name_of(categories_, id, unspecified);
}

}  // namespace wp::app
