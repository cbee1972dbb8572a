// Inbound ring setup; see ha_dataplane.h.
#include "dataplane/worker/ha_dataplane.h"

#include "dataplane/session/events6.h"

#include <rte_errno.h>
#include <rte_ring_elem.h>

#include <string>

namespace wp {

bool HaDataplane::create(uint32_t workers, uint32_t ring_size, int socket, std::string& error) {
  static std::atomic<uint32_t> instance{0};
  uint32_t tag = instance.fetch_add(1);
  ownership_seen = std::make_unique<std::atomic<uint32_t>[]>(workers);
  republish_seen = std::make_unique<std::atomic<uint32_t>[]>(workers);
  republish_req = std::make_unique<std::atomic<uint32_t>[]>(workers);
  for (uint32_t w = 0; w < workers; ++w) {
    std::string name = "wpha" + std::to_string(tag) + "_" + std::to_string(w);
    rte_ring* r =
        rte_ring_create_elem(name.c_str(), sizeof(PeerSessionOp), ring_size, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (!r) {
      error = "cannot create HA inbound ring (" + std::to_string(ring_size) + " entries): " + rte_strerror(rte_errno);
      free();
      return false;
    }
    inbound.push_back(r);
  }
  enabled = true;
  return true;
}

bool HaDataplane::create6(uint32_t workers, uint32_t ring_size, int socket, std::string& error) {
  static std::atomic<uint32_t> instance6{0};
  const uint32_t tag = instance6.fetch_add(1);
  for (uint32_t w = 0; w < workers; ++w) {
    const std::string suffix = std::to_string(tag) + "_" + std::to_string(w);
    rte_ring* ev = rte_ring_create_elem(("wpha6e" + suffix).c_str(), sizeof(HaSession6Event), ring_size, socket,
                                        RING_F_SP_ENQ | RING_F_SC_DEQ);
    rte_ring* in = rte_ring_create_elem(("wpha6i" + suffix).c_str(), sizeof(PeerSession6Op), ring_size, socket,
                                        RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (ev) events6.push_back(ev);
    if (in) inbound6.push_back(in);
    if (!ev || !in) {
      error = "cannot create HA IPv6 rings (" + std::to_string(ring_size) + " entries): " + rte_strerror(rte_errno);
      free();
      return false;
    }
  }
  return true;
}

void HaDataplane::free() {
  for (rte_ring* r : inbound) rte_ring_free(r);
  inbound.clear();
  for (rte_ring* r : events6) rte_ring_free(r);
  events6.clear();
  for (rte_ring* r : inbound6) rte_ring_free(r);
  inbound6.clear();
}

}  // namespace wp
