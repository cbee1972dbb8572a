// IPsec-MB AES-256-CBC + HMAC-SHA256-128 bursts and HKDF; see crypto/engine.h.
#include "dataplane/crypto/engine.h"
#include "dataplane/crypto/wipe.h"

#include <intel-ipsec-mb.h>

#include <cstring>

namespace wp {
namespace {

std::string_view arch_name(IMB_ARCH a) {
  switch (a) {
    case IMB_ARCH_AVX512: return "avx512";
    case IMB_ARCH_AVX2: return "avx2";
    case IMB_ARCH_AVX: return "avx";
    case IMB_ARCH_SSE: return "sse";
    default: return "none";
  }
}

bool has(const IMB_MGR* m, uint64_t flags) { return (m->features & flags) == flags; }

}  // namespace

CryptoEngine::CryptoEngine(std::string_view prefer) {
  mgr_ = alloc_mb_mgr(0);
  if (mgr_ == nullptr) return;
  IMB_ARCH arch = IMB_ARCH_NONE;
  if (prefer == "avx2" && has(mgr_, IMB_CPUFLAGS_AVX2)) {
    init_mb_mgr_avx2(mgr_);
    arch = IMB_ARCH_AVX2;
  } else if (prefer == "avx" && has(mgr_, IMB_CPUFLAGS_AVX)) {
    init_mb_mgr_avx(mgr_);
    arch = IMB_ARCH_AVX;
  } else if (prefer == "sse" && has(mgr_, IMB_CPUFLAGS_SSE)) {
    init_mb_mgr_sse(mgr_);
    arch = IMB_ARCH_SSE;
  } else {
    // Bursts keep the lanes full, so the widest manager wins here (unlike the
    // single-job metadata verify in HmacEngine, which prefers AVX2).
    init_mb_mgr_auto(mgr_, &arch);
  }
  arch_ = arch_name(arch);
  if (imb_get_errno(mgr_) != 0 || arch == IMB_ARCH_NONE) {
    free_mb_mgr(mgr_);
    mgr_ = nullptr;
    arch_ = "none";
  }
}

CryptoEngine::~CryptoEngine() {
  if (mgr_) free_mb_mgr(mgr_);
}

void CryptoEngine::expand_aes_key(const uint8_t key[kAesKeyLen], AesKey& out) {
  IMB_AES_KEYEXP_256(mgr_, key, out.enc, out.dec);
}

HmacKey CryptoEngine::hmac_key(std::span<const uint8_t> key) { return make_hmac_key(mgr_, key); }

template <bool kSeal>
uint32_t CryptoEngine::run_burst(CryptoOp* ops, size_t n) {
  uint32_t failed = 0;
  auto done = [&](IMB_JOB* job) {
    auto* op = static_cast<CryptoOp*>(job->user_data);
    bool ok = job->status == IMB_STATUS_COMPLETED;
    if constexpr (kSeal) {
      if (!ok && op->tag) std::memset(op->tag, 0, kHmacTagLen);
    } else if (ok && op->mac != nullptr) {
      uint8_t diff = 0;  // constant time: no early exit on the first differing byte
      for (size_t i = 0; i < kHmacTagLen; ++i) diff |= static_cast<uint8_t>(op->computed[i] ^ op->tag[i]);
      ok = diff == 0;
    }
    op->ok = ok;
    failed += ok ? 0 : 1;
  };
  for (size_t i = 0; i < n; ++i) {
    CryptoOp& op = ops[i];
    op.ok = false;
    IMB_JOB* job = IMB_GET_NEXT_JOB(mgr_);
    job->src = op.msg;
    if (op.mac != nullptr) {
      job->hash_alg = IMB_AUTH_HMAC_SHA_256;
      job->hash_start_src_offset_in_bytes = 0;
      job->msg_len_to_hash_in_bytes = op.hash_len;
      job->auth_tag_output = kSeal ? op.tag : op.computed;
      job->auth_tag_output_len_in_bytes = kHmacTagLen;
      job->u.HMAC._hashed_auth_key_xor_ipad = op.mac->ipad_state;
      job->u.HMAC._hashed_auth_key_xor_opad = op.mac->opad_state;
    } else {  // cipher only (data of a metadata packet whose pair-key HMAC already verified)
      job->hash_alg = IMB_AUTH_NULL;
      job->hash_start_src_offset_in_bytes = 0;
      job->msg_len_to_hash_in_bytes = 0;
      job->auth_tag_output = nullptr;
      job->auth_tag_output_len_in_bytes = 0;
    }
    // Encrypt-then-MAC: sealing ciphers first, opening hashes first.
    job->chain_order = kSeal ? IMB_ORDER_CIPHER_HASH : IMB_ORDER_HASH_CIPHER;
    job->cipher_direction = kSeal ? IMB_DIR_ENCRYPT : IMB_DIR_DECRYPT;
    if (op.aes != nullptr && op.cipher_len != 0) {
      job->cipher_mode = IMB_CIPHER_CBC;
      job->enc_keys = op.aes->enc;
      job->dec_keys = op.aes->dec;
      job->key_len_in_bytes = IMB_KEY_256_BYTES;
      job->iv = op.iv;
      job->iv_len_in_bytes = kAesBlock;
      job->dst = op.msg + op.cipher_off;  // in place
      job->cipher_start_src_offset_in_bytes = op.cipher_off;
      job->msg_len_to_cipher_in_bytes = op.cipher_len;
    } else {
      job->cipher_mode = IMB_CIPHER_NULL;
      job->dst = nullptr;
      job->cipher_start_src_offset_in_bytes = 0;
      job->msg_len_to_cipher_in_bytes = 0;
    }
    job->user_data = &op;
    if (IMB_JOB* j = IMB_SUBMIT_JOB(mgr_)) done(j);
  }
  while (IMB_JOB* j = IMB_FLUSH_JOB(mgr_)) done(j);
  return failed;
}

uint32_t CryptoEngine::seal_burst(CryptoOp* ops, size_t n) { return run_burst<true>(ops, n); }
uint32_t CryptoEngine::open_burst(CryptoOp* ops, size_t n) { return run_burst<false>(ops, n); }

void CryptoEngine::hmac_sha256(const HmacKey& key, std::span<const uint8_t> msg, uint8_t out[32]) {
  IMB_JOB* job = IMB_GET_NEXT_JOB(mgr_);
  job->cipher_mode = IMB_CIPHER_NULL;
  job->cipher_direction = IMB_DIR_ENCRYPT;
  job->chain_order = IMB_ORDER_HASH_CIPHER;
  job->hash_alg = IMB_AUTH_HMAC_SHA_256;
  job->src = msg.data();
  job->dst = nullptr;
  job->cipher_start_src_offset_in_bytes = 0;
  job->msg_len_to_cipher_in_bytes = 0;
  job->hash_start_src_offset_in_bytes = 0;
  job->msg_len_to_hash_in_bytes = msg.size();
  job->auth_tag_output = out;
  job->auth_tag_output_len_in_bytes = 32;
  job->u.HMAC._hashed_auth_key_xor_ipad = key.ipad_state;
  job->u.HMAC._hashed_auth_key_xor_opad = key.opad_state;
  job->user_data = nullptr;
  IMB_SUBMIT_JOB(mgr_);
  while (IMB_FLUSH_JOB(mgr_) != nullptr) {
  }
}

void CryptoEngine::hkdf_extract(std::span<const uint8_t> salt, std::span<const uint8_t> ikm, uint8_t prk[32]) {
  static constexpr uint8_t kZeros[32] = {};
  HmacKey k = hmac_key(salt.empty() ? std::span<const uint8_t>(kZeros) : salt);
  hmac_sha256(k, ikm, prk);
  wipe_object(k);
}

bool CryptoEngine::hkdf_expand(const HmacKey& prk, std::span<const uint8_t> info, std::span<uint8_t> out) {
  if (out.size() > 255 * 32 || info.size() > 255) return false;
  uint8_t msg[32 + 255 + 1];
  uint8_t t[32];
  size_t t_len = 0, done = 0;
  for (uint8_t i = 1; done < out.size(); ++i) {
    std::memcpy(msg, t, t_len);
    if (!info.empty()) std::memcpy(msg + t_len, info.data(), info.size());
    msg[t_len + info.size()] = i;
    hmac_sha256(prk, {msg, t_len + info.size() + 1}, t);
    t_len = 32;
    size_t take = out.size() - done < 32 ? out.size() - done : 32;
    std::memcpy(out.data() + done, t, take);
    done += take;
  }
  wipe(t, sizeof t);
  wipe(msg, sizeof msg);
  return true;
}

void CryptoEngine::ctr_keystream(const AesKey& key, const uint8_t counter[16], uint8_t* out, size_t len) {
  std::memset(out, 0, len);
  IMB_JOB* job = IMB_GET_NEXT_JOB(mgr_);
  job->cipher_mode = IMB_CIPHER_CNTR;
  job->cipher_direction = IMB_DIR_ENCRYPT;
  job->chain_order = IMB_ORDER_CIPHER_HASH;
  job->hash_alg = IMB_AUTH_NULL;
  job->enc_keys = key.enc;
  job->dec_keys = key.enc;
  job->key_len_in_bytes = IMB_KEY_256_BYTES;
  job->iv = counter;
  job->iv_len_in_bytes = 16;
  job->src = out;
  job->dst = out;
  job->cipher_start_src_offset_in_bytes = 0;
  job->msg_len_to_cipher_in_bytes = len;
  job->hash_start_src_offset_in_bytes = 0;
  job->msg_len_to_hash_in_bytes = 0;
  job->auth_tag_output = nullptr;
  job->auth_tag_output_len_in_bytes = 0;
  job->user_data = nullptr;
  IMB_SUBMIT_JOB(mgr_);
  while (IMB_FLUSH_JOB(mgr_) != nullptr) {
  }
}

}  // namespace wp
