// Where the unit tests find tests/data (configs, captures), whichever directory
// they run from: WP_SOURCE_DIR when CMake passes it, else up from the current
// directory (the build tree, ctest or the source root alike), else beside this
// header (CMake passes absolute paths) for out-of-tree build dirs.
#pragma once

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace wp::test {

inline std::filesystem::path data_dir() {
  namespace fs = std::filesystem;
#ifdef WP_SOURCE_DIR
  if (fs::exists(fs::path(WP_SOURCE_DIR) / "tests/data")) return fs::path(WP_SOURCE_DIR) / "tests/data";
#endif
  for (fs::path dir = fs::current_path(); !dir.empty(); dir = dir.parent_path()) {
    if (fs::exists(dir / "tests/data/config")) return dir / "tests/data";
    if (dir == dir.parent_path()) break;
  }
  const fs::path beside = fs::path(__FILE__).parent_path().parent_path() / "data";
  if (fs::exists(beside / "config")) return beside;
  return "../tests/data";
}

// The whole text of tests/data/REL ("" when it cannot be read).
inline std::string data_text(const std::string& rel) {
  std::ifstream in(data_dir() / rel);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The example router r1 of tests/data/config/r1.yaml.
inline std::string r1_text() { return data_text("config/r1.yaml"); }

}  // namespace wp::test
