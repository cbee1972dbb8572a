#include "tools/version.h"

#include "tools/version_commit.h"

namespace wp {

const char* version() { return WP_VERSION; }
const char* git_commit() { return WP_GIT_COMMIT; }

std::string version_line(const char* program) {
  return std::string(program) + " " + version() + " (commit " + git_commit() + ")";
}

}  // namespace wp
