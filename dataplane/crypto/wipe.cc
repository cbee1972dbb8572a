// Key wiping and core-dump exclusion; see wipe.h.
#include "dataplane/crypto/wipe.h"

#include <sys/mman.h>

#include <cstdint>
#include <cstring>

namespace wp {
namespace {

// The whole pages inside [p, p + n): only those can be advised without
// touching a neighbour's memory.
bool inner_pages(void* p, size_t n, size_t page, uintptr_t& lo, size_t& len) {
  if (page == 0 || (page & (page - 1)) != 0) return false;
  auto a = reinterpret_cast<uintptr_t>(p);
  lo = (a + page - 1) & ~(page - 1);
  uintptr_t hi = (a + n) & ~(page - 1);
  if (hi <= lo) return false;
  len = hi - lo;
  return true;
}

}  // namespace

void wipe(void* p, size_t n) {
  if (p && n) explicit_bzero(p, n);
}

bool exclude_from_core_dump(void* p, size_t n, size_t page) {
  uintptr_t lo;
  size_t len;
  if (!inner_pages(p, n, page, lo, len)) return false;
  return madvise(reinterpret_cast<void*>(lo), len, MADV_DONTDUMP) == 0;
}

void include_in_core_dump(void* p, size_t n, size_t page) {
  uintptr_t lo;
  size_t len;
  if (inner_pages(p, n, page, lo, len)) madvise(reinterpret_cast<void*>(lo), len, MADV_DODUMP);
}

}  // namespace wp
