// Ring setup for DataplaneShared; see shared.h.
#include "dataplane/worker/shared.h"

#include <rte_errno.h>
#include <rte_ring_elem.h>

#include <string>

#include "dataplane/session/events6.h"
#include "dataplane/session/offload_events6.h"

namespace wp {

bool DataplaneShared::create_rings(uint32_t worker_count, uint32_t ring_size, int socket, std::string& error,
                                   const std::vector<int>* worker_sockets) {
  if (worker_count == 0) {  // owner_of_class divides by it on every packet
    error = "at least one worker is needed";
    return false;
  }
  workers = worker_count;
  counters = std::make_unique<WorkerCounters[]>(worker_count + 1);
  esp_counters = std::make_unique<EspTunnelCounters[]>((worker_count + 1) * kEspCounterTunnels);
  esp_seq_marks = std::make_unique<EspSeqMarks>();
  esp_sa_counters = std::make_unique<EspSaCounterSlot[]>(size_t{worker_count + 1} * kMaxEspSas);
  static std::atomic<uint32_t> instance{0};
  uint32_t tag = instance.fetch_add(1);
  auto socket_of = [&](uint32_t consumer) {
    return worker_sockets && consumer < worker_sockets->size() ? (*worker_sockets)[consumer] : socket;
  };
  auto make = [&](const std::string& name, int sock) -> rte_ring* {
    rte_ring* r = rte_ring_create(name.c_str(), ring_size, sock, RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (!r) error = "cannot create ring " + name + " (" + std::to_string(ring_size) + " entries)";
    return r;
  };
  for (uint32_t f = 0; f <= worker_count; ++f)
    for (uint32_t t = 0; t < worker_count; ++t) {
      handoff.push_back(
          make("wp" + std::to_string(tag) + "_h" + std::to_string(f) + "_" + std::to_string(t), socket_of(t)));
      if (!handoff.back()) return false;
    }
  for (uint32_t w = 0; w <= worker_count; ++w) {
    // Consumed by the control thread, which runs on the main lcore's socket.
    to_control.push_back(make("wp" + std::to_string(tag) + "_c" + std::to_string(w), socket));
    resolve.push_back(make("wp" + std::to_string(tag) + "_r" + std::to_string(w), socket));
    if (!to_control.back() || !resolve.back()) return false;
  }
  return true;
}

bool DataplaneShared::enable_events(EventConsumer c, uint32_t ring_size, int socket, std::string& error,
                                    uint8_t kinds) {
  auto& rings = events[static_cast<size_t>(c)];
  if (!rings.empty()) return true;
  event_kinds[static_cast<size_t>(c)] = kinds;
  static std::atomic<uint32_t> instance{0};
  uint32_t tag = instance.fetch_add(1);
  for (uint32_t w = 0; w < workers; ++w) {
    std::string name =
        "wpev" + std::to_string(tag) + "_" + std::to_string(static_cast<int>(c)) + "_" + std::to_string(w);
    rte_ring* r =
        rte_ring_create_elem(name.c_str(), sizeof(SessionEvent), ring_size, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (!r) {
      error = "cannot create " + std::string(kEventConsumerNames[static_cast<size_t>(c)]) + " event ring (" +
              std::to_string(ring_size) + " entries): " + rte_strerror(rte_errno);
      for (rte_ring* done : rings) rte_ring_free(done);
      rings.clear();
      return false;
    }
    rings.push_back(r);
  }
  return true;
}

namespace {
// IPv6 event rings of `elem`-byte elements, one per worker, named `prefix`<instance>_<worker>.
bool make_event6_rings(std::vector<rte_ring*>& rings, const char* prefix, const char* what, uint32_t elem,
                       uint32_t workers, uint32_t ring_size, int socket, std::string& error) {
  if (!rings.empty()) return true;
  static std::atomic<uint32_t> instance{0};
  const uint32_t tag = instance.fetch_add(1);
  for (uint32_t w = 0; w < workers; ++w) {
    const std::string name = prefix + std::to_string(tag) + "_" + std::to_string(w);
    rte_ring* r =
        rte_ring_create_elem(name.c_str(), elem, ring_size, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (!r) {
      error = std::string("cannot create ") + what + " (" + std::to_string(ring_size) + " entries): " +
              rte_strerror(rte_errno);
      for (rte_ring* done : rings) rte_ring_free(done);
      rings.clear();
      return false;
    }
    rings.push_back(r);
  }
  return true;
}
}  // namespace

bool DataplaneShared::enable_events6(uint32_t ring_size, int socket, std::string& error) {
  return make_event6_rings(events6, "wpev6_", "IPv6 session event ring", sizeof(Session6Event), workers, ring_size,
                           socket, error);
}

bool DataplaneShared::enable_offload_events6(uint32_t ring_size, int socket, std::string& error) {
  return make_event6_rings(offload_events6, "wpoev6_", "IPv6 offload event ring", sizeof(Offload6Event),
                           workers, ring_size, socket, error);
}

void DataplaneShared::free_rings() {
  ha.free();
  qos.free();
  for (auto* v : {&events6, &offload_events6}) {
    for (rte_ring* r : *v) rte_ring_free(r);
    v->clear();
  }
  for (auto& rings : events) {
    for (rte_ring* r : rings) rte_ring_free(r);
    rings.clear();
  }
  for (auto* v : {&handoff, &to_control, &resolve}) {
    for (rte_ring* r : *v) {
      if (!r) continue;
      rte_mbuf* m;
      while (rte_ring_dequeue(r, reinterpret_cast<void**>(&m)) == 0) rte_pktmbuf_free(m);
      rte_ring_free(r);
    }
    v->clear();
  }
}

}  // namespace wp
