// The ESP Security Associations a worker holds, and which worker holds each.
//
// Split like the rest of the dataplane's shared state: what the control
// thread negotiates (SPIs, keys, outer addresses, the tunnel) is an
// immutable `EspSaTable` it publishes whole, as the FIB is (a pointer swap,
// the old table retired after the workers' epochs moved:
// control/ike_service.h publishes DataplaneShared::esp); what a packet
// changes (the replay window, the sender's counter, the counters) is
// `EspSaState`, per worker and per slot, never shared. A slot's
// `generation` changes when the control thread reuses it for a new SA, so a
// worker that finds an old generation in its state starts that SA afresh.
//
// Thousands of sites (issue #20): each SA is an immutable object of its own
// (`EspSaRef`), which every table holding it shares; a table is the slot ->
// SA pointer array, the inbound SPI index and the tunnels. The control
// thread keeps one table it changes in place (EspSaBook, control/ike/
// child_esp.h) and publishes a copy of it: the copy is those three arrays,
// never the SAs, and an SA that changed is a new object. An SA's object is
// freed (its keys wiped) with the last table that holds it, so a retired
// table keeps what the workers may still read alive.
//
// Which worker owns which SA: esp_owner.h.
#pragma once

#include <bit>
#include <cstdint>
#include <memory>

#include "dataplane/ip/ipv4.h"
#include "dataplane/ip/ipv6.h"
#include "dataplane/ipsec/esp_counters.h"
#include "dataplane/ipsec/esp_crypto.h"
#include "dataplane/ipsec/esp_limits.h"
#include "dataplane/ipsec/esp_owner.h"
#include "dataplane/ipsec/esp_replay.h"
#include "dataplane/worker/drop_reason.h"

namespace wp {

inline constexpr uint16_t kEspNoSa = 0xffff;
inline constexpr uint16_t kIkeNattPort = 4500;  // RFC 3948 UDP encapsulation
inline constexpr uint8_t kIpProtoEsp = 50;

// One direction of a Child SA (RFC 4303 § 2.1: an SA is unidirectional).
struct EspSa {
  uint32_t spi = 0;         // inbound: ours; outbound: the peer's
  uint32_t generation = 0;  // 0 = free slot
  uint16_t tunnel = 0;
  uint16_t slot = kEspNoSa;  // where a table holds it (EspSaTable::install sets it)
  bool inbound = false;
  bool udp_encap = true;  // RFC 3948: ESP in UDP 4500 (else IP protocol 50)
  Ipv4 local = 0, peer = 0;  // outer addresses (IPv4)
  // An IPv6 outer header instead (docs/ipsec.md § IPv6 outer addresses):
  // local6/peer6 replace local/peer; local6 unspecified = any of ours.
  bool outer6 = false;
  Ipv6 local6, peer6;
  uint16_t local_port = kIkeNattPort, peer_port = kIkeNattPort;
  // Where a worker starts this SA's state: outbound, the last number taken
  // as sent (the next is seq_start + 1); inbound, the replay window's top.
  // 0 for an SA we negotiated; an SA taken over from the HA peer starts at
  // what the peer synced (plus a margin outbound; docs/ipsec.md § HA).
  uint64_t seq_start = 0;
  EspKeys keys;
};

// An SA as tables share it: immutable, its keys wiped when the last holder lets go.
using EspSaRef = std::shared_ptr<const EspSa>;
EspSaRef make_esp_sa(const EspSa& sa);

// A route-based tunnel interface.
struct EspTunnel {
  uint16_t out_sa = kEspNoSa;  // slot of the SA that seals (the newest)
  // The site's rekey we answered (docs/ipsec.md § Rekeying, RFC 7296 § 2.8):
  // the new Child SA's slots while out_sa still seals. Its owner worker
  // seals with pending_out from the first packet pending_in opens
  // (EspWorkerState::sealing); the control thread makes it out_sa then, or
  // at the site's Delete of the old SA, or after kRekeyDeferFallback.
  uint16_t pending_in = kEspNoSa, pending_out = kEspNoSa;
  uint16_t tenant = 0;         // source tenant of what comes out of it
  uint16_t mtu = 1400;         // inner packets
};

// Immutable once published. Built by the control thread; a copy shares the
// SAs (see above).
class EspSaTable {
 public:
  // The SPI indexes (inbound; outbound, for ICMP errors quoting our ESP): open addressing,
  // linear probing, half full at most. Outbound SPIs are the peers' choice, so two sites may
  // pick the same one: that index holds every slot of an SPI, and outbound_spi() picks.
  static constexpr uint32_t kIndexSize = 2 * kMaxEspSas;
  static_assert((kIndexSize & (kIndexSize - 1)) == 0, "the SPI index is a power of two");
  static constexpr uint32_t kIndexBits = std::countr_zero(kIndexSize);

  EspSaTable();
  EspSaTable(const EspSaTable& other);  // the arrays; the SAs are shared
  EspSaTable& operator=(const EspSaTable&) = delete;

  // Installs `sa` at `slot` (a new shared object with its slot set); false
  // when the slot or the tunnel is out of range, the generation is 0, or an
  // inbound SPI is already held by another slot.
  bool install(uint16_t slot, const EspSa& sa);
  // The same with an object another table holds too; `sa->slot` must be `slot`.
  bool install(uint16_t slot, EspSaRef sa);
  void remove(uint16_t slot);
  EspTunnel& mutable_tunnel(uint16_t t) { return tunnels_[t]; }

  const EspSa* inbound(uint32_t spi) const {
    for (uint32_t i = spi_hash(spi), n = 0; n < kIndexSize; i = (i + 1) & (kIndexSize - 1), ++n) {
      const uint16_t s = index_[i];
      if (s == kEspNoSa) return nullptr;
      const EspSa* sa = sas_[s].get();
      if (sa->spi == spi && sa->inbound) return sa;
    }
    return nullptr;
  }
  // The first outbound SA with `spi` that `match(const EspSa&)` accepts (the outer addresses and
  // ports of an ICMP error's quote, ipsec/esp_ptb.h); null when none. Control thread.
  template <class Match>
  const EspSa* outbound_spi(uint32_t spi, Match&& match) const {
    for (uint32_t i = spi_hash(spi), n = 0; n < kIndexSize; i = (i + 1) & (kIndexSize - 1), ++n) {
      const uint16_t s = out_index_[i];
      if (s == kEspNoSa) return nullptr;
      const EspSa* sa = sas_[s].get();
      if (sa->spi == spi && match(*sa)) return sa;
    }
    return nullptr;
  }
  const EspTunnel* tunnel(uint32_t t) const { return t < kMaxEspTunnels ? &tunnels_[t] : nullptr; }
  const EspSa* outbound(uint32_t t) const {
    const EspTunnel* tu = tunnel(t);
    return tu && tu->out_sa != kEspNoSa ? sas_[tu->out_sa].get() : nullptr;
  }
  // The SA at `s`, a free one (generation 0) when none.
  const EspSa& slot(uint16_t s) const { return s < kMaxEspSas && sas_[s] ? *sas_[s] : free_sa(); }
  const EspSaRef& ref(uint16_t s) const { return sas_[s]; }
  uint16_t slot_of(const EspSa* sa) const { return sa->slot; }

  // Index slots an inbound lookup of `spi` reads (1 = found where it
  // hashes, or nothing there); for tests and the benchmark.
  uint32_t probes(uint32_t spi) const;
  static uint32_t spi_hash(uint32_t spi) { return (spi * 2654435761u) >> (32 - kIndexBits); }

 private:
  static const EspSa& free_sa();
  // The index a slot's SA belongs in: inbound or outbound.
  uint16_t* index_of(uint16_t s) const { return sas_[s]->inbound ? index_.get() : out_index_.get(); }
  void index_insert(uint16_t s);
  void index_erase(uint16_t s);

  std::unique_ptr<EspSaRef[]> sas_;  // null = free
  std::unique_ptr<uint16_t[]> index_;      // inbound SPIs (unique)
  std::unique_ptr<uint16_t[]> out_index_;  // outbound SPIs (each peer's, perhaps the same)
  std::unique_ptr<EspTunnel[]> tunnels_;
};

static_assert(kEspMarkSlots == kMaxEspSas, "one sequence mark per SA slot (esp_counters.h)");

// What a worker changes per SA.
struct EspSaState {
  uint32_t generation = 0;
  uint64_t seq_out = 0;  // the last number sent
  EspReplayWindow replay;
  EspSaCounterSlot* counters = nullptr;  // this worker's counters of the SA (esp_counters.h)
  // One more packet of the SA (inner bytes), or one it dropped for `drop`.
  void count(uint64_t inner_bytes) const {
    EspTunnelCounters::bump(counters->packets);
    EspTunnelCounters::bump(counters->bytes, inner_bytes);
  }
  void count_drop(DropReason drop) const {
    EspTunnelCounters::bump(counters->drops);
    if (drop == DropReason::esp_replayed || drop == DropReason::esp_too_old)
      EspTunnelCounters::bump(counters->replay_drops);
    if (drop == DropReason::esp_auth_failed) EspTunnelCounters::bump(counters->auth_failures);
  }
};

// One per worker, sized for every slot at start (no allocation later).
class EspWorkerState {
 public:
  EspWorkerState()
      : sas_(std::make_unique<EspSaState[]>(kMaxEspSas)),
        own_counters_(std::make_unique<EspSaCounterSlot[]>(kMaxEspSas)),
        counters_(own_counters_.get()) {}
  // The state of `sa`, reset when its slot holds a newer SA than last seen.
  EspSaState& of(const EspSaTable& table, const EspSa& sa) {
    const uint16_t slot = table.slot_of(&sa);
    EspSaState& st = sas_[slot];
    if (st.generation != sa.generation) {
      st = EspSaState{};
      st.generation = sa.generation;
      st.counters = &counters_[slot];
      st.counters->restart(sa.generation);
      if (sa.inbound)
        st.replay.top = sa.seq_start;
      else
        st.seq_out = sa.seq_start;
    }
    return st;
  }
  // The SA that seals for `tunnel`: its out_sa, or its pending one once a
  // packet opened on the pending inbound SA here. Both directions of a
  // tunnel live on this worker (esp_owner.h), so its own state of that SA
  // (counted after the ICV verified, esp_input.cc) says so: nothing shared
  // is written, nothing read but while a switch is pending.
  const EspSa* sealing(const EspSaTable& table, uint16_t tunnel) const {
    const EspTunnel* tu = table.tunnel(tunnel);
    if (!tu) return nullptr;
    if (tu->pending_out != kEspNoSa) [[unlikely]] {
      const EspSaState& st = sas_[tu->pending_in];
      if (st.generation == table.slot(tu->pending_in).generation && st.generation != 0 &&
          st.counters->packets.load(std::memory_order_relaxed) != 0)
        return &table.slot(tu->pending_out);
    }
    return tu->out_sa != kEspNoSa ? &table.slot(tu->out_sa) : nullptr;
  }
  // Every kEspMarkEvery numbers: publish `seq` of `sa` (esp_output: the
  // counter; esp_input: the replay top) to the control thread.
  void mark(const EspSaTable& table, const EspSa& sa, uint64_t seq) {
    if (!marks_ || (seq & (kEspMarkEvery - 1)) != 0) return;
    EspSeqMarks::Mark& m = marks_->slots[table.slot_of(&sa)];
    m.seq.store(seq, std::memory_order_relaxed);
    m.generation.store(sa.generation, std::memory_order_release);
  }
  void set_marks(EspSeqMarks* marks) { marks_ = marks; }
  // Count into `slots` (this worker's kMaxEspSas in DataplaneShared::esp_sa_counters,
  // where the IKE service reads them) rather than its own; before the first packet.
  void set_counters(EspSaCounterSlot* slots) {
    counters_ = slots;
    own_counters_.reset();
  }
  const EspSaState& at(uint16_t slot) const { return sas_[slot]; }
  // The counters of the SA `slot` holds now (as the IKE service reads them).
  EspSaCounters counters(uint16_t slot) const {
    return read_esp_sa_counters(counters_, 1, slot, sas_[slot].generation);
  }

 private:
  std::unique_ptr<EspSaState[]> sas_;
  std::unique_ptr<EspSaCounterSlot[]> own_counters_;  // until set_counters
  EspSaCounterSlot* counters_;
  EspSeqMarks* marks_ = nullptr;
};

}  // namespace wp
