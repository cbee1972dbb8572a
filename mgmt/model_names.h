// Names the session snapshots (session_snapshot.cc, session_snapshot6.cc) look up
// by index: an entity of the RouterModel or an interned name, or "" when the
// index is out of range. One copy: with unity builds (WP_UNITY) file-local
// copies would meet in one translation unit. Included by .cc files only.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace wp::mgmt {

template <typename T>
std::string_view model_name(const std::vector<T>& v, int idx) {
  return idx >= 0 && static_cast<size_t>(idx) < v.size() ? std::string_view(v[static_cast<size_t>(idx)].name)
                                                        : std::string_view();
}

inline std::string_view name_at(const std::vector<std::string>& names, int idx) {
  return idx >= 0 && static_cast<size_t>(idx) < names.size() ? std::string_view(names[static_cast<size_t>(idx)])
                                                              : std::string_view();
}

}  // namespace wp::mgmt
