// The kernel interface of an IPsec tunnel follows the tunnel's state
// (docs/ipsec.md § Dynamic routing over tunnels): administratively down while
// the published SA table holds no outbound SA for the tunnel, up while it
// does, so FRR (zebra, bgpd with fast-external-failover, bfdd) sees the tunnel
// die as it sees a port's link go down, instead of waiting for BGP's hold time.
//
// The control thread calls follow() once per loop iteration with the table
// the IKE service last published (DataplaneShared::esp); only a new table is
// looked at (one pointer compare otherwise), and only a change of a tunnel's
// state calls `set`. No DPDK here: PuntInterfaces::set_tunnel_link does the
// setting, the unit test counts the calls. `Table` is EspSaTable
// (dataplane/ipsec/esp_sa.h), a parameter so that this header does not pull
// the crypto library's headers into control_thread.h's includers.
#pragma once

#include <cstdint>
#include <vector>

namespace wp {

class TunnelLinks {
 public:
  enum class State : int8_t { unknown = -1, down = 0, up = 1 };

  explicit TunnelLinks(size_t tunnels) : state_(tunnels, State::unknown) {}

  // `has(t)`: tunnel t has a kernel interface; `set(t, up)`: sets its link,
  // false when it could not (tried again with the next table).
  template <class Table, class Has, class Set>
  void follow(const Table* table, Has&& has, Set&& set) {
    if (primed_ && table == seen_) return;
    primed_ = true;
    seen_ = table;
    for (size_t t = 0; t < state_.size(); ++t) {
      if (!has(static_cast<int>(t))) continue;
      const State want = table && table->outbound(static_cast<uint32_t>(t)) ? State::up : State::down;
      if (state_[t] == want) continue;
      if (set(static_cast<int>(t), want == State::up)) state_[t] = want;
    }
  }
  State state(size_t tunnel) const { return tunnel < state_.size() ? state_[tunnel] : State::unknown; }

 private:
  std::vector<State> state_;
  const void* seen_ = nullptr;
  bool primed_ = false;
};

}  // namespace wp
