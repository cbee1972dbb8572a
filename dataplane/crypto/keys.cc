// Session key derivation and the per-worker key slab; see crypto/keys.h.
#include "dataplane/crypto/keys.h"

#include <rte_malloc.h>

#include <cstdlib>
#include <cstring>

namespace wp {

HmacKey session_prk(CryptoEngine& engine, std::span<const uint8_t> pair_key) {
  uint8_t prk[32];
  engine.hkdf_extract({kSessionKdfSalt, sizeof kSessionKdfSalt - 1}, pair_key, prk);
  HmacKey k = engine.hmac_key(prk);
  std::memset(prk, 0, sizeof prk);
  return k;
}

void derive_session_keys(CryptoEngine& engine, const HmacKey& prk, const SessionUuid& uuid, SessionKeys& out) {
  alignas(16) uint8_t okm[64];
  engine.hkdf_expand(prk, uuid, okm);
  engine.expand_aes_key(okm, out.aes);
  out.mac = engine.hmac_key({okm + 32, 32});
  out.tx_seq = 0;
  out.rx = ReplayWindow{};
  std::memset(okm, 0, sizeof okm);
}

KeySlab::KeySlab(uint32_t capacity, int socket) : capacity_(capacity) {
  if (capacity == 0) return;
  size_t keys_bytes = sizeof(SessionKeys) * capacity;
  size_t free_bytes = sizeof(uint32_t) * capacity;
  dpdk_ = socket >= -1;
  if (dpdk_) {
    keys_ = static_cast<SessionKeys*>(rte_zmalloc_socket("wp_key_slab", keys_bytes, 64, socket));
    free_ = static_cast<uint32_t*>(rte_malloc_socket("wp_key_free", free_bytes, 64, socket));
  } else {
    keys_ = static_cast<SessionKeys*>(std::aligned_alloc(64, (keys_bytes + 63) / 64 * 64));
    free_ = static_cast<uint32_t*>(std::malloc(free_bytes));
    if (keys_) std::memset(static_cast<void*>(keys_), 0, keys_bytes);
  }
  if (!keys_ || !free_) return;
  // Lowest slots on top: a lightly loaded worker keeps its keys in few pages.
  for (uint32_t i = 0; i < capacity; ++i) free_[i] = capacity - 1 - i;
  free_top_ = capacity;
}

KeySlab::~KeySlab() {
  if (dpdk_) {
    rte_free(keys_);
    rte_free(free_);
  } else {
    std::free(keys_);
    std::free(free_);
  }
}

uint32_t KeySlab::allocate() {
  if (free_top_ == 0) return kNoKeySlot;
  return free_[--free_top_];
}

void KeySlab::release(uint32_t slot) {
  if (slot >= capacity_) return;
  // The slab outlives the call, so the compiler keeps this wipe.
  std::memset(static_cast<void*>(&keys_[slot]), 0, sizeof(SessionKeys));
  free_[free_top_++] = slot;
}

}  // namespace wp
