// Capability probe at start (docs/architecture.md § Offload): validate every
// rule shape the manager will create, on every port, before any session
// depends on it. A port that refuses a needed shape cannot offload; the
// router then forwards in software and says so in one log line.
//
// Besides the shapes we need (session rules for UDP and TCP, the cookie punt
// rules), the probe validates routed IPv6 session rules (not needed: a port
// that refuses them still offloads IPv4 sessions) and simpler diagnostic shapes (plain ingress
// 5-tuple with QUEUE, DROP, COUNT, a SET action, AGE) so the log and the
// net_tap test record what a PMD does accept.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dataplane/control/router_model.h"
#include "offload/flow_port.h"
#include "offload/flow_rule.h"

namespace wp::offload {

struct ProbeResult {
  std::string shape;  // "session-udp", "cookie-punt-tcp", "ingress-5tuple-queue", ...
  bool needed;        // the manager creates this shape
  bool accepted;
  std::string error;  // PMD's refusal
};

struct PortProbe {
  uint16_t port;
  std::string device;
  std::vector<ProbeResult> results;
  bool can_offload() const;
  std::string summary() const;  // one line: "accepted: a, b; refused: c (why)"
};

// A session rule for `proto` entering on `in_port` and leaving on `out_port`,
// with sample addresses: what the probe validates and the template API is
// set up from.
void build_sample_session_rule(uint16_t in_port, uint16_t out_port, uint8_t proto, FlowRule& rule);

// The same for a routed IPv6 session (build_flow_rule6).
void build_sample_session6_rule(uint16_t in_port, uint16_t out_port, uint8_t proto, FlowRule& rule);

// The same for an IPv6 session between IPv6 waypoints (build_flow_rule_waypoint6), its forward direction.
void build_sample_waypoint6_rule(uint16_t in_port, uint16_t out_port, uint8_t proto, FlowRule& rule);

PortProbe probe_port(FlowPort& flows, uint16_t port, const std::string& device, uint16_t out_port);

}  // namespace wp::offload
