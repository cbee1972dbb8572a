// Size-class pool behind nDPI's allocation hooks (see arena.h for the why).
#include "dataplane/apps/arena.h"

#include <ndpi/ndpi_api.h>

#include <cstdlib>
#include <mutex>
#include <new>

namespace wp::app {
namespace {

// Blocks per session under classification, per class (32 B .. 2 KiB). Measured on nDPI 4.2: a
// TLS or SSH flow holds one 2 KiB buffer and a few small strings; HTTP two small strings; QUIC
// transient 1 KiB and 32 B buffers.
constexpr std::array<uint32_t, AppArena::kClassBytes.size()> kBlocksPerFlow = {4, 2, 1, 1, 1, 1, 1};
constexpr uint32_t kHeapClass = UINT32_MAX;
constexpr uint32_t kMagic = 0x41505041;  // "APPA"

struct Header {
  AppArena* owner;  // nullptr: the heap fallback
  uint32_t cls;
  uint32_t magic;
};
static_assert(sizeof(Header) == AppArena::kHeaderBytes);

thread_local AppArena* tl_arena = nullptr;

void* heap_block(size_t bytes) {
  void* raw = std::malloc(bytes + sizeof(Header));
  if (raw == nullptr) return nullptr;
  *static_cast<Header*>(raw) = Header{nullptr, kHeapClass, kMagic};
  return static_cast<std::byte*>(raw) + sizeof(Header);
}

void* hook_malloc(size_t bytes) { return tl_arena != nullptr ? tl_arena->allocate(bytes) : heap_block(bytes); }
void hook_free(void* p) { AppArena::release(p); }

}  // namespace

AppArena::AppArena(uint32_t flows) {
  for (size_t c = 0; c < kClassBytes.size(); ++c) bytes_ += size_t{flows} * kBlocksPerFlow[c] * (kClassBytes[c] + kHeaderBytes);
  storage_.reset(new std::byte[bytes_]);  // 16-aligned: headers and classes are multiples of 16
  std::byte* at = storage_.get();
  for (size_t c = 0; c < kClassBytes.size(); ++c) {
    for (uint32_t i = 0; i < flows * kBlocksPerFlow[c]; ++i) {
      *reinterpret_cast<Header*>(at) = Header{this, static_cast<uint32_t>(c), kMagic};
      give_back(static_cast<uint32_t>(c), at + kHeaderBytes);
      at += kClassBytes[c] + kHeaderBytes;
    }
  }
}

AppArena::~AppArena() = default;

void* AppArena::allocate(size_t bytes) {
  for (size_t c = 0; c < kClassBytes.size(); ++c) {
    if (bytes > kClassBytes[c]) continue;
    FreeBlock* b = free_[c];
    if (b == nullptr) break;
    free_[c] = b->next;
    ++stats_.allocs;
    ++stats_.in_use;
    return b;
  }
  ++stats_.heap_fallbacks;
  return heap_block(bytes);
}

void AppArena::give_back(uint32_t cls, void* block) {
  auto* b = static_cast<FreeBlock*>(block);
  b->next = free_[cls];
  free_[cls] = b;
}

void AppArena::release(void* p) {
  if (p == nullptr) return;
  auto* h = reinterpret_cast<Header*>(static_cast<std::byte*>(p) - sizeof(Header));
  if (h->owner == nullptr) {
    std::free(h);
    return;
  }
  AppArena& a = *h->owner;
  a.give_back(h->cls, p);
  ++a.stats_.frees;
  --a.stats_.in_use;
}

AppArena::Use::Use(AppArena& arena) : previous_(tl_arena) { tl_arena = &arena; }
AppArena::Use::~Use() { tl_arena = previous_; }

void AppArena::install_ndpi_hooks() {
  static std::once_flag once;
  std::call_once(once, [] {
    set_ndpi_malloc(hook_malloc);
    set_ndpi_free(hook_free);
  });
}

}  // namespace wp::app
