// ESP seal/open bursts on IPsec-MB; see esp_crypto.h.
#include "dataplane/ipsec/esp_crypto.h"

#include <cstring>

namespace wp {
namespace {

constexpr size_t kHeaderAndIv(EspCipher c) { return kEspHeaderLen + esp_iv_len(c); }

void put_be32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

// The packet can be taken by its cipher: header, IV, a whole number of
// blocks holding at least the trailer, the ICV.
bool shape_ok(const EspOp& op) {
  const EspCipher c = op.keys->cipher;
  const size_t fixed = kHeaderAndIv(c) + kEspIcvLen;
  if (op.len < fixed + kEspTrailerMin) return false;
  return (op.len - fixed) % esp_block(c) == 0;
}

template <bool kSeal>
void fill_gcm(IMB_JOB* job, EspOp& op) {
  const EspKeys& k = *op.keys;
  const uint32_t ct_off = kEspHeaderLen + 8, ct_len = op.len - ct_off - kEspIcvLen;
  std::memcpy(op.nonce, k.salt, 4);
  std::memcpy(op.nonce + 4, op.pkt + kEspHeaderLen, 8);
  // AAD: SPI | [high half] | low half (RFC 4106 § 5).
  std::memcpy(op.aad, op.pkt, 4);
  size_t aad_len = 8;
  if (k.esn) {
    put_be32(op.aad + 4, static_cast<uint32_t>(op.seq >> 32));
    std::memcpy(op.aad + 8, op.pkt + 4, 4);
    aad_len = 12;
  } else {
    std::memcpy(op.aad + 4, op.pkt + 4, 4);
  }
  job->cipher_mode = IMB_CIPHER_GCM;
  job->hash_alg = IMB_AUTH_AES_GMAC;
  job->enc_keys = &k.gcm;
  job->dec_keys = &k.gcm;
  job->key_len_in_bytes = IMB_KEY_256_BYTES;
  job->iv = op.nonce;
  job->iv_len_in_bytes = 12;
  job->u.GCM.aad = op.aad;
  job->u.GCM.aad_len_in_bytes = aad_len;
  job->src = op.pkt;
  job->dst = op.pkt + ct_off;
  job->cipher_start_src_offset_in_bytes = ct_off;
  job->msg_len_to_cipher_in_bytes = ct_len;
  job->hash_start_src_offset_in_bytes = ct_off;
  job->msg_len_to_hash_in_bytes = ct_len;
  job->auth_tag_output = kSeal ? op.pkt + op.len - kEspIcvLen : op.icv_calc;
  job->auth_tag_output_len_in_bytes = kEspIcvLen;
}

// CBC then HMAC-SHA256-128 over SPI .. ciphertext [| ESN high half]: the
// high half borrows the first 4 bytes of the ICV's place while hashing.
template <bool kSeal>
void fill_cbc(IMB_JOB* job, EspOp& op) {
  const EspKeys& k = *op.keys;
  const uint32_t ct_off = kEspHeaderLen + 16, ct_len = op.len - ct_off - kEspIcvLen;
  uint8_t* icv = op.pkt + op.len - kEspIcvLen;
  if (!kSeal) std::memcpy(op.icv_rx, icv, kEspIcvLen);
  uint32_t hash_len = op.len - kEspIcvLen;
  if (k.esn) {
    put_be32(icv, static_cast<uint32_t>(op.seq >> 32));
    hash_len += 4;
  }
  job->cipher_mode = IMB_CIPHER_CBC;
  job->enc_keys = k.cbc.aes.enc;
  job->dec_keys = k.cbc.aes.dec;
  job->key_len_in_bytes = IMB_KEY_256_BYTES;
  job->iv = op.pkt + kEspHeaderLen;
  job->iv_len_in_bytes = 16;
  job->src = op.pkt;
  job->dst = op.pkt + ct_off;
  job->cipher_start_src_offset_in_bytes = ct_off;
  job->msg_len_to_cipher_in_bytes = ct_len;
  job->hash_alg = IMB_AUTH_HMAC_SHA_256;
  job->hash_start_src_offset_in_bytes = 0;
  job->msg_len_to_hash_in_bytes = hash_len;
  job->auth_tag_output = op.icv_calc;
  job->auth_tag_output_len_in_bytes = kEspIcvLen;
  job->u.HMAC._hashed_auth_key_xor_ipad = k.cbc.mac.ipad_state;
  job->u.HMAC._hashed_auth_key_xor_opad = k.cbc.mac.opad_state;
}

bool icv_equal(const uint8_t* a, const uint8_t* b) {
  uint8_t d = 0;
  for (size_t i = 0; i < kEspIcvLen; ++i) d |= static_cast<uint8_t>(a[i] ^ b[i]);
  return d == 0;
}

template <bool kSeal>
void finish(EspOp& op, bool completed) {
  const bool gcm = op.keys->cipher == EspCipher::aes256_gcm16;
  uint8_t* icv = op.pkt + op.len - kEspIcvLen;
  if (kSeal) {
    if (!gcm) std::memcpy(icv, op.icv_calc, kEspIcvLen);  // over the borrowed ESN bytes
    if (!completed) std::memset(icv, 0, kEspIcvLen);    // a zero ICV no receiver accepts
    op.ok = completed;
    return;
  }
  const uint8_t* rx = gcm ? icv : op.icv_rx;
  op.ok = completed && icv_equal(op.icv_calc, rx);
  if (!gcm) std::memcpy(icv, op.icv_rx, kEspIcvLen);
}

template <bool kSeal>
uint32_t run(CryptoEngine& eng, EspOp* ops, size_t n) {
  IMB_MGR* mgr = eng.manager();
  uint32_t failed = 0;
  auto done = [&](IMB_JOB* job) {
    auto* op = static_cast<EspOp*>(job->user_data);
    finish<kSeal>(*op, job->status == IMB_STATUS_COMPLETED);
    failed += op->ok ? 0 : 1;
  };
  for (size_t i = 0; i < n; ++i) {
    EspOp& op = ops[i];
    op.ok = false;
    if (!mgr || !op.keys || !shape_ok(op)) {
      ++failed;
      continue;
    }
    IMB_JOB* job = IMB_GET_NEXT_JOB(mgr);
    job->chain_order = kSeal ? IMB_ORDER_CIPHER_HASH : IMB_ORDER_HASH_CIPHER;
    job->cipher_direction = kSeal ? IMB_DIR_ENCRYPT : IMB_DIR_DECRYPT;
    if (op.keys->cipher == EspCipher::aes256_gcm16)
      fill_gcm<kSeal>(job, op);
    else
      fill_cbc<kSeal>(job, op);
    job->user_data = &op;
    if (IMB_JOB* j = IMB_SUBMIT_JOB(mgr)) done(j);
  }
  if (mgr)
    while (IMB_JOB* j = IMB_FLUSH_JOB(mgr)) done(j);
  return failed;
}

}  // namespace

void esp_keys_init(CryptoEngine& eng, EspCipher c, bool esn, const uint8_t* keymat, EspKeys& out) {
  out.cipher = c;
  out.esn = esn;
  if (c == EspCipher::aes256_gcm16) {
    IMB_AES256_GCM_PRE(eng.manager(), keymat, &out.gcm);
    std::memcpy(out.salt, keymat + 32, 4);
  } else {
    out.cbc = EspCbcKeys{};  // the live member from here (a trivial assignment begins its lifetime)
    eng.expand_aes_key(keymat, out.cbc.aes);
    out.cbc.mac = eng.hmac_key({keymat + 32, 32});
  }
}

uint32_t esp_seal_burst(CryptoEngine& eng, EspOp* ops, size_t n) { return run<true>(eng, ops, n); }
uint32_t esp_open_burst(CryptoEngine& eng, EspOp* ops, size_t n) { return run<false>(eng, ops, n); }

}  // namespace wp
