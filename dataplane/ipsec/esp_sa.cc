// EspSaTable: slots and the inbound SPI index (see esp_sa.h).
#include "dataplane/ipsec/esp_sa.h"

#include <algorithm>

namespace wp {

EspSaTable::EspSaTable()
    : sas_(std::make_unique<EspSa[]>(kMaxEspSas)),
      index_(std::make_unique<uint16_t[]>(kIndexSize)),
      tunnels_(std::make_unique<EspTunnel[]>(kMaxEspTunnels)) {
  std::fill_n(index_.get(), kIndexSize, kEspNoSa);
}

bool EspSaTable::install(uint16_t slot, const EspSa& sa) {
  if (slot >= kMaxEspSas || sa.tunnel >= kMaxEspTunnels || sa.generation == 0) return false;
  if (sa.inbound) {
    const EspSa* held = inbound(sa.spi);
    if (held && held != &sas_[slot]) return false;
  }
  sas_[slot] = sa;
  reindex();
  return true;
}

void EspSaTable::remove(uint16_t slot) {
  if (slot >= kMaxEspSas) return;
  sas_[slot] = EspSa{};
  for (uint32_t t = 0; t < kMaxEspTunnels; ++t) {
    if (tunnels_[t].out_sa == slot) tunnels_[t].out_sa = kEspNoSa;
  }
  reindex();
}

// Rebuilt whole on every change: the control thread builds a table once per
// IKE event, and a rebuilt index has no tombstones.
void EspSaTable::reindex() {
  std::fill_n(index_.get(), kIndexSize, kEspNoSa);
  for (uint16_t s = 0; s < kMaxEspSas; ++s) {
    if (!sas_[s].generation || !sas_[s].inbound) continue;
    uint32_t i = spi_hash(sas_[s].spi);
    while (index_[i] != kEspNoSa) i = (i + 1) & (kIndexSize - 1);
    index_[i] = s;
  }
}

}  // namespace wp
