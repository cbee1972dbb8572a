// Per-worker AES-256-CBC + HMAC-SHA256-128 engine on Intel IPsec-MB
// (docs/svr-wire-format.md § Security).
//
// One CryptoEngine (one IMB_MGR) per worker: a manager is not thread safe and
// its multi-buffer lanes are per manager. The manager is initialised for the
// best architecture the CPU offers (AVX-512 > AVX2 > AVX > SSE, checked at
// start and logged by the caller through arch()). Packets are sealed
// (encrypt-then-MAC: AES-CBC then HMAC over the L4 bytes) and opened
// (HMAC, then AES-CBC decrypt) in bursts: every job of a burst is submitted
// before the flush, so the 16 AES/SHA lanes of the AVX-512 manager fill
// across packets. Cipher and hash run chained in one job.
//
// Key material lives outside this class (AesKey, HmacKey): expanded once per
// key, never per packet. HKDF-SHA256 (RFC 5869) is here too, built on the
// same HMAC jobs; it is a pure function of its inputs so an HA peer derives
// the same session keys from (pair key, session UUID).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "dataplane/crypto/hmac.h"

struct IMB_MGR;

namespace wp {

inline constexpr size_t kAesBlock = 16;
inline constexpr size_t kAesKeyLen = 32;

// PKCS#7 padding of a decrypted CBC message whose last byte is `last` (the
// message is at least one block): the pad length 1..16, or 0 when the
// padding is bad. All 16 candidate bytes are checked whatever the pad value,
// with no early exit.
inline uint8_t pkcs7_pad_len(const uint8_t* last) {
  const uint8_t pad = *last;
  uint8_t bad = static_cast<uint8_t>(pad == 0 || pad > kAesBlock);
  for (size_t i = 0; i < kAesBlock; ++i) {
    uint8_t in_pad = static_cast<uint8_t>(i < pad);
    bad |= static_cast<uint8_t>(in_pad & (last[-static_cast<std::ptrdiff_t>(i)] != pad));
  }
  return bad ? 0 : pad;
}

// AES-256 round keys for both directions (IPsec-MB layout: 15 round keys).
struct AesKey {
  alignas(16) uint8_t enc[15 * 16];
  alignas(16) uint8_t dec[15 * 16];
};

// One packet's crypto: HMAC-SHA256-128 over msg[0, hash_len), and, when
// `aes` is set, AES-256-CBC over msg[cipher_off, cipher_off + cipher_len)
// in place with `iv` (cipher_len a multiple of 16). Sealing encrypts first
// and writes the tag to `tag`; opening hashes first, compares with `tag` in
// constant time, and decrypts (the caller drops the packet unless ok).
struct CryptoOp {
  uint8_t* msg = nullptr;
  uint32_t hash_len = 0;
  uint32_t cipher_off = 0;
  uint32_t cipher_len = 0;
  const uint8_t* iv = nullptr;
  const AesKey* aes = nullptr;
  const HmacKey* mac = nullptr;
  uint8_t* tag = nullptr;
  bool ok = false;                            // out: job completed (and, opening, tag matched)
  alignas(16) uint8_t computed[kHmacTagLen];  // opening: the tag we computed
};

class CryptoEngine {
 public:
  // `prefer` forces an architecture ("avx512", "avx2", "avx", "sse") for
  // tests and benchmarks; empty picks the best the CPU has.
  explicit CryptoEngine(std::string_view prefer = {});
  ~CryptoEngine();
  CryptoEngine(const CryptoEngine&) = delete;
  CryptoEngine& operator=(const CryptoEngine&) = delete;

  bool ok() const { return mgr_ != nullptr; }
  std::string_view arch() const { return arch_; }

  static constexpr size_t kMaxBurst = 64;
  // Both return how many ops failed (ok == false). A failed seal leaves a
  // zeroed tag, which no receiver accepts.
  uint32_t seal_burst(CryptoOp* ops, size_t n);
  uint32_t open_burst(CryptoOp* ops, size_t n);

  // Key schedules, once per key.
  void expand_aes_key(const uint8_t key[kAesKeyLen], AesKey& out);
  HmacKey hmac_key(std::span<const uint8_t> key);
  // Full 32-byte HMAC-SHA256 (HKDF needs the untruncated output).
  void hmac_sha256(const HmacKey& key, std::span<const uint8_t> msg, uint8_t out[32]);

  // RFC 5869. Extract: PRK = HMAC(salt, IKM); an empty salt means 32 zeros.
  void hkdf_extract(std::span<const uint8_t> salt, std::span<const uint8_t> ikm, uint8_t prk[32]);
  // Expand: T(i) = HMAC(PRK, T(i-1) | info | i); out.size() <= 255 * 32 and
  // info.size() <= 255. `prk` is the PRK's precomputed HMAC key schedule.
  bool hkdf_expand(const HmacKey& prk, std::span<const uint8_t> info, std::span<uint8_t> out);

  // Raw AES-256-CTR keystream (the IV generator's core; see iv_source.h).
  void ctr_keystream(const AesKey& key, const uint8_t counter[16], uint8_t* out, size_t len);

  IMB_MGR* manager() { return mgr_; }

 private:
  template <bool kSeal>
  uint32_t run_burst(CryptoOp* ops, size_t n);
  IMB_MGR* mgr_ = nullptr;
  std::string_view arch_ = "none";
};

}  // namespace wp
