// ike_responder: the IKEv2 responder (dataplane/control/ike/ike_responder.h)
// on kernel UDP sockets, for interoperability tests against strongSwan until
// waypointd carries IPsec peers in its own configuration.
//
// Listens on ADDR:500 and ADDR:4500 (RFC 3948: IKE on 4500 starts with the
// 4-byte non-ESP marker, stripped on receipt and added on send; a 1-byte
// 0xff is a NAT-T keepalive; anything else there is ESP, which has no
// dataplane yet and is counted and dropped). After every datagram it
// rewrites --state FILE (counters, IKE SAs and Child SAs with their SPIs;
// never a key). A Child SA is "installed" here in the sense of negotiated,
// its keys derived and stored: no ESP packet is processed yet.
//
// usage: ike_responder --config FILE [--state FILE]
// Config: "key = value" lines, '#' comments, one [peer NAME] section per site:
//   listen = 10.77.0.2
//   cookie_threshold = 64            (half-open SAs from which a COOKIE is asked, RFC 7296 § 2.6)
//   ike_proposals = aes256-sha256-modp2048, aes256-sha256-ecp256, aes256gcm16-prfsha256-ecp256
//   [peer site1]
//   local_id = headend.example
//   remote_id = site1.example
//   psk = ...                        (never logged nor written to the state file)
//   esp_proposals = aes256gcm16, aes256-sha256, aes256-sha256-esn
//   local_ts = 10.60.0.0/24          (comma-separated CIDRs, IPv4)
//   remote_ts = 10.50.0.0/24
#include "dataplane/control/ike/ike_responder.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "dataplane/control/ike/responder_config.h"

namespace {

using namespace wp::ike;

volatile std::sig_atomic_t g_stop = 0;

std::string trim(std::string s) {
  const auto a = s.find_first_not_of(" \t"), b = s.find_last_not_of(" \t\r");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

std::vector<std::string> split_list(const std::string& v) {
  std::vector<std::string> out;
  std::stringstream ss(v);
  for (std::string item; std::getline(ss, item, ',');)
    if (!trim(item).empty()) out.push_back(trim(item));
  return out;
}

bool cidr(const std::string& text, TrafficSelector& ts) {
  const auto slash = text.find('/');
  in_addr a{};
  const int len = slash == std::string::npos ? 32 : std::atoi(text.c_str() + slash + 1);
  if (inet_pton(AF_INET, text.substr(0, slash).c_str(), &a) != 1 || len < 0 || len > 32) return false;
  const uint32_t host = ntohl(a.s_addr), mask = len == 0 ? 0 : ~uint32_t(0) << (32 - len);
  const uint32_t lo = host & mask, hi = lo | ~mask;
  ts.start_addr = {uint8_t(lo >> 24), uint8_t(lo >> 16), uint8_t(lo >> 8), uint8_t(lo)};
  ts.end_addr = {uint8_t(hi >> 24), uint8_t(hi >> 16), uint8_t(hi >> 8), uint8_t(hi)};
  return true;
}

struct ToolConfig {
  std::string listen;
  ResponderConfig responder;
};

// One "key = value" into the global section or the current peer.
std::string apply(ToolConfig& c, PeerConfig* peer, const std::string& key, const std::string& value) {
  if (!peer && key == "listen")
    c.listen = value;
  else if (!peer && key == "cookie_threshold") {
    char* end = nullptr;
    const unsigned long n = std::strtoul(value.c_str(), &end, 10);
    if (value.empty() || *end != '\0') return "cookie_threshold: not a number";
    c.responder.cookie_threshold = n;
  } else if (!peer && key == "ike_proposals") {
    for (const std::string& n : split_list(value)) {
      IkeSuite s;
      if (!ike_suite_by_name(n, s)) return "unknown IKE proposal '" + n + "'";
      c.responder.ike_suites.push_back(s);
    }
  } else if (peer && key == "local_id")
    peer->local_id = value;
  else if (peer && key == "remote_id")
    peer->remote_id = value;
  else if (peer && key == "psk")
    peer->psk.assign(value.begin(), value.end());
  else if (peer && key == "esp_proposals") {
    for (const std::string& n : split_list(value)) {
      EspSuite s;
      if (!esp_suite_by_name(n, s)) return "unknown ESP proposal '" + n + "'";
      peer->esp_suites.push_back(s);
    }
  } else if (peer && (key == "local_ts" || key == "remote_ts")) {
    for (const std::string& n : split_list(value)) {
      TrafficSelector ts;
      if (!cidr(n, ts)) return "bad prefix '" + n + "'";
      (key == "local_ts" ? peer->local_ts : peer->remote_ts).push_back(ts);
    }
  } else {
    return "unknown key '" + key + "'" + (peer ? " in a peer" : " outside a peer");
  }
  return "";
}

std::string check(const ToolConfig& c) {
  if (c.listen.empty()) return "listen is required";
  if (c.responder.ike_suites.empty()) return "ike_proposals is required";
  if (c.responder.peers.empty()) return "no [peer NAME] section";
  for (const PeerConfig& p : c.responder.peers)
    if (p.local_id.empty() || p.remote_id.empty() || p.psk.empty() || p.esp_suites.empty() || p.local_ts.empty() ||
        p.remote_ts.empty())
      return "peer " + p.name + ": local_id, remote_id, psk, esp_proposals, local_ts and remote_ts are required";
  return "";
}

bool load(const std::string& path, ToolConfig& c, std::string& error) {
  std::ifstream in(path);
  if (!in) return error = path + ": cannot read", false;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    line = trim(line.substr(0, line.find('#')));
    if (line.empty()) continue;
    if (line.rfind("[peer ", 0) == 0 && line.back() == ']') {
      c.responder.peers.emplace_back().name = trim(line.substr(6, line.size() - 7));
      continue;
    }
    const auto eq = line.find('=');
    PeerConfig* peer = c.responder.peers.empty() ? nullptr : &c.responder.peers.back();
    const std::string e = eq == std::string::npos ? "expected key = value"
                                                  : apply(c, peer, trim(line.substr(0, eq)), trim(line.substr(eq + 1)));
    if (!e.empty()) return error = path + ":" + std::to_string(n) + ": " + e, false;
  }
  error = check(c);
  return error.empty() || (error = path + ": " + error, false);
}

int udp_socket(const in_addr& addr, uint16_t port) {
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr = addr;
  sa.sin_port = htons(port);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    std::perror(("ike_responder: bind port " + std::to_string(port)).c_str());
    std::exit(1);
  }
  return fd;
}

std::string hex(uint64_t v, int digits) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%0*llx", digits, static_cast<unsigned long long>(v));
  return buf;
}

void write_state(const std::string& path, const Responder& r, uint64_t esp_dropped) {
  if (path.empty()) return;
  std::ofstream out(path + ".tmp");
  const ResponderCounters& c = r.counters();
  out << "counter requests " << c.requests << "\ncounter responses_sent " << c.responses_sent
      << "\ncounter retransmits " << c.retransmits << "\ncounter ike_sas_established " << c.ike_sas_established
      << "\ncounter ike_sas_rekeyed " << c.ike_sas_rekeyed << "\ncounter ike_sas_deleted " << c.ike_sas_deleted
      << "\ncounter child_sas_installed " << c.child_sas_installed << "\ncounter child_sas_deleted "
      << c.child_sas_deleted << "\ncounter esp_without_dataplane " << esp_dropped << "\n";
  for (size_t i = 0; i < kRefusals; ++i)
    out << "refused " << refusal_name(static_cast<Refusal>(i)) << " " << c.refused[i] << "\n";
  for (const auto& [spi, sa] : r.sas()) {
    out << "ike_sa " << hex(sa->spi_i, 16) << " " << hex(sa->spi_r, 16) << " "
        << (sa->state == IkeSaState::established ? "ESTABLISHED" : "INIT_DONE") << " peer=" << sa->peer.str()
        << " id=" << sa->remote_id << " nat=" << (sa->nat_detected ? "yes" : "no") << "\n";
    for (const auto& [in, child] : sa->children)
      out << "child_sa " << hex(sa->spi_r, 16) << " in=" << hex(in, 8) << " out=" << hex(child.spi_out, 8)
          << " esp=" << (child.suite.aead() ? "aes256gcm16" : "aes256-sha256") << (child.suite.esn ? "-esn" : "")
          << " stored-not-in-dataplane\n";
  }
  out.close();
  std::rename((path + ".tmp").c_str(), path.c_str());
}

// One datagram from `fd` (port 500 or 4500); true when it carried IKE.
bool serve(int fd, uint16_t port, const in_addr& local, Responder& r, uint64_t& esp_dropped) {
  uint8_t buf[kMaxMessageLen + 4];
  sockaddr_in from{};
  socklen_t fl = sizeof from;
  const ssize_t n = recvfrom(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &fl);
  if (n <= 0) return false;
  size_t off = 0;
  if (port == 4500) {
    if (n == 1 && buf[0] == 0xff) return false;  // NAT-T keepalive (RFC 3948 § 2.3)
    if (n < 4 || buf[0] | buf[1] | buf[2] | buf[3]) return ++esp_dropped, true;
    off = 4;
  }
  const auto* a = reinterpret_cast<const uint8_t*>(&from.sin_addr);
  const auto* l = reinterpret_cast<const uint8_t*>(&local);
  const Endpoint peer{Bytes(a, a + 4), ntohs(from.sin_port)}, me{Bytes(l, l + 4), port};
  Bytes reply = r.handle(CSpan(buf + off, static_cast<size_t>(n) - off), peer, me);
  if (reply.empty()) return true;
  if (port == 4500) reply.insert(reply.begin(), 4, 0);
  sendto(fd, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from), fl);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path, state_path;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--config")
      config_path = argv[i + 1];
    else if (k == "--state")
      state_path = argv[i + 1];
  }
  ToolConfig cfg;
  std::string error;
  if (config_path.empty() || !load(config_path, cfg, error)) {
    std::fprintf(stderr, "%s\n",
                 config_path.empty() ? "usage: ike_responder --config FILE [--state FILE]" : error.c_str());
    return 2;
  }
  in_addr local{};
  if (inet_pton(AF_INET, cfg.listen.c_str(), &local) != 1) {
    std::fprintf(stderr, "%s: listen: not an IPv4 address\n", config_path.c_str());
    return 2;
  }
  std::signal(SIGTERM, [](int) { g_stop = 1; });
  std::signal(SIGINT, [](int) { g_stop = 1; });
  const uint16_t ports[2] = {500, 4500};
  pollfd fds[2] = {{udp_socket(local, 500), POLLIN, 0}, {udp_socket(local, 4500), POLLIN, 0}};
  Responder responder(std::move(cfg.responder));
  uint64_t esp_dropped = 0;
  auto last_rotation = std::chrono::steady_clock::now();
  write_state(state_path, responder, esp_dropped);
  std::fprintf(stderr, "ike_responder: listening on %s:500 and :4500\n", cfg.listen.c_str());
  while (!g_stop) {
    const auto now = std::chrono::steady_clock::now();
    responder.expire_half_open(now, std::chrono::seconds(30));
    if (now - last_rotation > std::chrono::minutes(5)) {  // § 2.6: cookies age out within two periods
      responder.rotate_cookie_secret();
      last_rotation = now;
    }
    if (poll(fds, 2, 500) <= 0) continue;
    for (int i = 0; i < 2; ++i)
      if ((fds[i].revents & POLLIN) && serve(fds[i].fd, ports[i], local, responder, esp_dropped))
        write_state(state_path, responder, esp_dropped);
  }
  close(fds[0].fd);
  close(fds[1].fd);
  return 0;
}
