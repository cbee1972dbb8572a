// GET /api/v1/ipsec/sas[?tunnel=NAME]: the IKE SAs and Child SAs of GET
// /api/v1/ipsec, each with its counters, optionally of one tunnel only,
// without the rest of that document (docs/ipsec.md § Per-SA status and counters). Cut from the document the IKE service rendered (control/
// ike_service.h), so both always agree; neither holds a key or a PSK.
#pragma once

#include <string>

namespace wp::mgmt {

// The SA lists of `status` (GET /api/v1/ipsec's JSON), all or those whose
// `tunnel` is `tunnel` (empty: all). False with a message when `tunnel` names
// no configured tunnel or `status` is not that document.
bool ipsec_sas_json(const std::string& status, const std::string& tunnel, std::string& out, std::string& error);

}  // namespace wp::mgmt
