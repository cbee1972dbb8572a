// libFuzzer target for config loading (docs/architecture.md § Tests: fuzz config loading).
//
// Config text reaches the router from files, the REST API and Redis, so the
// loader must turn any byte string into either a Config or a list of errors:
// no crash, no exception escaping, no sanitizer report, no unbounded work.
// The input goes to load_config_text exactly as given (YAML syntax errors,
// odd node kinds, huge numbers, anchors/aliases, invalid UTF-8 all included);
// the result's error text is also rendered, since error paths and messages
// are built from the hostile input.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "mgmt/config_load.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  wp::mgmt::ConfigResult r = wp::mgmt::load_config_text(text);
  // A valid result must stay valid when re-checked: validation is pure.
  if (r.ok() && !wp::mgmt::validate_config(r.config).empty()) __builtin_trap();
  (void)r.error_text();
  return 0;
}
