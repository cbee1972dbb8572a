// Session key derivation and the per-worker key slab; see crypto/keys.h.
#include "dataplane/crypto/keys.h"

#include <rte_malloc.h>
#include <rte_memory.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>

#include "dataplane/crypto/wipe.h"

namespace wp {

HmacKey session_prk(CryptoEngine& engine, std::span<const uint8_t> pair_key) {
  uint8_t prk[32];
  engine.hkdf_extract({kSessionKdfSalt, sizeof kSessionKdfSalt - 1}, pair_key, prk);
  HmacKey k = engine.hmac_key(prk);
  wipe(prk, sizeof prk);
  return k;
}

void derive_session_keys(CryptoEngine& engine, const HmacKey& prk, const SessionUuid& uuid, SessionKeys& out) {
  alignas(16) uint8_t okm[64];
  engine.hkdf_expand(prk, uuid, okm);
  engine.expand_aes_key(okm, out.aes);
  out.mac = engine.hmac_key({okm + 32, 32});
  out.tx_seq = 0;
  out.rx = ReplayWindow{};
  wipe(okm, sizeof okm);
}

// The slab sits on whole pages of its own (4 KiB, or hugepages from the
// DPDK heap) so that it can be marked MADV_DONTDUMP without excluding a
// neighbour's memory from core dumps, or including one by mistake on free.
KeySlab::KeySlab(uint32_t capacity, int socket) : capacity_(capacity) {
  if (capacity == 0) return;
  dpdk_ = socket >= -1;
  if (!(dpdk_ ? allocate_dpdk(socket) : allocate_heap())) return;
  free_ = static_cast<uint32_t*>(dpdk_ ? rte_malloc_socket("wp_key_free", sizeof(uint32_t) * capacity, 64, socket)
                                       : std::malloc(sizeof(uint32_t) * capacity));
  if (!free_) return;
  dump_excluded_ = exclude_from_core_dump(keys_, keys_bytes_, page_);
  // Lowest slots on top: a lightly loaded worker keeps its keys in few pages.
  for (uint32_t i = 0; i < capacity; ++i) free_[i] = capacity - 1 - i;
  free_top_ = capacity;
}

bool KeySlab::allocate_heap() {
  page_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  keys_bytes_ = (sizeof(SessionKeys) * capacity_ + page_ - 1) / page_ * page_;
  void* p = mmap(nullptr, keys_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return false;
  keys_ = static_cast<SessionKeys*>(p);  // zero-filled
  return true;
}

// The heap's page size is known only from an address in it: allocate,
// look it up, and allocate again page-aligned if the first try was not.
bool KeySlab::allocate_dpdk(int socket) {
  const size_t need = sizeof(SessionKeys) * capacity_;
  void* p = rte_zmalloc_socket("wp_key_slab", need, 64, socket);
  if (!p) return false;
  const rte_memseg_list* msl = rte_mem_virt2memseg_list(p);
  page_ = msl ? static_cast<size_t>(msl->page_sz) : static_cast<size_t>(sysconf(_SC_PAGESIZE));
  keys_bytes_ = (need + page_ - 1) / page_ * page_;
  // 1 GiB pages: not worth a page of its own; hugetlbfs memory that DPDK
  // maps shared is left out of core dumps by the default coredump_filter.
  constexpr size_t kMaxOwnPage = size_t{2} << 20;
  if (page_ > kMaxOwnPage) keys_bytes_ = need;
  if (page_ <= kMaxOwnPage && (reinterpret_cast<uintptr_t>(p) % page_ != 0 || keys_bytes_ != need)) {
    rte_free(p);
    p = rte_zmalloc_socket("wp_key_slab", keys_bytes_, page_, socket);
    if (!p) return false;
  }
  keys_ = static_cast<SessionKeys*>(p);
  return true;
}

KeySlab::~KeySlab() {
  if (keys_) {
    wipe(keys_, keys_bytes_);
    if (dump_excluded_ && dpdk_) include_in_core_dump(keys_, keys_bytes_, page_);  // back to a shared heap
  }
  if (dpdk_) {
    rte_free(keys_);
    rte_free(free_);
  } else {
    if (keys_) munmap(keys_, keys_bytes_);
    std::free(free_);
  }
}

uint32_t KeySlab::allocate() {
  if (free_top_ == 0) return kNoKeySlot;
  return free_[--free_top_];
}

void KeySlab::release(uint32_t slot) {
  if (slot >= capacity_) return;
  wipe_object(keys_[slot]);
  free_[free_top_++] = slot;
}

}  // namespace wp
