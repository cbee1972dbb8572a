// wpctl: the operator's CLI over waypointd's REST API (mgmt/rest_api.h), and
// a small IPFIX collector that joins session records across routers.
//
//   wpctl [--url URL] [--token T] [-o table|json] sessions [--tenant T] [--service S] [--addr A] [--limit N] [--all]
//   wpctl session UUID | stats | peers | ha | metrics
//   wpctl ipsec | ipsec sas [--tunnel T] [--json]
//   wpctl config show | config check FILE [--remote] | config push FILE [--redis HOST:PORT [--prefix P]] [--dry-run]
//   wpctl flows --listen IP:PORT [--seconds N]     (IPFIX collector; -o json: one record per line)
//   wpctl flows --join FILE...                     (stitch collectors' JSON lines by global session id)
//
// URL and token default to $WPCTL_URL (else http://127.0.0.1:9101) and
// $WPCTL_TOKEN. An https:// URL is verified against --ca (env WPCTL_CA; else
// the system's CAs); --cert/--key (env WPCTL_CERT, WPCTL_KEY) present a client
// certificate to a router with mgmt.client_ca. Exit codes: 0 ok, 1 the request was refused (bad config, not
// found), 2 daemon not reachable, 3 authentication failed.
#include <google/protobuf/util/json_util.h>
#include <httplib.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "mgmt/config_load.h"
#include "tools/wpctl_flows.h"
#include "tools/version.h"
#include "tools/wpctl_table.h"

namespace {

using nlohmann::json;

std::string env(const char* name) { return std::getenv(name) ? std::getenv(name) : ""; }

struct Ctl {
  std::string url = std::getenv("WPCTL_URL") ? std::getenv("WPCTL_URL") : "http://127.0.0.1:9101";
  std::string token = std::getenv("WPCTL_TOKEN") ? std::getenv("WPCTL_TOKEN") : "";
  std::string ca = env("WPCTL_CA");
  std::string cert = env("WPCTL_CERT");
  std::string key = env("WPCTL_KEY");
  std::string output = "table";
};

[[noreturn]] void die(int code, const std::string& msg) {
  std::fprintf(stderr, "wpctl: %s\n", msg.c_str());
  std::exit(code);
}

// One request; exits with a clear message on transport and auth failures.
httplib::Result call(const Ctl& c, const std::string& method, const std::string& path, const std::string& body = "",
                     const std::string& type = "application/yaml") {
  httplib::Client cli(c.url, c.cert, c.key);
  if (!c.ca.empty()) cli.set_ca_cert_path(c.ca.c_str());
  cli.set_connection_timeout(3);
  cli.set_read_timeout(15);
  httplib::Headers h;
  if (!c.token.empty()) h.emplace("Authorization", "Bearer " + c.token);
  httplib::Result r = method == "PUT" ? cli.Put(path, h, body, type.c_str()) : cli.Get(path, h);
  if (!r)
    die(2, "cannot reach waypointd at " + c.url + ": " + httplib::to_string(r.error()) +
               " (is it running? is mgmt.listen set? try --url)");
  if (r->status == 401 || r->status == 403) {
    const json body = json::parse(r->body, nullptr, false);
    std::string why = r->status == 401                             ? "no token given"
                      : body.is_object() && body.contains("error") ? body["error"].get<std::string>()
                                                                   : "refused";
    die(3, "authentication failed (" + std::to_string(r->status) + ", " + why + "): pass --token or set WPCTL_TOKEN");
  }
  return r;
}

// Prints an api.Error body and exits 1.
[[noreturn]] void refused(const httplib::Response& r) {
  json e = json::parse(r.body, nullptr, false);
  if (e.is_discarded() || !e.contains("error")) die(1, "HTTP " + std::to_string(r.status) + ": " + r.body);
  std::fprintf(stderr, "wpctl: %s (HTTP %d)\n", e["error"].get<std::string>().c_str(), r.status);
  if (e.contains("details"))
    for (const json& d : e["details"]) {
      std::string p = d.value("path", "");
      std::fprintf(stderr, "  %s%s\n", p.empty() ? "" : (p + ": ").c_str(), d.value("message", "").c_str());
    }
  std::exit(1);
}

json get_json(const Ctl& c, const std::string& path) {
  auto r = call(c, "GET", path);
  if (r->status != 200) refused(*r);
  json j = json::parse(r->body, nullptr, false);
  if (j.is_discarded()) die(1, "waypointd sent a body that is not JSON for " + path);
  return j;
}

// GET `path` and print the document as it is (-o json) or as `table` lays it out.
int print_document(const Ctl& c, const std::string& path, bool as_json, void (*table)(const json&)) {
  json j = get_json(c, path);
  if (as_json)
    std::printf("%s\n", j.dump(2).c_str());
  else
    table(j);
  return 0;
}

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  if (!f) die(1, "cannot read " + path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// What `config push` and `config check --remote` send: the file as loaded
// here (YAML anchors expanded, key_file read) in JSON, because the router
// refuses anchors and aliases from the network; the file as it is when it
// does not load, so that the router's 422 lists its errors as before.
std::string config_body(const std::string& path, std::string& type) {
  const wp::mgmt::ConfigResult r = wp::mgmt::load_config_file(path);
  type = "application/yaml";
  if (!r.ok()) return read_file(path);
  google::protobuf::util::JsonPrintOptions o;
  o.preserve_proto_field_names = true;
  std::string out;
  if (!google::protobuf::util::MessageToJsonString(r.config, &out, o).ok()) return read_file(path);
  type = "application/json";
  return out;
}

std::string q_escape(const std::string& s) { return httplib::detail::encode_query_param(s); }

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"wpctl: Waypoint router control"};
  app.require_subcommand(1);
  app.set_version_flag("--version", wp::version_line("wpctl"));
  Ctl c;
  app.add_option("--url", c.url, "waypointd REST base URL (env WPCTL_URL)");
  app.add_option("--token", c.token, "bearer token (env WPCTL_TOKEN)");
  app.add_option("--ca", c.ca, "CA file that signed the router's HTTPS certificate (env WPCTL_CA)");
  app.add_option("--cert", c.cert, "client certificate file, PEM (env WPCTL_CERT)");
  app.add_option("--key", c.key, "client certificate's private key file, PEM (env WPCTL_KEY)");
  app.add_option("-o,--output", c.output, "table or json")->check(CLI::IsMember({"table", "json"}));

  auto* sessions = app.add_subcommand("sessions", "list sessions");
  std::string tenant, service, addr, after;
  uint32_t limit = 100;
  bool all = false;
  sessions->add_option("--tenant", tenant);
  sessions->add_option("--service", service);
  sessions->add_option("--addr", addr, "any address of the session, before or after NAT (IPv4 or IPv6)");
  sessions->add_option("--limit", limit, "sessions per page (1..10000)");
  sessions->add_option("--after", after, "page cursor: UUID of the last session of the previous page");
  sessions->add_flag("--all", all, "follow every page");

  auto* session = app.add_subcommand("session", "one session by UUID");
  std::string uuid;
  session->add_option("uuid", uuid)->required();

  auto* stats = app.add_subcommand("stats", "counters and drop reasons");
  auto* apps = app.add_subcommand("apps", "sessions, packets and bytes by application and category");
  auto* peers = app.add_subcommand("peers", "peer routers");
  auto* ha = app.add_subcommand("ha", "HA pair status");
  auto* paths = app.add_subcommand("paths", "WAN paths: BFD state, probe and live-traffic metrics");
  auto* qos = app.add_subcommand("qos", "QoS on shaped WAN ports: per class sent, dropped, queue delay");
  auto* routes = app.add_subcommand("routes", "routes from FRR in the FIB: prefix, next hops, protocol, age");
  auto* ipsec = app.add_subcommand("ipsec", "IPsec sites: IKE SAs and Child SAs (peer, state, SPIs, proposals), tunnels' ESP counters, refusals");
  auto* ipsec_sas = ipsec->add_subcommand("sas", "per Child SA: SPIs, age, rekey and expiry, ESP packets, bytes, drops");
  std::string sa_tunnel;
  bool sas_json = false;
  ipsec_sas->add_option("--tunnel", sa_tunnel, "only the SAs of this tunnel");
  ipsec_sas->add_flag("--json", sas_json, "the JSON document (as -o json)");
  auto* metrics = app.add_subcommand("metrics", "Prometheus metrics text");

  auto* config = app.add_subcommand("config", "show, check or push configuration");
  config->require_subcommand(1);
  auto* show = config->add_subcommand("show", "the committed configuration");
  auto* check = config->add_subcommand("check", "validate a file (locally, or by the daemon with --remote)");
  auto* push = config->add_subcommand("push", "validate then commit a file (REST, or Redis with --redis)");
  std::string file, redis, redis_prefix = "waypoint";
  bool remote = false, dry_run = false;
  check->add_option("file", file)->required();
  check->add_flag("--remote", remote, "let the daemon validate it (dry run commit)");
  push->add_option("file", file)->required();
  push->add_flag("--dry-run", dry_run, "validate only");
  push->add_option("--redis", redis, "HOST:PORT: write to the Redis config store (MULTI/EXEC) instead of REST");
  push->add_option("--prefix", redis_prefix, "Redis key prefix (default waypoint)");

  auto* flows = app.add_subcommand("flows", "IPFIX collector: print and join session records across routers");
  std::string listen;
  double seconds = 0;
  std::vector<std::string> join;
  flows->add_option("--listen", listen, "IP:PORT to receive IPFIX on");
  flows->add_option("--join", join, "JSON-lines files of `flows -o json` to stitch by session id");
  flows->add_option("--seconds", seconds, "stop after this long (0: until interrupted)");

  CLI11_PARSE(app, argc, argv);
  const bool as_json = c.output == "json";

  if (*sessions) {
    std::string cursor = after;
    json all_rows = json::array();
    do {
      std::string q = "/api/v1/sessions?limit=" + std::to_string(limit);
      if (!tenant.empty()) q += "&tenant=" + q_escape(tenant);
      if (!service.empty()) q += "&service=" + q_escape(service);
      if (!addr.empty()) q += "&addr=" + q_escape(addr);
      if (!cursor.empty()) q += "&after=" + cursor;
      json page = get_json(c, q);
      for (const json& s : page["sessions"]) all_rows.push_back(s);
      cursor = page.value("next", "");
      if (!all && !cursor.empty() && !as_json)
        std::fprintf(stderr, "(more: wpctl sessions --after %s, or --all)\n", cursor.c_str());
      if (!all && as_json) {
        std::printf("%s\n", page.dump(2).c_str());
        return 0;
      }
    } while (all && !cursor.empty());
    if (as_json)
      std::printf("%s\n", json{{"sessions", all_rows}, {"count", all_rows.size()}}.dump(2).c_str());
    else
      wp::tools::print_sessions(all_rows);
    return 0;
  }
  if (*session) return print_document(c, "/api/v1/sessions/" + uuid, as_json, wp::tools::print_session);
  if (*stats) return print_document(c, "/api/v1/stats", as_json, wp::tools::print_stats);
  if (*apps) return print_document(c, "/api/v1/stats", as_json, wp::tools::print_apps);
  if (*peers) return print_document(c, "/api/v1/peers", as_json, wp::tools::print_peers);
  if (*paths) return print_document(c, "/api/v1/paths", as_json, wp::tools::print_paths);
  if (*qos && as_json) {  // the qos section alone
    json st = get_json(c, "/api/v1/stats");
    std::printf("%s\n", st.value("qos", json::object()).dump(2).c_str());
    return 0;
  }
  if (*qos) return print_document(c, "/api/v1/stats", as_json, wp::tools::print_qos);
  if (*routes) return print_document(c, "/api/v1/routes", as_json, wp::tools::print_routes);
  if (*ipsec_sas)
    return print_document(c, "/api/v1/ipsec/sas" + (sa_tunnel.empty() ? "" : "?tunnel=" + q_escape(sa_tunnel)),
                          as_json || sas_json, wp::tools::print_ipsec_sas);
  if (*ipsec) return print_document(c, "/api/v1/ipsec", as_json, wp::tools::print_ipsec);
  if (*ha) return print_document(c, "/api/v1/ha", as_json, wp::tools::print_kv);
  if (*metrics) {
    auto r = call(c, "GET", "/metrics");
    if (r->status != 200) refused(*r);
    std::fputs(r->body.c_str(), stdout);
    return 0;
  }
  if (*show) {
    json cfg = get_json(c, "/api/v1/config");
    std::printf("%s\n", cfg.dump(2).c_str());
    return 0;
  }
  if (*check) {
    if (remote) {
      std::string type;
      const std::string body = config_body(file, type);
      auto r = call(c, "PUT", "/api/v1/config?dry_run=1", body, type);
      if (r->status != 200) refused(*r);
      std::printf("%s: valid for the running router (not applied)\n", file.c_str());
      return 0;
    }
    return wp::tools::check_config_file(file);
  }
  if (*push) {
    if (!redis.empty()) return wp::tools::push_config_redis(file, redis, redis_prefix, dry_run);
    std::string type;
    const std::string body = config_body(file, type);
    auto r = call(c, "PUT", std::string("/api/v1/config") + (dry_run ? "?dry_run=1" : ""), body, type);
    if (r->status != 200) refused(*r);
    json res = json::parse(r->body, nullptr, false);
    if (as_json)
      std::printf("%s\n", res.dump(2).c_str());
    else
      // uint64 fields arrive as strings (protobuf JSON mapping).
      std::printf("%s: %s, version %s, %s session(s) closed by the new policy\n", file.c_str(),
                  res.value("applied", false) ? "committed" : "valid (dry run)", res.value("version", "?").c_str(),
                  res.value("sessions_closed", "0").c_str());
    return 0;
  }
  if (*flows) {
    if (!join.empty()) return wp::tools::join_flows(join, as_json);
    if (listen.empty()) die(1, "flows: give --listen IP:PORT or --join FILE...");
    return wp::tools::run_flows(listen, seconds, as_json);
  }
  return 0;
}
