// Tests for the QoS configuration (mgmt/config_validate_qos.cc) and what the
// model builds of it (dataplane/control/model_build.cc).
//
// The baseline is r1.yaml (tests/data/config) with a qos block spliced into
// wan0, a DSCP map and a class on a service; every rule is exercised by
// breaking exactly one thing and asserting the exact path plus a message
// substring.
#include <gtest/gtest.h>

#include "dataplane/apps/catalog.h"
#include "dataplane/control/router_model.h"
#include "dataplane/crypto/hmac.h"
#include "mgmt/config_load.h"
#include "tests/unit/test_data.h"

namespace wp::mgmt {
namespace {

using test::r1_text;

const std::string kPort =
    "      qos:\n"
    "        rate_kbps: 20000\n"
    "        burst_bytes: 30000\n"
    "        classes:\n"
    "          - name: voice\n"
    "            rate_kbps: 2000\n"
    "            burst_bytes: 4000\n"
    "          - name: bulk\n"
    "            weight: 5\n"
    "            queue_packets: 256\n";

// r1 with `port` as wan0's qos block, `top` appended at the top level and
// `service` as extra lines of the first service (web).
ConfigResult load(const std::string& port = kPort, const std::string& top = "", const std::string& service = "") {
  std::string t = r1_text();
  const std::string mtu = "      mtu: 1500\n";
  t.replace(t.find(mtu), mtu.size(), mtu + port);
  const std::string web = "    next_peer: r2\n";
  t.replace(t.find(web), web.size(), web + service);
  return load_config_text(t + top);
}

testing::AssertionResult HasError(const ConfigResult& r, const std::string& path, const std::string& text) {
  for (const auto& e : r.errors)
    if (e.path == path && e.message.find(text) != std::string::npos) return testing::AssertionSuccess();
  return testing::AssertionFailure() << "no error at \"" << path << "\" containing \"" << text << "\"; got:\n"
                                     << r.error_text();
}

TEST(QosConfig, ValidPortDscpAndServiceClassBuildTheModel) {
  ConfigResult r = load(kPort, "qos:\n  dscp:\n    - name: voice\n      value: 40\n", "    qos_class: voice\n");
  ASSERT_TRUE(r.ok()) << r.error_text();
  HmacEngine hmac;
  std::string err;
  auto m = RouterModel::build(r.config, nullptr, nullptr, hmac, err);
  ASSERT_TRUE(m) << err;
  const InterfaceModel& wan = m->interfaces[1];
  ASSERT_TRUE(wan.shaped);
  EXPECT_FALSE(m->interfaces[0].shaped);
  EXPECT_EQ(wan.qos.rate_bps, 20'000'000u);
  EXPECT_EQ(wan.qos.burst_bytes, 30000u);
  const QosClassConfig& voice = wan.qos.classes[static_cast<size_t>(QosClass::voice)];
  EXPECT_TRUE(voice.strict) << "the default stays";
  EXPECT_EQ(voice.rate_bps, 2'000'000u);
  EXPECT_EQ(voice.burst_bytes, 4000u);
  const QosClassConfig& bulk = wan.qos.classes[static_cast<size_t>(QosClass::bulk)];
  EXPECT_EQ(bulk.weight, 5u);
  EXPECT_EQ(bulk.queue_packets, 256u);
  EXPECT_EQ(wan.qos.classes[static_cast<size_t>(QosClass::video)].weight, 40u) << "untouched classes keep defaults";
  EXPECT_EQ(m->qos_dscp[static_cast<size_t>(QosClass::voice)], 40);
  EXPECT_EQ(m->qos_dscp[static_cast<size_t>(QosClass::bulk)], 10) << "AF11 by default";
  EXPECT_EQ(m->qos_dscp[static_cast<size_t>(QosClass::network_control)], 48) << "CS6 by default";
  EXPECT_EQ(m->services[0].qos_class, QosClass::voice);
  EXPECT_EQ(m->services[1].qos_class, QosClass::best_effort) << "no class given";
}

TEST(QosConfig, PortNeedsARateAndABurstInRange) {
  EXPECT_TRUE(HasError(load("      qos:\n        burst_bytes: 4000\n"), "router.wan[0].qos.rate_kbps", "required"));
  EXPECT_TRUE(HasError(load("      qos:\n        rate_kbps: 100000001\n"), "router.wan[0].qos.rate_kbps", "above"));
  EXPECT_TRUE(HasError(load("      qos:\n        rate_kbps: 1000\n        burst_bytes: 100\n"),
                       "router.wan[0].qos.burst_bytes", "must be 0 or in 1514.."));
}

TEST(QosConfig, ClassOverridesAreChecked) {
  auto cls = [](const std::string& lines) {
    return load("      qos:\n        rate_kbps: 1000\n        classes:\n" + lines);
  };
  EXPECT_TRUE(
      HasError(cls("          - name: gold\n"), "router.wan[0].qos.classes[0].name", "unknown QoS class \"gold\""));
  EXPECT_TRUE(HasError(cls("          - name: voice\n          - name: voice\n"), "router.wan[0].qos.classes[1].name",
                       "listed twice"));
  EXPECT_TRUE(HasError(cls("          - name: video\n            burst_bytes: 4000\n"),
                       "router.wan[0].qos.classes[0].burst_bytes", "a burst without a rate"));
  EXPECT_TRUE(HasError(cls("          - name: video\n            priority: urgent\n"),
                       "router.wan[0].qos.classes[0].priority", "\"strict\" or \"shared\""));
  EXPECT_TRUE(HasError(cls("          - name: video\n            priority: strict\n            weight: 3\n"),
                       "router.wan[0].qos.classes[0].weight", "a strict class has no weight"));
  EXPECT_TRUE(HasError(cls("          - name: video\n            weight: 1001\n"),
                       "router.wan[0].qos.classes[0].weight", "1..1000"));
  EXPECT_TRUE(HasError(cls("          - name: bulk\n            queue_packets: 70000\n"),
                       "router.wan[0].qos.classes[0].queue_packets", "1..65536"));
  EXPECT_TRUE(cls("          - name: voice\n            priority: shared\n            weight: 7\n").ok());
}

TEST(QosConfig, DscpMapAndServiceClassNamesAreChecked) {
  EXPECT_TRUE(HasError(load(kPort, "qos:\n  dscp:\n    - name: platinum\n      value: 1\n"), "qos.dscp[0].name",
                       "unknown QoS class"));
  EXPECT_TRUE(
      HasError(load(kPort, "qos:\n  dscp:\n    - name: voice\n      value: 64\n"), "qos.dscp[0].value", "not a DSCP"));
  EXPECT_TRUE(
      HasError(load(kPort, "qos:\n  dscp:\n    - name: voice\n      value: 1\n    - name: voice\n      value: 2\n"),
               "qos.dscp[1].name", "listed twice"));
  EXPECT_TRUE(HasError(load(kPort, "", "    qos_class: realtime\n"), "services[0].qos_class",
                       "unknown QoS class \"realtime\""));
}

// qos.duplicate (docs/qos.md § Packet duplication): known classes, once each;
// a routed service of a duplicated class needs two paths to its peer.
TEST(QosConfig, DuplicatedClassesAreCheckedAndMarkTheirServices) {
  const std::string two_waypoints = "waypoints: [172.16.0.2, 172.16.0.3]";
  auto with_two = [&](const std::string& top, const std::string& service) {
    std::string t = r1_text();
    const std::string one = "waypoints: [172.16.0.2]";
    t.replace(t.find(one), one.size(), two_waypoints);
    const std::string web = "    next_peer: r2\n";
    t.replace(t.find(web), web.size(), web + service);
    return load_config_text(t + top);
  };
  ConfigResult ok = with_two("qos:\n  duplicate: [voice]\n", "    qos_class: voice\n");
  ASSERT_TRUE(ok.ok()) << ok.error_text();
  HmacEngine hmac;
  std::string err;
  auto m = RouterModel::build(ok.config, nullptr, nullptr, hmac, err);
  ASSERT_TRUE(m) << err;
  EXPECT_TRUE(m->duplication);
  EXPECT_TRUE(m->services[0].duplicate) << "web is voice";
  EXPECT_FALSE(m->services[1].duplicate) << "iperf-udp is best-effort";
  // best-effort is a class too: every service without a class then duplicates.
  auto be = RouterModel::build(with_two("qos:\n  duplicate: [best-effort]\n", "").config, nullptr, nullptr, hmac, err);
  ASSERT_TRUE(be);
  EXPECT_TRUE(be->services[0].duplicate && be->services[1].duplicate);
  auto none = RouterModel::build(with_two("", "    qos_class: voice\n").config, nullptr, nullptr, hmac, err);
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->duplication);
  EXPECT_FALSE(none->services[0].duplicate);

  EXPECT_TRUE(HasError(with_two("qos:\n  duplicate: [gold]\n", ""), "qos.duplicate[0]", "unknown QoS class \"gold\""));
  EXPECT_TRUE(HasError(with_two("qos:\n  duplicate: [voice, voice]\n", ""), "qos.duplicate[1]", "listed twice"));
  // r1.yaml's peer has one waypoint: one path, nothing to send the copy on.
  EXPECT_TRUE(HasError(load(kPort, "qos:\n  duplicate: [voice]\n", "    qos_class: voice\n"), "services[0].qos_class",
                       "duplication needs two paths"));
  EXPECT_TRUE(load(kPort, "qos:\n  duplicate: [video]\n", "    qos_class: voice\n").ok())
      << "a class no routed service has needs no second path";
  EXPECT_TRUE(HasError(with_two("qos:\n  duplicate: [voice]\n", "    qos_class: voice\n    paths: [wan0]\n"),
                       "services[0].paths", "at least two paths"));
}

TEST(QosConfig, TheLanIsNeverShaped) {
  std::string t = r1_text();
  const std::string lan = "    address: 10.1.0.1/24\n";
  t.replace(t.find(lan), lan.size(), lan + "    qos:\n      rate_kbps: 1000\n");
  EXPECT_TRUE(HasError(load_config_text(t), "router.lan.qos", "WAN ports only"));
}

// qos.applications: classes by application or category (docs/qos.md § Classes by application).
const std::string kAppRules =
    "qos:\n"
    "  applications:\n"
    "    - {application: ssh, class: interactive}\n"
    "    - {category: RemoteAccess, class: bulk}\n"
    "    - {category: VoIP, class: voice}\n"
    "    - {application: Zoom, class: video}\n";

uint16_t app_id(const std::string& name) { return *app::AppCatalog::instance().find_application(name); }
uint16_t category_of(uint16_t app) {
  for (const auto& e : app::AppCatalog::instance().applications())
    if (e.id == app) return e.category;
  return 0;
}

TEST(QosConfig, ApplicationRulesGiveTheClassAndWinOverTheCategoryAndTheService) {
  ConfigResult r = load(kPort, kAppRules, "    qos_class: best-effort\n");
  ASSERT_TRUE(r.ok()) << r.error_text();
  HmacEngine hmac;
  std::string err;
  auto m = RouterModel::build(r.config, nullptr, nullptr, hmac, err);
  ASSERT_TRUE(m) << err;
  ASSERT_TRUE(m->app_qos_rules());
  const auto& catalog = app::AppCatalog::instance();
  const uint16_t ssh = app_id("SSH"), remote = *catalog.find_category("RemoteAccess");
  ASSERT_EQ(category_of(ssh), remote) << "the test assumes nDPI files SSH under RemoteAccess";
  EXPECT_EQ(m->session_qos_class(0, ssh), QosClass::interactive) << "the application's rule wins over its category's";
  // Every other application of RemoteAccess takes the category's class; every VoIP one voice.
  int remote_apps = 0, voip_apps = 0;
  const uint16_t voip = *catalog.find_category("VoIP");
  for (const auto& e : catalog.applications()) {
    if (e.id == ssh) continue;
    if (e.category == remote) {
      ++remote_apps;
      EXPECT_EQ(m->session_qos_class(0, e.id), QosClass::bulk) << e.name;
    }
    if (e.category == voip && e.id != app_id("Zoom")) {
      ++voip_apps;
      EXPECT_EQ(m->session_qos_class(0, e.id), QosClass::voice) << e.name;
    }
  }
  EXPECT_GT(remote_apps, 0);
  EXPECT_GT(voip_apps, 0);
  EXPECT_EQ(m->session_qos_class(0, app_id("Zoom")), QosClass::video);
  // Applications no rule names, Unknown and out-of-table ids: the service's class.
  EXPECT_EQ(m->session_qos_class(0, app_id("DNS")), QosClass::best_effort);
  EXPECT_EQ(m->session_qos_class(0, 0), QosClass::best_effort);
  EXPECT_EQ(m->session_qos_class(0, 65000), QosClass::best_effort);
  ConfigResult voice_service = load(kPort, kAppRules, "    qos_class: voice\n");
  ASSERT_TRUE(voice_service.ok()) << voice_service.error_text();
  auto m2 = RouterModel::build(voice_service.config, nullptr, nullptr, hmac, err);
  ASSERT_TRUE(m2) << err;
  EXPECT_EQ(m2->session_qos_class(0, app_id("DNS")), QosClass::voice);
  EXPECT_EQ(m2->session_qos_class(0, ssh), QosClass::interactive)
      << "an application rule wins over the service's class";
  EXPECT_EQ(m2->session_qos_class(1, 0), QosClass::best_effort) << "another service, no class";
  // Without rules nothing starts nDPI and the class is the service's.
  auto m3 = RouterModel::build(load(kPort, "", "    qos_class: video\n").config, nullptr, nullptr, hmac, err);
  ASSERT_TRUE(m3) << err;
  EXPECT_FALSE(m3->app_qos_rules());
  EXPECT_EQ(m3->session_qos_class(0, ssh), QosClass::video);
}

TEST(QosConfig, ApplicationRulesAreCheckedWithPathsAndCloseNames) {
  auto rules = [](const std::string& lines) { return load(kPort, "qos:\n  applications:\n" + lines); };
  ConfigResult typo = rules("    - {application: zoomm, class: voice}\n");
  EXPECT_TRUE(HasError(typo, "qos.applications[0].application", "unknown application \"zoomm\" (closest: Zoom"));
  EXPECT_TRUE(HasError(rules("    - {category: VoiP2, class: voice}\n"), "qos.applications[0].category",
                       "unknown category \"VoiP2\" (closest: VoIP"));
  EXPECT_TRUE(HasError(rules("    - {application: Zoom, category: VoIP, class: voice}\n"), "qos.applications[0]",
                       "both an application and a category"));
  EXPECT_TRUE(HasError(rules("    - {class: voice}\n"), "qos.applications[0].application", "required"));
  EXPECT_TRUE(HasError(rules("    - {application: Zoom}\n"), "qos.applications[0].class", "required"));
  EXPECT_TRUE(HasError(rules("    - {application: Zoom, class: gold}\n"), "qos.applications[0].class",
                       "unknown QoS class \"gold\""));
  EXPECT_TRUE(HasError(rules("    - {application: ssh, class: voice}\n    - {application: SSH, class: bulk}\n"),
                       "qos.applications[1].application", "already has a class (qos.applications[0])"));
  EXPECT_TRUE(HasError(rules("    - {category: VoIP, class: voice}\n    - {category: voip, class: bulk}\n"),
                       "qos.applications[1].category", "already has a class (qos.applications[0])"));
  EXPECT_TRUE(HasError(rules("    - {application: Unknown, class: bulk}\n"), "qos.applications[0].application",
                       "unknown application \"Unknown\""));
  EXPECT_TRUE(rules("    - {application: SSH, class: voice}\n    - {category: RemoteAccess, class: bulk}\n").ok())
      << "an application and its own category are two rules";
}

}  // namespace
}  // namespace wp::mgmt
