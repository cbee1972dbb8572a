// wpctl tables; see wpctl_table.h.
#include "tools/wpctl_table.h"

#include <algorithm>
#include <cstdio>

#include "mgmt/config_load.h"
#include "mgmt/redis_store.h"

namespace wp::tools {
namespace {

using nlohmann::json;

// An IPv6 address with a port is written [addr]:port (RFC 5952 § 6).
std::string endpoint(const std::string& addr, int port) {
  const std::string a = addr.find(':') == std::string::npos ? addr : "[" + addr + "]";
  return a + ":" + std::to_string(port);
}

std::string tuple(const json& t) {
  if (!t.is_object()) return "-";
  return endpoint(t.value("src", ""), t.value("sport", 0)) + " > " + endpoint(t.value("dst", ""), t.value("dport", 0)) +
         " " + t.value("protocol", "");
}

uint64_t num(const json& j, const char* a, const char* b) {
  if (!j.contains(a) || !j[a].contains(b)) return 0;
  const json& v = j[a][b];
  return v.is_string() ? std::stoull(v.get<std::string>()) : v.get<uint64_t>();  // uint64 is a string in proto JSON
}

}  // namespace

void print_sessions(const json& sessions) {
  std::printf("%-36s  %-10s  %-10s  %-10s  %-44s  %-44s  %8s  %12s  %s\n", "UUID", "TENANT", "SERVICE", "PEER",
              "ARRIVED (forward)", "LEFT (forward)", "PACKETS", "BYTES", "EST");
  for (const json& s : sessions)
    std::printf("%-36s  %-10s  %-10s  %-10s  %-44s  %-44s  %8llu  %12llu  %s\n", s.value("uuid", "").c_str(),
                s.value("tenant", "").c_str(), s.value("service", "").c_str(),
                s.value("peer", "").empty() ? "-" : s.value("peer", "").c_str(), tuple(s["arrived"]).c_str(),
                tuple(s["left"]).c_str(),
                static_cast<unsigned long long>(num(s, "forward", "packets") + num(s, "reverse", "packets")),
                static_cast<unsigned long long>(num(s, "forward", "bytes") + num(s, "reverse", "bytes")),
                s.value("established", false) ? "yes" : "no");
  std::printf("%zu session(s)\n", sessions.size());
}

void print_session(const json& s) {
  std::printf("session   %s (%s)\n", s.value("uuid", "").c_str(), s.value("family", "ipv4").c_str());
  std::printf("tenant    %s -> service %s (security %s)\n", s.value("tenant", "").c_str(),
              s.value("service", "").c_str(), s.value("security", "").c_str());
  std::printf("original  %s\n", tuple(s["original"]).c_str());
  std::printf("arrived   %s  on %s\n", tuple(s["arrived"]).c_str(), s.value("ingress", "").c_str());
  std::printf("left      %s  on %s\n", tuple(s["left"]).c_str(), s.value("egress", "").c_str());
  if (!s.value("next_hop", "").empty()) std::printf("next hop  %s\n", s.value("next_hop", "").c_str());
  if (!s.value("peer", "").empty())  // SVR: the waypoint leg's peer and this router's end
    std::printf("peer      %s (%s)\n", s.value("peer", "").c_str(), s.value("svr_role", "").c_str());
  std::printf("forward   %llu packets, %llu bytes\n", static_cast<unsigned long long>(num(s, "forward", "packets")),
              static_cast<unsigned long long>(num(s, "forward", "bytes")));
  std::printf("reverse   %llu packets, %llu bytes\n", static_cast<unsigned long long>(num(s, "reverse", "packets")),
              static_cast<unsigned long long>(num(s, "reverse", "bytes")));
  std::printf("state     %s, worker %d\n", s.value("established", false) ? "established" : "setting up",
              s.value("worker", 0));
  std::printf("paths     %d migration(s)\n", s.value("migrations", 0));
  const std::string app = s.value("application", "");
  std::printf("app       %s (%s)\n", app.empty() ? "-" : app.c_str(), s.value("category", "").c_str());
}

void print_apps(const json& st) {
  // JSON numbers here are plain (nlohmann), not protobuf's strings.
  auto n = [](const json& r, const char* k) { return static_cast<unsigned long long>(r.value(k, uint64_t{0})); };
  std::printf("%-24s  %-16s  %10s  %12s  %14s\n", "APPLICATION", "CATEGORY", "SESSIONS", "PACKETS", "BYTES");
  if (st.contains("applications"))
    for (const json& r : st["applications"])
      std::printf("%-24s  %-16s  %10llu  %12llu  %14llu\n", r.value("application", "").c_str(),
                  r.value("category", "").c_str(), n(r, "sessions"), n(r, "packets"), n(r, "bytes"));
  std::printf("\n%-24s  %10s  %12s  %14s\n", "CATEGORY", "SESSIONS", "PACKETS", "BYTES");
  if (st.contains("categories"))
    for (const json& r : st["categories"])
      std::printf("%-24s  %10llu  %12llu  %14llu\n", r.value("category", "").c_str(), n(r, "sessions"), n(r, "packets"),
                  n(r, "bytes"));
  if (st.contains("counters")) {
    const json& c = st["counters"];
    std::printf("\nclassifier: %s classified, %s unknown, %s packets inspected, %s from TLV 35, %s denied\n",
                c.value("app_sessions_classified", json(0)).dump().c_str(),
                c.value("app_sessions_unknown", json(0)).dump().c_str(),
                c.value("app_packets_inspected", json(0)).dump().c_str(),
                c.value("app_from_metadata", json(0)).dump().c_str(),
                c.value("app_sessions_denied", json(0)).dump().c_str());
  }
}

void print_stats(const json& st) {
  std::printf("router %s, %d worker(s)\n", st.value("router", "").c_str(), st.value("workers", 0));
  if (st.contains("sessions"))
    for (auto& [k, v] : st["sessions"].items()) std::printf("  sessions.%-28s %s\n", k.c_str(), v.dump().c_str());
  if (st.contains("nat64"))
    for (auto& [k, v] : st["nat64"].items()) std::printf("  nat64.%-31s %s\n", k.c_str(), v.dump().c_str());
  if (st.contains("sessions6"))  // docs/ipv6.md § IPv6 routing and sessions
    for (auto& [k, v] : st["sessions6"].items()) std::printf("  sessions6.%-27s %s\n", k.c_str(), v.dump().c_str());
  if (st.contains("counters"))
    for (auto& [k, v] : st["counters"].items()) std::printf("  %-37s %s\n", k.c_str(), v.dump().c_str());
  std::printf("drops (total %s)\n", st.contains("drops_total") ? st["drops_total"].dump().c_str() : "0");
  if (st.contains("drops"))
    for (auto& [k, v] : st["drops"].items()) std::printf("  %-37s %s\n", k.c_str(), v.dump().c_str());
}

void print_peers(const json& p) {
  std::printf("%-16s  %-40s  %s\n", "PEER", "WAYPOINTS", "SESSIONS");
  if (!p.contains("peers")) return;
  for (const json& x : p["peers"]) {
    std::string w;
    for (const json& a : x["waypoints"]) {
      if (!w.empty()) w += ',';
      w += a.get<std::string>();
    }
    std::printf("%-16s  %-40s  %d\n", x.value("name", "").c_str(), w.c_str(), x.value("sessions", 0));
  }
}

// One line per path; probe = BFD-side probes, flow = live traffic (TLV 26).
void print_paths(const json& p) {
  std::printf("%-8s %-8s %-15s %-6s %-6s %-22s %-28s %8s %8s %9s\n", "PATH", "PEER", "REMOTE", "BFD", "USABLE",
              "PROBE rtt/jit/loss", "FLOW rtt/jit/loss (blocks)", "SESSIONS", "STARTED", "MOVED IN/OUT");
  const json& list = p.is_object() && p.contains("paths") ? p["paths"] : p;
  if (!list.is_array()) return;
  auto ms = [](const json& v, const char* k) { return v.is_object() ? v.value(k, 0.0) : 0.0; };
  for (const json& x : list) {
    char probe[64] = "-", flow[64] = "-";
    const json& m = x["metrics"];
    if (m.is_object())
      std::snprintf(probe, sizeof probe, "%.1f/%.1f ms/%.1f%%", ms(m, "rtt_ms"), ms(m, "jitter_ms"),
                    m.value("loss_permille", 0) / 10.0);
    const json& f = x.contains("flow") ? x["flow"] : json();
    if (f.is_object() && f.value("measured", false))
      std::snprintf(flow, sizeof flow, "%.0f/%.0f ms/%.1f%% (%llu)", ms(f, "rtt_ms"), ms(f, "jitter_ms"),
                    f.value("loss_permille", 0) / 10.0, static_cast<unsigned long long>(f.value("blocks", 0ULL)));
    std::string live = x.contains("sessions") && x["sessions"].is_number() ? x["sessions"].dump() : "-";
    std::printf("%-8s %-8s %-15s %-6s %-6s %-22s %-28s %8s %8llu %5llu/%-4llu\n", x.value("name", "").c_str(),
                x.value("peer", "").c_str(), x.value("remote", "").c_str(), x.value("bfd_state", "").c_str(),
                x.value("usable", false) ? "yes" : "no", probe, flow, live.c_str(),
                static_cast<unsigned long long>(x.value("sessions_started", 0ULL)),
                static_cast<unsigned long long>(x.value("migrated_in", 0ULL)),
                static_cast<unsigned long long>(x.value("migrated_out", 0ULL)));
  }
}

// One line per (shaped WAN port, class): the scheduler's counters.
void print_qos(const json& stats) {
  const json& q = stats.is_object() && stats.contains("qos") ? stats["qos"] : stats;
  const json& ports = q.is_object() && q.contains("ports") ? q["ports"] : json::array();
  if (!ports.is_array() || ports.empty()) {
    std::printf("no shaped WAN port (router.wan[].qos)\n");
    return;
  }
  std::printf("%-8s %10s %-16s %4s %10s %10s %8s %12s %10s %10s %6s\n", "PORT", "RATE", "CLASS", "DSCP", "ENQUEUED",
              "SENT", "DROPPED", "SENT BYTES", "DELAY AVG", "DELAY MAX", "DEPTH");
  for (const json& p : ports) {
    char rate[32];
    std::snprintf(rate, sizeof rate, "%.1fM", p.value("rate_bps", 0ULL) / 1e6);
    for (const json& c : p.value("classes", json::array()))
      std::printf("%-8s %10s %-16s %4d %10llu %10llu %8llu %12llu %8.0fus %8.0fus %6llu\n",
                  p.value("interface", "").c_str(), rate, c.value("class", "").c_str(), c.value("dscp", 0),
                  static_cast<unsigned long long>(c.value("enqueued", 0ULL)),
                  static_cast<unsigned long long>(c.value("sent", 0ULL)),
                  static_cast<unsigned long long>(c.value("dropped", 0ULL)),
                  static_cast<unsigned long long>(c.value("sent_bytes", 0ULL)), c.value("queue_delay_avg_us", 0.0),
                  c.value("queue_delay_max_us", 0.0), static_cast<unsigned long long>(c.value("depth", 0ULL)));
  }
}

void print_routes(const json& r) {
  const json& list = r.is_object() && r.contains("routes") ? r["routes"] : r;
  int width = 18;  // an IPv4 prefix; IPv6 ones widen the column
  if (list.is_array())
    for (const json& x : list) width = std::max(width, static_cast<int>(x.value("prefix", "").size()));
  std::printf("%-*s %-8s %4s %8s  %s\n", width, "PREFIX", "PROTO", "DIST", "AGE", "NEXT HOPS");
  if (!list.is_array()) return;
  for (const json& x : list) {
    std::string hops;
    for (const json& h : x.value("next_hops", json::array())) {
      const std::string gw = h.value("gateway", "");
      hops +=
          (hops.empty() ? "" : ", ") + (gw.empty() ? std::string("on-link") : gw) + " via " + h.value("interface", "");
    }
    if (x.value("blackhole", false)) hops = "blackhole";
    std::printf("%-*s %-8s %4d %7llus  %s\n", width, x.value("prefix", "").c_str(), x.value("protocol", "").c_str(),
                x.value("distance", 0), static_cast<unsigned long long>(x.value("age_s", 0ULL)), hops.c_str());
  }
  if (r.is_object() && r.value("truncated", false))
    std::printf("(%llu routes in the FIB; the first %zu shown)\n",
                static_cast<unsigned long long>(r.value("fib_routes", 0ULL)), list.size());
}

// One line of a list of strings, comma-separated.
static std::string joined(const json& a) {
  std::string s;
  if (!a.is_array()) return s;
  for (const json& t : a) {
    if (!s.empty()) s.push_back(',');
    if (t.is_string()) s.append(t.get_ref<const std::string&>());
  }
  return s;
}

// " name=value" for each number of an object (only the non-zero ones when asked).
static std::string numbers(const json& obj, bool nonzero_only) {
  std::string s;
  if (!obj.is_object()) return s;
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (!it.value().is_number_unsigned() && !it.value().is_number_integer()) continue;
    const uint64_t v = it.value().get<uint64_t>();
    if (nonzero_only && v == 0) continue;
    s.push_back(' ');
    s.append(it.key());
    s.push_back('=');
    s.append(std::to_string(v));
  }
  return s;
}

void print_ipsec(const json& d) {
  if (!d.is_object() || !d.value("enabled", false)) {
    std::printf("no ipsec_peers configured\n");
    return;
  }
  // ROLE: ours in the SA (responder: the site started it; initiator: we did, ipsec_peers[].initiate).
  std::printf("IKE SAs\n%-10s %-9s %-21s %-12s %-16s %-16s %-29s %7s %8s\n", "PEER", "ROLE", "REMOTE", "STATE", "SPI_I",
              "SPI_R", "PROPOSAL", "AGE", "LIFETIME");
  const json none = json::array();
  const json& ike = d.contains("ike_sas") ? d["ike_sas"] : none;
  for (const json& x : ike)
    std::printf("%-10s %-9s %-21s %-12s %-16s %-16s %-29s %6llus %7llus\n", x.value("peer", "").c_str(),
                x.value("role", "").c_str(), x.value("remote", "").c_str(), x.value("state", "").c_str(),
                x.value("spi_i", "").c_str(), x.value("spi_r", "").c_str(), x.value("proposal", "").c_str(),
                static_cast<unsigned long long>(x.value("age_s", 0ULL)),
                static_cast<unsigned long long>(x.value("lifetime_s", 0ULL)));
  // The peers we start IKE SAs to: where each attempt stands (only when some peer has initiate).
  const json& initiating = d.contains("initiating") ? d["initiating"] : none;
  if (!initiating.empty()) {
    std::printf("\nInitiating\n%-10s %-16s %8s %12s\n", "PEER", "STATE", "FAILURES", "NEXT_TRY");
    for (const json& x : initiating)
      std::printf("%-10s %-16s %8llu %11llus\n", x.value("peer", "").c_str(), x.value("state", "").c_str(),
                  static_cast<unsigned long long>(x.value("failures", 0ULL)),
                  static_cast<unsigned long long>(x.value("next_attempt_s", 0ULL)));
  }
  // ENCAP: udp (ESP in UDP 4500, a NAT on the path) or none (IP protocol 50), docs/ipsec.md § Encapsulation.
  // BYTES: inner bytes of its tunnel since it was installed (child_lifetime_bytes counts them);
  // EXPIRES: seconds to its hard lifetime (docs/ipsec.md § Rekeying).
  std::printf("\nChild SAs\n%-10s %-8s %-10s %-8s %-8s %-17s %-5s %7s %8s %12s %8s  %s\n", "PEER", "TUNNEL", "STATE",
              "SPI_IN", "SPI_OUT", "PROPOSAL", "ENCAP", "AGE", "LIFETIME", "BYTES", "EXPIRES",
              "SELECTORS (local | remote)");
  const json& child = d.contains("child_sas") ? d["child_sas"] : none;
  for (const json& x : child) {
    const std::string local = x.contains("local_ts") ? joined(x["local_ts"]) : "";
    const std::string remote = x.contains("remote_ts") ? joined(x["remote_ts"]) : "";
    const long long expires = x.value("expires_in_s", -1LL);
    const std::string exp = expires < 0 ? "-" : std::to_string(expires) + "s";
    std::printf("%-10s %-8s %-10s %-8s %-8s %-17s %-5s %6llus %7llus %12llu %8s  %s | %s\n", x.value("peer", "").c_str(),
                x.value("tunnel", "").c_str(), x.value("state", "").c_str(), x.value("spi_in", "").c_str(),
                x.value("spi_out", "").c_str(), x.value("proposal", "").c_str(), x.value("encap", "").c_str(),
                static_cast<unsigned long long>(x.value("age_s", 0ULL)),
                static_cast<unsigned long long>(x.value("lifetime_s", 0ULL)),
                static_cast<unsigned long long>(x.value("bytes", 0ULL)), exp.c_str(), local.c_str(), remote.c_str());
  }
  // PATH_MTU: the outer path MTU learned from ICMP (docs/ipsec.md § IPv6 outer addresses,
  // § Fragmentation Needed on the outer path), "-" while none holds.
  std::printf("\nTunnels\n%-10s %-10s %-10s %5s %8s %10s %12s %8s %10s %12s %8s\n", "TUNNEL", "PEER", "TENANT", "MTU",
              "PATH_MTU", "IN_PKTS", "IN_BYTES", "IN_DROP", "OUT_PKTS", "OUT_BYTES", "OUT_DROP");
  const json& tunnels = d.contains("tunnels") ? d["tunnels"] : none;
  for (const json& x : tunnels) {
    auto n = [&](const char* k) { return static_cast<unsigned long long>(x.value(k, 0ULL)); };
    const std::string path = n("path_mtu") ? std::to_string(n("path_mtu")) : "-";
    std::printf("%-10s %-10s %-10s %5llu %8s %10llu %12llu %8llu %10llu %12llu %8llu\n", x.value("name", "").c_str(),
                x.value("peer", "").c_str(), x.value("tenant", "").c_str(), n("mtu"), path.c_str(), n("in_packets"),
                n("in_bytes"), n("in_drops"), n("out_packets"), n("out_bytes"), n("out_drops"));
  }
  const std::string refused = d.contains("refused") ? numbers(d["refused"], true) : "";
  std::printf("\nrefused:%s\n", refused.empty() ? " none" : refused.c_str());
  const std::string counters = d.contains("counters") ? numbers(d["counters"], false) : "";
  std::printf("counters:%s\n", counters.c_str());
  const std::string rekey = d.contains("rekey") ? numbers(d["rekey"], false) : "";
  std::printf("rekey:%s\n", rekey.empty() ? " none" : rekey.c_str());
}

// Seconds as "123s", "-" for -1 (none).
static std::string secs(const json& x, const char* key) {
  const long long v = x.value(key, -1LL);
  return v < 0 ? "-" : std::to_string(v) + "s";
}

void print_ipsec_sas(const json& d) {
  if (!d.is_object() || !d.value("enabled", false)) {
    std::printf("no ipsec_peers configured\n");
    return;
  }
  // LOCAL_ID/REMOTE_ID: the FQDN identities; ENCAP udp: NAT-T (ESP in UDP 4500).
  std::printf("IKE SAs\n%-10s %-8s %-12s %-16s %-16s %-21s %-5s %-20s %-20s %7s %7s %8s\n", "PEER", "TUNNEL", "STATE",
              "SPI_I", "SPI_R", "REMOTE", "ENCAP", "LOCAL_ID", "REMOTE_ID", "AGE", "REKEY", "EXPIRES");
  const json none = json::array();
  for (const json& x : d.contains("ike_sas") ? d["ike_sas"] : none)
    std::printf("%-10s %-8s %-12s %-16s %-16s %-21s %-5s %-20s %-20s %6llus %7s %8s\n", x.value("peer", "").c_str(),
                x.value("tunnel", "").c_str(), x.value("state", "").c_str(), x.value("spi_i", "").c_str(),
                x.value("spi_r", "").c_str(), x.value("remote", "").c_str(), x.value("encap", "").c_str(),
                x.value("local_id", "").c_str(), x.value("remote_id", "").c_str(),
                static_cast<unsigned long long>(x.value("age_s", 0ULL)), secs(x, "rekey_in_s").c_str(),
                secs(x, "expires_in_s").c_str());
  // IN/OUT: ESP packets opened and sealed, inner bytes; REPLAY and INTEG: inbound drops for a
  // replayed (or too old) sequence number and a failed ICV; DROPS: every refusal of the SA.
  std::printf("\nChild SAs\n%-10s %-8s %-10s %-8s %-8s %-17s %7s %7s %8s %10s %12s %10s %12s %7s %7s %7s %7s\n",
              "PEER", "TUNNEL", "STATE", "SPI_IN", "SPI_OUT", "PROPOSAL", "AGE", "REKEY", "EXPIRES", "IN_PKTS",
              "IN_BYTES", "OUT_PKTS", "OUT_BYTES", "REPLAY", "INTEG", "IN_DROP", "OUT_DROP");
  for (const json& x : d.contains("child_sas") ? d["child_sas"] : none) {
    auto n = [&](const char* k) { return static_cast<unsigned long long>(x.value(k, 0ULL)); };
    std::printf("%-10s %-8s %-10s %-8s %-8s %-17s %6llus %7s %8s %10llu %12llu %10llu %12llu %7llu %7llu %7llu %7llu\n",
                x.value("peer", "").c_str(), x.value("tunnel", "").c_str(), x.value("state", "").c_str(),
                x.value("spi_in", "").c_str(), x.value("spi_out", "").c_str(), x.value("proposal", "").c_str(),
                n("age_s"), secs(x, "rekey_in_s").c_str(), secs(x, "expires_in_s").c_str(), n("in_packets"),
                n("in_bytes"), n("out_packets"), n("out_bytes"), n("replay_drops"), n("integrity_failures"),
                n("in_drops"), n("out_drops"));
  }
}

void print_kv(const json& obj) {
  for (auto& [k, v] : obj.items())
    std::printf("%-10s %s\n", k.c_str(), v.is_string() ? v.get<std::string>().c_str() : v.dump().c_str());
}

int check_config_file(const std::string& path) {
  mgmt::ConfigResult r = mgmt::load_config_file(path);
  if (!r.ok()) {
    std::fprintf(stderr, "%s: %zu error(s)\n%s", path.c_str(), r.errors.size(), r.error_text().c_str());
    return 1;
  }
  std::printf("%s: configuration is valid\n", path.c_str());
  return 0;
}

int push_config_redis(const std::string& file, const std::string& redis, const std::string& prefix, bool dry_run) {
  mgmt::ConfigResult r = mgmt::load_config_file(file);
  if (!r.ok()) {
    std::fprintf(stderr, "%s: %zu error(s), nothing written to Redis\n%s", file.c_str(), r.errors.size(),
                 r.error_text().c_str());
    return 1;
  }
  if (dry_run) return std::printf("%s: valid (dry run, nothing written)\n", file.c_str()), 0;
  mgmt::RedisEndpoint ep;
  if (!mgmt::RedisEndpoint::parse(redis, ep)) return std::fprintf(stderr, "wpctl: --redis wants IPv4:port\n"), 1;
  mgmt::RedisStore store(ep, prefix);
  std::string err;
  uint64_t version = 0;
  if (!store.connect(2000, err) || !store.push(r.config, version, err))
    return std::fprintf(stderr, "wpctl: %s\n", err.c_str()), 2;
  std::printf("%s: written to redis %s under %s, version %llu\n", file.c_str(), redis.c_str(), prefix.c_str(),
              static_cast<unsigned long long>(version));
  return 0;
}

}  // namespace wp::tools
