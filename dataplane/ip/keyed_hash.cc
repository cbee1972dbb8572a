// The per-process hash secret; see keyed_hash.h.
#include "dataplane/ip/keyed_hash.h"

#include <sys/random.h>

#include <chrono>

namespace wp {
namespace {

HashSecret draw() {
  HashSecret s;
  if (getrandom(&s, sizeof s, 0) != static_cast<ssize_t>(sizeof s)) {
    // getrandom only fails before the kernel's pool is ready or on old kernels: fall back to the clock.
    uint64_t t = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    s.k0 = t * 0x9e3779b97f4a7c15ULL;
    s.k1 = ~t * 0xc2b2ae3d27d4eb4fULL;
  }
  return s;
}

}  // namespace

HashSecret boot_secret() {
  static const HashSecret secret = draw();
  return secret;
}

}  // namespace wp
