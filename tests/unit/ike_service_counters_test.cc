// Operating IPsec (docs/ipsec.md § Per-SA status and counters, issue #20):
// a real IKE SA and Child SA negotiated by the test initiator with the IKE
// service, a worker's EspWorkerState counting the Child SA's packets into
// the shared per-SA counter rows, then what operators read: the Child SA's
// counters in GET /api/v1/ipsec and GET /api/v1/ipsec/sas (with and
// without ?tunnel=), and the Prometheus text of /metrics: IKE failures by
// reason, per-tunnel ESP counters, every family declared once before its
// samples. No key and no PSK in any of it.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "dataplane/control/ike_service.h"
#include "dataplane/ipsec/esp_sa.h"
#include "mgmt/ipsec_sas.h"
#include "tests/unit/ike_service_test_config.h"
#include "tests/unit/ike_test_initiator.h"

namespace wp::ike {
namespace {

constexpr Ipv4 kSiteAddr = 0x0a4e0001, kHeadendAddr = 0x0a4e0002;  // kSite, kHeadend
constexpr uint32_t kReaders = 2;  // a worker and the dispatcher, as waypointd's workers + 1

waypoint::config::Config counters_config() {
  waypoint::config::Config cfg;
  cfg.add_tenants()->set_name("branch");
  add_site1(cfg, "branch");
  return cfg;
}

struct IkeServiceCountersTest : ::testing::Test {
  std::atomic<const EspSaTable*> table{nullptr};
  std::atomic<uint64_t> epoch{0};
  std::unique_ptr<EspTunnelCounters[]> tunnel_counters =
      std::make_unique<EspTunnelCounters[]>(kReaders * kEspCounterTunnels);
  std::unique_ptr<EspSaCounterSlot[]> sa_counters = std::make_unique<EspSaCounterSlot[]>(kReaders * kMaxEspSas);
  IkeService svc{counters_config(), table, {&epoch}};
  TestInitiator i;
  uint32_t spi_in = 0;  // ours

  void SetUp() override {
    svc.set_tunnel_counters(tunnel_counters.get(), kReaders);
    svc.set_sa_counters(sa_counters.get());
  }
  Bytes send(const Bytes& d) { return svc.input(d, kSiteAddr, kIkePort, kHeadendAddr, kIkePort); }
  void init() {
    IkeSuite s;
    ASSERT_TRUE(ike_suite_by_name("aes256-sha256-modp2048", s));
    ASSERT_TRUE(i.accept(send(i.sa_init({ike_proposal(1, s)}, kDhModp2048))));
  }
  void establish() {
    init();
    const auto out = i.open(send(i.auth(kPsk)));
    const auto* sa = find<SaPayload>(out, PayloadType::sa);
    ASSERT_NE(sa, nullptr);
    const Bytes& s = sa->proposals.at(0).spi;
    spi_in = uint32_t(s[0]) << 24 | uint32_t(s[1]) << 16 | uint32_t(s[2]) << 8 | s[3];
  }
  // The control thread renders once a second (and after each datagram).
  std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now();
  void render() { svc.poll(now += std::chrono::seconds(2)); }
  nlohmann::json status() const { return nlohmann::json::parse(svc.status_json()); }
};

TEST_F(IkeServiceCountersTest, ChildSaCarriesTheWorkersCountersSummed) {
  establish();
  const EspSaTable* t = table.load();
  ASSERT_NE(t, nullptr);
  const EspSa* in = t->inbound(spi_in);
  const EspSa* out = t->outbound(0);
  ASSERT_NE(in, nullptr);
  ASSERT_NE(out, nullptr);
  // Worker 1's row (the SAs' owner), as EspStep sets it; the dispatcher's row stays 0.
  EspWorkerState w;
  w.set_counters(&sa_counters[1 * kMaxEspSas]);
  for (int k = 0; k < 3; ++k) w.of(*t, *in).count(100);
  w.of(*t, *in).count_drop(DropReason::esp_replayed);
  w.of(*t, *in).count_drop(DropReason::esp_too_old);
  w.of(*t, *in).count_drop(DropReason::esp_auth_failed);
  w.of(*t, *in).count_drop(DropReason::esp_bad_padding);
  w.of(*t, *out).count(1400);
  w.of(*t, *out).count(600);
  w.of(*t, *out).count_drop(DropReason::esp_too_big);
  EXPECT_EQ(w.counters(in->slot).packets, 3u);
  render();

  const nlohmann::json c = status()["child_sas"].at(0);
  EXPECT_EQ(c["in_packets"], 3);
  EXPECT_EQ(c["in_bytes"], 300);
  EXPECT_EQ(c["in_drops"], 4);
  EXPECT_EQ(c["replay_drops"], 2);
  EXPECT_EQ(c["integrity_failures"], 1);
  EXPECT_EQ(c["out_packets"], 2);
  EXPECT_EQ(c["out_bytes"], 2000);
  EXPECT_EQ(c["out_drops"], 1);
  EXPECT_NEAR(c["expires_in_s"].get<int64_t>(), 3600 - c["age_s"].get<int64_t>(), 1);  // child_lifetime_s 3600
  EXPECT_GE(c["rekey_in_s"].get<int64_t>(), 0);  // soft lifetime before the hard one
  EXPECT_LT(c["rekey_in_s"].get<int64_t>(), c["expires_in_s"].get<int64_t>());
  const nlohmann::json ike = status()["ike_sas"].at(0);
  EXPECT_EQ(ike["tunnel"], "ipsec0");
  EXPECT_EQ(ike["local_id"], "headend.example");
  EXPECT_EQ(ike["remote_id"], "site1.example");
  EXPECT_EQ(ike["encap"], "none");

  // A slot reused for another SA (a new generation) does not inherit them.
  EspSa other = *in;
  other.generation += 1000;
  EXPECT_EQ(read_esp_sa_counters(sa_counters.get(), kReaders, in->slot, other.generation).packets, 0u);
}

// Each tunnel's `path_mtu`, 0 while none is learned: the outer path MTU learned from an
// ICMPv6 Packet Too Big (docs/ipsec.md § IPv6 outer addresses).
TEST_F(IkeServiceCountersTest, StatusShowsEachTunnelsLearnedPathMtu) {
  EspPathMtu path_mtu;
  svc.set_path_mtu(&path_mtu);
  render();
  EXPECT_EQ(status()["tunnels"].at(0)["path_mtu"], 0);
  path_mtu.lower(0, 1300, 1218, 1000);
  render();
  EXPECT_EQ(status()["tunnels"].at(0)["path_mtu"], 1300);
  EXPECT_EQ(status()["tunnels"].at(0)["mtu"], 1400) << "the configured one stays";
}

TEST_F(IkeServiceCountersTest, SasDocumentFiltersByTunnelAndHoldsNoSecret) {
  establish();
  render();
  std::string out, error;
  ASSERT_TRUE(mgmt::ipsec_sas_json(svc.status_json(), "", out, error)) << error;
  nlohmann::json all = nlohmann::json::parse(out);
  EXPECT_EQ(all["enabled"], true);
  ASSERT_EQ(all["ike_sas"].size(), 1u);
  ASSERT_EQ(all["child_sas"].size(), 1u);
  EXPECT_FALSE(all.contains("counters"));  // the SAs only, not the rest of /api/v1/ipsec
  char want[9];
  std::snprintf(want, sizeof want, "%08x", spi_in);
  EXPECT_EQ(all["child_sas"][0]["spi_in"], want);
  ASSERT_TRUE(mgmt::ipsec_sas_json(svc.status_json(), "ipsec0", out, error)) << error;
  EXPECT_EQ(nlohmann::json::parse(out)["child_sas"].size(), 1u);
  EXPECT_FALSE(mgmt::ipsec_sas_json(svc.status_json(), "ipsec9", out, error));
  EXPECT_EQ(error, "tunnel: no tunnel named \"ipsec9\"");
  EXPECT_FALSE(mgmt::ipsec_sas_json("not json", "", out, error));

  // Neither the PSK nor a byte of a key, in the document or the metrics.
  ASSERT_TRUE(mgmt::ipsec_sas_json(svc.status_json(), "", out, error));
  const std::string metrics = svc.metrics("router=\"r1\"");
  const ChildSa& c = svc.responder().sas().begin()->second->children.begin()->second;
  std::string key_hex;
  for (size_t k = 0; k < 8; ++k) {
    char b[3];
    std::snprintf(b, sizeof b, "%02x", c.enc_in[k]);
    key_hex += b;
  }
  for (const std::string& text : {out, metrics}) {
    EXPECT_EQ(text.find(kPsk), std::string::npos);
    EXPECT_EQ(text.find(key_hex), std::string::npos);
  }
}

// name{labels} -> value of every sample; each family's HELP and TYPE once,
// before its samples (what promtool check metrics requires).
std::map<std::string, std::string> samples_of(const std::string& text) {
  std::map<std::string, std::string> out;
  std::set<std::string> typed;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("# TYPE ", 0) == 0) {
      const std::string name = line.substr(7, line.find(' ', 7) - 7);
      EXPECT_TRUE(typed.insert(name).second) << "family declared twice: " << name;
      continue;
    }
    if (line.empty() || line[0] == '#') continue;
    const std::string name = line.substr(0, line.find('{'));
    EXPECT_TRUE(typed.count(name)) << "sample before its TYPE: " << line;
    const size_t sp = line.rfind(' ');
    EXPECT_TRUE(out.emplace(line.substr(0, sp), line.substr(sp + 1)).second) << "sample twice: " << line;
  }
  return out;
}

TEST_F(IkeServiceCountersTest, MetricsCountIkeFailuresAndTunnelsEsp) {
  init();
  i.open(send(i.auth("not-the-psk-at-all")));  // AUTHENTICATION_FAILED
  TestInitiator j;
  j.spi_i = 0x2122334455667788;  // another IKE SA than i's
  IkeSuite gcm;                  // configured for another router, not for this peer
  ASSERT_TRUE(ike_suite_by_name("aes256gcm16-prfsha256-ecp256", gcm));
  send(j.sa_init({ike_proposal(1, gcm)}, kDhEcp256));  // NO_PROPOSAL_CHOSEN
  i = TestInitiator{};
  i.spi_i = 0x3122334455667788;
  establish();
  tunnel_counters[0 * kEspCounterTunnels + 0].in_packets = 5;
  tunnel_counters[1 * kEspCounterTunnels + 0].in_packets = 2;
  tunnel_counters[1 * kEspCounterTunnels + 0].out_bytes = 4096;
  tunnel_counters[1 * kEspCounterTunnels + 0].in_drops = 1;
  render();
  const std::string text = svc.metrics("router=\"r1\"");
  const auto m = samples_of(text);
  auto at = [&m](const std::string& key) {
    const auto it = m.find(key);
    return it == m.end() ? std::string("(none)") : it->second;
  };
  EXPECT_EQ(at(R"(waypoint_ike_failures_total{router="r1",reason="auth_failed"})"), "1");
  EXPECT_EQ(at(R"(waypoint_ike_failures_total{router="r1",reason="no_proposal"})"), "1");
  EXPECT_EQ(at(R"(waypoint_ike_failures_total{router="r1",reason="integrity"})"), "0");
  EXPECT_EQ(at(R"(waypoint_ike_refused_total{router="r1",reason="authentication_failed"})"), "1");
  EXPECT_EQ(at(R"(waypoint_ike_sas_active{router="r1"})"), "1");
  EXPECT_EQ(at(R"(waypoint_ike_child_sas_active{router="r1"})"), "1");
  EXPECT_EQ(at(R"(waypoint_ike_sas_established_total{router="r1"})"), "1");
  EXPECT_EQ(at(R"(waypoint_ike_cookies_sent_total{router="r1"})"), "0");
  EXPECT_EQ(at(R"(waypoint_ike_datagrams_total{router="r1"})"), "5");
  EXPECT_EQ(at(R"(waypoint_ike_rekeys_total{router="r1",event="child_rekeys_time"})"), "0");
  EXPECT_EQ(at(R"(waypoint_ike_initiator_failure_reasons_total{router="r1",reason="timeout"})"), "0");
  EXPECT_EQ(at(R"(waypoint_esp_tunnel_packets_total{router="r1",tunnel="ipsec0",direction="in"})"), "7");
  EXPECT_EQ(at(R"(waypoint_esp_tunnel_packets_total{router="r1",tunnel="ipsec0",direction="out"})"), "0");
  EXPECT_EQ(at(R"(waypoint_esp_tunnel_bytes_total{router="r1",tunnel="ipsec0",direction="out"})"), "4096");
  EXPECT_EQ(at(R"(waypoint_esp_tunnel_drops_total{router="r1",tunnel="ipsec0",direction="in"})"), "1");
  // Bounded labels: no SPI and no address.
  char spi[9];
  std::snprintf(spi, sizeof spi, "%08x", spi_in);
  EXPECT_EQ(text.find(spi), std::string::npos);
  EXPECT_EQ(text.find("10.78.0.1"), std::string::npos);
}

}  // namespace
}  // namespace wp::ike
