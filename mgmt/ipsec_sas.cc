// GET /api/v1/ipsec/sas; see ipsec_sas.h.
#include "mgmt/ipsec_sas.h"

#include <nlohmann/json.hpp>

namespace wp::mgmt {

bool ipsec_sas_json(const std::string& status, const std::string& tunnel, std::string& out, std::string& error) {
  using nlohmann::ordered_json;
  const ordered_json doc = ordered_json::parse(status, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return error = "the IPsec status is not available", false;
  if (!tunnel.empty()) {
    bool known = false;
    for (const auto& t : doc.value("tunnels", ordered_json::array())) known |= t.value("name", "") == tunnel;
    if (!known) return error = "tunnel: no tunnel named \"" + tunnel + "\"", false;
  }
  ordered_json res = {{"enabled", doc.value("enabled", false)}};
  for (const char* list : {"ike_sas", "child_sas"}) {
    ordered_json kept = ordered_json::array();
    for (const auto& sa : doc.value(list, ordered_json::array()))
      if (tunnel.empty() || sa.value("tunnel", "") == tunnel) kept.push_back(sa);
    res[list] = std::move(kept);
  }
  out = res.dump(2);
  return true;
}

}  // namespace wp::mgmt
