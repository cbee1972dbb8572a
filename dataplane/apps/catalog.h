// AppCatalog: the applications and categories this router's nDPI knows, by name.
//
// Control path only (config validation, REST, stats rendering). Built once per process from
// one nDPI detection module, then immutable: names are matched without regard to case
// ("ssh" is nDPI's "SSH"), and a name nDPI does not know gets the closest known names
// (Levenshtein distance, ties by name) for the error a user reads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wp::app {

class AppCatalog {
 public:
  struct Entry {
    uint16_t id;
    std::string name;
    uint16_t category;  // applications only
  };

  // The process-wide catalog (made on first use; throws std::runtime_error if nDPI cannot start).
  static const AppCatalog& instance();

  std::optional<uint16_t> find_application(std::string_view name) const;
  std::optional<uint16_t> find_category(std::string_view name) const;
  // Up to `n` known names closest to `name`, closest first.
  std::vector<std::string> closest_applications(std::string_view name, size_t n = 3) const;
  std::vector<std::string> closest_categories(std::string_view name, size_t n = 3) const;

  const std::vector<Entry>& applications() const { return applications_; }
  const std::vector<Entry>& categories() const { return categories_; }
  const std::string& application_name(uint16_t id) const;  // "Unknown" when not known
  const std::string& category_name(uint16_t id) const;     // "Unspecified" when not known

 private:
  AppCatalog();
  std::vector<Entry> applications_;  // sorted by id
  std::vector<Entry> categories_;    // sorted by id
};

// Edit distance between two names, case-insensitive (exposed for tests).
size_t name_distance(std::string_view a, std::string_view b);

}  // namespace wp::app
