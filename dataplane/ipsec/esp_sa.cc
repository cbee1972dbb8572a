// EspSaTable: shared SA objects, slots and the inbound SPI index (see esp_sa.h).
#include "dataplane/ipsec/esp_sa.h"

#include <algorithm>

#include "dataplane/crypto/wipe.h"

namespace wp {

EspSaRef make_esp_sa(const EspSa& sa) {
  // Freed with the last table that holds it (a retired one included): the
  // keys are wiped then, not before.
  return EspSaRef(new EspSa(sa), [](const EspSa* p) {
    EspSa* own = const_cast<EspSa*>(p);
    wipe_object(own->keys);
    delete own;
  });
}

const EspSa& EspSaTable::free_sa() {
  static const EspSa kFree{};
  return kFree;
}

EspSaTable::EspSaTable()
    : sas_(std::make_unique<EspSaRef[]>(kMaxEspSas)),
      index_(std::make_unique<uint16_t[]>(kIndexSize)),
      out_index_(std::make_unique<uint16_t[]>(kIndexSize)),
      tunnels_(std::make_unique<EspTunnel[]>(kMaxEspTunnels)) {
  std::fill_n(index_.get(), kIndexSize, kEspNoSa);
  std::fill_n(out_index_.get(), kIndexSize, kEspNoSa);
}

// What a publish costs: the four arrays (slot pointers, the two indexes, tunnels);
// the SAs themselves are shared, not copied.
EspSaTable::EspSaTable(const EspSaTable& other)
    : sas_(std::make_unique<EspSaRef[]>(kMaxEspSas)),
      index_(std::make_unique_for_overwrite<uint16_t[]>(kIndexSize)),
      out_index_(std::make_unique_for_overwrite<uint16_t[]>(kIndexSize)),
      tunnels_(std::make_unique_for_overwrite<EspTunnel[]>(kMaxEspTunnels)) {
  for (uint32_t s = 0; s < kMaxEspSas; ++s)
    if (other.sas_[s]) sas_[s] = other.sas_[s];
  std::copy_n(other.index_.get(), kIndexSize, index_.get());
  std::copy_n(other.out_index_.get(), kIndexSize, out_index_.get());
  std::copy_n(other.tunnels_.get(), kMaxEspTunnels, tunnels_.get());
}

bool EspSaTable::install(uint16_t slot, const EspSa& sa) {
  if (slot >= kMaxEspSas) return false;
  EspSa copy = sa;
  copy.slot = slot;
  return install(slot, make_esp_sa(copy));
}

bool EspSaTable::install(uint16_t slot, EspSaRef sa) {
  if (slot >= kMaxEspSas || !sa || sa->slot != slot || sa->tunnel >= kMaxEspTunnels || sa->generation == 0)
    return false;
  if (sa->inbound) {
    const EspSa* held = inbound(sa->spi);
    if (held && held->slot != slot) return false;
  }
  if (sas_[slot]) index_erase(slot);
  sas_[slot] = std::move(sa);
  index_insert(slot);
  return true;
}

void EspSaTable::remove(uint16_t slot) {
  if (slot >= kMaxEspSas || !sas_[slot]) return;
  index_erase(slot);
  sas_[slot].reset();
  for (uint32_t t = 0; t < kMaxEspTunnels; ++t) {
    EspTunnel& tu = tunnels_[t];
    if (tu.out_sa == slot) tu.out_sa = kEspNoSa;
    if (tu.pending_in == slot || tu.pending_out == slot) tu.pending_in = tu.pending_out = kEspNoSa;
  }
}

void EspSaTable::index_insert(uint16_t s) {
  uint16_t* index = index_of(s);
  uint32_t i = spi_hash(sas_[s]->spi);
  while (index[i] != kEspNoSa) i = (i + 1) & (kIndexSize - 1);
  index[i] = s;
}

// Backward-shift deletion (no tombstones, so lookups stay as short as a
// fresh index's): each entry after the hole that may move into it does. The
// hole is found by slot, so an outbound SPI two slots share loses the right one.
void EspSaTable::index_erase(uint16_t s) {
  uint16_t* index = index_of(s);
  uint32_t hole = spi_hash(sas_[s]->spi);
  while (index[hole] != s) {
    if (index[hole] == kEspNoSa) return;  // not indexed
    hole = (hole + 1) & (kIndexSize - 1);
  }
  for (uint32_t j = (hole + 1) & (kIndexSize - 1); index[j] != kEspNoSa; j = (j + 1) & (kIndexSize - 1)) {
    const uint32_t home = spi_hash(sas_[index[j]]->spi);
    // The entry at j stays when its home lies cyclically in (hole, j].
    const bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
    if (stays) continue;
    index[hole] = index[j];
    hole = j;
  }
  index[hole] = kEspNoSa;
}

uint32_t EspSaTable::probes(uint32_t spi) const {
  uint32_t n = 1;
  for (uint32_t i = spi_hash(spi); n <= kIndexSize; i = (i + 1) & (kIndexSize - 1), ++n) {
    const uint16_t s = index_[i];
    if (s == kEspNoSa || (sas_[s]->spi == spi && sas_[s]->inbound)) return n;
  }
  return kIndexSize;
}

}  // namespace wp
