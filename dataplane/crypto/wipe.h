// Wiping key material and keeping it out of core dumps.
//
// A memset of a buffer that is about to go out of scope (or be freed) is a
// dead store the optimiser may remove; explicit_bzero (glibc >= 2.25) is
// documented never to be removed, and pulls in no OpenSSL, so worker code
// uses it (control code may use OPENSSL_cleanse, which does the same).
// Key slabs are also marked MADV_DONTDUMP (madvise(2)), so a core dump of
// the router carries no session keys; see KeySlab.
#pragma once

#include <cstddef>

namespace wp {

// Overwrites `n` bytes at `p` with zeros; never optimised away.
void wipe(void* p, size_t n);

template <typename T>
void wipe_object(T& t) {
  wipe(static_cast<void*>(&t), sizeof t);
}

// Marks the whole pages of [p, p + n) "do not dump"; `page` is the page size
// of that memory (4 KiB, or the hugepage size). False when the kernel refuses
// or no whole page lies inside the range.
bool exclude_from_core_dump(void* p, size_t n, size_t page);
// Undoes it before the memory goes back to a shared allocator.
void include_in_core_dump(void* p, size_t n, size_t page);

}  // namespace wp
