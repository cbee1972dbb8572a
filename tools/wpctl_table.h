// wpctl's human-readable output (tables) and local config check. Part of the
// wpctl tool, not a library: kept apart from wpctl.cc so each file has one role.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace wp::tools {

void print_sessions(const nlohmann::json& sessions);
void print_session(const nlohmann::json& s);
void print_stats(const nlohmann::json& stats);
void print_apps(const nlohmann::json& stats);  // applications and categories of /api/v1/stats
void print_peers(const nlohmann::json& peers);
void print_kv(const nlohmann::json& obj);
void print_paths(const nlohmann::json& paths);
void print_qos(const nlohmann::json& stats);  // the qos section of /api/v1/stats
// GET /api/v1/routes: the FIB of routes from FRR.
void print_routes(const nlohmann::json& routes);
// GET /api/v1/ipsec: IKE SAs, Child SAs and the refusals that happened.
void print_ipsec(const nlohmann::json& ipsec);
// GET /api/v1/ipsec/sas: per IKE SA and per Child SA, with the Child SAs' ESP counters.
void print_ipsec_sas(const nlohmann::json& sas);
int check_config_file(const std::string& path);  // exit code: 0 valid, 1 invalid
// Validates FILE, then writes it to Redis (mgmt/redis_store.h); exit code 0/1/2 (Redis down).
int push_config_redis(const std::string& file, const std::string& redis, const std::string& prefix, bool dry_run);

}  // namespace wp::tools
