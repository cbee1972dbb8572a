// Per-worker memory for nDPI, so that classifying a packet never reaches the heap.
//
// nDPI 4.2 allocates through process-wide hooks (set_ndpi_malloc / set_ndpi_free) while it
// dissects: a 2 KiB reassembly buffer for TLS and SSH, the HTTP URL and user agent, QUIC key
// material, a few lazily made caches. The hooks this file installs send every allocation made
// on a thread inside an `AppArena::Use` scope to that thread's arena: fixed size classes carved
// at start from one block, LIFO free lists, no lock (one owner thread). Each block carries a
// 16-byte header naming its owner, so a free never has to guess where memory came from.
// Outside a scope (module creation at start, on any thread) or when a request is larger than
// the largest class or its class is empty, the hook falls back to the heap and counts it:
// `heap_fallbacks` is how a test, and the stats, tell that the fast path stayed off the heap.
// nDPI's own libgcrypt calls (QUIC Initial decryption) allocate inside libgcrypt, out of reach.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace wp::app {

class AppArena {
 public:
  // Payload sizes of the classes; a request takes the smallest class that holds it.
  static constexpr std::array<uint32_t, 7> kClassBytes = {32, 64, 128, 256, 512, 1024, 2048};
  static constexpr size_t kHeaderBytes = 16;

  struct Stats {
    uint64_t allocs = 0;          // served from the arena
    uint64_t frees = 0;           // returned to the arena
    uint64_t heap_fallbacks = 0;  // served by the heap while in a scope (too large, class empty)
    uint64_t in_use = 0;          // arena blocks handed out and not yet returned
  };

  // Sized for `flows` sessions under classification at once (a few blocks of each class each).
  explicit AppArena(uint32_t flows);
  ~AppArena();
  AppArena(const AppArena&) = delete;
  AppArena& operator=(const AppArena&) = delete;

  void* allocate(size_t bytes);
  // Frees a block from any arena or from the heap fallback (reads the block's header).
  static void release(void* p);
  const Stats& stats() const { return stats_; }
  size_t footprint_bytes() const { return bytes_; }

  // While alive, nDPI allocations on this thread come from `arena`. Nests.
  class Use {
   public:
    explicit Use(AppArena& arena);
    ~Use();
    Use(const Use&) = delete;
    Use& operator=(const Use&) = delete;

   private:
    AppArena* previous_;
  };

  // Installs the nDPI allocation hooks; idempotent, called before any nDPI module is made.
  static void install_ndpi_hooks();

 private:
  struct FreeBlock {
    FreeBlock* next;
  };
  void give_back(uint32_t cls, void* block);

  std::unique_ptr<std::byte[]> storage_;
  size_t bytes_ = 0;
  std::array<FreeBlock*, kClassBytes.size()> free_{};
  Stats stats_;
};

}  // namespace wp::app
