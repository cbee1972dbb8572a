// Tunnel setup rate with N sites (issue #20): IKE_SA_INIT to Child SA
// installed, against ONE of our IKE responders, in-process, one thread.
//
// Each site is a distinct ipsec_peer of the responder (its own address, IDi,
// 32-byte random PSK or its own ECDSA P-256 certificate, its /24 as TSi) and
// is driven by our own Initiator (dataplane/control/ike/ike_initiator.h):
// real messages, IKE_SA_INIT with a fresh DH/ECDH key on both ends, IKE_AUTH
// (AUTH checked), the Child SA's keys derived on both ends, then the
// responder's Child SA put into an EspSaBook (keys expanded with IPsec-MB),
// as IkeService::sync_sas does in waypointd. Every site must come up: both
// ends established, one Child SA each, the initiator's outbound keys equal
// to the responder's inbound ones and the reverse, and the books holding N
// Child SAs; otherwise the bench fails (exit 1) without printing a rate.
//
// Timed: the responder's part (its two handle() calls plus the book insert)
// by thread CPU time per site (the headend's capacity: tunnels per CPU
// second, p50/p99 per tunnel), and the whole exchange (both ends in this
// thread) by thread CPU time and wall clock. Baseline in the same run: the
// key exchange alone with OpenSSL through our DhKey (keygen + derive of the
// proposal's group), so the report gives the share of setup that is DH.
//
// One EspSaBook holds kMaxEspTunnels (4 096) tunnels and kMaxEspSas / 2
// (8 192) Child SAs: more sites go into one book per 4 096 (sites i,
// i+4096, ... would otherwise share a tunnel index); 1 000 sites fit one
// book (before issue #20's larger tables they took four of 256); see
// perf/README.md § IKE setup.
//
// build/perf/wp_bench_ike_setup [--sites N] [--proposal NAME|all] [--auth psk|cert] [--json]
// WP_BENCH_OUT=FILE appends the JSON lines (one per proposal) to FILE.
// OpenSSL (test_certs.h) before IPsec-MB: its SHA1 macros clash with <openssl/sha.h>.
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>

#include "tests/unit/test_certs.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/control/ike/child_esp.h"
#include "dataplane/control/ike/ike_cert.h"
#include "dataplane/control/ike/ike_crypto.h"
#include "dataplane/control/ike/ike_initiator.h"
#include "dataplane/control/ike/ike_responder.h"
#include "dataplane/control/ike/responder_config.h"
#include "dataplane/crypto/engine.h"
#include "perf/report.h"

namespace {

using namespace wp;
using namespace wp::ike;
using BenchClock = std::chrono::steady_clock;
constexpr uint16_t kIkeSetupPort = 500;  // = kIkePort (ike_service.h)

constexpr uint32_t kIkeSetupSitesPerBook = kMaxEspTunnels < kMaxEspSas / 2 ? kMaxEspTunnels : kMaxEspSas / 2;

struct IkeSetupArgs {
  unsigned sites = 1000;
  std::vector<std::string> proposals{"aes256-sha256-modp2048", "aes256-sha256-ecp256", "aes256gcm16-prfsha256-ecp256"};
  std::string auth = "psk";
  bool json_only = false;
};

struct IkeSetupResult {
  std::string proposal;
  unsigned sites = 0;
  size_t child_sas = 0, books = 0;
  double resp_cpu_s = 0, exch_cpu_s = 0, exch_wall_s = 0;
  double resp_p50_us = 0, resp_p99_us = 0;
  double dh_us = 0;                           // one end's keygen + derive (DhKey), interleaved with the sites
  double dh_keygen_us = 0, dh_derive_us = 0;  // OpenSSL through DhKey, per operation, after the sites
  double raw_derive_us = 0, public_check_us = 0;  // EVP_PKEY_derive alone; EVP_PKEY_public_check alone
};

Bytes ike_setup_addr(uint8_t a, uint8_t b, uint8_t c, uint8_t d) { return Bytes{a, b, c, d}; }

TrafficSelector ike_setup_ts(Bytes lo, Bytes hi) {
  TrafficSelector t;
  t.start_addr = std::move(lo);
  t.end_addr = std::move(hi);
  return t;
}

// The site's address, its LAN /24 (172.16.0.0/12 by site number).
Bytes ike_setup_site_addr(unsigned i) { return ike_setup_addr(100, 64, static_cast<uint8_t>(i >> 8), i & 255); }
TrafficSelector ike_setup_site_lan(unsigned i) {
  const auto b = static_cast<uint8_t>(16 + (i >> 8)), c = static_cast<uint8_t>(i & 255);
  return ike_setup_ts(ike_setup_addr(172, b, c, 0), ike_setup_addr(172, b, c, 255));
}

const Endpoint& ike_setup_headend() {
  static const Endpoint e{ike_setup_addr(192, 0, 2, 1), kIkeSetupPort};
  return e;
}

Ipv4 ike_setup_ipv4(const Bytes& b) {
  return b.size() == 4 ? Ipv4{b[0]} << 24 | Ipv4{b[1]} << 16 | Ipv4{b[2]} << 8 | b[3] : 0;
}

// Certificates for --auth cert: one CA, the headend's and one per site, all
// ECDSA P-256, made now (nothing committed).
struct IkeSetupCerts {
  CertAuthPtr headend;
  std::vector<CertAuthPtr> sites;
};

bool ike_setup_make_certs(unsigned n, IkeSetupCerts& out, std::string& error) {
  using namespace wp::testcert;
  const Issued ca = issue("bench CA", {}, KeyType::p256, nullptr, true);
  const Issued he = issue("headend", {"headend.bench"}, KeyType::p256, &ca, false);
  out.headend = load_cert_auth(he.cert_pem, he.key_pem, ca.cert_pem, error);
  if (!out.headend) return false;
  for (unsigned i = 0; i < n; ++i) {
    const std::string name = "site" + std::to_string(i) + ".bench";
    const Issued s = issue(name, {name}, KeyType::p256, &ca, false);
    out.sites.push_back(load_cert_auth(s.cert_pem, s.key_pem, ca.cert_pem, error));
    if (!out.sites.back()) return false;
  }
  return true;
}

EspSuite ike_setup_esp(const IkeSuite& s) {
  return s.aead() ? EspSuite{kEncrAesGcm16, 0, false} : EspSuite{kEncrAesCbc, kIntegHmacSha256_128, false};
}

double ike_setup_pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t k = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5));
  return v[k];
}

// A public key of `group` from its KE data (as ike_crypto.cc's peer_key, without the check).
EVP_PKEY* ike_setup_pkey(uint16_t group, const Bytes& pub) {
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  BIGNUM* bn = nullptr;
  Bytes point{0x04};
  point.insert(point.end(), pub.begin(), pub.end());
  bool ok = bld != nullptr;
  if (ok && group == kDhModp2048) {
    bn = BN_bin2bn(pub.data(), static_cast<int>(pub.size()), nullptr);
    ok = bn && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "modp_2048", 0) &&
         OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PUB_KEY, bn);
  } else if (ok) {
    ok = OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) &&
         OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size());
  }
  OSSL_PARAM* params = ok ? OSSL_PARAM_BLD_to_param(bld) : nullptr;
  EVP_PKEY* key = nullptr;
  EVP_PKEY_CTX* ctx = params ? EVP_PKEY_CTX_new_from_name(nullptr, group == kDhModp2048 ? "DH" : "EC", nullptr) : nullptr;
  if (ctx && EVP_PKEY_fromdata_init(ctx) == 1) EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params);
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  BN_free(bn);
  return key;
}

// A key pair of `group`, as DhKey::generate makes it.
EVP_PKEY* ike_setup_pkey_pair(uint16_t group) {
  if (group != kDhModp2048) return EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  EVP_PKEY* pkey = nullptr;
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "DH", nullptr);
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char*>("modp_2048"), 0),
                         OSSL_PARAM_construct_end()};
  if (ctx && EVP_PKEY_keygen_init(ctx) == 1 && EVP_PKEY_CTX_set_params(ctx, params) == 1) EVP_PKEY_generate(ctx, &pkey);
  EVP_PKEY_CTX_free(ctx);
  return pkey;
}

// The key exchange alone, `n` times: keygen of the group (what each end does
// per IKE_SA_INIT) and derive against a fixed peer value (ditto).
bool ike_setup_dh_baseline(uint16_t group, unsigned n, IkeSetupResult& r, std::string& error) {
  auto peer = DhKey::generate(group, error);
  if (!peer) return false;
  std::vector<std::unique_ptr<DhKey>> keys;
  keys.reserve(n);
  double t0 = wp::bench::thread_cpu_s();
  for (unsigned i = 0; i < n; ++i) {
    keys.push_back(DhKey::generate(group, error));
    if (!keys.back()) return false;
  }
  double t1 = wp::bench::thread_cpu_s();
  Bytes secret;
  for (unsigned i = 0; i < n; ++i)
    if (!keys[i]->shared_secret(peer->public_value(), secret, error)) return false;
  double t2 = wp::bench::thread_cpu_s();
  r.dh_keygen_us = (t1 - t0) * 1e6 / n;
  r.dh_derive_us = (t2 - t1) * 1e6 / n;
  // Where DhKey::shared_secret's time goes: OpenSSL's derive alone (the peer
  // key made once, EVP_PKEY_derive_set_peer_ex without validation) and the
  // full EVP_PKEY_public_check, which peer_key() (ike_crypto.cc) no longer runs (the quick one, RFC 6989).
  EVP_PKEY* peer_pkey = ike_setup_pkey(group, peer->public_value());
  EVP_PKEY* own_pkey = ike_setup_pkey_pair(group);
  if (!peer_pkey || !own_pkey) return EVP_PKEY_free(peer_pkey), EVP_PKEY_free(own_pkey), error = "EVP keys", false;
  bool ok = true;
  Bytes buf(256);
  t0 = wp::bench::thread_cpu_s();
  for (unsigned i = 0; i < n && ok; ++i) {
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_pkey(nullptr, own_pkey, nullptr);
    size_t len = buf.size();
    ok = ctx && EVP_PKEY_derive_init(ctx) == 1 && EVP_PKEY_derive_set_peer_ex(ctx, peer_pkey, 0) == 1 &&
         EVP_PKEY_derive(ctx, buf.data(), &len) == 1;
    EVP_PKEY_CTX_free(ctx);
  }
  t1 = wp::bench::thread_cpu_s();
  for (unsigned i = 0; i < n && ok; ++i) {
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_pkey(nullptr, peer_pkey, nullptr);
    ok = ctx && EVP_PKEY_public_check(ctx) == 1;
    EVP_PKEY_CTX_free(ctx);
  }
  t2 = wp::bench::thread_cpu_s();
  EVP_PKEY_free(peer_pkey);
  EVP_PKEY_free(own_pkey);
  if (!ok) return error = "OpenSSL derive or public check failed", false;
  r.raw_derive_us = (t1 - t0) * 1e6 / n;
  r.public_check_us = (t2 - t1) * 1e6 / n;
  return true;
}

bool ike_setup_run(const IkeSetupArgs& a, const std::string& proposal, const IkeSetupCerts* certs,
                   IkeSetupResult& r, std::string& error) {
  IkeSuite suite;
  if (!ike_suite_by_name(proposal, suite)) return error = "unknown proposal " + proposal, false;
  const EspSuite esp = ike_setup_esp(suite);
  r.proposal = proposal;
  r.sites = a.sites;

  ResponderConfig rc;
  rc.ike_suites = {suite};
  std::vector<InitiatorConfig> ics(a.sites);
  for (unsigned i = 0; i < a.sites; ++i) {
    const std::string site = "site" + std::to_string(i) + ".bench";
    Bytes psk(32);
    if (RAND_bytes(psk.data(), static_cast<int>(psk.size())) != 1) return error = "RAND_bytes failed", false;
    PeerConfig p;
    p.name = "site" + std::to_string(i);
    p.local_id = "headend.bench";
    p.remote_id = site;
    if (certs) p.cert = certs->headend;
    else p.psk = psk;
    p.esp_suites = {esp};
    p.local_ts = {ike_setup_ts(ike_setup_addr(10, 200, 0, 0), ike_setup_addr(10, 200, 255, 255))};
    p.remote_ts = {ike_setup_site_lan(i)};
    p.tunnel = i % kIkeSetupSitesPerBook;
    rc.peers.push_back(p);

    InitiatorConfig& ic = ics[i];
    ic.peer.name = "headend";
    ic.peer.local_id = site;
    ic.peer.remote_id = "headend.bench";
    if (certs) ic.peer.cert = certs->sites[i];
    else ic.peer.psk = psk;
    ic.peer.esp_suites = {esp};
    ic.peer.local_ts = {ike_setup_site_lan(i)};
    ic.peer.remote_ts = p.local_ts;
    ic.ike_suites = {suite};
    ic.local = Endpoint{ike_setup_site_addr(i), kIkeSetupPort};
    ic.remote = ike_setup_headend();
    wipe(psk);
  }

  uint64_t resp_logs = 0, init_logs = 0;
  std::string last_log;
  Responder resp(rc, [&](const std::string& l) { ++resp_logs, last_log = l; });
  CryptoEngine eng;
  std::vector<std::unique_ptr<EspSaBook>> books;
  std::vector<double> per_site_us;
  per_site_us.reserve(a.sites);

  // The baseline interleaved with the sites (same minutes of a shared VM):
  // after each site, one end's key exchange alone, keygen + derive.
  const auto dh_peer = DhKey::generate(suite.dh, error);
  if (!dh_peer) return false;
  double resp_cpu = 0, exch_cpu = 0, exch_wall = 0, dh_cpu = 0;
  for (unsigned i = 0; i < a.sites; ++i) {
    const auto now = BenchClock::now();
    const double site_cpu0 = wp::bench::thread_cpu_s();
    Initiator init(std::move(ics[i]), [&](const std::string& l) { ++init_logs, last_log = l; });
    const Endpoint site_ep{ike_setup_site_addr(i), kIkeSetupPort};
    double site_resp = 0;
    Bytes d = init.start(now);
    for (int n = 0; n < 8 && !d.empty(); ++n) {
      const double t0 = wp::bench::thread_cpu_s();
      const Bytes answer = resp.handle(d, site_ep, ike_setup_headend(), now);
      site_resp += wp::bench::thread_cpu_s() - t0;
      if (answer.empty()) break;
      d = init.handle(answer, now);
    }
    const IkeSa* isa = init.sa();
    if (init.state() != InitiatorState::established || !isa || init.child_count() != 1) {
      error = "site " + std::to_string(i) + ": initiator " + std::string(initiator_state_name(init.state())) +
              (init.failure() ? " (" + std::string(init_failure_name(*init.failure())) + ")" : "") +
              "; last log: " + last_log;
      return false;
    }
    const auto it = resp.sas().find(isa->spi_r);
    if (it == resp.sas().end() || it->second->state != IkeSaState::established || it->second->children.size() != 1)
      return error = "site " + std::to_string(i) + ": responder SA not established with one Child SA", false;
    const IkeSa& rsa = *it->second;
    const ChildSa& rc_child = rsa.children.begin()->second;
    const ChildSa& ic_child = *init.child();
    if (rc_child.spi_in != ic_child.spi_out || rc_child.spi_out != ic_child.spi_in ||
        rc_child.enc_in != ic_child.enc_out || rc_child.integ_in != ic_child.integ_out ||
        rc_child.enc_out != ic_child.enc_in || rc_child.integ_out != ic_child.integ_in || rc_child.enc_in.empty())
      return error = "site " + std::to_string(i) + ": the two ends' Child SA keys or SPIs differ", false;
    if (!rsa.config || rsa.config->remote_id != "site" + std::to_string(i) + ".bench")
      return error = "site " + std::to_string(i) + ": authenticated as the wrong peer", false;

    // Into the workers' SA table, as IkeService::sync_sas does.
    if (i % kIkeSetupSitesPerBook == 0) books.push_back(std::make_unique<EspSaBook>());  // made once, untimed
    const double t0 = wp::bench::thread_cpu_s();
    TunnelEndpoint ep;
    ep.tunnel = static_cast<uint16_t>(rsa.config->tunnel);
    ep.local = ike_setup_ipv4(rsa.local.addr);
    ep.peer = ike_setup_ipv4(rsa.peer.addr);
    ep.udp_encap = rsa.udp_encap;
    if (!books.back()->add(eng, rc_child, ep, error)) return error = "site " + std::to_string(i) + ": " + error, false;
    const double t1 = wp::bench::thread_cpu_s();
    exch_wall += std::chrono::duration<double>(BenchClock::now() - now).count();
    site_resp += t1 - t0;
    resp_cpu += site_resp;
    exch_cpu += t1 - site_cpu0;
    per_site_us.push_back(site_resp * 1e6);

    Bytes secret;
    const auto key = DhKey::generate(suite.dh, error);
    if (!key || !key->shared_secret(dh_peer->public_value(), secret, error)) return false;
    dh_cpu += wp::bench::thread_cpu_s() - t1;
    wipe(secret);
  }
  r.exch_cpu_s = exch_cpu;
  r.exch_wall_s = exch_wall;
  r.dh_us = dh_cpu * 1e6 / a.sites;
  r.resp_cpu_s = resp_cpu;
  r.resp_p50_us = ike_setup_pct(per_site_us, 0.50);
  r.resp_p99_us = ike_setup_pct(per_site_us, 0.99);
  r.books = books.size();
  for (const auto& b : books) r.child_sas += b->child_sas();
  if (r.child_sas != a.sites || resp.counters().child_sas_installed != a.sites ||
      resp.counters().ike_sas_established != a.sites) {
    error = "Child SAs installed " + std::to_string(r.child_sas) + ", responder counted " +
            std::to_string(resp.counters().child_sas_installed) + " Child SAs and " +
            std::to_string(resp.counters().ike_sas_established) + " IKE SAs, for " + std::to_string(a.sites) +
            " sites";
    return false;
  }
  return ike_setup_dh_baseline(suite.dh, a.sites, r, error);
}

std::string ike_setup_commit() {
  if (const char* c = std::getenv("WP_COMMIT")) return c;
  // HEAD, "-dirty" when tracked sources differ from it (perf/results, which
  // WP_BENCH_OUT appends to, does not count).
  std::string out;
  if (FILE* p = popen("git rev-parse --short HEAD 2>/dev/null && "
                      "{ git diff --quiet HEAD -- . ':(exclude)perf/results' || echo dirty; }",
                      "r")) {
    char buf[64];
    for (int line = 0; std::fgets(buf, sizeof buf, p); ++line) {
      std::string l = buf;
      while (!l.empty() && (l.back() == '\n' || l.back() == '\r')) l.pop_back();
      out += line ? "-" + l : l;
    }
    pclose(p);
  }
  return out.empty() ? "unknown" : out;
}

std::string ike_setup_loadavg() {
  std::string out;
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    double a = 0, b = 0, c = 0;
    if (std::fscanf(f, "%lf %lf %lf", &a, &b, &c) == 3) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.2f %.2f %.2f", a, b, c);
      out = buf;
    }
    std::fclose(f);
  }
  return out;
}

int ike_setup_usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s [--sites N] [--proposal NAME|all] [--auth psk|cert] [--json]\n"
               "  NAME: aes256-sha256-modp2048, aes256-sha256-ecp256, aes256gcm16-prfsha256-ecp256\n"
               "  WP_BENCH_OUT=FILE appends the JSON lines to FILE\n",
               argv0);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  IkeSetupArgs a;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--sites" && has_value) {
      const long v = std::strtol(argv[++i], nullptr, 10);
      if (v < 1 || v > 100000) return ike_setup_usage(argv[0]);
      a.sites = static_cast<unsigned>(v);
    } else if (arg == "--proposal" && has_value) {
      const std::string v = argv[++i];
      if (v != "all") a.proposals = {v};
    } else if (arg == "--auth" && has_value) {
      a.auth = argv[++i];
      if (a.auth != "psk" && a.auth != "cert") return ike_setup_usage(argv[0]);
    } else if (arg == "--json") {
      a.json_only = true;
    } else {
      return ike_setup_usage(argv[0]);
    }
  }
  for (const std::string& p : a.proposals) {
    IkeSuite s;
    if (!ike_suite_by_name(p, s)) return std::fprintf(stderr, "unknown proposal %s\n", p.c_str()), ike_setup_usage(argv[0]);
  }

  std::string error;
  IkeSetupCerts certs;
  if (a.auth == "cert" && !ike_setup_make_certs(a.sites, certs, error))
    return std::fprintf(stderr, "certificates: %s\n", error.c_str()), 1;

  const std::string commit = ike_setup_commit(), load_before = ike_setup_loadavg();
  std::vector<IkeSetupResult> results;
  for (const std::string& p : a.proposals) {
    IkeSetupResult r;
    if (!ike_setup_run(a, p, a.auth == "cert" ? &certs : nullptr, r, error)) {
      std::fprintf(stderr, "FAIL %s (%s): %s\n", p.c_str(), a.auth.c_str(), error.c_str());
      return 1;
    }
    results.push_back(r);
  }
  const std::string load = ike_setup_loadavg();

  if (!a.json_only) {
    std::printf("IKEv2 tunnel setup, %u sites against one responder, auth %s, one thread (commit %s, load %s)\n",
                a.sites, a.auth.c_str(), commit.c_str(), load.c_str());
    std::printf("  %-30s %10s %12s %12s %9s %9s %10s %10s %9s %9s\n", "proposal", "child SAs", "resp tun/cpu",
                "exch tun/cpu", "exch/wall", "resp p50", "resp p99", "DH resp", "DH share", "DH exch");
    for (const IkeSetupResult& r : results) {
      const double resp_us = r.resp_cpu_s * 1e6 / r.sites, exch_us = r.exch_cpu_s * 1e6 / r.sites;
      const double dh = r.dh_us;
      std::printf("  %-30s %10zu %12.0f %12.0f %9.0f %7.0fus %8.0fus %8.0fus %8.1f%% %8.1f%%\n", r.proposal.c_str(),
                  r.child_sas, r.sites / r.resp_cpu_s, r.sites / r.exch_cpu_s, r.sites / r.exch_wall_s, r.resp_p50_us,
                  r.resp_p99_us, dh, 100 * dh / resp_us, 100 * 2 * dh / exch_us);
    }
    std::printf("  key exchange per operation after the sites (us): keygen, DhKey derive (import + EVP_PKEY_public_check_quick + derive),\n"
                "  OpenSSL derive alone, the full EVP_PKEY_public_check alone (peer_key() runs the quick one)\n");
    for (const IkeSetupResult& r : results)
      std::printf("  %-30s %8.1f %8.1f %8.1f %8.1f\n", r.proposal.c_str(), r.dh_keygen_us, r.dh_derive_us,
                  r.raw_derive_us, r.public_check_us);
    std::printf("  resp: the responder's handle() of IKE_SA_INIT and IKE_AUTH + the EspSaBook insert, thread CPU;\n"
                "  exch: both ends in this thread; DH resp: OpenSSL keygen + derive once (one end, DhKey,\n"
                "  timed after each site); DH share: of the responder's time per tunnel; DH exch: 2 x DH of\n"
                "  the whole exchange's time.\n"
                "  %zu EspSaBooks of %u tunnels (kMaxEspTunnels %u, kMaxEspSas %u slots)\n",
                results.empty() ? size_t{0} : results.front().books, kIkeSetupSitesPerBook, kMaxEspTunnels,
                kMaxEspSas);
  }
  const char* out_path = std::getenv("WP_BENCH_OUT");
  FILE* out = out_path ? std::fopen(out_path, "a") : nullptr;
  if (out_path && !out) return std::fprintf(stderr, "cannot append to %s\n", out_path), 1;
  for (const IkeSetupResult& r : results) {
    const double resp_us = r.resp_cpu_s * 1e6 / r.sites, exch_us = r.exch_cpu_s * 1e6 / r.sites;
    const double dh = r.dh_us;
    char line[1536];
    std::snprintf(line, sizeof line,
                  "{\"bench\":\"ike_setup\",\"proposal\":\"%s\",\"auth\":\"%s\",\"sites\":%u,\"commit\":\"%s\","
                  "\"date\":\"%s\",\"note\":\"load average %s (before: %s)\",\"child_sas_installed\":%zu,"
                  "\"esp_sa_books\":%zu,\"responder_tunnels_per_cpu_s\":%.1f,\"exchange_tunnels_per_cpu_s\":%.1f,"
                  "\"exchange_tunnels_per_s\":%.1f,\"responder_us\":{\"mean\":%.1f,\"p50\":%.1f,\"p99\":%.1f},"
                  "\"exchange_cpu_us\":%.1f,\"baseline_dh_us\":%.1f,\"baseline_dh_keygen_us\":%.1f,\"baseline_dh_derive_us\":%.1f,"
                  "\"baseline_dh_share_responder\":%.3f,\"baseline_dh_share_exchange\":%.3f,"
                  "\"baseline_openssl_derive_us\":%.1f,\"baseline_openssl_public_check_us\":%.1f}",
                  r.proposal.c_str(), a.auth.c_str(), r.sites, commit.c_str(), wp::bench::iso_date_now().c_str(),
                  load.c_str(), load_before.c_str(), r.child_sas, r.books, r.sites / r.resp_cpu_s,
                  r.sites / r.exch_cpu_s, r.sites / r.exch_wall_s, resp_us, r.resp_p50_us, r.resp_p99_us, exch_us, dh,
                  r.dh_keygen_us, r.dh_derive_us, dh / resp_us, 2 * dh / exch_us, r.raw_derive_us, r.public_check_us);
    std::printf("%s\n", line);
    if (out) std::fprintf(out, "%s\n", line);
  }
  if (out) std::fclose(out);
  return 0;
}
