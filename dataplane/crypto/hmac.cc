// IPsec-MB HMAC-SHA256-128; see hmac.h.
#include "dataplane/crypto/hmac.h"
#include "dataplane/crypto/wipe.h"

#include <intel-ipsec-mb.h>

#include <cstring>

namespace wp {

HmacEngine::HmacEngine() {
  mgr_ = alloc_mb_mgr(0);
  if (mgr_ == nullptr) return;
  // Metadata verification runs one job per submit+flush, and a burst rarely
  // holds more than a few metadata packets to sign. A flush runs every lane of
  // the manager, so the 16-lane AVX-512 manager costs ~5x the 8-lane AVX2 one
  // for a single job (perf/micro_bench BM_ImbHmac): prefer AVX2 here.
  IMB_ARCH arch = IMB_ARCH_NONE;
  if ((mgr_->features & IMB_CPUFLAGS_AVX2) == IMB_CPUFLAGS_AVX2) {
    init_mb_mgr_avx2(mgr_);
    arch = IMB_ARCH_AVX2;
  } else {
    init_mb_mgr_auto(mgr_, &arch);
  }
  switch (arch) {
    case IMB_ARCH_AVX512: arch_ = "avx512"; break;
    case IMB_ARCH_AVX2: arch_ = "avx2"; break;
    case IMB_ARCH_AVX: arch_ = "avx"; break;
    case IMB_ARCH_SSE: arch_ = "sse"; break;
    default: arch_ = "none"; break;
  }
  if (imb_get_errno(mgr_) != 0) {
    free_mb_mgr(mgr_);
    mgr_ = nullptr;
  }
}

HmacEngine::~HmacEngine() {
  if (mgr_) free_mb_mgr(mgr_);
}

HmacKey HmacEngine::make_key(std::span<const uint8_t> key) { return make_hmac_key(mgr_, key); }

HmacKey make_hmac_key(IMB_MGR* mgr, std::span<const uint8_t> key) {
  HmacKey out;
  if (!mgr) return out;
  constexpr size_t kBlock = 64;
  alignas(16) uint8_t block[kBlock] = {};
  if (key.size() > kBlock) {
    IMB_SHA256(mgr, key.data(), key.size(), block);  // RFC 2104: long keys are hashed first
  } else {
    std::memcpy(block, key.data(), key.size());
  }
  alignas(16) uint8_t pad[kBlock];
  for (size_t i = 0; i < kBlock; ++i) pad[i] = block[i] ^ 0x36;
  IMB_SHA256_ONE_BLOCK(mgr, pad, out.ipad_state);
  for (size_t i = 0; i < kBlock; ++i) pad[i] = block[i] ^ 0x5c;
  IMB_SHA256_ONE_BLOCK(mgr, pad, out.opad_state);
  wipe(block, sizeof block);
  wipe(pad, sizeof pad);
  out.valid = true;
  return out;
}

namespace {

void fill_hmac_job(IMB_JOB* job, const HmacKey& key, const uint8_t* data, size_t len, uint8_t* tag) {
  job->cipher_mode = IMB_CIPHER_NULL;
  job->cipher_direction = IMB_DIR_ENCRYPT;
  job->chain_order = IMB_ORDER_HASH_CIPHER;
  job->hash_alg = IMB_AUTH_HMAC_SHA_256;
  job->src = data;
  job->dst = nullptr;
  job->cipher_start_src_offset_in_bytes = 0;
  job->msg_len_to_cipher_in_bytes = 0;
  job->hash_start_src_offset_in_bytes = 0;
  job->msg_len_to_hash_in_bytes = len;
  job->auth_tag_output = tag;
  job->auth_tag_output_len_in_bytes = kHmacTagLen;
  job->u.HMAC._hashed_auth_key_xor_ipad = key.ipad_state;
  job->u.HMAC._hashed_auth_key_xor_opad = key.opad_state;
  job->user_data = tag;
}

}  // namespace

uint32_t HmacEngine::sign_burst(SignRequest* reqs, size_t n) {
  uint32_t failed = 0;
  auto check = [&](IMB_JOB* job) {
    auto* req = static_cast<SignRequest*>(job->user_data);
    req->ok = job->status == IMB_STATUS_COMPLETED;
    if (!req->ok) {
      std::memset(req->tag, 0, kHmacTagLen);
      ++failed;
    }
  };
  for (size_t i = 0; i < n; ++i) {
    reqs[i].ok = false;
    IMB_JOB* job = IMB_GET_NEXT_JOB(mgr_);
    fill_hmac_job(job, *reqs[i].key, reqs[i].data, reqs[i].len, reqs[i].tag);
    job->user_data = &reqs[i];
    if (IMB_JOB* done = IMB_SUBMIT_JOB(mgr_)) check(done);
  }
  while (IMB_JOB* done = IMB_FLUSH_JOB(mgr_)) check(done);
  return failed;
}

void HmacEngine::sign(const HmacKey& key, const uint8_t* data, size_t len, uint8_t tag[kHmacTagLen]) {
  SignRequest req{&key, data, len, tag, false};
  sign_burst(&req, 1);  // a failed job leaves the tag zeroed
}

bool HmacEngine::verify(const HmacKey& key, const uint8_t* data, size_t len, const uint8_t expected[kHmacTagLen]) {
  uint8_t tag[kHmacTagLen];
  SignRequest req{&key, data, len, tag, false};
  // A failed job leaves a zeroed tag: it must not match a zeroed trailer.
  if (sign_burst(&req, 1) != 0) return false;
  uint8_t diff = 0;
  for (size_t i = 0; i < kHmacTagLen; ++i) diff |= static_cast<uint8_t>(tag[i] ^ expected[i]);
  return diff == 0;
}

}  // namespace wp
