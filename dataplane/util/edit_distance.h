// Levenshtein distance, for "did you mean ..." hints in config errors (field names, application
// and category names). Control path only: allocates one row of |b| + 1 counters.
#pragma once

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <string_view>
#include <vector>

namespace wp::util {

enum class Case { sensitive, insensitive };

inline size_t edit_distance(std::string_view a, std::string_view b, Case mode = Case::sensitive) {
  auto fold = [mode](char c) {
    return mode == Case::insensitive ? static_cast<char>(std::tolower(static_cast<unsigned char>(c))) : c;
  };
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      const size_t substitute = diagonal + (fold(a[i - 1]) == fold(b[j - 1]) ? 0 : 1);
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, substitute});
      diagonal = up;
    }
  }
  return row[b.size()];
}

}  // namespace wp::util
