// `ipsec_peers[].initiate_from` (mgmt/config_validate_ipsec_ha.cc,
// docs/ipsec.md § HA "Who initiates in a pair"): required with `initiate` in
// an HA pair, one of the pair's WAN addresses (ours or ha.peer_waypoints),
// and only with `initiate`. An IPv6 site's local_address may be the HA
// peer's IPv6 address (ha.peer_addresses6 or an IPv6 ha.peer_waypoints entry:
// the survivor answers for it after a takeover, docs/ipsec.md § HA). Baseline: r1.yaml (wan0 172.16.0.1/24) with one
// initiating site appended, as ipsec_config_test does.
#include <gtest/gtest.h>

#include "mgmt/config_load.h"
#include "tests/unit/test_data.h"

namespace wp::mgmt {
namespace {

std::string with_site(const std::string& extra, bool ha) {
  std::string text = test::r1_text() +
                     "ipsec_peers:\n"
                     "  - name: site1\n"
                     "    address: 172.16.0.50\n"
                     "    local_id: headend.example\n"
                     "    remote_id: site1.example\n"
                     "    psk: site1-psk-0123456789\n" +
                     extra +
                     "tunnels:\n"
                     "  - name: ipsec0\n"
                     "    peer: site1\n"
                     "    tenant: branch\n";
  if (ha) text += "ha: {node_id: 1, group: wp-pair, peer_waypoints: [172.16.0.2], peer_lan: [10.1.0.2]}\n";
  return text;
}

testing::AssertionResult HasError(const ConfigResult& r, const std::string& path, const std::string& text) {
  for (const auto& e : r.errors)
    if (e.path == path && e.message.find(text) != std::string::npos) return testing::AssertionSuccess();
  return testing::AssertionFailure() << "no error at \"" << path << "\" containing \"" << text << "\"; got:\n"
                                     << r.error_text();
}

const std::string kAt = "ipsec_peers[0].initiate_from";

TEST(IpsecHaConfig, InitiateFromIsRequiredInAnHaPair) {
  ConfigResult alone = load_config_text(with_site("    initiate: true\n", false));
  ASSERT_TRUE(alone.ok()) << alone.error_text();  // without HA: the route's WAN address
  ConfigResult ha = load_config_text(with_site("    initiate: true\n", true));
  EXPECT_TRUE(HasError(ha, kAt, "required with initiate in an HA pair"));
  EXPECT_EQ(ha.errors.size(), 1u) << ha.error_text();
  ConfigResult responder = load_config_text(with_site("", true));  // a site that initiates: nothing to decide
  EXPECT_TRUE(responder.ok()) << responder.error_text();
}

TEST(IpsecHaConfig, InitiateFromIsAnAddressOfThePair) {
  ConfigResult own = load_config_text(with_site("    initiate: true\n    initiate_from: 172.16.0.1\n", true));
  ASSERT_TRUE(own.ok()) << own.error_text();
  EXPECT_EQ(own.config.ipsec_peers(0).initiate_from(), "172.16.0.1");
  ConfigResult peers = load_config_text(with_site("    initiate: true\n    initiate_from: 172.16.0.2\n", true));
  EXPECT_TRUE(peers.ok()) << peers.error_text();  // the HA peer's: the same line on both nodes
  ConfigResult alone = load_config_text(with_site("    initiate: true\n    initiate_from: 172.16.0.2\n", false));
  EXPECT_TRUE(HasError(alone, kAt, "not one of our WAN addresses"));
  ConfigResult other = load_config_text(with_site("    initiate: true\n    initiate_from: 172.16.0.99\n", true));
  EXPECT_TRUE(HasError(other, kAt, "nor one of ha.peer_waypoints"));
  ConfigResult bad = load_config_text(with_site("    initiate: true\n    initiate_from: hub-a\n", true));
  EXPECT_TRUE(HasError(bad, kAt, "not an IPv4 address"));
  ConfigResult idle = load_config_text(with_site("    initiate_from: 172.16.0.1\n", true));
  EXPECT_TRUE(HasError(idle, kAt, "set without initiate"));
}

// docs/ipsec.md § HA: an IPv6 site bound to the HA peer's IPv6 address
// (the same ipsec_peers on both nodes) is accepted in a pair only; with
// `initiate` in a pair an IPv6 site needs local_address (whose holder initiates).
TEST(IpsecHaConfig, Ipv6LocalAddressMayBeTheHaPeers) {
  auto site6 = [](const std::string& local, const std::string& ha, const std::string& extra = "") {
    std::string text = with_site((local.empty() ? "" : "    local_address: " + local + "\n") + extra, false);
    text.insert(text.find("      mtu: 1500\n"), "      ipv6_addresses: [2001:db8:ff::1/64]\n");
    text.replace(text.find("172.16.0.50"), 11, "2001:db8:ff::50");
    text.insert(text.find("    tenant: branch\n", text.find("tunnels:")), "    mtu: 1395\n");
    return load_config_text(text + ha);
  };
  const std::string at = "ipsec_peers[0].local_address";
  const std::string pair = "ha: {node_id: 1, group: wp-pair, peer_waypoints: [172.16.0.2], peer_lan: [10.1.0.2]";
  ConfigResult own = site6("2001:db8:ff::1", "");
  ASSERT_TRUE(own.ok()) << own.error_text();
  ConfigResult by_addresses6 = site6("2001:db8:ff::2", pair + ", peer_addresses6: [\"2001:db8:ff::2\"]}\n");
  EXPECT_TRUE(by_addresses6.ok()) << by_addresses6.error_text();
  ConfigResult by_waypoint = site6("2001:db8:ff::2", "ha: {node_id: 1, group: wp-pair, peer_waypoints: [172.16.0.2, "
                                                     "\"2001:db8:ff::2\"], peer_lan: [10.1.0.2]}\n");
  EXPECT_TRUE(by_waypoint.ok()) << by_waypoint.error_text();
  EXPECT_TRUE(HasError(site6("2001:db8:ff::2", ""), at, "not one of our WAN IPv6 addresses (router.wan[].ipv6_addresses)"));
  EXPECT_TRUE(HasError(site6("2001:db8:ff::3", pair + ", peer_addresses6: [\"2001:db8:ff::2\"]}\n"), at,
                       "or an IPv6 one of ha.peer_waypoints or ha.peer_addresses6"));
  // Initiating to it in a pair: from local_address (the holder of that address initiates).
  const std::string init_line = "    initiate: true\n";
  ConfigResult init = site6("2001:db8:ff::2", pair + ", peer_addresses6: [\"2001:db8:ff::2\"]}\n", init_line);
  EXPECT_TRUE(init.ok()) << init.error_text();
  ConfigResult no_local = site6("", pair + "}\n", init_line);
  EXPECT_TRUE(HasError(no_local, at, "required with initiate to an IPv6 peer in an HA pair"));
  EXPECT_EQ(no_local.errors.size(), 1u) << no_local.error_text();
}

}  // namespace
}  // namespace wp::mgmt
