// The tunnels' kernel interfaces follow the tunnels' state
// (dataplane/control/linux_cp/tunnel_links.h): down without an outbound SA in
// the published table, up with one; set only on a change, only for tunnels
// that have a kernel interface, a failed set tried again with the next table.
#include <gtest/gtest.h>

#include <memory>
#include <utility>
#include <vector>

#include "dataplane/control/linux_cp/tunnel_links.h"
#include "dataplane/ipsec/esp_sa.h"

namespace wp {
namespace {

// A table where the tunnels in `up` have an outbound SA.
std::unique_ptr<EspSaTable> table_with(const std::vector<uint16_t>& up) {
  auto t = std::make_unique<EspSaTable>();
  uint16_t slot = 0;
  for (uint16_t tunnel : up) {
    EspSa out;
    out.spi = 0x1000u + tunnel;
    out.generation = 1;
    out.tunnel = tunnel;
    EXPECT_TRUE(t->install(slot, out));
    t->mutable_tunnel(tunnel).out_sa = slot++;
  }
  return t;
}

struct Calls {
  std::vector<std::pair<int, bool>> sets;
  bool fail = false;
  auto setter() {
    return [this](int t, bool up) {
      sets.emplace_back(t, up);
      return !fail;
    };
  }
};

auto has_all_but_2 = [](int t) { return t != 2; };  // tunnel 2 has no address: no kernel interface

TEST(TunnelLinks, DownWithoutOutboundSaUpWithOneSetOnlyOnChange) {
  TunnelLinks links(3);
  Calls c;
  // Before the IKE service published anything: down.
  links.follow(static_cast<const EspSaTable*>(nullptr), has_all_but_2, c.setter());
  EXPECT_EQ(c.sets, (std::vector<std::pair<int, bool>>{{0, false}, {1, false}}));
  EXPECT_EQ(links.state(0), TunnelLinks::State::down);
  EXPECT_EQ(links.state(2), TunnelLinks::State::unknown);
  c.sets.clear();
  links.follow(static_cast<const EspSaTable*>(nullptr), has_all_but_2, c.setter());
  EXPECT_TRUE(c.sets.empty()) << "the same table: nothing looked at";

  auto t1 = table_with({1, 2});
  links.follow(t1.get(), has_all_but_2, c.setter());
  EXPECT_EQ(c.sets, (std::vector<std::pair<int, bool>>{{1, true}}));
  EXPECT_EQ(links.state(1), TunnelLinks::State::up);
  c.sets.clear();
  auto t2 = table_with({1, 0});  // a new table (a rekey): tunnel 1 stays up, 0 comes up
  links.follow(t2.get(), has_all_but_2, c.setter());
  EXPECT_EQ(c.sets, (std::vector<std::pair<int, bool>>{{0, true}}));
  c.sets.clear();
  auto t3 = table_with({});  // the IKE SA died: both down
  links.follow(t3.get(), has_all_but_2, c.setter());
  EXPECT_EQ(c.sets, (std::vector<std::pair<int, bool>>{{0, false}, {1, false}}));
}

TEST(TunnelLinks, AFailedSetIsTriedAgainWithTheNextTable) {
  TunnelLinks links(1);
  Calls c;
  auto has = [](int) { return true; };
  c.fail = true;
  auto t1 = table_with({0});
  links.follow(t1.get(), has, c.setter());
  EXPECT_EQ(links.state(0), TunnelLinks::State::unknown);
  c.fail = false;
  auto t2 = table_with({0});
  links.follow(t2.get(), has, c.setter());
  EXPECT_EQ(links.state(0), TunnelLinks::State::up);
  EXPECT_EQ(c.sets.size(), 2u);
}

}  // namespace
}  // namespace wp
