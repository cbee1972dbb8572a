// HMAC-SHA256 truncated to 128 bits with Intel IPsec-MB (docs/svr-wire-format.md § Security).
//
// One HmacEngine (one IMB_MGR) per worker: IMB_MGR is not thread safe and its
// multi-buffer lanes are per manager. The HMAC key schedule (SHA-256 state
// after key^ipad and key^opad, RFC 2104 § 2) is precomputed once per key in
// HmacKey, so per packet we only hash the message. The metadata path signs
// one packet at a time (submit + flush); the bulk crypto issue adds bursts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

struct IMB_MGR;

namespace wp {

inline constexpr size_t kHmacTagLen = 16;

struct HmacKey {
  alignas(16) uint8_t ipad_state[32]{};
  alignas(16) uint8_t opad_state[32]{};
  bool valid = false;
};

// RFC 2104 key schedule (ipad/opad states) with `mgr`; invalid key when mgr is null.
// Shared by the pair-key HmacEngine and the per-session CryptoEngine.
HmacKey make_hmac_key(IMB_MGR* mgr, std::span<const uint8_t> key);

class HmacEngine {
 public:
  HmacEngine();
  ~HmacEngine();
  HmacEngine(const HmacEngine&) = delete;
  HmacEngine& operator=(const HmacEngine&) = delete;

  bool ok() const { return mgr_ != nullptr; }
  std::string_view arch() const { return arch_; }

  HmacKey make_key(std::span<const uint8_t> key);
  // tag = first 16 bytes of HMAC-SHA256(key, data[0..len)).
  void sign(const HmacKey& key, const uint8_t* data, size_t len, uint8_t tag[kHmacTagLen]);
  // Signs up to kMaxSignBurst messages in one go: all jobs are submitted,
  // then flushed, so the manager's lanes run full. Returns how many failed
  // (their tags are left zeroed, which no peer will accept).
  struct SignRequest {
    const HmacKey* key;
    const uint8_t* data;
    size_t len;
    uint8_t* tag;
    bool ok;  // out: the job completed
  };
  static constexpr size_t kMaxSignBurst = 64;
  uint32_t sign_burst(SignRequest* reqs, size_t n);
  // Constant-time compare of the computed tag with `expected`.
  bool verify(const HmacKey& key, const uint8_t* data, size_t len, const uint8_t expected[kHmacTagLen]);

 private:
  IMB_MGR* mgr_ = nullptr;
  std::string_view arch_ = "none";
};

}  // namespace wp
