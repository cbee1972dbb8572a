// `wpctl flows`: a small IPFIX collector for operators and tests. It decodes
// Waypoint session records (mgmt/ipfix_decoder.h) and prints one line per
// record (-o json: one JSON object per line, with the exporter's address),
// and `--join FILE...` reads such JSON lines from several collectors and
// prints the stitched view: one block per global session id with the
// addresses each router saw, so a session is followed across NAT.
#pragma once

#include <string>
#include <vector>

namespace wp::tools {

int run_flows(const std::string& listen, double seconds, bool as_json);
int join_flows(const std::vector<std::string>& files, bool as_json);

}  // namespace wp::tools
