// Per-worker CSPRNG for CBC IVs (docs/svr-wire-format.md § Security: a random per-packet IV).
//
// AES-256-CTR keystream under a key read from the OS (getrandom), handed
// out 16 bytes at a time from a 4 KiB buffer refilled by one IPsec-MB job.
// This is the CTR_DRBG construction of NIST SP 800-90A without derivation
// function; the key is replaced from the OS every 2^20 refills (4 GiB), far
// below the CTR_DRBG reseed interval. CBC needs IVs that an attacker cannot
// predict; a keystream under a secret key is that. No locks, no syscalls on
// the fast path.
#pragma once

#include <cstdint>

#include "dataplane/crypto/engine.h"

namespace wp {

class IvSource {
 public:
  explicit IvSource(CryptoEngine& engine);
  ~IvSource();
  IvSource(const IvSource&) = delete;
  IvSource& operator=(const IvSource&) = delete;

  bool ok() const { return seeded_; }
  // Writes 16 unpredictable bytes.
  void next(uint8_t iv[kAesBlock]) {
    if (pos_ == kBufLen) refill();
    __builtin_memcpy(iv, buf_ + pos_, kAesBlock);
    pos_ += kAesBlock;
  }

 private:
  static constexpr uint32_t kBufLen = 4096;
  static constexpr uint64_t kReseedRefills = 1u << 20;
  void reseed();
  void refill();
  CryptoEngine& engine_;
  AesKey key_{};
  alignas(16) uint8_t counter_[16]{};
  uint64_t refills_ = 0;
  alignas(64) uint8_t buf_[kBufLen];
  uint32_t pos_ = kBufLen;
  bool seeded_ = false;
};

}  // namespace wp
