// What the IKE tests read from tests/data/ike (README.md there): hex text
// with '#' comment lines, and key=hex vector files from a strongSwan pair.
#pragma once

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "dataplane/control/ike/ike_message.h"

namespace wp::ike::test {

inline Bytes from_hex(const std::string& hex) {
  Bytes out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

inline std::filesystem::path data_path(const std::string& name) {
  return std::filesystem::path(WP_SOURCE_DIR) / "tests/data/ike" / name;
}

// The lines of `name` that are not comments, in order.
inline std::vector<std::string> data_lines(const std::string& name) {
  std::ifstream in(data_path(name));
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);)
    if (!line.empty() && line[0] != '#') out.push_back(line);
  return out;
}

// A file of hex lines as one byte string.
inline Bytes load_hex(const std::string& name) {
  std::string hex;
  for (const std::string& l : data_lines(name)) hex += l;
  return from_hex(hex);
}

// A key=hex file as a map.
inline std::map<std::string, Bytes> load_vectors(const std::string& name) {
  std::map<std::string, Bytes> out;
  for (const std::string& l : data_lines(name))
    if (size_t eq = l.find('='); eq != std::string::npos) out[l.substr(0, eq)] = from_hex(l.substr(eq + 1));
  return out;
}

}  // namespace wp::ike::test
