// REST API routes; see rest_api.h.
#include "mgmt/rest_api.h"

#include <google/protobuf/util/json_util.h>
#include <httplib.h>
#include <unistd.h>

#include "api.pb.h"
#include "mgmt/app_stats.h"
#include "mgmt/config_load.h"
#include "mgmt/config_endpoint.h"
#include "mgmt/config_secrets.h"
#include "mgmt/ipsec_sas.h"
#include "mgmt/metrics.h"
#include "mgmt/model_names.h"
#include "mgmt/prom_text.h"
#include "mgmt/rest_sessions6.h"
#include "mgmt/session_id.h"
#include "mgmt/stats.h"
#include "mgmt/svr6_view.h"

namespace wp::mgmt {
namespace {

namespace api = ::waypoint::api;
using google::protobuf::util::JsonPrintOptions;
using google::protobuf::util::MessageToJsonString;

std::string to_json(const google::protobuf::Message& m) {
  JsonPrintOptions o;
  o.add_whitespace = true;
  o.preserve_proto_field_names = true;
  o.always_print_primitive_fields = true;
  std::string s;
  (void)MessageToJsonString(m, &s, o);
  return s;
}

void reply(httplib::Response& res, int status, const google::protobuf::Message& m) {
  res.status = status;
  res.set_content(to_json(m), "application/json");
}

void fail(httplib::Response& res, int status, const std::string& what, const std::vector<ConfigError>& details = {}) {
  api::Error e;
  e.set_error(utf8_shown(what));  // it may quote the request (a path): protobuf's JSON drops invalid bytes
  for (const ConfigError& d : details) {
    api::ErrorDetail* x = e.add_details();
    x->set_path(utf8_shown(d.path));
    x->set_message(utf8_shown(d.message));
  }
  reply(res, status, e);
}

std::string proto_name(uint8_t p) {
  switch (p) {
    case 6: return "tcp";
    case 17: return "udp";
    case 1: return "icmp";
    default: return std::to_string(p);
  }
}

void fill_tuple(api::Tuple* t, const FiveTuple& f) {
  t->set_src(format_ipv4(f.src));
  t->set_dst(format_ipv4(f.dst));
  t->set_sport(f.sport);
  t->set_dport(f.dport);
  t->set_protocol(proto_name(f.proto));
}

std::string iface_name(const RouterModel& m, int idx) {
  return idx >= 0 && static_cast<size_t>(idx) < m.interfaces.size() ? m.interfaces[static_cast<size_t>(idx)].name
                                                                    : std::string();
}

// A session side's interface, or the IPsec tunnel it leaves through.
std::string side_name(const RouterModel& m, const SideOut& side) {
  if (side.iface == kIfaceTunnel)
    return side.next_hop < m.tunnels.size() ? m.tunnels[side.next_hop].name : std::string();
  return iface_name(m, side.iface);
}

void fill_session(api::SessionInfo* o, const SessionView& v, const RouterModel& m) {
  const Session& s = v.session;
  o->set_uuid(format_session_id(s.uuid));
  o->set_family("ipv4");
  o->set_tenant(v.tenant);
  o->set_service(v.service);
  o->set_security(v.security);
  fill_tuple(o->mutable_original(), s.original);
  fill_tuple(o->mutable_arrived(), s.key_a());
  fill_tuple(o->mutable_left(), s.out_fwd.tuple);
  // Between IPv6 waypoints: the WAN side (left at the ingress, arrived at the egress) is the
  // IPv6 waypoint leg, never the 0.255.0.0/16 stand-ins the worker keeps it under (svr6_view.h).
  // At a transit router both legs (either IPv4 or IPv6 waypoints): arrived, then left.
  if (v.waypoints6 && v.onward6) {
    fill_waypoints(o->mutable_arrived(), *v.waypoints6, proto_name(s.original.proto));
    fill_waypoints(o->mutable_left(), *v.onward6, proto_name(s.original.proto));
  } else if (v.waypoints6) {
    fill_waypoints(s.side_b_wan() ? o->mutable_left() : o->mutable_arrived(), *v.waypoints6,
                   proto_name(s.original.proto));
  }
  o->set_ingress(side_name(m, s.out_rev));
  o->set_egress(side_name(m, s.out_fwd));
  o->mutable_forward()->set_packets(s.packets[0]);
  o->mutable_forward()->set_bytes(s.bytes[0]);
  o->mutable_reverse()->set_packets(s.packets[1]);
  o->mutable_reverse()->set_bytes(s.bytes[1]);
  o->set_established(v.established);
  o->set_created_ms(v.created_epoch_ms);
  o->set_last_ms(v.last_epoch_ms);
  o->set_worker(v.worker);
  o->set_migrations(s.migrations);
  // A stand-in next hop (a peer's IPv6 waypoint): the IPv6 next hop is looked up per packet, not kept.
  if (s.out_fwd.next_hop != 0 && !is_waypoint6_standin(s.out_fwd.next_hop))
    o->set_next_hop(format_ipv4(s.out_fwd.next_hop));
  o->set_application(app_name(s.app));
  o->set_category(app_category_name(s.app));
  const int fp = s.out_fwd.peer, rp = s.out_rev.peer;  // the WAN legs' peers (-1: not a waypoint leg)
  if (fp >= 0 || rp >= 0) {
    o->set_peer(std::string(model_name(m.peers, fp >= 0 ? fp : rp)));
    o->set_svr_role(fp >= 0 && rp >= 0 ? "transit" : fp >= 0 ? "ingress" : "egress");
  }
}

// Secret fields (peer keys, tokens, BFD keys...) never leave the router.
config::Config redacted(config::Config c) {
  redact_secrets(c);
  return c;
}

using httplib::Request;
using httplib::Response;
using httplib::Server;

bool writes(const Request& req) { return req.method != "GET" && req.method != "HEAD"; }

// The clients allowed now: the running config's when they follow it.
std::shared_ptr<const RestAccess> access_now(const RestContext& c) {
  if (!c.live_access) return {std::shared_ptr<const RestAccess>{}, &c.access};  // not owned: c outlives the call
  return c.live_access->get(c.store->version(), [&c] { return c.store->current().mgmt(); });
}

// Before a request's body is read: its client's rate, then its token and role.
void guard(Server& s, const RestContext& c, RateLimiter& limiter, RestCounters& n) {
  s.set_pre_routing_handler([&c, &limiter, &n](const Request& req, Response& res) {
    if (!limiter.allow(req.remote_addr)) {
      n.rate_limited.fetch_add(1, std::memory_order_relaxed);
      res.set_header("Retry-After", "1");
      fail(res, 429, "too many requests from " + req.remote_addr + " (mgmt.limits.requests_per_second)");
      return Server::HandlerResponse::Handled;
    }
    const AuthResult a = authenticate(*access_now(c), req.get_header_value("Authorization"), writes(req), req.ssl);
    if (a.outcome == AuthOutcome::ok) return Server::HandlerResponse::Unhandled;
    if (a.outcome == AuthOutcome::missing) {
      n.unauthorized.fetch_add(1, std::memory_order_relaxed);
      res.set_header("WWW-Authenticate", "Bearer");
      fail(res, 401, "missing bearer token (Authorization: Bearer TOKEN)");
    } else {
      n.forbidden.fetch_add(1, std::memory_order_relaxed);
      fail(res, 403, a.outcome == AuthOutcome::wrong ? "wrong token" : "token " + a.who + " is read-only");
    }
    return Server::HandlerResponse::Handled;
  });
}

}  // namespace

std::string rest_metrics(const RestCounters& n, const std::string& router) {
  const std::pair<const char*, const std::atomic<uint64_t>*> reasons[] = {
      {"too_many_connections", &n.too_many_connections},
      {"slow_client", &n.slow_client},
      {"tls_handshake_failed", &n.tls_handshake_failed},
      {"body_too_large", &n.body_too_large},
      {"rate_limited", &n.rate_limited},
      {"unauthorized", &n.unauthorized},
      {"forbidden", &n.forbidden},
      {"config_too_large", &n.config_too_large},
      {"config_aliases", &n.config_aliases},
  };
  std::string out =
      "# HELP waypoint_mgmt_requests_total REST requests read\n# TYPE waypoint_mgmt_requests_total counter\n";
  out += "waypoint_mgmt_requests_total{router=\"" + router + "\"} " + std::to_string(n.requests.load()) + "\n";
  out +=
      "# HELP waypoint_mgmt_refused_total REST connections and requests refused, by reason\n"
      "# TYPE waypoint_mgmt_refused_total counter\n";
  for (const auto& [reason, v] : reasons)
    out += "waypoint_mgmt_refused_total{router=\"" + router + "\",reason=\"" + reason + "\"} " +
           std::to_string(v->load()) + "\n";
  return out;
}

namespace {

// GET /api/v1/stats (JSON) and /metrics (Prometheus text).
void counter_routes(Server& s, const RestContext& c, const RestCounters& n) {
  s.Get("/api/v1/stats", [&c](const Request&, Response& res) {
    std::string body = stats_json(*c.shared, c.store->model()->name);
    if (c.sessions) {  // by application and category, from the session snapshot
      auto j = nlohmann::ordered_json::parse(body);
      const auto totals = c.sessions->app_totals();
      j["applications"] = app_stats_json(totals);
      j["categories"] = category_stats_json(totals);
      body = j.dump(2);
    }
    res.set_content(body, "application/json");
  });
  s.Get("/metrics", [&c, &n](const Request&, Response& res) {
    const std::string& router = c.store->model()->name;
    std::string text = metrics_text(*c.shared, router, c.ipfix, c.store->version(), c.sessions ? c.sessions->size() : 0);
    const std::string labels = prom_label("router", router);
    if (c.ha_metrics) text += c.ha_metrics(labels);
    if (c.sessions) text += app_metrics_text(c.sessions->app_totals(), labels);
    for (const auto& section : c.metrics) text += section(labels);
    res.set_content(text + rest_metrics(n, router), "text/plain; version=0.0.4");
  });
}

// The query of GET /api/v1/sessions; false with the 400 message in `error`.
bool parse_session_query(const Request& req, SessionQuery& q, std::string& error) {
  q.tenant = req.get_param_value("tenant");
  q.service = req.get_param_value("service");
  if (req.has_param("addr")) {
    const std::string a = req.get_param_value("addr");
    if (a.find(':') != std::string::npos)
      q.addr6 = parse_ipv6(a);
    else
      q.addr = parse_ipv4(a);
    if (!q.addr && !q.addr6) return error = "addr: \"" + a + "\" is not an IPv4 or IPv6 address", false;
  }
  if (req.has_param("limit")) {
    const std::string l = req.get_param_value("limit");
    if (l.empty() || l.size() > 6 || l.find_first_not_of("0123456789") != std::string::npos || std::stoul(l) == 0 ||
        std::stoul(l) > 10000)
      return error = "limit: \"" + l + "\" must be 1..10000", false;
    q.limit = static_cast<uint32_t>(std::stoul(l));
  }
  if (req.has_param("after")) {
    q.after = parse_session_id(req.get_param_value("after"));
    if (!q.after) return error = "after: \"" + req.get_param_value("after") + "\" is not a session UUID", false;
  }
  return true;
}

// GET /api/v1/sessions (paged by UUID cursor) and /api/v1/sessions/{uuid}.
void session_routes(Server& s, const RestContext& c) {
  s.Get("/api/v1/sessions", [&c](const Request& req, Response& res) {
    if (!c.sessions) return fail(res, 503, "session tracking is off");
    SessionQuery q;
    std::string error;
    if (!parse_session_query(req, q, error)) return fail(res, 400, error);
    bool more = false;
    auto model = c.store->model();
    api::SessionList out;
    merge_session_pages(
        *c.sessions, q, *model,
        [&model](api::SessionInfo* o, const SessionView& v) { fill_session(o, v, *model); }, out, more);
    out.set_count(static_cast<uint32_t>(out.sessions_size()));
    if (more && out.sessions_size() > 0) out.set_next(out.sessions(out.sessions_size() - 1).uuid());
    reply(res, 200, out);
  });
  s.Get(R"(/api/v1/sessions/([^/]+))", [&c](const Request& req, Response& res) {
    if (!c.sessions) return fail(res, 503, "session tracking is off");
    const std::string text = req.matches[1].str();
    auto id = parse_session_id(text);
    if (!id) return fail(res, 400, "\"" + text + "\" is not a session UUID");
    api::SessionInfo out;
    if (auto v = c.sessions->find(*id))
      fill_session(&out, *v, *c.store->model());
    else if (auto v6 = c.sessions->v6().find(*id))
      fill_session6(&out, *v6, *c.store->model());
    else
      return fail(res, 404, "no session " + text);
    reply(res, 200, out);
  });
}

// GET /api/v1/config and PUT /api/v1/config[?dry_run=1]: validate -> commit.
// A body refused before mapping: 413 when it is too big once parsed, 422
// for anchors and aliases, each counted.
void refuse_yaml(Response& res, const ConfigResult& parsed, RestCounters& n) {
  const bool large = parsed.refusal == YamlRefusal::too_large;
  (large ? n.config_too_large : n.config_aliases).fetch_add(1, std::memory_order_relaxed);
  fail(res, large ? 413 : 422, large ? "config too large" : "config uses YAML anchors or aliases", parsed.errors);
}

// Who sent a request, for the audit log (authentication already passed).
std::string requester(const RestContext& c, const Request& req) {
  return "rest:" + authenticate(*access_now(c), req.get_header_value("Authorization"), true, req.ssl).who + "@" +
         req.remote_addr;
}

void put_config(const RestContext& c, RestCounters& n, const Request& req, Response& res) {
  if (req.body.empty()) return fail(res, 400, "empty body: send the whole config as YAML or JSON");
  ConfigResult parsed = load_config_text(req.body);
  if (parsed.refusal != YamlRefusal::none) return refuse_yaml(res, parsed, n);
  if (!parsed.ok()) return fail(res, 422, "invalid config", parsed.errors);
  bool dry = req.get_param_value("dry_run") == "1" || req.get_param_value("dry_run") == "true";
  CommitOutcome r = c.store->commit(parsed.config, dry, requester(c, req));
  scrub_errors(parsed.config, r.errors);
  if (!r.errors.empty()) return fail(res, 422, "config rejected", r.errors);
  api::CommitResult out;
  out.set_version(r.version);
  out.set_applied(r.applied);
  out.set_sessions_closed(r.sessions_closed);
  for (const std::string& note : r.notes) out.add_notes(note);
  reply(res, 200, out);
}

// GET /api/v1/config and PUT /api/v1/config[?dry_run=1]: validate -> commit.
void config_routes(Server& s, const RestContext& c, RestCounters& n) {
  s.Get("/api/v1/config", [&c](const Request&, Response& res) {
    res.set_header("X-Config-Version", std::to_string(c.store->version()));
    reply(res, 200, redacted(c.store->current()));
  });
  s.Put("/api/v1/config", [&c, &n](const Request& req, Response& res) { put_config(c, n, req, res); });
}

// Live sessions per peer, counted over both WAN legs of each session.
std::vector<uint32_t> sessions_per_peer(const SessionSnapshot* sessions, size_t peers) {
  std::vector<uint32_t> n(peers, 0);
  if (!sessions) return n;
  sessions->for_each([&](const SessionEntry& e) {
    for (int p : {int{e.left_peer}, int{e.back_peer}})
      if (p >= 0 && static_cast<size_t>(p) < peers) ++n[static_cast<size_t>(p)];
  });
  return n;
}

// GET /api/v1/peers and /api/v1/ha: the routers we talk to.
void peer_routes(Server& s, const RestContext& c) {
  s.Get("/api/v1/peers", [&c](const Request&, Response& res) {
    auto model = c.store->model();
    std::vector<uint32_t> per_peer = sessions_per_peer(c.sessions, model->peers.size());
    api::PeerList out;
    for (size_t i = 0; i < model->peers.size(); ++i) {
      api::PeerInfo* p = out.add_peers();
      p->set_name(model->peers[i].name);
      for (Ipv4 w : model->peers[i].waypoints) p->add_waypoints(format_ipv4(w));
      for (const Ipv6& w : model->peers[i].waypoints6) p->add_waypoints(format_ipv6(w));  // IPv6 waypoints
      p->set_sessions(per_peer[i]);
    }
    reply(res, 200, out);
  });
  s.Get("/api/v1/ha", [&c](const Request&, Response& res) {
    if (c.ha_status) return res.set_content(c.ha_status(), "application/json");
    api::HaStatus out;
    out.set_enabled(false);
    out.set_state("standalone");
    out.set_detail("no HA pair configured");
    reply(res, 200, out);
  });
}

// Documents other runtimes serve as they are (GET /api/v1/offload, /api/v1/paths).
// GET /api/v1/ipsec/sas[?tunnel=] is cut from /api/v1/ipsec (ipsec_sas.h).
void document_routes(Server& s, const RestContext& c) {
  for (const auto& doc : c.documents) {
    s.Get(doc.first,
          [&body = doc.second](const Request&, Response& res) { res.set_content(body(), "application/json"); });
    if (doc.first != "/api/v1/ipsec") continue;
    s.Get("/api/v1/ipsec/sas", [&body = doc.second](const Request& req, Response& res) {
      std::string out, error;
      if (!ipsec_sas_json(body(), req.get_param_value("tunnel"), out, error)) return fail(res, 404, error);
      res.set_content(out, "application/json");
    });
  }
}

// Every error is an api.Error body, also for paths no route serves.
void error_route(Server& s, const RestLimits& limits, RestCounters& n) {
  s.set_error_handler([&limits, &n](const Request& req, Response& res) {
    if (!res.body.empty()) return;  // a route already wrote an api.Error
    if (res.status == 404) return fail(res, 404, "no such endpoint: " + req.method + " " + req.path);
    if (res.status == 413) {
      n.body_too_large.fetch_add(1, std::memory_order_relaxed);
      return fail(
          res, 413,
          "request body larger than " + std::to_string(limits.max_body_bytes) + " bytes (mgmt.limits.max_body_bytes)");
    }
    fail(res, res.status, "HTTP " + std::to_string(res.status));
  });
}

}  // namespace

RestServer::RestServer() = default;
RestServer::~RestServer() { stop(); }

void RestServer::routes() {
  HttpTransport& s = *server_;
  guard(s, ctx_, *limiter_, counters_);
  counter_routes(s, ctx_, counters_);
  session_routes(s, ctx_);
  config_routes(s, ctx_, counters_);
  peer_routes(s, ctx_);
  document_routes(s, ctx_);
  error_route(s, ctx_.limits, counters_);
}

bool RestServer::prepare(RestContext ctx, std::string& error) {
  ctx_ = std::move(ctx);
  if (ctx_.access_follows_config && ctx_.store)
    ctx_.live_access = std::make_shared<LiveAccess>(ctx_.access, ctx_.store->version());
  server_ = std::make_unique<HttpTransport>(ctx_.limits, counters_);
  limiter_ = std::make_unique<RateLimiter>(ctx_.limits.requests_per_second, ctx_.limits.burst);
  if (!ctx_.tls.cert.empty() && !server_->use_tls(ctx_.tls, error)) {
    server_.reset();
    return false;
  }
  // SO_REUSEADDR alone: httplib's default adds SO_REUSEPORT, with which a
  // second server (another waypointd, a parallel test) binds the same port
  // without an error and the kernel splits the requests between the two.
  server_->set_socket_options([](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  routes();
  return true;
}

bool RestServer::start(const std::string& listen, RestContext ctx, std::string& error) {
  const std::optional<Endpoint> at = parse_endpoint(listen);
  if (!at) return error = "mgmt.listen: \"" + listen + "\" is not IPv4:port", false;
  if (!prepare(std::move(ctx), error)) return false;
  if (!server_->bind_to_port(format_ipv4(at->addr).c_str(), at->port)) {
    error = "mgmt.listen: cannot bind " + listen + ": " + std::strerror(errno);
    server_.reset();
    return false;
  }
  thread_ = std::make_unique<std::thread>([this] { server_->listen_after_bind(); });
  // httplib's stop() does nothing until the loop runs: a stop() right after
  // start() would leave the thread listening and the join waiting for ever.
  for (int i = 0; i < 5000 && !server_->is_running(); ++i) usleep(1000);
  return true;
}

std::string RestServer::serve_text(std::string request) {
  BufferStream strm(std::move(request));
  server_->serve(strm);
  return strm.output();
}

void RestServer::stop() {
  if (server_) server_->stop();
  if (thread_ && thread_->joinable()) thread_->join();
  thread_.reset();
  server_.reset();
}

}  // namespace wp::mgmt
