// Config validation, part 7: QoS on WAN ports (docs/qos.md § Configuration).
//
// router.wan[].qos shapes one WAN port: a rate in kbit/s (required), an
// optional burst, and per-class overrides of the scheduler's defaults; the
// LAN never has one. qos.dscp overrides the DSCP a class is marked with;
// services[].qos_class names the class of a service's sessions. Every class
// name must be one of the six (dataplane/qos/scheduler.h), and a burst without
// its rate, a class listed twice or a value out of range is an error at its path.
#include <set>

#include "dataplane/qos/scheduler.h"
#include "mgmt/config_validator.h"

namespace wp::mgmt::detail {
namespace {

constexpr uint32_t kMaxRateKbps = 100'000'000;  // 100 Gbit/s
constexpr uint32_t kMinBurstBytes = 1514, kMaxBurstBytes = 16u << 20;
constexpr uint32_t kMaxWeight = 1000, kMaxQueue = 65536;

bool known_class(const std::string& name) {
  for (std::string_view n : kQosClassNames)
    if (n == name) return true;
  return false;
}

std::string class_list() {
  std::string out;
  for (std::string_view n : kQosClassNames) out += (out.empty() ? "" : ", ") + std::string(n);
  return out;
}

}  // namespace

void ConfigValidator::check_qos_port(const config::QosPort& q, const std::string& path) {
  if (q.rate_kbps() == 0)
    error(path + ".rate_kbps", "required: the rate the port is shaped to (kbit/s, 1.." + std::to_string(kMaxRateKbps) + ")");
  else if (q.rate_kbps() > kMaxRateKbps)
    error(path + ".rate_kbps", std::to_string(q.rate_kbps()) + " is above " + std::to_string(kMaxRateKbps));
  if (q.burst_bytes() != 0 && (q.burst_bytes() < kMinBurstBytes || q.burst_bytes() > kMaxBurstBytes))
    error(path + ".burst_bytes", std::to_string(q.burst_bytes()) + " must be 0 or in " + std::to_string(kMinBurstBytes) +
                                     ".." + std::to_string(kMaxBurstBytes));
  std::set<std::string> seen;
  for (int i = 0; i < q.classes_size(); ++i) {
    const config::QosClass& c = q.classes(i);
    const std::string cp = path + ".classes[" + std::to_string(i) + "]";
    if (!known_class(c.name()))
      error(cp + ".name", "unknown QoS class \"" + c.name() + "\" (one of " + class_list() + ")");
    else if (!seen.insert(c.name()).second)
      error(cp + ".name", "class \"" + c.name() + "\" is listed twice");
    if (!c.priority().empty() && c.priority() != "strict" && c.priority() != "shared")
      error(cp + ".priority", "\"" + c.priority() + "\" must be \"strict\" or \"shared\"");
    if (c.weight() > kMaxWeight)
      error(cp + ".weight", std::to_string(c.weight()) + " must be 0 or in 1.." + std::to_string(kMaxWeight));
    if (c.weight() != 0 && c.priority() == "strict")
      error(cp + ".weight", "a strict class has no weight (it is served before every shared class)");
    if (c.rate_kbps() > kMaxRateKbps)
      error(cp + ".rate_kbps", std::to_string(c.rate_kbps()) + " is above " + std::to_string(kMaxRateKbps));
    if (c.rate_kbps() == 0 && c.burst_bytes() != 0)
      error(cp + ".burst_bytes", "a burst without a rate: set rate_kbps or remove burst_bytes");
    else if (c.burst_bytes() != 0 && (c.burst_bytes() < kMinBurstBytes || c.burst_bytes() > kMaxBurstBytes))
      error(cp + ".burst_bytes", std::to_string(c.burst_bytes()) + " must be 0 or in " + std::to_string(kMinBurstBytes) +
                                     ".." + std::to_string(kMaxBurstBytes));
    if (c.queue_packets() > kMaxQueue)
      error(cp + ".queue_packets", std::to_string(c.queue_packets()) + " must be 0 or in 1.." + std::to_string(kMaxQueue));
  }
}

void ConfigValidator::check_qos() {
  const config::Router& r = cfg_.router();
  if (r.lan().has_qos()) error("router.lan.qos", "QoS shapes WAN ports only");
  for (int i = 0; i < r.wan_size(); ++i)
    if (r.wan(i).has_qos()) check_qos_port(r.wan(i).qos(), "router.wan[" + std::to_string(i) + "].qos");
  std::set<std::string> seen;
  for (int i = 0; i < cfg_.qos().dscp_size(); ++i) {
    const config::QosDscp& d = cfg_.qos().dscp(i);
    const std::string path = "qos.dscp[" + std::to_string(i) + "]";
    if (!known_class(d.name()))
      error(path + ".name", "unknown QoS class \"" + d.name() + "\" (one of " + class_list() + ")");
    else if (!seen.insert(d.name()).second)
      error(path + ".name", "class \"" + d.name() + "\" is listed twice");
    if (d.value() > 63) error(path + ".value", std::to_string(d.value()) + " is not a DSCP (0..63)");
  }
  for (int i = 0; i < cfg_.services_size(); ++i) {
    const std::string& c = cfg_.services(i).qos_class();
    if (!c.empty() && !known_class(c))
      error("services[" + std::to_string(i) + "].qos_class", "unknown QoS class \"" + c + "\" (one of " + class_list() + ")");
  }
  check_qos_applications();  // config_validate_apps.cc (nDPI's names)
  check_duplication();
}

// qos.duplicate: known classes, each once; a routed service of such a class
// needs a peer with two waypoints (two paths), or there is nothing to send
// the second copy on.
void ConfigValidator::check_duplication() {
  std::set<std::string> dup;
  for (int i = 0; i < cfg_.qos().duplicate_size(); ++i) {
    const std::string& d = cfg_.qos().duplicate(i);
    const std::string path = "qos.duplicate[" + std::to_string(i) + "]";
    if (!known_class(d))
      error(path, "unknown QoS class \"" + d + "\" (one of " + class_list() + ")");
    else if (!dup.insert(d).second)
      error(path, "class \"" + d + "\" is listed twice");
  }
  if (dup.empty()) return;
  for (int i = 0; i < cfg_.services_size(); ++i) {
    const config::Service& s = cfg_.services(i);
    const std::string cls = s.qos_class().empty() ? "best-effort" : s.qos_class();
    if (s.next_peer().empty() || !dup.count(cls)) continue;
    for (const config::Peer& p : cfg_.peers()) {
      if (p.name() != s.next_peer()) continue;
      if (p.waypoints_size() < 2)
        error("services[" + std::to_string(i) + "].qos_class",
              "class \"" + cls + "\" is duplicated (qos.duplicate) but peer \"" + p.name() + "\" has " +
                  std::to_string(p.waypoints_size()) + " waypoint: duplication needs two paths (two waypoints)");
      if (s.paths_size() == 1)
        error("services[" + std::to_string(i) + "].paths",
              "class \"" + cls + "\" is duplicated (qos.duplicate): list at least two paths, or none");
    }
  }
}

}  // namespace wp::mgmt::detail
