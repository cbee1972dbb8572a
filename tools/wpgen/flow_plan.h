// wpgen's session plan: which unique 5-tuple session number i uses, as a pure
// function of i, so both ends of the generator (client and server port) and
// the checks of what came back agree without a per-session table.
//
// Session i: client = i % clients, service = (i / clients) % services,
// source port = first_sport + i / (clients * services). Clients and services
// are consecutive host addresses from a base; every service listens on one UDP
// port. With 1000 clients x 10 services the source ports needed for 10 million
// sessions are 1024..2023.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "dataplane/ip/ipv4.h"

namespace wp::gen {

struct FlowTuple {
  Ipv4 client = 0;
  Ipv4 service = 0;
  uint16_t sport = 0;
  uint16_t dport = 0;
  bool operator==(const FlowTuple&) const = default;
};

struct FlowPlan {
  Ipv4 client_base = 0;
  uint32_t clients = 1;
  Ipv4 service_base = 0;
  uint32_t services = 1;
  uint16_t service_port = 5201;
  uint16_t first_sport = 1024;

  // How many distinct sessions the plan can name.
  uint64_t capacity() const { return uint64_t{clients} * services * (uint64_t{65535} - first_sport + 1); }

  FlowTuple tuple(uint32_t i) const {
    uint32_t per_port = clients * services;
    return {client_base + i % clients, service_base + (i / clients) % services,
            static_cast<uint16_t>(first_sport + i / per_port), service_port};
  }

  // The session number a tuple belongs to, if it is one of the plan's.
  std::optional<uint32_t> index(const FlowTuple& t) const {
    if (t.dport != service_port || t.sport < first_sport) return std::nullopt;
    if (t.client - client_base >= clients || t.service - service_base >= services) return std::nullopt;
    uint64_t i = static_cast<uint64_t>(t.sport - first_sport) * clients * services +
                 uint64_t{t.service - service_base} * clients + (t.client - client_base);
    if (i > UINT32_MAX) return std::nullopt;
    return static_cast<uint32_t>(i);
  }

  // Empty when the plan is usable for `sessions`, else what to change.
  std::string check(uint64_t sessions) const {
    if (clients == 0 || services == 0) return "clients and services must be at least 1";
    if (uint64_t{clients} * services > UINT32_MAX) return "clients x services too large";
    if (sessions > capacity())
      return std::to_string(sessions) + " sessions need more than " + std::to_string(capacity()) +
             " unique 5-tuples: raise --clients or --services";
    if (sessions > UINT32_MAX) return "at most 2^32-1 sessions";
    return {};
  }
};

}  // namespace wp::gen
