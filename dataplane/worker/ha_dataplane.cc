// Inbound ring setup; see ha_dataplane.h.
#include "dataplane/worker/ha_dataplane.h"

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

void HaDataplane::free() {
  for (rte_ring* r : inbound) rte_ring_free(r);
  inbound.clear();
}

}  // namespace wp
