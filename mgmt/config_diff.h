// Which fields differ between two configs, as paths in the user's words
// ("peers[0].key", "policies" when entries were added or removed). Values are
// never part of the answer, so the audit log can print it even when a
// secret changed.
#pragma once

#include <string>
#include <vector>

#include "mgmt/config_load.h"

namespace wp::mgmt {

std::vector<std::string> changed_paths(const google::protobuf::Message& before, const google::protobuf::Message& after);

}  // namespace wp::mgmt
