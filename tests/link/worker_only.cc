// Linked from wp_worker's closure alone (no control-thread library, no
// OpenSSL): taking the address of the loop's entry points makes the linker
// pull in the worker objects and everything they reference, so a worker step
// that called into control code or OpenSSL would fail to link here.
// worker_link_check (tests/CMakeLists.txt) also reads the binary's NEEDED
// entries for libcrypto/libssl.
#include <cstdio>

#include "dataplane/worker/worker.h"

int main() {
  auto run = &wp::Worker::run;
  auto poll = &wp::Worker::poll_once;
  std::printf("worker entry points linked: %d\n", run != nullptr && poll != nullptr);
  return 0;
}
