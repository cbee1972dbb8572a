// `promtool check metrics` (Debian package prometheus) over a /metrics text:
// its lint output, empty when the text follows the exposition format and the
// naming conventions (HELP/TYPE per family, _total counters, base units).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>

#include <unistd.h>

namespace wp::test {

inline bool have_promtool() { return access("/usr/bin/promtool", X_OK) == 0; }

// nullopt when promtool passes; its complaints otherwise.
inline std::optional<std::string> promtool_complaints(const std::string& text) {
  char path[] = "/tmp/wp-metrics-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) return "mkstemp failed";
  close(fd);
  std::ofstream(path) << text;
  const std::string cmd = "/usr/bin/promtool check metrics < " + std::string(path) + " 2>&1";
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  char buf[512];
  while (p && fgets(buf, sizeof buf, p)) out += buf;
  const int rc = p ? pclose(p) : -1;
  unlink(path);
  if (rc == 0 && out.empty()) return std::nullopt;
  return "promtool exit " + std::to_string(rc) + ": " + out;
}

}  // namespace wp::test
