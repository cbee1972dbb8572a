// wpctl flows; see wpctl_flows.h.
#include "tools/wpctl_flows.h"

#include <arpa/inet.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "dataplane/ip/ipv4.h"
#include "dataplane/ip/ipv6.h"
#include "mgmt/config_endpoint.h"
#include "mgmt/ipfix_decoder.h"
#include "mgmt/session_id.h"

namespace wp::tools {
namespace {

using nlohmann::json;
volatile std::sig_atomic_t g_stop = 0;

// Ports and protocol from `t`; the addresses from `t` (IPv4) or src6/dst6 (templates 257 to 259).
json tuple_json(const FiveTuple& t, bool ipv6, const Ipv6& src6, const Ipv6& dst6) {
  return {{"src", ipv6 ? format_ipv6(src6) : format_ipv4(t.src)},
          {"dst", ipv6 ? format_ipv6(dst6) : format_ipv4(t.dst)},
          {"sport", t.sport},
          {"dport", t.dport},
          {"proto", t.proto}};
}

json record_json(const mgmt::IpfixRecord& r, const std::string& exporter, uint32_t domain) {
  return {{"exporter", exporter},
          {"domain", domain},
          {"session_id", mgmt::format_session_id(r.session_id)},
          {"tenant", std::string(r.tenant, r.tenant_len)},
          {"service", std::string(r.service, r.service_len)},
          {"app_id", r.app_id},
          {"application", std::string(r.app, r.app_len)},
          {"pre", tuple_json(r.pre, r.ipv6, r.pre_src6, r.pre_dst6)},
          {"post", tuple_json(r.post, r.post_is_ipv6(), r.post_src6, r.post_dst6)},
          {"initiator_octets", r.initiator_octets},
          {"responder_octets", r.responder_octets},
          {"initiator_packets", r.initiator_packets},
          {"responder_packets", r.responder_packets},
          {"nat_event", r.nat_event},
          {"end_reason", r.end_reason},
          {"ingress_if", r.ingress_if},
          {"egress_if", r.egress_if},
          {"start_ms", r.start_ms},
          {"end_ms", r.end_ms}};
}

std::string tuple_text(const json& t) {
  char b[80];
  std::snprintf(b, sizeof b, "%s:%d > %s:%d", t["src"].get<std::string>().c_str(), t["sport"].get<int>(),
                t["dst"].get<std::string>().c_str(), t["dport"].get<int>());
  return b;
}

void print_line(const json& r) {
  std::printf("%s  %-15s  %-8s %-8s %-12s  %-44s => %-44s  %llu/%llu B  end=%d\n",
              r["session_id"].get<std::string>().c_str(), r["exporter"].get<std::string>().c_str(),
              r["tenant"].get<std::string>().c_str(), r["service"].get<std::string>().c_str(),
              r["application"].get<std::string>().c_str(), tuple_text(r["pre"]).c_str(), tuple_text(r["post"]).c_str(),
              static_cast<unsigned long long>(r["initiator_octets"].get<uint64_t>()),
              static_cast<unsigned long long>(r["responder_octets"].get<uint64_t>()), r["end_reason"].get<int>());
}

}  // namespace

int run_flows(const std::string& listen, double seconds, bool as_json) {
  const std::optional<mgmt::Endpoint> at = mgmt::parse_endpoint(listen);
  if (!at) return std::fprintf(stderr, "wpctl: --listen wants IP:PORT\n"), 1;
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  const sockaddr_in sa = at->sockaddr();
  if (fd < 0 || bind(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0)
    return std::fprintf(stderr, "wpctl: cannot listen on %s: %s\n", listen.c_str(), std::strerror(errno)), 1;
  std::signal(SIGINT, [](int) { g_stop = 1; });
  std::signal(SIGTERM, [](int) { g_stop = 1; });
  std::map<std::string, mgmt::IpfixDecoder> decoders;  // templates are per exporter
  uint64_t records = 0, malformed = 0;
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
  uint8_t buf[65536];
  while (!g_stop && (seconds <= 0 || std::chrono::steady_clock::now() < until)) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    sockaddr_in from{};
    socklen_t fl = sizeof from;
    ssize_t n = recvfrom(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &fl);
    if (n <= 0) continue;
    std::string exporter = format_ipv4(ntohl(from.sin_addr.s_addr)) + ":" + std::to_string(ntohs(from.sin_port));
    mgmt::IpfixDecoded d;
    std::string err;
    if (!decoders[exporter].decode(buf, static_cast<size_t>(n), d, err)) {
      ++malformed;
      std::fprintf(stderr, "wpctl: malformed IPFIX from %s: %s\n", exporter.c_str(), err.c_str());
      continue;
    }
    for (const mgmt::IpfixRecord& r : d.records) {
      json j = record_json(r, exporter, d.domain);
      if (as_json)
        std::printf("%s\n", j.dump().c_str());
      else
        print_line(j);
      ++records;
    }
    std::fflush(stdout);
  }
  std::fprintf(stderr, "wpctl flows: %llu record(s), %llu malformed message(s)\n",
               static_cast<unsigned long long>(records), static_cast<unsigned long long>(malformed));
  close(fd);
  return malformed ? 1 : 0;
}

int join_flows(const std::vector<std::string>& files, bool as_json) {
  std::map<std::string, std::vector<json>> by_id;
  for (const std::string& f : files) {
    std::ifstream in(f);
    if (!in) return std::fprintf(stderr, "wpctl: cannot read %s\n", f.c_str()), 1;
    std::string line;
    while (std::getline(in, line)) {
      json j = json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.contains("session_id")) continue;
      j["file"] = f;
      by_id[j["session_id"].get<std::string>()].push_back(j);
    }
  }
  if (as_json) {
    json out = json::object();
    for (auto& [id, recs] : by_id) out[id] = recs;
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  for (auto& [id, recs] : by_id) {
    std::printf("session %s (%zu record(s))\n", id.c_str(), recs.size());
    for (const json& r : recs)
      std::printf("  %-24s %-44s => %-44s  %llu/%llu B  %s\n", r["file"].get<std::string>().c_str(),
                  tuple_text(r["pre"]).c_str(), tuple_text(r["post"]).c_str(),
                  static_cast<unsigned long long>(r["initiator_octets"].get<uint64_t>()),
                  static_cast<unsigned long long>(r["responder_octets"].get<uint64_t>()),
                  r.value("application", std::string()).c_str());  // absent in files of older wpctl
  }
  return 0;
}

}  // namespace wp::tools
