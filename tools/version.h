// The version every Waypoint tool prints for --version: the release number
// from the top-level project() and the git commit the binary was built from
// ("unknown" when built outside a git checkout, "-dirty" with local changes).
// Only version.cc sees the generated header, so a new commit relinks the
// tools without recompiling them.
#pragma once

#include <string>

namespace wp {

const char* version();     // "0.1.0"
const char* git_commit();  // "4920be9a1b2c", "4920be9a1b2c-dirty" or "unknown"
// "waypointd 0.1.0 (commit 4920be9a1b2c)"
std::string version_line(const char* program);

}  // namespace wp
