// libFuzzer target for the config loader's YAML bounds (mgmt/config_load.h
// YamlLimits): any text, loaded as the network's (no anchors or aliases) and
// as a file's (aliases allowed, expansion bounded), with small bounds so
// the fuzzer reaches them. Beyond "no crash, and quickly" (an alias bomb
// must not expand): text the network limits accept maps to the same config
// under the file limits, with the same errors; a refusal always comes with
// its reason; the file limits never refuse for aliases.
//
// fuzz flags: -timeout=3
#include <google/protobuf/util/message_differencer.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "mgmt/config_load.h"

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  wp::mgmt::YamlLimits net;
  net.max_nodes = 2000;
  net.max_depth = 12;
  wp::mgmt::YamlLimits file = net;
  file.allow_aliases = true;
  const wp::mgmt::ConfigResult n = wp::mgmt::load_config_text(text, net);
  const wp::mgmt::ConfigResult f = wp::mgmt::load_config_text(text, file);
  if (n.refusal != wp::mgmt::YamlRefusal::none) check(!n.errors.empty());
  if (f.refusal != wp::mgmt::YamlRefusal::none) check(!f.errors.empty());
  check(f.refusal != wp::mgmt::YamlRefusal::aliases);
  if (n.refusal == wp::mgmt::YamlRefusal::none) {
    check(f.refusal == wp::mgmt::YamlRefusal::none);
    check(google::protobuf::util::MessageDifferencer::Equals(n.config, f.config));
    check(n.errors.size() == f.errors.size());
  }
  return 0;
}
