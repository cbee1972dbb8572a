// ASCII case folding for names (applications, categories) that users type in
// any case; locale-independent, no allocation. One copy for every file that
// folds names: with unity builds (WP_UNITY) file-local copies would meet in one
// translation unit.
#pragma once

#include <cctype>

namespace wp::util {

inline char ascii_lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

}  // namespace wp::util
